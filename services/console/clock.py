"""The console's one wall clock: every page reads the time, and the city's day, here, so that a
day is always China's (a licence, a deadline, a month) and a test can hand another clock
(`clock.wall = ...`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from services.runtime.clock import Clock, utc_now

CHINA = timezone(timedelta(hours=8), "CST")

wall: Clock = utc_now


def now() -> datetime:
    """This instant (aware, UTC)."""
    return wall()


def today() -> date:
    """Today in China, where the markets are: the day deadlines and forms speak of."""
    return wall().astimezone(CHINA).date()
