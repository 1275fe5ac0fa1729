"""The run loop: take readings from the engine as the pacer allows, hand them to the sinks in
batches, log faults and a periodic summary, and stop cleanly on a signal, a count or an end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.clock import Pacer, iso
from simulator.engine import Emission, Engine
from simulator.faults import Fault
from simulator.sink import Sink

log = logging.getLogger("simulator")


@dataclass(frozen=True)
class RunLimits:
    count: int | None = None  # messages, forged and replayed ones included
    end: float | None = None  # event time
    summary_every_s: float = 60.0
    max_batch: int = 1000
    max_wait_s: float = 1.0  # longest sleep, so a stop or a command is never kept waiting


def log_fault(change: str, fault: Fault, t: float) -> None:
    log.info(change, extra={"fault": fault.describe(), "event_time": iso(t)})


class Runner:
    def __init__(
        self,
        engine: Engine,
        sinks: Sequence[Sink],
        pacer: Pacer,
        limits: RunLimits = RunLimits(),
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.sinks, self.pacer, self.limits, self.wall = (
            engine,
            sinks,
            pacer,
            limits,
            wall,
        )
        self.stopping = asyncio.Event()
        self.emitted = 0
        self._started = wall()
        self._last = (self._started, 0)

    def stop(self) -> None:
        self.stopping.set()

    def status(self) -> dict[str, Any]:
        counts = self.engine.counts
        elapsed = max(self.wall() - self._started, 1e-9)
        return {
            "sent": self.emitted,
            "readings": counts["reading"],
            "forged": counts["forged"],
            "replayed": counts["replayed"],
            "suppressed": counts["suppressed"],
            "by_kind": {k: counts[k] for k in ("cold_chain", "footfall", "payment")},
            "event_time": iso(self.engine.now),
            "elapsed_s": round(elapsed, 3),
            "rate_per_s": round(self.emitted / elapsed, 1),
            "faults_active": [f.id for f in self.engine.faults.faults if f.state == "active"],
            "sinks": {s.name: s.stats() for s in self.sinks},
        }

    async def run(self) -> dict[str, Any]:
        try:
            for sink in self.sinks:
                await sink.start()
            self._started = self.wall()
            self._last = (self._started, 0)
            while not self.stopping.is_set():
                batch, wait, finished = self._collect(self.wall())
                if batch:
                    for sink in self.sinks:
                        await sink.emit(batch)
                    self.emitted += len(batch)
                self._maybe_summary()
                if finished:
                    break
                if batch:
                    await asyncio.sleep(0)  # let the control endpoint and signals in
                else:
                    with contextlib.suppress(TimeoutError):
                        timeout = min(wait, self.limits.max_wait_s)
                        await asyncio.wait_for(self.stopping.wait(), timeout)
        finally:
            for sink in self.sinks:
                await sink.close()
        summary = self.status()
        log.info("finished", extra=summary)
        return summary

    def _collect(self, now: float) -> tuple[list[Emission], float, bool]:
        """(readings due by wall time `now`, seconds until the next one, whether the run is
        over)."""
        batch: list[Emission] = []
        count, end = self.limits.count, self.limits.end
        while len(batch) < self.limits.max_batch:
            if count is not None and self.emitted + len(batch) >= count:
                return batch, 0.0, True
            t = self.engine.next_time()
            if end is not None and t >= end:
                return batch, 0.0, True
            due = self.pacer.wall_due(t, self.emitted + len(batch))
            if due > now:
                return batch, due - now, False
            batch.extend(self.engine.step())
            if count is not None and self.emitted + len(batch) >= count:
                return batch[: count - self.emitted], 0.0, True
        return batch, 0.0, False

    def _maybe_summary(self) -> None:
        every = self.limits.summary_every_s
        if every <= 0 or math.isinf(every):
            return
        now = self.wall()
        last_wall, last_sent = self._last
        if now - last_wall < every:
            return
        recent = (self.emitted - last_sent) / max(now - last_wall, 1e-9)
        self._last = (now, self.emitted)
        log.info("summary", extra=self.status() | {"recent_rate_per_s": round(recent, 1)})
