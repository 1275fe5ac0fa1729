"""Scaling: 1 and then 2 telemetry replicas, each its own process, in one consumer group over
the 6 partitions of one readings topic, sharing the database schema (as deployed replicas do).

Both runs read the same topic (600,000 readings), each with a fresh group and schema (migrated
before the replicas start, so they do not race to create it). The replicas import and build
first, then start together on the parent's word (their registry projections skip to the topics'
end: the bench places the terminals itself). The second replica's join costs a rebalance (the
first learns of it at its next heartbeat, up to 3 s), during which the first reads alone; so
throughput is counted in the window in which every replica is consuming: from the moment the
last one accepted its first reading to the moment the first one has drained its partitions.
Reported: readings/s of the group and of each replica in that window, and each replica's CPU
use in it (CPU seconds per second, of one core).

On a 2-core machine the broker, PostgreSQL and the replicas share two cores: a second replica
can only take what the first leaves, and the figures say how much that was.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from bench.readings import Messages, new_topic, produce, settings
from bench.replica import ReplicaProcess, Sample, start_together
from services.telemetry.app import build


@dataclass
class Scaling:
    replicas: int
    rate: float  # readings/s of the group in the window
    per_replica: list[float] = field(default_factory=list)
    cpu_share: list[float] = field(default_factory=list)  # CPU seconds / window seconds
    window_readings: float = 0.0


async def _migrate(kafka: str, database_url: str, schema: str) -> None:
    topic = await new_topic(kafka, 1, "bench.scaling.migrate")
    app = build(settings(kafka, database_url, topic, schema=schema))
    await app.state.service.start()
    await app.state.service.stop()


def _at(samples: list[Sample], t: float) -> Sample:
    """The last sample taken at or before `t` (the first one if none)."""
    best = samples[0]
    for sample in samples:
        if sample["t"] > t:
            break
        best = sample
    return best


def window(series: list[list[Sample]]) -> Scaling:
    """Throughput in the window in which every replica consumed (see the module's docstring)."""
    opens = max(next(s["t"] for s in samples if s["accepted"] > 0) for samples in series)
    closes = min(
        next(s["t"] for s in samples if s["accepted"] >= samples[-1]["accepted"])
        for samples in series
    )
    seconds = closes - opens
    if seconds <= 0:
        raise RuntimeError("the replicas never consumed at the same time")
    firsts = [_at(samples, opens) for samples in series]
    lasts = [_at(samples, closes) for samples in series]
    counts = [b["accepted"] - a["accepted"] for a, b in zip(firsts, lasts, strict=True)]
    cpu = [(b["cpu"] - a["cpu"]) / seconds for a, b in zip(firsts, lasts, strict=True)]
    return Scaling(
        len(series), sum(counts) / seconds, [c / seconds for c in counts], cpu, sum(counts)
    )


async def run_group(
    kafka: str,
    database_url: str,
    topic: str,
    n: int,
    replicas: int,
    loop: str = "asyncio",
    terminals: int = 2000,
) -> Scaling:
    schema, group = f"bench_scale_{uuid.uuid4().hex[:6]}", f"bench-scale-{uuid.uuid4().hex[:6]}"
    await _migrate(kafka, database_url, schema)
    args = ["--kafka", kafka, "--database-url", database_url, "--topic", topic]
    args += ["--group", group, "--schema", schema, "--terminals", str(terminals), "--loop", loop]
    procs = [ReplicaProcess(args) for _ in range(replicas)]
    try:
        await start_together(procs)
        deadline = asyncio.get_running_loop().time() + 300
        while sum(p.accepted for p in procs) < n:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{replicas} replicas did not consume {n} readings in 300 s")
            if any(p.exited for p in procs):
                raise RuntimeError(f"a replica exited: {[p.errors for p in procs]}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a last sample from each
    finally:
        for p in procs:
            await p.stop()
    return window([p.samples for p in procs])


async def run(
    kafka: str, database_url: str, messages: Messages, loop: str = "asyncio"
) -> list[Scaling]:
    """1 replica, then 2, on one topic holding `messages`."""
    topic = await new_topic(kafka, 6, "bench.scaling")
    await produce(kafka, topic, messages)
    return [
        await run_group(kafka, database_url, topic, len(messages), replicas, loop)
        for replicas in (1, 2)
    ]
