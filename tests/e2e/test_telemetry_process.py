"""Telemetry as its own process: SIGKILL in the middle of an excursion loses nothing and raises
the risk once, when the excursion completes after the restart."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.process import service_process
from tests.support.readings import Terminal, encode


async def _provision(http: httpx.AsyncClient) -> tuple[Terminal, str]:
    code = f"k{uuid.uuid4().hex[:8]}"
    assert (await http.post("/districts", json={"code": code, "name": code})).status_code == 201
    market = (
        await http.post(
            "/markets",
            json={
                "name": "冷链市场",
                "district": code,
                "kind": "wholesale",
                "operator": "o",
                "address": "a",
                "capacity": 100,
                "opening_hours": {"open": "00:00", "close": "23:59"},
            },
        )
    ).json()
    merchant = (
        await http.post(
            "/merchants",
            json={
                "name": "冻品",
                "market_id": market["id"],
                "stall_no": "F-1",
                "credit_code": "9144030071526726XG",
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "categories": [],
            },
        )
    ).json()
    t = (
        await http.post(
            "/terminals",
            json={
                "kind": "cold_chain",
                "market_id": market["id"],
                "merchant_id": merchant["id"],
                "profile": "frozen",
                "interval_s": 60,
            },
        )
    ).json()
    return Terminal(t["id"], t["key"]), market["id"]


async def terminal_last_seq(database_url: str, schema: str, tid: str) -> int:
    """The last seq telemetry (its state in `schema`) handled for the terminal: -1 before the
    first, or before telemetry made its tables."""
    conn = await asyncpg.connect(database_url)
    try:
        seq = await conn.fetchval(
            f'SELECT last_seq FROM "{schema}".terminal_state WHERE terminal_id = $1', tid
        )
    except asyncpg.UndefinedTableError:
        seq = None
    finally:
        await conn.close()
    return -1 if seq is None else int(seq)


async def test_sigkill_mid_excursion_then_restart_raises_exactly_once(
    service_env: dict[str, str], kafka: str, database_url: str, tmp_path: Path
) -> None:
    token = identity.token("admin", "*")
    admin = {"Authorization": f"Bearer {token}"}
    env = service_env | {
        "TELEMETRY_CONSUMER_GROUP": f"tel-e2e-{uuid.uuid4().hex[:6]}",
        "TELEMETRY_DB_SCHEMA": f"tel_e2e_{uuid.uuid4().hex[:6]}",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    schema = env["TELEMETRY_DB_SCHEMA"]

    async def last_seq(tid: str) -> int:
        return await terminal_last_seq(database_url, schema, tid)

    async def send(readings: list[dict]) -> None:  # type: ignore[type-arg]
        for r in readings:
            await producer.send("telemetry.readings.v1", encode(r), key=r["terminal_id"].encode())
        await producer.flush()

    try:
        with service_process("registry", env, tmp_path) as registry:
            await registry.ready()
            async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
                terminal, _ = await _provision(http)
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
            # frozen limit −15 °C: 10 min at −10 °C before the kill, 10 more after, then back to −19
            readings = terminal.series(start, [-19.0] * 3 + [-10.0] * 20 + [-19.0] * 15)
            first, second = readings[:13], readings[13:]

            async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
                (tmp_path / "a").mkdir()
                with service_process("telemetry", env, tmp_path / "a") as telemetry:
                    await telemetry.ready()
                    await send(first)
                    await until(
                        lambda: _at_least(last_seq, terminal.id, first[-1]["seq"]),
                        what="first half handled",
                    )
                    telemetry.proc.send_signal(signal.SIGKILL)
                    assert telemetry.proc.wait(10) == -signal.SIGKILL
                (tmp_path / "b").mkdir()
                with service_process("telemetry", env, tmp_path / "b") as telemetry:
                    await telemetry.ready()
                    await send(second)
                    found = await risks.wait_for(lambda r: r.key == terminal.id.encode(), count=2)
                    await risks.drain(settle_s=1.0)
            # Keyed by terminal: another test's poison record on the shared topic is not ours.
            mine = [r.json() for r in risks.records if r.key == terminal.id.encode()]
            assert [m["type"] for m in mine] == ["telemetry.risk.raised", "telemetry.risk.cleared"]
            assert found[0].json()["data"]["evidence"]["duration_s"] >= 15 * 60
    finally:
        await producer.stop()


async def _at_least(last_seq, tid: str, seq: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await last_seq(tid) >= seq)
