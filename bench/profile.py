"""Profile the telemetry full path: `python -m bench.profile [--readings N] [--html FILE]`.

Produces N signed readings to a fresh topic (not profiled), then runs one telemetry replica on
them under pyinstrument, from the first accepted reading to the last, and prints the call tree
(wall-clock samples of the event loop's thread: everything the replica does, awaits included).
For a sampling profile from outside the process, run the same command under
`py-spy record -o profile.svg -- python -m bench.profile --profiler none`; `--profiler cprofile`
is deterministic (slower, exact call counts).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from bench import loops
from bench.readings import PARTITIONS, accepted, make_readings, new_topic, produce, start_replica
from tests.support.infra import infrastructure


async def profile(
    kafka: str,
    database_url: str,
    n: int,
    html: str | None,
    use: str | None,
    topic: str | None,
) -> None:
    terminals = 2000
    messages = make_readings(terminals, n // terminals)
    if topic is None:
        topic = await new_topic(kafka, PARTITIONS)
        await produce(kafka, topic, messages)
        print(f"produced to {topic}", file=sys.stderr)
    ids = [f"trm_b{i:05d}" for i in range(terminals)]
    app = await start_replica(kafka, database_url, topic, ids)
    profiler = None
    try:
        while accepted(app) == 0:
            await asyncio.sleep(0.001)
        if use == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001, async_mode="disabled")
            profiler.start()
        elif use == "cprofile":
            deterministic = cProfile.Profile()
            deterministic.enable()
        first, started, cpu = accepted(app), time.perf_counter(), time.process_time()
        while accepted(app) < len(messages):
            await asyncio.sleep(0.02)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            profiler.stop()
        if use == "cprofile":
            deterministic.disable()
            stats = pstats.Stats(deterministic)
            stats.sort_stats("tottime").print_stats(35)
            print(components(stats))
        done = len(messages) - first
        print(
            f"{done:,} readings in {took:.2f} s: {done / took:,.0f} readings/s,"
            f" {1e6 * cpu / done:.1f} ms CPU per 1,000",
            file=sys.stderr,
        )
        sizes = app.state.telemetry.metrics.batch_size
        count = sum(b.get() for b in sizes._buckets)
        print(f"{count:.0f} batches, {done / max(count, 1):,.0f} readings each", file=sys.stderr)
        if profiler is not None:
            print(profiler.output_text(unicode=False, color=False, show_all=False))
            if html:
                await asyncio.to_thread(Path(html).write_text, profiler.output_html())
    finally:
        await app.state.service.stop()


# Where a function's own time goes, by where it is defined (first match wins).
COMPONENTS = (
    ("aiokafka: fetch, record decoding", ("aiokafka/",)),
    ("FastStream: consume loop, batch message", ("faststream/", "fast_depends/", "anyio/")),
    ("Delivery objects (runtime messaging)", ("services/runtime/messaging.py",)),
    ("verify + validate (fast path, HMAC)", ("verification.py", "signing.py", "projections.py")),
    ("rules (domain)", ("services/telemetry/domain/",)),
    (
        "batch loop, state, metrics (pipeline, store)",
        ("telemetry/service.py", "store.py", "metrics.py"),
    ),
    ("offsets, outbox (runtime)", ("services/runtime/",)),
    ("asyncpg: queries, codecs", ("asyncpg/",)),
    ("event loop: waiting (epoll)", ("poll' of 'select.epoll",)),
    ("event loop, sockets, other", ("",)),
)


def components(stats: pstats.Stats) -> str:
    """The profile's own times summed by component (C functions count where they are called
    from only when cProfile attributes them so: orjson and hashlib calls count as 'other')."""
    own: dict[str, float] = dict.fromkeys((name for name, _ in COMPONENTS), 0.0)
    raw: Any = stats
    for (filename, _line, function), (_cc, _nc, tottime, _ct, callers) in raw.stats.items():
        where = f"{filename}:{function}"
        if filename == "~" and callers:  # a builtin: charge it to its heaviest caller's file
            caller = max(callers.items(), key=lambda item: item[1][2])[0]
            where = f"{caller[0]}:{function}"
        for name, patterns in COMPONENTS:
            if any(p in where for p in patterns):
                own[name] += tottime
                break
    total = sum(own.values())
    lines = [f"{'component':46} {'share':>6}"]
    lines += [f"{name:46} {100 * t / total:5.1f} %" for name, t in own.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--html")
    parser.add_argument(
        "--profiler", choices=["pyinstrument", "cprofile", "none"], default="pyinstrument"
    )
    parser.add_argument("--topic", help="a topic produced by an earlier run (same --readings)")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    with infrastructure() as endpoints:
        loops.run(
            profile(
                endpoints.kafka,
                endpoints.database_url,
                args.readings,
                args.html,
                None if args.profiler == "none" else args.profiler,
                args.topic,
            ),
            args.loop,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
