"""The event loop a benchmark runs on: the standard asyncio loop or uvloop, chosen per run; and
the collector's threshold a service process runs with (services/runtime/gc_tuning.py), since
the benchmarks run services in their own process, beside the baselines they are compared with."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from services.runtime.gc_tuning import tune_gc

T = TypeVar("T")
LOOPS = ("asyncio", "uvloop")


def factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if name != "asyncio":
        raise ValueError(f"unknown event loop {name!r}; one of {', '.join(LOOPS)}")
    return None


def run(main: Coroutine[Any, Any, T], name: str = "asyncio") -> T:
    tune_gc()
    with asyncio.Runner(loop_factory=factory(name)) as runner:
        return runner.run(main)
