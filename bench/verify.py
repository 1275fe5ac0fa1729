"""Verification of a batch of readings: orjson, msgspec and the native path (no Kafka, no database).

    python -m bench.verify [--readings 100000] [--rounds 5]

The bench's signed cold-chain readings (`bench.readings.make_readings`: 2,000 terminals, one a
minute each, every one genuine and in band) as the raw bytes a consumer hands over, judged by
`services.telemetry.verification` against the bench's directory of terminals
(`bench.readings.place`), each HMAC key's pads prepared before the clock starts, as a running
replica has them:

- **orjson dict path** (the baseline: what the batch use case does today): `orjson.loads` of
  the bytes, then `check` of the dict (`_accepted`: hand type checks, the canonical form by
  orjson with sorted keys, the HMAC);
- **msgspec typed path**: `check` of the bytes (`_typed_accepted`: msgspec decodes into a struct
  per kind, the canonical form by msgspec with sorted keys, the same HMAC);
- **native, a call a reading**: the Rust extension (`services/telemetry/native.py`,
  `NativeVerifier.accepted`: decode, checks, canonical form and HMAC outside the interpreter,
  the seq compared in Python, an `Accepted` built);
- **native, a call a batch**: `judge_batch` of the batch's bytes (batches of 5,000, the
  service's `batch_max_records`), then the service's per-reading loop over its verdicts (the
  directory still holds the terminal, seq above the last);

and, to show where the time of one reading goes, the parts alone: each decoder, each canonical
encoder and the HMAC. The variants run alternately, `--rounds` times each over the whole batch;
each figure is the median round's process CPU time (one core, no I/O). Readings/s, µs per
reading and the ratio against the baseline of the same run are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import msgspec
import orjson

from bench.readings import MASTER, make_readings, place, terminal_ids
from services.telemetry.native import NativeVerifier
from services.telemetry.projections import Directory
from services.telemetry.verification import _DECODER, Accepted, TerminalsAndClock, check

BASELINE = "orjson dict path: loads + check(dict)"
TYPED = "msgspec typed path: check(bytes)"
NATIVE = "native: a call a reading"
NATIVE_BATCH = "native: a call a batch of 5,000 + seq loop"
BATCH = 5000


def directory(terminals: int) -> Directory:
    """The bench's terminals placed as the telemetry bench places them, their keys prepared."""
    d = Directory(MASTER)
    app = SimpleNamespace(state=SimpleNamespace(telemetry=SimpleNamespace(directory=d)))
    place(app, terminal_ids(terminals))
    for terminal in d.terminals.values():
        d.signer(terminal)
    return d


def variants(raws: list[bytes], d: Directory) -> dict[str, Callable[[bytes], Any]]:
    now = time.time()

    def last_seq(_: str) -> int:
        return 0

    signer = d.signer(d.terminals[terminal_ids(1)[0]])
    canonical = {k: v for k, v in orjson.loads(raws[0]).items() if k != "sig"}
    struct = _DECODER.decode(raws[0])
    struct.sig = msgspec.UNSET
    encoder = msgspec.json.Encoder(order="sorted")
    native = NativeVerifier(d)
    against = TerminalsAndClock(d, last_seq, now, 300)
    return {
        BASELINE: lambda raw: check(orjson.loads(raw), against),
        TYPED: lambda raw: check(raw, against),
        NATIVE: lambda raw: native.accepted(raw, last_seq, now, 300),
        "part: orjson.loads": orjson.loads,
        "part: msgspec decode into the struct": _DECODER.decode,
        "part: canonical, orjson sorted dict": lambda _: orjson.dumps(
            canonical, option=orjson.OPT_SORT_KEYS
        ),
        "part: canonical, msgspec sorted dict": lambda _: encoder.encode(canonical),
        "part: canonical, msgspec sorted struct": lambda _: encoder.encode(struct),
        "part: HMAC (prepared pads)": signer.hexdigest,
    }


def batch_variant(d: Directory) -> Callable[[list[bytes]], int]:
    """The native batch call and the service's loop over its verdicts (`Telemetry._handle`):
    the readings accepted."""
    now, native, terminals = time.time(), NativeVerifier(d), d.terminals
    last = {tid: 0 for tid in terminals}

    def run(raws: list[bytes]) -> int:
        accepted = 0
        for f in native.judge_batch(raws, now, 300):
            if f is not None and terminals.get(f[0].id) is f[0] and f[2].seq > last[f[0].id]:
                f[2].received_at = now
                accepted += 1
        return accepted

    return run


def measure(n: int, rounds: int, terminals: int = 2000) -> dict[str, float]:
    """µs of process CPU per reading, the median of `rounds` rounds, by variant."""
    raws = [value for _, value in make_readings(terminals, max(n // terminals, 1))]
    d = directory(terminals)
    runs = variants(raws, d)
    batch = batch_variant(d)
    for name in (BASELINE, TYPED, NATIVE):  # each accepts every reading; warms the time cache
        verdicts = [runs[name](raw) for raw in raws[:terminals]]
        if not all(isinstance(v, Accepted) for v in verdicts):
            raise RuntimeError(f"{name} did not accept every genuine reading")
    if batch(raws[:BATCH]) != len(raws[:BATCH]):
        raise RuntimeError(f"{NATIVE_BATCH} did not accept every genuine reading")
    chunks = [raws[i : i + BATCH] for i in range(0, len(raws), BATCH)]
    times: dict[str, list[float]] = {name: [] for name in [*runs, NATIVE_BATCH]}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.process_time()
            for raw in raws:
                run(raw)
            times[name].append((time.process_time() - started) / len(raws) * 1e6)
            if name == NATIVE:  # the batch call right after the single one, alternately too
                started = time.process_time()
                for chunk in chunks:
                    batch(chunk)
                times[NATIVE_BATCH].append((time.process_time() - started) / len(raws) * 1e6)
    ordered = [BASELINE, TYPED, NATIVE, NATIVE_BATCH, *(k for k in runs if k.startswith("part"))]
    return {name: statistics.median(times[name]) for name in ordered}


def figures(n: int = 100_000, rounds: int = 5) -> dict[str, float]:
    """For `python -m bench --only verify`: readings/s of both paths and their ratio."""
    us = measure(n, rounds)
    return {
        "verify: orjson dict path": 1e6 / us[BASELINE],
        "verify: msgspec typed path": 1e6 / us[TYPED],
        "verify: native, a call a batch": 1e6 / us[NATIVE_BATCH],
        "verify: ratio typed / dict path": us[BASELINE] / us[TYPED],
        "verify: ratio native batch / dict path": us[BASELINE] / us[NATIVE_BATCH],
    }


def report(us: dict[str, float]) -> None:
    base = us[BASELINE]
    print(f"{'variant':44} {'readings/s':>11} {'µs/reading':>11} {'ratio':>7}")
    for name, t in us.items():
        print(f"{name:44} {1e6 / t:>11,.0f} {t:>11.3f} {base / t:>7.2f}")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; {_load()}", file=sys.stderr)
    us = measure(args.readings, args.rounds)
    print(f"after: {_load()}", file=sys.stderr)
    report(us)
    print("ratio = µs of the orjson dict path / µs of the variant (above 1: faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
