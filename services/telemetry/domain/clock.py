"""Local time of a market: hour-of-week slots and seconds of opening hours between two instants.

Times in the domain are float seconds since the Unix epoch (UTC). Markets trade on their local
clock, so the transaction baseline's hour-of-week and the opening hours of the monitoring-gap rule
are taken in the market's timezone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.telemetry.domain.config import HOUR, WEEK, TerminalContext

# 1970-01-05 was the first Monday after the epoch: weeks and slots count from a Monday 00:00.
_MONDAY = 4 * 86_400.0
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=16_384)
def _offset(zone: str, hour: int) -> float:
    # Offsets change on whole hours in practice, so one lookup per zone and hour serves every
    # reading of that hour.
    moment = datetime.fromtimestamp(hour * HOUR, ZoneInfo(zone))
    offset = moment.utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def local_seconds(ts: float, zone: str) -> float:
    """`ts` shifted to the zone's wall clock, still counted from the epoch."""
    return ts + _offset(zone, int(ts // HOUR))


def week_and_slot(local: float) -> tuple[int, int]:
    """The week number (from 1970-01-05) and hour-of-week slot (0 = Monday 00–01) of a local
    time as given by `local_seconds`."""
    since_monday = local - _MONDAY
    week = int(since_monday // WEEK)
    return week, int((since_monday - week * WEEK) // HOUR)


def open_seconds(start: float, end: float, ctx: TerminalContext) -> float:
    """Seconds of the market's opening hours within [start, end], looking back a bounded span.

    Opening hours that close before they open (a night market) run across midnight; equal
    opening and closing times mean always open.
    """
    start = max(start, end - ctx.thresholds.gap.max_lookback_s)
    if end <= start:
        return 0.0
    if ctx.always_open:
        return end - start
    zone = ctx.zone
    overnight = ctx.close_time < ctx.open_time
    day: date = datetime.fromtimestamp(start, zone).date() - _ONE_DAY
    last: date = datetime.fromtimestamp(end, zone).date()
    total = 0.0
    while day <= last:
        opens = datetime.combine(day, ctx.open_time, zone).timestamp()
        close_day = day + _ONE_DAY if overnight else day
        closes = datetime.combine(close_day, ctx.close_time, zone).timestamp()
        overlap = min(closes, end) - max(opens, start)
        if overlap > 0:
            total += overlap
        day += _ONE_DAY
    return total


def rfc3339(ts: float) -> str:
    """`2026-05-01T08:00:00Z`, with milliseconds when the instant has them."""
    moment = datetime.fromtimestamp(round(ts, 3), tz=ZoneInfo("UTC"))
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
