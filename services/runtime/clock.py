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


def aware(moment: datetime, name: str = "now") -> datetime:
    """`moment` in UTC; ValueError for a naive datetime, whose meaning would be a guess.

    The domains check the `now` and the times they are handed with it, so a rule never compares
    a naive time with an aware one (a TypeError deep inside) or guesses a naive time's zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a timezone")
    return moment.astimezone(UTC)


def epoch_now() -> float:
    return time.time()
