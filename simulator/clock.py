"""Event time: durations and instants as the CLI writes them, Shanghai local time, and pacing.

Event time is the `ts` a reading carries; wall time is when it is sent. Everything inside the
simulator runs on event time (epoch seconds, floats); a `Pacer` decides when each reading may
leave, so one engine serves live runs, fast replays of history and fixed-rate benchmarks.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Asia/Shanghai has had no daylight saving since 1991, so a fixed offset is exact for any date a
# simulation uses, and keeps the per-reading hot path free of zone lookups.
SHANGHAI_OFFSET_S = 8 * 3600
MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": MINUTE, "h": HOUR, "d": DAY}


def parse_duration(text: str) -> float:
    """Seconds in `90s`, `5m`, `1h30m`, `2d`, `500ms` or a plain number of seconds."""
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    try:
        return float(text)
    except ValueError:
        pass
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 5m, 1h30m, 2d)")
    return total


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def parse_instant(text: str, now: float) -> float:
    """Epoch seconds of an RFC 3339 instant, a date (00:00 Shanghai) or an offset from `now`
    (`-2h`, `+5m`)."""
    text = text.strip()
    if text[:1] in "+-":
        sign = -1.0 if text.startswith("-") else 1.0
        return now + sign * parse_duration(text[1:])
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return day_start(date.fromisoformat(text))
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.timestamp()


def day_start(day: date) -> float:
    """00:00 in Shanghai on `day`, as epoch seconds."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).timestamp()


def next_local_time(hour: int, minute: int, after: float) -> float:
    """The first HH:MM (Shanghai) at or after `after`."""
    local = datetime.fromtimestamp(after, SHANGHAI)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() < after:
        candidate += timedelta(days=1)
    return candidate.timestamp()


def local_hour(t: float) -> float:
    """Hour of day in Shanghai, 0 ≤ h < 24, with fractions."""
    return ((t + SHANGHAI_OFFSET_S) % DAY) / HOUR


def local_weekday(t: float) -> int:
    """Monday = 0 ... Sunday = 6, in Shanghai."""
    # 1970-01-01 was a Thursday (3).
    return int((t + SHANGHAI_OFFSET_S) // DAY + 3) % 7


def local_day(t: float) -> int:
    """Days since 1970-01-01 in Shanghai: a key for per-day variation."""
    return int((t + SHANGHAI_OFFSET_S) // DAY)


def hhmm_hours(text: str) -> float:
    hours, _, minutes = text.partition(":")
    return int(hours) + int(minutes or 0) / 60


@dataclass(frozen=True)
class OpeningHours:
    opens: float = 6.0
    closes: float = 19.0

    @classmethod
    def of(cls, opens: str, closes: str) -> OpeningHours:
        return cls(hhmm_hours(opens), hhmm_hours(closes))

    def is_open(self, t: float) -> bool:
        return self.opens <= local_hour(t) < self.closes


def format_ts(t: float) -> str:
    """RFC 3339 UTC with a `Z`; fractions only when the instant has them (µs at most)."""
    micros = round(t * 1_000_000)
    secs, frac = divmod(micros, 1_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        text += "." + f"{frac:06d}".rstrip("0")
    return text + "Z"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def live_start(now: float) -> float:
    """Live runs start on the next whole second, so timestamps read cleanly."""
    return float(math.ceil(now))


@dataclass(frozen=True)
class Pacer:
    """When a reading may be sent (wall time), given its event time and its position in the run.

    - `speed`: event seconds per wall second from (`event0`, `wall0`); 1 is live, `inf` is as fast
      as possible. `rate`: readings per wall second overall, whatever their event time.
    - Never before its own event time: a reading from the future would be rejected (`future_ts`),
      so a fast replay that catches up with the present carries on live.
    """

    event0: float
    wall0: float
    speed: float = 1.0
    rate: float | None = None

    def wall_due(self, event_t: float, index: int) -> float:
        if self.rate is not None:
            due = self.wall0 + index / self.rate
        elif math.isinf(self.speed):
            due = -math.inf
        else:
            due = self.wall0 + (event_t - self.event0) / self.speed
        return max(due, event_t)
