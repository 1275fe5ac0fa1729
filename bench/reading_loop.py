"""The per-reading loop of a batch, in process (issue 20, point 2): no Kafka, no database.

    python -m bench.reading_loop [--against REF] [--rounds 4] [--inner 3] [--readings 100000]

The bench's signed cold-chain readings (`bench.readings.make_readings`: 2,000 terminals, one a
minute each, every one genuine, in band and deciding nothing: the common case) judged by one
tree's telemetry code, two parts, each as process CPU time per 1,000 readings:

- **evaluate**: the domain alone, as the batch calls it (`evaluate_into(state, sample, ctx,
  out)` with one list for all, where the tree has it, else `evaluate(state, sample, ctx)`) for
  every reading in order, on a fresh state per terminal each round (the samples and contexts
  made before the clock starts);
- **batch**: the batch use case, `Telemetry.handle_batch` over the readings as deliveries in
  batches of `--batch` (4,750: the average full batch of the telemetry bench), on the in-memory
  stores (`services/telemetry/fakes.py`) and a fresh replica each round: decode, verification,
  rules, pending states, and every tenth batch the fakes' state writes.

With `--against REF`, the same is measured for the code of REF (a detached `git worktree` of it
under /tmp, made once and kept) and of this checkout (or of `--of REF2`, another such
worktree), in alternating processes: each process
loads one tree's `services` and `bench` packages (this file is run from the checkout either way,
so REF needs no copy of it), runs one warm-up round and `--inner` measured rounds; `--rounds`
such pairs, the first of each pair alternating. Processes and not one interpreter because both
trees' modules have the same names; alternating because the machine is shared and its load
moves within seconds. Printed: each part's median over all rounds per tree, the spread, and the
ratio this checkout / REF (below 1: less CPU), overall and per pair (the noise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CHECKOUT = HERE.parent.parent
PARTS = ("evaluate", "batch")
# Runs this file as a script with the tree in the working directory first on the path, so that
# `services` and `bench.readings` are the tree's.
RUNNER = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _readings(path: Path | None, n: int, terminals: int) -> list[bytes]:
    if path is not None and path.exists():
        return [v.encode() for v in json.loads(path.read_text())]
    from bench.readings import make_readings

    values = [value for _, value in make_readings(terminals, max(n // terminals, 1))]
    if path is not None:
        path.write_text(json.dumps([v.decode() for v in values]))
    return values


def measure(raws: list[bytes], inner: int, batch: int, terminals: int) -> dict[str, list[float]]:
    """ms of process CPU per 1,000 readings, one figure per measured round, by part."""
    import asyncio
    from types import SimpleNamespace

    from bench.readings import MASTER, place, terminal_ids
    from services.runtime.messaging import Delivery
    from services.runtime.metrics import Metrics
    from services.runtime.unit_of_work import FakeUnitOfWork
    from services.telemetry import verification
    from services.telemetry.domain import TerminalState, engine, evaluate
    from services.telemetry.fakes import fake_stores
    from services.telemetry.metrics import TelemetryMetrics
    from services.telemetry.projections import Directory
    from services.telemetry.service import Telemetry
    from services.telemetry.settings import TelemetrySettings
    from services.telemetry.verification import Accepted

    directory = Directory(MASTER)
    app = SimpleNamespace(state=SimpleNamespace(telemetry=SimpleNamespace(directory=directory)))
    place(app, terminal_ids(terminals))
    now = time.time()
    settings = TelemetrySettings(terminal_master_secret=MASTER.hex())

    def replica() -> Telemetry:
        stores = fake_stores(directory.terminals, lambda: now)
        metrics = TelemetryMetrics(Metrics("telemetry"))
        uow = FakeUnitOfWork(stores).factory()
        return Telemetry(uow, settings, directory, metrics, lambda: now)

    contexts = replica()
    # The checks' parameters in one `TerminalsAndClock` where the tree has it, else one by one.
    against = (directory, lambda _: 0, now, 300)
    with_clock = getattr(verification, "TerminalsAndClock", None)
    check: Any = verification.check
    verdicts = [
        check(raw, *against) if with_clock is None else check(raw, with_clock(*against))
        for raw in raws
    ]
    if not all(isinstance(v, Accepted) for v in verdicts):
        raise RuntimeError("not every bench reading was accepted")
    samples = [
        (v.terminal.id, v.sample(received_at=now), contexts.context(v.terminal))
        for v in verdicts
        if isinstance(v, Accepted)
    ]
    ids = list(directory.terminals)
    # What the batch calls: one decisions list per batch where the tree has it.
    into = getattr(engine, "evaluate_into", None)
    deliveries = [Delivery("bench.readings", i % 6, i // 6, b"", raw) for i, raw in enumerate(raws)]
    batches = [deliveries[i : i + batch] for i in range(0, len(deliveries), batch)]

    def run_evaluate() -> None:
        states = {tid: TerminalState(tid) for tid in ids}
        if into is None:
            for tid, sample, ctx in samples:
                if evaluate(states[tid], sample, ctx):
                    raise RuntimeError("a bench reading decided something")
            return
        out: list[Any] = []
        for tid, sample, ctx in samples:
            into(states[tid], sample, ctx, out)
        if out:
            raise RuntimeError("a bench reading decided something")

    async def run_batches(telemetry: Telemetry) -> None:
        for b in batches:
            await telemetry.handle_batch(b)
        await telemetry.flush()

    def run_batch() -> float:
        telemetry = replica()  # made outside the clock
        started = time.process_time()
        asyncio.run(run_batches(telemetry))
        took = time.process_time() - started
        accepted = telemetry.metrics.readings.labels("cold_chain", "accepted")._value.get()
        if accepted != len(raws):
            raise RuntimeError(f"{accepted} of {len(raws)} readings accepted")
        return took

    def timed_evaluate() -> float:
        started = time.process_time()
        run_evaluate()
        return time.process_time() - started

    timed_evaluate(), run_batch()  # warm-up: code paths, HMAC pads, time caches
    out: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(inner):
        out["evaluate"].append(1e6 * timed_evaluate() / len(samples))
        out["batch"].append(1e6 * run_batch() / len(raws))
    return out


def worker(args: argparse.Namespace) -> int:
    raws = _readings(Path(args.data) if args.data else None, args.readings, args.terminals)
    print(json.dumps(measure(raws, args.inner, args.batch, args.terminals)))
    return 0


def _tree(ref: str) -> Path:
    """A detached worktree of `ref` under /tmp (made once, kept for further runs)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short=10", ref],
        cwd=CHECKOUT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"reading-loop-{sha}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), sha],
            cwd=CHECKOUT,
            check=True,
            capture_output=True,
        )
    return path


