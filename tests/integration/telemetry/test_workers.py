"""`python -m services.telemetry` with two workers (TELEMETRY_WORKERS=2, the environment's
`--workers 2`; services/runtime/workers.py), as its own process on real Kafka and PostgreSQL:
both workers are members of the readings group and split its partitions, every reading is judged
once (its risk raised once, `/metrics` counting each reading once across the workers), a worker
killed is started again, and SIGTERM to the parent stops every worker gracefully."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from contracts.topics import TELEMETRY_READINGS
from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.process import service_process
from tests.support.provisioned_terminals import provision_terminal
from tests.support.readings import Terminal, encode

READINGS = TELEMETRY_READINGS.name
# Per terminal, one a minute: in band, 20 minutes 14 °C too warm for a freezer, in band again.
TEMPS = [-19.0] * 10 + [-5.0] * 20 + [-19.0] * 10


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone between listing the children and reading this
        return None


def workers_of(parent: int) -> set[int]:
    """The parent's live worker processes (multiprocessing's resource tracker is a child too)."""
    found = set()
    for pid in children(parent):
        cmdline = _cmdline(pid)
        if cmdline is not None and b"resource_tracker" not in cmdline and alive(pid):
            found.add(pid)
    return found


async def assignments(kafka: str, group: str) -> list[set[int]]:
    """The readings partitions each member of `group` holds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = response.groups
    members = described[5]  # error, group, state, protocol type, protocol, members
    held = []
    for _member_id, _client, _host, _metadata, raw in members:
        assignment = ConsumerProtocolMemberAssignment.decode(raw) if raw else None
        held.append(
            {tp.partition for tp in assignment.partitions() if tp.topic == READINGS}
            if assignment
            else set()
        )
    return held


def accepted(metrics: str) -> float:
    """`sentinel_telemetry_readings_total{kind="cold_chain",outcome="accepted"}` in a scrape."""
    for line in metrics.splitlines():
        if line.startswith("sentinel_telemetry_readings_total{") and (
            'kind="cold_chain"' in line and 'outcome="accepted"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_two_workers_split_the_group_judge_each_reading_once_and_stop_together(
    service_env: dict[str, str], kafka: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    group = f"tel-workers-{tag}"
    env = service_env | {
        "TELEMETRY_CONSUMER_GROUP": group,
        "TELEMETRY_DB_SCHEMA": f"tel_workers_{tag}",
        "TELEMETRY_OUTBOX_POLL_INTERVAL_S": "0.1",
        "TELEMETRY_WORKERS": "2",
    }
    await start_group_at_end(kafka, group, READINGS)
    admin = {"Authorization": f"Bearer {identity.token('admin', '*')}"}
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=20)
    await producer.start()
    try:
        with service_process("registry", env, tmp_path) as registry:
            await registry.ready()
            async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
                terminals: list[Terminal] = [
                    (await provision_terminal(http))[0]
                    for _ in range(TELEMETRY_READINGS.partitions)
                ]
            (tmp_path / "telemetry").mkdir()
            with service_process("telemetry", env, tmp_path / "telemetry") as telemetry:
                # Ready only once both workers are (the `workers` check).
                await telemetry.ready(within=120)
                parent = telemetry.proc.pid
                first_workers = workers_of(parent)
                assert len(first_workers) == 2, first_workers

                async def split() -> bool:
                    held = await assignments(kafka, group)
                    return (
                        len(held) == 2
                        and all(held)
                        and not held[0] & held[1]
                        and held[0] | held[1] == set(range(TELEMETRY_READINGS.partitions))
                    )

                await until(split, within=60, what="two members, the partitions split")

                async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
                    await send_on_every_partition(producer, terminals)
                    ids = {t.id.encode() for t in terminals}

                    def raised(r):  # type: ignore[no-untyped-def]
                        return r.key in ids and r.json()["type"] == "telemetry.risk.raised"

                    await risks.wait_for(raised, count=len(terminals), timeout=120)
                    await scraped(telemetry.url, lambda m: accepted(m) >= len(TEMPS) * 6)
                    await risks.drain(settle_s=2.0)
                by_terminal = sorted(
                    r.json()["data"]["terminal_id"] for r in risks.records if raised(r)
                )
                assert by_terminal == sorted(t.id for t in terminals)  # one risk each, no more
                metrics = await scrape(telemetry.url)
                # Each reading counted once, across both workers' counters.
                assert accepted(metrics) == len(TEMPS) * len(terminals)

                # A worker that dies is started again, and the host is ready again.
                killed = min(first_workers)
                os.kill(killed, signal.SIGKILL)

                def replaced() -> bool:
                    # One look at the processes: two looks could see the killed worker still
                    # dying in the first (two workers) and a zombie in the second (not it), and
                    # pass before the replacement existed (CI-equivalent run T).
                    found = workers_of(parent)
                    return len(found) == 2 and killed not in found

                await until(replaced, within=60, what="the killed worker replaced")
                await telemetry.ready(within=120)
                workers = workers_of(parent)
                helpers = children(parent) - workers

                assert telemetry.terminate(timeout=90) == 0
                log = (tmp_path / "telemetry" / "telemetry.log").read_text()
                # Both workers of the end stopped as a single process does (their consumers
                # finished the batch in hand and committed).
                assert log.count('"msg":"service stopped"') >= 2, log[-3000:]
                await until(
                    lambda: not any(alive(p) for p in workers | helpers),
                    within=30,
                    what="no worker left behind",
                )
    finally:
        await producer.stop()


async def send_on_every_partition(producer: AIOKafkaProducer, terminals: list[Terminal]) -> None:
    """Each terminal's readings on a partition of its own, so each worker has terminals."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    for partition, terminal in enumerate(terminals):
        for reading in terminal.series(start, TEMPS):
            await producer.send(
                READINGS, encode(reading), key=terminal.id.encode(), partition=partition
            )
    await producer.flush()


async def scrape(url: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/metrics", timeout=5)).text


async def scraped(url: str, condition: Callable[[str], bool]) -> None:
    async def check() -> bool:
        return condition(await scrape(url))

    check_: Callable[[], Awaitable[bool]] = check
    await until(check_, within=60, what="the metrics count every reading")
