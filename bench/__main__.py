"""`make bench`: every benchmark against real Kafka and PostgreSQL, each figure beside baselines
measured in the same run, every run repeated (default twice) and the spread reported.

    python -m bench [--repeat 2] [--only kafka,telemetry,peer,latency,task,scaling,outbox,verify]
                    [--loop asyncio|uvloop] [--readings 100000] [--json results.json]

One round: 100,000 signed cold-chain readings (2,000 terminals, 6 partitions) produced with
aiokafka to a fresh topic (raw produce), read back with aiokafka getmany and with confluent-kafka
(the two raw-consume baselines) and with the broker's ConsumerPerformance; ProducerPerformance
writes the same payloads to another topic; one telemetry replica then consumes the same topic
(full path) and the Quix Streams peer after it; then the latencies (reading → risk at 5,000/s,
risk → task) and the scaling runs (1 and 2 replicas as processes), the outbox relay, and the
verification of the readings in process (`verify`: the orjson dict path against msgspec's).
`bench/README.md` explains each.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import (
    console,
    inspection,
    kafka,
    loops,
    outbox_relay,
    peer,
    scaling,
    telemetry,
    verify,
    workers,
)
from bench.readings import PARTITIONS, make_readings, new_topic, terminal_ids
from tests.support.infra import infrastructure

PARTS = (
    "kafka",
    "telemetry",
    "peer",
    "latency",
    "task",
    "console",
    "scaling",
    "outbox",
    "verify",
    "workers",
)
Figures = dict[str, float]


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f})"


async def _round(kafka_url: str, database_url: str, parts: set[str], n: int, loop: str) -> Figures:
    out: Figures = {}
    terminals = 2000
    messages = make_readings(terminals, n // terminals)
    n = len(messages)
    topic = await new_topic(kafka_url, PARTITIONS, "bench.readings")
    print(f"  {_load()}; readings topic {topic}", file=sys.stderr)
    warm = await new_topic(kafka_url, PARTITIONS, "bench.warm")
    await kafka.aiokafka_produce(kafka_url, warm, messages[:5000])  # connections, broker JIT
    out["aiokafka produce"] = n / await kafka.aiokafka_produce(kafka_url, topic, messages)
    if "kafka" in parts or "telemetry" in parts:
        consumed = await kafka.aiokafka_consume(kafka_url, topic, PARTITIONS, n)
        out["aiokafka getmany + decode"] = n / consumed.seconds
        out["aiokafka consume CPU ms per 1,000"] = 1e6 * consumed.cpu_s / n
        try:
            consumed = await kafka.confluent_consume(kafka_url, topic, PARTITIONS, n)
            out["confluent-kafka consume + decode"] = n / consumed.seconds
            out["confluent consume CPU ms per 1,000"] = 1e6 * consumed.cpu_s / n
        except ImportError as exc:
            print(f"  confluent-kafka unavailable ({exc}): make bench installs it", file=sys.stderr)
    if "kafka" in parts:
        try:
            java_topic = await new_topic(kafka_url, PARTITIONS, "bench.java")
            # Five times the readings: a cold JVM needs a few hundred thousand to warm up.
            out["kafka-producer-perf-test"] = await kafka.java_produce(
                kafka_url, java_topic, messages, 5 * n
            )
            out["kafka-consumer-perf-test"] = await kafka.java_consume(kafka_url, java_topic, 5 * n)
        except (OSError, RuntimeError, IndexError, ValueError, TimeoutError) as exc:
            print(f"  Kafka perf tools unavailable: {exc}", file=sys.stderr)
    if "telemetry" in parts:
        full = await telemetry.full_path(kafka_url, database_url, topic, terminal_ids(terminals), n)
        out["telemetry full path"] = full.rate
        out["ratio full path / raw consume"] = full.rate / out["aiokafka getmany + decode"]
        if "confluent-kafka consume + decode" in out:
            out["ratio full path / confluent consume"] = (
                full.rate / out["confluent-kafka consume + decode"]
            )
        out["CPU ms per 1,000 readings"] = full.cpu_ms_per_1000
        out["readings per batch"] = full.readings / max(full.batches, 1)
    if "peer" in parts:
        try:
            q = await peer.quix(kafka_url, topic, n)
            out["Quix Streams peer"] = q.rate
            out["Quix CPU ms per 1,000 readings"] = q.cpu_ms_per_1000
        except (OSError, RuntimeError, TimeoutError, ValueError, KeyError) as exc:
            print(f"  Quix Streams peer unavailable: {exc}", file=sys.stderr)
    if "latency" in parts:
        lat = await telemetry.latency(kafka_url, database_url, loop=loop)
        out["reading -> risk p50 ms"] = 1000 * _pct(lat.total, 50)
        out["reading -> risk p99 ms"] = 1000 * _pct(lat.total, 99)
        for stage, seconds in lat.stages.items():
            out[f"  {stage} p50 ms"] = 1000 * _pct(seconds, 50)
            out[f"  {stage} p99 ms"] = 1000 * _pct(seconds, 99)
    if "task" in parts:
        lat = await inspection.risk_to_task(kafka_url, database_url)
        out["risk -> task p50 ms"] = 1000 * _pct(lat, 50)
        out["risk -> task p99 ms"] = 1000 * _pct(lat, 99)
    if "console" in parts:
        page = await console.task_list(kafka_url, database_url)
        out["console task list (1,000 tasks) p95 ms"] = page["page_p95_ms"]
        out["inspection GET /tasks (1,000) p95 ms"] = page["api_p95_ms"]
        out["ratio task list page / API p95"] = page["page_p95_ms"] / page["api_p95_ms"]
    if "verify" in parts:  # in process, no broker: bench/verify.py
        out.update(verify.figures(n))
    if "scaling" in parts:
        big = make_readings(terminals, 300)
        for run in await scaling.run(kafka_url, database_url, big, loop):
            tag = f"{run.replicas} replica{'s' if run.replicas > 1 else ''}"
            out[f"{tag}: group"] = run.rate
            for i, (rate, cpu) in enumerate(zip(run.per_replica, run.cpu_share, strict=True)):
                out[f"{tag}: replica {i + 1}"] = rate
                out[f"{tag}: replica {i + 1} CPU share"] = cpu
    if "workers" in parts:  # `python -m services.telemetry --workers 1`, then 2: bench/workers.py
        out.update(
            await workers.figures(
                kafka_url, database_url, make_readings(terminals, 300), terminal_ids(terminals)
            )
        )
    return out


FORMATS: dict[str, Callable[[float], str]] = {
    "ratio": lambda v: f"{v:.2f}",
    "CPU share": lambda v: f"{v:.2f}",
    "ms": lambda v: f"{v:,.0f}",
    "CPU ms": lambda v: f"{v:.1f}",
}


def _fmt(name: str, value: float) -> str:
    for key in ("CPU ms", "CPU share", "ratio", "ms"):
        if key in name:
            return FORMATS[key](value)
    return f"{value:,.0f}"


def _report(rounds: list[Figures]) -> None:
    names = list(dict.fromkeys(k for r in rounds for k in r))
    print("\n== figures (readings/s unless named; one column per run) ==")
    for name in names:
        values = [r[name] for r in rounds if name in r]
        cells = "  ".join(f"{_fmt(name, v):>9}" for v in values)
        spread = ""
        if len(values) > 1 and min(values) > 0:
            spread = f"  spread {100 * (max(values) - min(values)) / min(values):.0f} %"
        print(f"{name:38} {cells}{spread}")


async def _suite(endpoints: Any, args: argparse.Namespace) -> list[Figures]:
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    unknown = parts - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))}")
    rounds = []
    for i in range(args.repeat):
        print(f"\n-- run {i + 1} of {args.repeat} ({args.loop}) --", file=sys.stderr)
        started = time.perf_counter()
        rounds.append(
            await _round(endpoints.kafka, endpoints.database_url, parts, args.readings, args.loop)
        )
        if "outbox" in parts:
            await outbox_relay.run(endpoints.kafka, endpoints.database_url)
        print(f"  run took {time.perf_counter() - started:.0f} s; {_load()}", file=sys.stderr)
        _report(rounds[-1:])
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--loop", choices=loops.LOOPS, default="asyncio")
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--json", help="also write the figures of every run to this file")
    args = parser.parse_args()
    # The services log each dead-lettered record of the shared registry topics (other sessions'
    # test data) and FastStream its consumers' life: none of it is a figure.
    logging.disable(logging.WARNING)
    with infrastructure() as endpoints:
        print(f"infrastructure: {endpoints.origin}, kafka {endpoints.kafka}", file=sys.stderr)
        print(f"machine: {os.cpu_count()} cores; {_load()}", file=sys.stderr)
        rounds = loops.run(_suite(endpoints, args), args.loop)
    if len(rounds) > 1:
        _report(rounds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"loop": args.loop, "runs": rounds}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
