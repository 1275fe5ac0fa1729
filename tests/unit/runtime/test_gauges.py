"""services/runtime/gauges.py: gauges recounted from the database, at start, periodically and
soon after a change."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CollectorRegistry, Gauge

from services.runtime.gauges import CountedGauges, LabelledCounts


def value(registry: CollectorRegistry, **labels: str) -> float | None:
    return registry.get_sample_value("g", labels)


def test_labelled_counts_set_what_is_counted_and_zero_what_went_away() -> None:
    registry = CollectorRegistry()
    counts = LabelledCounts(Gauge("g", "h", ["district", "state"], registry=registry))
    counts.set({("a", "open"): 3, ("b", "claimed"): 1}, also=[("c", "open")])
    assert value(registry, district="a", state="open") == 3
    assert value(registry, district="b", state="claimed") == 1
    assert value(registry, district="c", state="open") == 0
    counts.set({("a", "open"): 2})
    assert value(registry, district="a", state="open") == 2
    assert value(registry, district="b", state="claimed") == 0  # not its last value


async def test_a_poke_refreshes_soon_and_the_interval_without_one() -> None:
    calls: list[float] = []

    async def refresh() -> None:
        calls.append(asyncio.get_running_loop().time())

    gauges = CountedGauges("test", refresh, interval_s=0.5, settle_s=0.01)
    gauges.poke()  # before run(): nothing to wake, no error
    task = asyncio.create_task(gauges.run())
    try:
        await asyncio.sleep(0.05)
        assert calls == []
        gauges.poke()
        gauges.poke()  # several changes, one refresh
        await asyncio.sleep(0.1)
        assert len(calls) == 1
        await asyncio.sleep(0.6)
        assert len(calls) == 2  # the interval
        assert gauges.refreshed == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_failing_refresh_is_logged_and_the_loop_goes_on() -> None:
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")

    gauges = CountedGauges("test", refresh, interval_s=0.05, settle_s=0.0)
    task = asyncio.create_task(gauges.run())
    try:
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert calls >= 2 and gauges.refreshed == calls - 1
