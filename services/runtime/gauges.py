"""Gauges counted from the database, so that they are right after a restart and on every replica.

A `CountedGauges` recomputes its gauges with `refresh()`: once at start-up (before any message is
consumed), then every `interval_s` in the background, and soon after `poke()` — which a service
calls once it committed a change the gauges count. Every replica runs its own refresh (no
advisory lock): each reports the same counts from the shared database, and queries take
`max by (...)` over the replicas.

`set_counts` sets a labelled gauge to a fresh set of counts; a label set counted before and
missing now goes to 0 rather than keeping its last value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from prometheus_client import Gauge

log = logging.getLogger(__name__)

Labels = tuple[str, ...]


class LabelledCounts:
    """A labelled gauge set from counts; remembers what it set to zero what disappears."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge
        self._seen: set[Labels] = set()

    def set(self, counts: Mapping[Labels, float], also: Iterable[Labels] = ()) -> None:
        """Set every label set in `counts`; those in `also` or set before and absent now to 0."""
        keys = set(counts) | set(also) | self._seen
        for labels in keys:
            self.gauge.labels(*labels).set(counts.get(labels, 0))
        self._seen = keys


class CountedGauges:
    """Runs `refresh` at start, every `interval_s`, and `settle_s` after a `poke()`."""

    def __init__(
        self,
        name: str,
        refresh: Callable[[], Awaitable[None]],
        interval_s: float,
        *,
        settle_s: float = 0.2,
    ) -> None:
        self.name, self._refresh = name, refresh
        self.interval_s, self.settle_s = interval_s, settle_s
        self._wake: asyncio.Event | None = None
        self.refreshed = 0  # how many refreshes succeeded (tests, logs)

    def poke(self) -> None:
        """Something the gauges count changed (and is committed): refresh soon."""
        if self._wake is not None:
            self._wake.set()

    async def refresh(self) -> None:
        await self._refresh()
        self.refreshed += 1

    async def run(self) -> None:
        """The background loop (Service.after_start); never raises but CancelledError."""
        self._wake = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            # Several changes in a row make one refresh.
            await asyncio.sleep(self.settle_s)
            self._wake.clear()
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("gauge refresh failed", extra={"gauges": self.name}, exc_info=True)
