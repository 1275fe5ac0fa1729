"""The garbage collector's youngest-generation threshold in a service process.

CPython collects its youngest generation every 700 container allocations (3.11's default). A
telemetry batch holds up to 5,000 records and allocates several containers for each, so at that
threshold the collector ran over the batch in flight dozens of times per batch and moved it on
to the older generations, whose full collections then walked the whole heap again. At 20,000 the
service spent about a fifth less CPU per reading, and 50,000 gained nothing more
(bench/README.md, "The garbage collector"). The older generations keep their thresholds: a full
collection still follows enough younger ones, and reference cycles are still freed.

`SENTINEL_GC_GEN0_THRESHOLD` overrides the figure for every service; applied by the process entry
(`services.runtime.app.serve`, in each worker of `--workers`) and by the benchmarks, which run
a service in their own process.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping

VARIABLE = "SENTINEL_GC_GEN0_THRESHOLD"
GEN0_THRESHOLD = 20_000


def gen0_threshold(environ: Mapping[str, str] = os.environ) -> int:
    """The threshold `environ` asks for, the default without one; SystemExit naming the
    variable and the reason for a value that is not a whole number of at least 1."""
    text = environ.get(VARIABLE, "").strip()
    if not text:
        return GEN0_THRESHOLD
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f"{VARIABLE}={text!r}: not a whole number") from None
    if value < 1:
        raise SystemExit(f"{VARIABLE}={text!r}: must be at least 1")
    return value


def tune_gc(environ: Mapping[str, str] = os.environ) -> int:
    """Set this process's youngest-generation threshold; return it."""
    threshold = gen0_threshold(environ)
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)
    return threshold
