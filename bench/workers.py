"""Workers on one host: the real `python -m services.telemetry --workers 1`, then `--workers 2`
(services/runtime/workers.py), on one readings topic (600,000 readings, 6 partitions), each run
with a fresh group and schema.

The readings are `bench.readings.make_readings`'s, signed again under a master secret given as
text (the service reads it from the environment). Before each run the schema is migrated and
the bench terminals written into telemetry's view of the registry (the table a start-up loads),
and every worker's projection groups are placed at the registry topics' end
(`bench.readings.skip_registry`, under the names the workers take: `<replica>` for one,
`<replica>-w<i>` for several). The service is then watched from outside, as an operator would:
its `/metrics` (the accepted-readings counter, added up across the workers) and its group (the
admin client's describe). The window opens at the first scrape at which the group is stable
with every worker holding partitions and readings are being accepted (a second worker's join
and its rebalance are not throughput), and closes at the scrape that counts every reading.
Reported: readings/s in the window, CPU of the whole process tree per 1,000 readings (parent
and workers, from /proc), and the ratio of 2 workers to 1. `BENCH_WORKERS_LOG=PATH` keeps each
run's service log in `PATH.<workers>`, at `BENCH_WORKERS_LOG_LEVEL` (default WARNING).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, fields
from pathlib import Path

import asyncpg
import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from bench.readings import Messages, new_topic, place, produce, settings, skip_registry
from bench.scaling import _migrate
from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.app import build
from services.telemetry.projections import MarketInfo, TerminalInfo
from tests.support.process import free_port

ROOT = Path(__file__).resolve().parents[1]
# The service reads its master secret from the environment, as text: the readings are signed
# again under this one (the in-process benches place `bench.readings.MASTER`, bytes, directly).
SECRET = "market-sentinel bench workers only"  # noqa: S105 (a bench key, as bench.readings.MASTER)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class WorkersRun:
    workers: int
    rate: float  # readings/s in the window
    cpu_ms_per_1000: float  # CPU of the parent and its workers


def _signed_for_service(messages: Messages) -> Messages:
    """The readings signed with the keys the service derives from SECRET."""
    keys: dict[bytes, bytes] = {}
    out = []
    for key, value in messages:
        if key not in keys:
            keys[key] = derive_key(SECRET.encode(), key.decode(), 1)
        reading = orjson.loads(value)
        del reading["sig"]
        reading["sig"] = sign(reading, keys[key])
        out.append((key, orjson.dumps(reading)))
    return out


async def _place_terminals(database_url: str, schema: str, terminals: list[str]) -> None:
    """Write the bench's market and terminals into the schema's registry view, as
    `bench.readings.place` puts them in a replica's memory."""
    app = build(settings("unused:9092", database_url, "unused", schema=schema))
    place(app, terminals)
    directory = app.state.telemetry.directory
    conn = await asyncpg.connect(database_url)
    try:
        for table, view, rows in (
            ("markets", MarketInfo, directory.markets.values()),
            ("terminals", TerminalInfo, directory.terminals.values()),
        ):
            columns = [f.name for f in fields(view)]
            records = [tuple(getattr(row, c) for c in columns) for row in rows]
            await conn.copy_records_to_table(
                table, records=records, columns=columns, schema_name=schema
            )
    finally:
        await conn.close()


def _cpu_s(root: int) -> float:
    """CPU seconds (user + system) of `root` and its children, from /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state ppid ... utime (field 14) stime (15).
        if int(entry.name) == root or int(stat[1]) == root:
            total += int(stat[11]) + int(stat[12])
    return total / TICKS


async def _group(kafka: str, group: str) -> tuple[str, int]:
    """The group's state and how many of its members hold partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = response.groups
    state, members = described[2], described[5]
    return state, sum(1 for *_, assignment in members if assignment)


