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


def local_minute() -> str:
    """This minute in China as a `datetime-local` field writes it (`2026-05-06T10:30`)."""
    return wall().astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


def from_local(text: str) -> datetime | None:
    """A `datetime-local` field's value (China's wall time, to the minute or second) as an
    aware instant; None when it is no such value."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if parsed.tzinfo is not None else parsed.replace(tzinfo=CHINA)
