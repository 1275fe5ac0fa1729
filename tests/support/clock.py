"""A use case's clock in a unit test: it reads the instant the test sets (`clock.at = ...`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")


class Clock(Generic[T]):
    def __init__(self, at: T) -> None:
        self.at = at

    def __call__(self) -> T:
        return self.at


# Where the markets are: a service's "today" (a default day, a deadline) is this city's, which
# runs ahead of the machine's UTC date from 16:00 UTC on.
CITY = ZoneInfo("Asia/Shanghai")


def city_today() -> date:
    """Today in the city, as the services count days."""
    return datetime.now(CITY).date()