def _in(tree: Path, args: argparse.Namespace, data: Path) -> dict[str, list[float]]:
    command = [
        sys.executable, "-c", RUNNER, str(HERE), "--worker", "--data", str(data),
        "--inner", str(args.inner), "--batch", str(args.batch),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tree, check=True, capture_output=True, text=True)
    result: dict[str, list[float]] = json.loads(done.stdout.splitlines()[-1])
    return result


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f})"


def compare(args: argparse.Namespace) -> int:
    base_tree = _tree(args.against)
    tree = CHECKOUT if args.of is None else _tree(args.of)
    names = {
        "before": f"{args.against} ({base_tree.name})",
        "after": "this checkout" if args.of is None else f"{args.of} ({tree.name})",
    }
    trees = {"before": base_tree, "after": tree}
    data = Path(tempfile.gettempdir()) / f"reading-loop-{args.readings}.json"
    _readings(data, args.readings, args.terminals)
    print(f"machine: {os.cpu_count()} cores; {_load()}", file=sys.stderr)
    rounds: dict[str, list[dict[str, list[float]]]] = {"before": [], "after": []}
    for i in range(args.rounds):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        for which in order:
            rounds[which].append(_in(trees[which], args, data))
        print(f"  pair {i + 1} of {args.rounds} done, {_load()}", file=sys.stderr)
    print(f"after: {_load()}", file=sys.stderr)
    print(f"before = {names['before']}; after = {names['after']}")
    print(f"{'part':9} {'tree':7} {'ms CPU per 1,000 (median)':>26} {'spread':>15} {'ratio':>6}")
    for part in PARTS:
        medians = {}
        for which in ("before", "after"):
            figures = [x for r in rounds[which] for x in r[part]]
            medians[which] = statistics.median(figures)
            spread = f"{min(figures):.3f}-{max(figures):.3f}"
            ratio = medians[which] / medians["before"]
            print(f"{part:9} {which:7} {medians[which]:>26.3f} {spread:>15} {ratio:>6.3f}")
        pairs = [
            statistics.median(a[part]) / statistics.median(b[part])
            for a, b in zip(rounds["after"], rounds["before"], strict=True)
        ]
        print(f"{part:9} ratio after / before per pair: {', '.join(f'{r:.3f}' for r in pairs)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", help="a commit to compare this checkout with")
    parser.add_argument("--of", help="with --against: a commit instead of this checkout")
    parser.add_argument("--rounds", type=int, default=4, help="pairs of processes (--against)")
    parser.add_argument("--inner", type=int, default=3, help="measured rounds per process")
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=4750)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.against:
        return compare(args)
    raws = _readings(None, args.readings, args.terminals)
    print(f"machine: {os.cpu_count()} cores; {_load()}", file=sys.stderr)
    for part, figures in measure(raws, args.inner, args.batch, args.terminals).items():
        shown = ", ".join(f"{x:.3f}" for x in figures)
        median = statistics.median(figures)
        print(f"{part:9} ms CPU per 1,000 readings: median {median:.3f} ({shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
