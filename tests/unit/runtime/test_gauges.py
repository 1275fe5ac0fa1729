"""services/runtime/gauges.py: gauges recounted from the database, at start, periodically and
soon after a change."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from prometheus_client import CollectorRegistry, Gauge

from services.runtime.gauges import CountedGauges, LabelledCounts
from tests.support.poll import until


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


async def test_a_poke_refreshes_and_several_pokes_make_one_refresh() -> None:
    calls: list[float] = []

    async def refresh() -> None:
        calls.append(asyncio.get_running_loop().time())

    # An hour's interval: a refresh within the test's deadlines can only be a poke's.
    gauges = CountedGauges("test", refresh, interval_s=3600, settle_s=0.01)
    gauges.poke()  # before run(): nothing to wake, no error
    task = asyncio.create_task(gauges.run())
    try:
        await asyncio.sleep(0)  # a turn of the loop: run() now waits for a poke or the hour
        assert calls == []  # run() itself does not refresh at once (the service does, at start)
        for _ in range(3):
            gauges.poke()  # several changes before the loop looks
        await until(lambda: calls, within=10, what="a refresh after the pokes")
        assert gauges._wake is not None and not gauges._wake.is_set()  # nothing left to refresh
        gauges.poke()
        await until(lambda: gauges.refreshed == 2, within=10, what="a refresh after a later poke")
        assert len(calls) == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_without_a_poke_the_interval_refreshes() -> None:
    calls: list[float] = []

    async def refresh() -> None:
        calls.append(asyncio.get_running_loop().time())

    gauges = CountedGauges("test", refresh, interval_s=0.2, settle_s=0.0)
    started = asyncio.get_running_loop().time()
    task = asyncio.create_task(gauges.run())
    try:
        await until(lambda: len(calls) >= 2, within=10, what="two refreshes by the interval")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # The loop's timer never fires early: each refresh waited at least the interval.
    assert calls[0] - started >= 0.2 and calls[1] - calls[0] >= 0.2


async def test_a_failing_refresh_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")

    gauges = CountedGauges("test", refresh, interval_s=0.05, settle_s=0.0)
    task = asyncio.create_task(gauges.run())
    try:
        await until(lambda: gauges.refreshed >= 1, within=10, what="a refresh after the failed one")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert calls >= 2 and gauges.refreshed == calls - 1
    assert "gauge refresh failed" in caplog.text
