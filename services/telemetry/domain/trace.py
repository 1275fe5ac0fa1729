"""The temperature curve behind a cold-chain risk: its window's readings, downsampled and bounded.

While a cold-chain excursion episode runs or a cold-chain risk is open, the terminal's state holds
a `ColdTrace`; the risk's evidence carries its points (`readings`), so an inspector sees the
curve of the excursion. The trace keeps at most `max_points` points whatever the window's length:

- readings fall into buckets of `size` consecutive readings; a bucket keeps its lowest and its
  highest reading (with their times), so a peak or a dip is never averaged away;
- when `(max_points - 1) // 2` buckets are full, neighbouring buckets merge pairwise and `size`
  doubles;
- the latest reading is always a point (the curve ends where the temperature is now).

So a reading costs one comparison or two and, once per bucket, one small list; nothing is
allocated per reading beyond that, and only while a window is open. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# A bucket: [ts_lo, lo, ts_hi, hi, n], times as epoch seconds, n the readings it stands for.
Bucket = list[float]
DEFAULT_MAX_POINTS = 120


@dataclass(slots=True)
class ColdTrace:
    buckets: list[Bucket] = field(default_factory=list)
    size: int = 1
    last_ts: float | None = None
    last_temp: float = 0.0

    def add(self, ts: float, temp: float, max_points: int = DEFAULT_MAX_POINTS) -> None:
        """One reading, in time order; `max_points` at least 3."""
        self.last_ts = ts
        self.last_temp = temp
        buckets = self.buckets
        if buckets:
            b = buckets[-1]
            if b[4] >= self.size and len(buckets) >= max(1, (max_points - 1) // 2):
                self._compact()
                buckets = self.buckets
                b = buckets[-1]
            if b[4] < self.size:
                if temp < b[1]:
                    b[0] = ts
                    b[1] = temp
                if temp > b[3]:
                    b[2] = ts
                    b[3] = temp
                b[4] += 1
                return
        buckets.append([ts, temp, ts, temp, 1])

    def _compact(self) -> None:
        old = self.buckets
        merged: list[Bucket] = []
        for i in range(0, len(old) - 1, 2):
            a, b = old[i], old[i + 1]
            lo = a if a[1] <= b[1] else b
            hi = a if a[3] >= b[3] else b
            merged.append([lo[0], lo[1], hi[2], hi[3], a[4] + b[4]])
        if len(old) % 2:
            merged.append(old[-1])
        self.buckets = merged
        self.size *= 2

    def points(self) -> Iterator[tuple[float, float]]:
        """`(ts, temp_c)` in time order: each bucket's low and high (one point if the same),
        and the latest reading."""
        end = None
        for ts_lo, lo, ts_hi, hi, _ in self.buckets:
            if ts_lo == ts_hi:
                end = ts_lo
                yield ts_lo, lo
            elif ts_lo < ts_hi:
                end = ts_hi
                yield ts_lo, lo
                yield ts_hi, hi
            else:
                end = ts_lo
                yield ts_hi, hi
                yield ts_lo, lo
        if self.last_ts is not None and self.last_ts != end:
            yield self.last_ts, self.last_temp

    def since(self, start: float) -> list[tuple[float, float]]:
        """The points from `start` on, led by the last point before it (the approach to the
        window, so the curve shows where it crossed)."""
        out: list[tuple[float, float]] = []
        before: tuple[float, float] | None = None
        for point in self.points():
            if point[0] < start:
                before = point
            else:
                out.append(point)
        return out if before is None else [before, *out]

    @property
    def readings(self) -> int:
        """How many readings the trace stands for."""
        return int(sum(b[4] for b in self.buckets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "b": [list(b) for b in self.buckets],
            "k": self.size,
            "last": [self.last_ts, self.last_temp],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColdTrace:
        last_ts, last_temp = data["last"]
        return cls([list(b) for b in data["b"]], int(data["k"]), last_ts, last_temp)