async def _accepted(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics", timeout=10)).text
    for line in text.splitlines():
        if line.startswith("sentinel_telemetry_readings_total{") and (
            'kind="cold_chain"' in line and 'outcome="accepted"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def serve(
    kafka: str, database_url: str, topic: str, n: int, workers: int, terminals: list[str]
) -> WorkersRun:
    tag = uuid.uuid4().hex[:6]
    schema, group, replica = f"bench_workers_{tag}", f"bench-workers-{tag}", f"bench-{tag}"
    await _migrate(kafka, database_url, schema)
    await _place_terminals(database_url, schema, terminals)
    names = [replica] if workers == 1 else [f"{replica}-w{i}" for i in range(workers)]
    for name in names:
        await skip_registry(kafka, group, name)
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database_url,
        "SENTINEL_TERMINAL_MASTER_SECRET": SECRET,
        "TELEMETRY_READINGS_TOPIC": topic,
        "TELEMETRY_DB_SCHEMA": schema,
        "TELEMETRY_CONSUMER_GROUP": group,
        "TELEMETRY_REPLICA_ID": replica,
        "TELEMETRY_HTTP_PORT": str(port),
        "TELEMETRY_OUTBOX_POLL_INTERVAL_S": "0.02",
        "TELEMETRY_LOG_LEVEL": os.environ.get("BENCH_WORKERS_LOG_LEVEL", "WARNING"),
    }
    command = [sys.executable, "-m", "services.telemetry", "--workers", str(workers)]
    keep = os.environ.get("BENCH_WORKERS_LOG")  # a file to keep the service's log in
    with open(f"{keep}.{workers}", "w+b") if keep else tempfile.TemporaryFile() as log:  # noqa: ASYNC230 (before the service starts)
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                opened: tuple[float, float, float] | None = None  # time, accepted, CPU
                count = 0.0
                deadline = time.monotonic() + float(os.environ.get("BENCH_WORKERS_LIMIT_S", 300))
                while True:
                    if proc.returncode is not None:
                        log.seek(0)
                        raise RuntimeError(f"telemetry exited: {log.read()[-3000:]!r}")
                    if time.monotonic() > deadline:
                        log.seek(0)
                        raise TimeoutError(
                            f"{workers} workers accepted {count:.0f} of {n} readings in 300 s: "
                            f"{log.read()[-3000:]!r}"
                        )
                    try:
                        count = await _accepted(http)
                    except httpx.HTTPError:
                        await asyncio.sleep(0.2)
                        continue
                    now = time.monotonic()
                    if opened is None and count > 0:
                        state, holding = await _group(kafka, group)
                        if state == "Stable" and holding == workers:
                            opened = (now, count, _cpu_s(proc.pid))
                    if count >= n:
                        break
                    await asyncio.sleep(0.1)
                if opened is None:
                    raise RuntimeError("the group never was stable while readings were left")
                t0, c0, cpu0 = opened
                readings = n - c0
                return WorkersRun(
                    workers, readings / (now - t0), 1e6 * (_cpu_s(proc.pid) - cpu0) / readings
                )
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 120)


async def run(
    kafka: str, database_url: str, messages: Messages, terminals: list[str]
) -> list[WorkersRun]:
    """1 worker, then 2, on one topic holding `messages`."""
    topic = await new_topic(kafka, 6, "bench.workers")
    await produce(kafka, topic, _signed_for_service(messages))
    return [
        await serve(kafka, database_url, topic, len(messages), workers, terminals)
        for workers in (1, 2)
    ]


async def figures(
    kafka: str, database_url: str, messages: Messages, terminals: list[str]
) -> dict[str, float]:
    """The suite's figures (bench/__main__.py)."""
    one, two = await run(kafka, database_url, messages, terminals)
    return {
        "--workers 1": one.rate,
        "--workers 1 CPU ms per 1,000": one.cpu_ms_per_1000,
        "--workers 2": two.rate,
        "--workers 2 CPU ms per 1,000": two.cpu_ms_per_1000,
        "ratio --workers 2 / 1": two.rate / one.rate,
    }


def main() -> int:
    """`python -m bench.workers [readings per terminal, 300]`: this part alone (2,000
    terminals), with the load average around it."""
    from bench.readings import make_readings, terminal_ids
    from tests.support.infra import infrastructure

    logging.disable(logging.WARNING)  # the in-process migration's consumers: not figures
    with infrastructure() as endpoints:
        before = os.getloadavg()
        out = asyncio.run(
            figures(
                endpoints.kafka,
                endpoints.database_url,
                make_readings(2000, int(sys.argv[1]) if len(sys.argv) > 1 else 300),
                terminal_ids(2000),
            )
        )
        after = os.getloadavg()
    for name, value in out.items():
        print(f"{name:32} {value:12,.2f}")
    print(f"load {before[0]:.2f} -> {after[0]:.2f} (5 min {before[1]:.2f} -> {after[1]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
