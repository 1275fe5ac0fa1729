"""A broker lost is not an outage: the closed loop runs on three brokers (replication factor 3,
min.insync.replicas 2) while the broker leading the most partitions is SIGKILLed and restarted,
then another, then a third is frozen (SIGSTOP) for longer than the consumers' session timeout
and thawed; then the effects are compared with tests/support/closed_loop.py's oracle.

The load is launched item by item all through the faults: a freezer whose door is left open
(readings → risk → task → completed inspection → recovery readings) or a complaint (filed →
accepted → task → completed inspection → closed). Every service's /readyz is polled in the
background; the longest period each was not ready while a broker was down is measured and
printed (not asserted: a timing), with the oracle's table, and written to
`.run/failover-report.txt`. Runs on the local stack's `cluster` profile (tests/faults/conftest.py),
which no other test touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import all_topics
from deploy.local import stack
from tests.faults.conftest import ClusterStack, broker_answers
from tests.support.closed_loop import (
    CHAIN_TOPICS,
    Run,
    Stall,
    close_complaint,
    closed_loop,
    complain,
    door_closed,
    door_left_open,
    judge,
    provision,
    readiness,
    send,
    settle,
    work_tasks,
)
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.process import ROOT

FREEZERS = 4
COMPLAINTS = 4
# How long a killed broker stays away, and a frozen one frozen: longer than the consumers'
# session timeout (6 s here, as in the rest of the suite: KAFKA_SESSION_TIMEOUT_MS below) and
# the controller's broker session timeout (Kafka's 9 s), so each fault moves leaders and groups.
KILLED_S = 12.0
FROZEN_S = 14.0
# One new freezer or complaint this often, so every fault meets work in flight.
LAUNCH_EVERY_S = 6.0
READY_POLL_S = 0.25
REPORT = ROOT / ".run" / "failover-report.txt"


# -- the brokers ---------------------------------------------------------------------------------


async def partitions(bootstrap: str) -> list[dict[str, object]]:
    """Every partition of the catalog's topics (and the consumer offsets), as Kafka describes
    it: leader, replicas, in-sync replicas."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        names = [t.name for t in all_topics()] + ["__consumer_offsets"]
        return [p for t in await admin.describe_topics(names) for p in t["partitions"]]
    finally:
        await admin.close()


async def most_leading(bootstrap: str, among: list[int]) -> int:
    """The broker of `among` that leads the most partitions."""
    leaders = Counter(p["leader"] for p in await partitions(bootstrap))
    return max(among, key=lambda node: leaders[node])


async def fully_replicated(bootstrap: str) -> bool:
    found = await partitions(bootstrap)
    return bool(found) and all(
        len(p["isr"]) == len(p["replicas"])  # type: ignore[arg-type]
        for p in found
    )


@dataclass
class Outage:
    what: str
    began: float
    ended: float | None = None

    def overlap(self, start: float, end: float) -> float:
        stop = self.ended if self.ended is not None else time.monotonic()
        return max(0.0, min(end, stop) - max(start, self.began))


