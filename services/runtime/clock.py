"""The one wall clock. Rules and use cases are handed `now` (a `Clock`); only wiring (`app.py`)
and the runtime's own plumbing read the wall clock, so tests move time by handing another."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
# Seconds since the epoch, for the hot path that compares reading timestamps as numbers.
EpochClock = Callable[[], float]


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_now() -> float:
    return time.time()
