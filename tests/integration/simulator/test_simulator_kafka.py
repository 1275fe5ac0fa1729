"""A city provisioned through the real registry API, run by the simulator process into real
Kafka: every reading keyed by its terminal, seq increasing per terminal, and each signature good
under the key telemetry derives from the master secret."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import orjson

from contracts.telemetry import parse_reading, range_violation, verify
from contracts.topics import TELEMETRY_READINGS
from services.runtime.terminal_keys import derive_key
from simulator.city import CityPlan, provision, save_city
from tests.support.kafka import Record, TopicWatcher

ROOT = Path(__file__).resolve().parents[3]
PER_TERMINAL = 30


async def test_a_provisioned_city_streams_signed_readings_to_kafka(
    registry: httpx.AsyncClient, kafka: str, secrets_env: dict[str, str], tmp_path: Path
) -> None:
    district = f"sim{uuid.uuid4().hex[:8]}"
    city = await provision(registry, CityPlan(markets=2, stalls=2, district=district))
    # Per market: a gate; a butcher (fridge, till) and a fishmonger (fridge, freezer, till).
    assert city.summary()["by_kind"] == {"footfall": 2, "chilled": 4, "frozen": 2, "payment": 4}
    registered = (await registry.get(f"/markets/{next(iter(city.markets))}")).json()
    assert registered["district"] == district and registered["task_force"]["leader"]
    path = tmp_path / "city.json"
    save_city(city, path)
    ids = {t.id for t in city.terminals}
    count = PER_TERMINAL * len(ids)

    async with TopicWatcher(kafka, TELEMETRY_READINGS.name) as watcher:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator", "run", "--city", str(path), "--kafka", kafka,
            "--start", "-2h", "--seed", "5", "--count", str(count),
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()[-3000:]
        records = await watcher.wait_for(
            lambda r: r.key is not None and r.key.decode() in ids, count=count, timeout=30
        )

    assert len(records) == count
    secret = secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"].encode()
    by_terminal: dict[str, list[Record]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        reading = orjson.loads(record.value)
        assert record.key == reading["terminal_id"].encode()
        assert range_violation(parse_reading(reading)) is None
        assert verify(reading, derive_key(secret, reading["terminal_id"], 1))
        by_terminal[reading["terminal_id"]].append(record)
    assert set(by_terminal) == ids
    for terminal_id, mine in by_terminal.items():
        assert len(mine) == PER_TERMINAL
        assert len({r.partition for r in mine}) == 1  # one key, one partition: order holds
        seqs = [orjson.loads(r.value)["seq"] for r in mine]
        assert all(b > a for a, b in itertools.pairwise(seqs)), terminal_id