@dataclass
class Faults:
    cluster: ClusterStack
    outages: list[Outage] = field(default_factory=list)
    frozen: int | None = None  # a pid under SIGSTOP, thawed whatever happens

    async def back(self, node: stack.Kafka) -> None:
        """The node answers with all three registered, and every replica is in sync again."""
        bootstrap = self.cluster.bootstrap
        await until(
            lambda: broker_answers(node.address, 3), within=120, every=0.5, what=f"{node.name} back"
        )
        await until(lambda: fully_replicated(bootstrap), within=180, every=1, what="every ISR full")

    async def kill(self, node: stack.Kafka) -> None:
        pid = node.pid()
        assert pid is not None, f"{node.name} is not running"
        outage = Outage(f"SIGKILL {node.name}", time.monotonic())
        self.outages.append(outage)
        os.kill(pid, signal.SIGKILL)
        await until(lambda: not stack.alive(pid), within=30, what=f"{node.name} dead")
        await asyncio.sleep(KILLED_S)  # the outage itself, not a wait for something
        node.start()
        await until(lambda: broker_answers(node.address, 3), within=120, every=0.5, what=node.name)
        outage.ended = time.monotonic()
        print(f"failover: {outage.what}: down {outage.ended - outage.began:.1f}s", flush=True)
        await self.back(node)

    async def freeze(self, node: stack.Kafka) -> None:
        pid = node.pid()
        assert pid is not None, f"{node.name} is not running"
        outage = Outage(f"SIGSTOP {node.name}", time.monotonic())
        self.outages.append(outage)
        self.frozen = pid
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(FROZEN_S)  # the outage itself
        finally:
            self.thaw()
        outage.ended = time.monotonic()
        print(f"failover: {outage.what}: frozen {outage.ended - outage.began:.1f}s", flush=True)
        await self.back(node)

    def thaw(self) -> None:
        if self.frozen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.frozen, signal.SIGCONT)
            self.frozen = None

    def restore(self) -> None:
        """After a failure midway: no broker left frozen or dead for the next test."""
        self.thaw()
        for node in self.cluster.nodes():
            if node.pid() is None:
                node.start()

    async def run(self) -> None:
        """Kill the broker leading the most partitions, then another; freeze the third."""
        nodes = {node.node: node for node in self.cluster.nodes()}
        first = await most_leading(self.cluster.bootstrap, list(nodes))
        await self.kill(nodes[first])
        second = await most_leading(self.cluster.bootstrap, [n for n in nodes if n != first])
        await self.kill(nodes[second])
        (third,) = (n for n in nodes if n not in (first, second))
        await self.freeze(nodes[third])


# -- readiness, polled all along -----------------------------------------------------------------


@dataclass
class Readiness:
    """Each service's /readyz every READY_POLL_S: (when the answer came, ready, why not: the
    failing checks, or `no answer`)."""

    samples: dict[str, list[tuple[float, bool, str]]] = field(default_factory=dict)

    async def watch(self, run: Run) -> None:
        async def one(name: str) -> None:
            proc = run.procs[name]
            mine = self.samples.setdefault(name, [])
            while True:
                answer = await readiness(proc)
                failing = [c for c, ok in answer.get("checks", {}).items() if not ok]
                why = "no answer" if answer["code"] is None else ",".join(failing)
                mine.append((time.monotonic(), answer["code"] == 200, why))
                await asyncio.sleep(READY_POLL_S)

        await asyncio.gather(*(one(name) for name in run.procs))

    def unready_spans(self, name: str) -> list[tuple[float, float, str]]:
        """From the first not-ready answer to the next ready one, with the first one's why."""
        spans: list[tuple[float, float, str]] = []
        began: tuple[float, str] | None = None
        for at, ready, why in self.samples.get(name, []):
            if not ready and began is None:
                began = (at, why)
            elif ready and began is not None:
                spans.append((began[0], at, began[1]))
                began = None
        if began is not None:
            spans.append((began[0], time.monotonic(), began[1]))
        return spans

    def longest_unready(self, name: str, outage: Outage) -> tuple[float, str]:
        """The longest unready period during the outage, and why the service said so."""
        overlaps = [(outage.overlap(a, b), why) for a, b, why in self.unready_spans(name)]
        return max(overlaps, default=(0.0, ""))


# -- the test ------------------------------------------------------------------------------------


@pytest.fixture
async def run(
    cluster_stack: ClusterStack,
    cluster_database_url: str,
    secrets_env: dict[str, str],
    tmp_path: Path,
) -> AsyncIterator[Run]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": cluster_stack.bootstrap,
        "DATABASE_URL": cluster_database_url,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        **secrets_env,
    }
    async with closed_loop(cluster_stack.bootstrap, env, "failover", tmp_path) as loop:
        yield loop


async def flow(run: Run, stall: Stall, start: datetime) -> None:
    """One freezer's or one complaint's whole life, through to its inspection and closing."""
    if stall.freezer is not None:
        await send(run, door_left_open(stall, start))
        await work_tasks(run, {stall.merchant_id})
        await send(run, door_closed(stall, start))
    else:
        await complain(run, stall)
        await work_tasks(run, {stall.merchant_id})
        await close_complaint(run, stall)


async def load(run: Run, faults_done: asyncio.Event) -> None:
    """Launch the items one by one while the faults go on (the rest at once when they are
    over), and wait for every one."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    items = [s for pair in zip(run.freezers, run.complained, strict=True) for s in pair]
    flows: list[asyncio.Task[None]] = []
    try:
        for stall in items:
            flows.append(asyncio.create_task(flow(run, stall, start)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(faults_done.wait(), LAUNCH_EVERY_S)
        await asyncio.gather(*flows)
    finally:
        for task in flows:
            task.cancel()


def report(oracle_lines: list[str], readiness: Readiness, faults: Faults, run: Run) -> str:
    names = list(run.procs)
    width = max(len(n) for n in names)
    heads = [f"{o.what} ({(o.ended or o.began) - o.began:.0f}s)" for o in faults.outages]
    lines = [
        f"failover on 3 brokers (RF 3, min ISR 2): {FREEZERS} freezers, {COMPLAINTS} complaints",
        "",
        *oracle_lines,
        "",
        "longest period /readyz was not ready while a broker was down (s):",
        f"{'service':<{width}}  " + "  ".join(heads),
    ]
    for name in names:
        cells = []
        for outage, head in zip(faults.outages, heads, strict=True):
            seconds, why = readiness.longest_unready(name, outage)
            cell = f"{seconds:.1f}" + (f" ({why})" if seconds and why else "")
            cells.append(f"{cell:>{len(head)}}")
        lines.append(f"{name:<{width}}  " + "  ".join(cells))
    return "\n".join(lines) + "\n"


async def test_losing_a_broker_loses_nothing_doubles_nothing_and_is_no_outage(
    run: Run, cluster_stack: ClusterStack
) -> None:
    kafka = cluster_stack.bootstrap
    watchers = {t: TopicWatcher(kafka, t) for t in CHAIN_TOPICS}
    for w in watchers.values():
        await w.__aenter__()
    faults, ready = Faults(cluster_stack), Readiness()
    pids = {n: p.proc.pid for n, p in run.procs.items() if p.proc}
    background: list[asyncio.Task[None]] = []
    try:
        # The freezers report hourly: their readings stop with their flow, and a run this long
        # would see a 60 s terminal's silence raise a monitoring-gap risk beside the oracle's.
        await provision(run, FREEZERS, COMPLAINTS, name="容灾", interval_s=3600)
        # Signing the run's people in blocks the loop (a slow password hash at the provider):
        # done now, their tokens are cached through the faults and the readiness polls keep
        # their pace.
        for role in ("inspector", "handler"):
            run.as_(role)
        await until(lambda: fully_replicated(kafka), within=120, every=1, what="every ISR full")
        background.append(asyncio.create_task(ready.watch(run)))
        faults_done = asyncio.Event()

        async def inject() -> None:
            try:
                await faults.run()
            finally:
                faults_done.set()

        background.append(asyncio.create_task(inject()))
        await load(run, faults_done)
        await background[-1]  # the faults' errors, if any
        await settle(run, watchers)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        faults.restore()
        for w in watchers.values():
            await w.__aexit__(None, None, None)

    oracle = await judge(
        run, watchers["telemetry.risks.v1"].records, watchers["inspection.events.v1"].records
    )
    text = report(oracle.table(), ready, faults, run)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print("\n" + text)
    print(f"failover: report in {REPORT.relative_to(ROOT)}")
    assert len(faults.outages) == 3, [o.what for o in faults.outages]
    # No service died or was restarted while the brokers came and went.
    assert {n: p.proc.pid for n, p in run.procs.items() if p.proc} == pids
    assert all(p.proc and p.proc.poll() is None for p in run.procs.values())
    assert not oracle.problems, "\n".join(oracle.problems)
