"""Working days: weekends and public holidays skipped, make-up working days (调休) counted.

One calendar serves every service that counts working days — complaints' 受理 and 调解 clocks,
credit's decision on an objection. It is data (`calendar_cn.yaml` beside this module, or any file
in its format), read once at start-up (`services/runtime/data_files.py`, `load_calendar`) and
handed over parsed; the rules take a `WorkCalendar` value and never read files themselves.

    cal = WorkCalendar.from_dict(parsed_yaml)         # data_files.default_calendar()
    cal.add_working_days(date(2026, 9, 30), 1)        # 2026-10-08: 1-7 Oct off
    cal.deadline_at(received_at, 7, "Asia/Shanghai")  # end of the 7th working day, in UTC

A year the data does not list counts weekends only; `covers(year)` tells the service so it can
warn instead of silently computing a deadline without holidays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.runtime.clock import aware

DAY = timedelta(days=1)
# add_working_days refuses more than this: a clock of 45 working days needs ~65 calendar days,
# and a bound keeps a typo in configuration from spinning through centuries.
MAX_WORKING_DAYS = 3660

_YEAR_KEYS = frozenset({"holidays", "workdays", "provisional", "source"})


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's days off that are weekdays and working days that are weekend days."""

    year: int
    holidays: Mapping[date, str]  # day off -> holiday name (weekend days of a span included)
    workdays: frozenset[date]  # make-up working days (调休上班), all Saturdays or Sundays
    provisional: bool = False
    source: str = ""


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are working days. Immutable; build one with `from_dict` (or `weekends_only`)."""

    years: Mapping[int, YearSchedule] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "years", MappingProxyType(dict(self.years)))

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def weekends_only(cls) -> WorkCalendar:
        """No holidays at all: Monday to Friday are working days."""
        return cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkCalendar:
        """Validate parsed data: `{"years": {2026: {"holidays": {...}, "workdays": [...]}}}`.

        Dates may be `date`s (YAML's unquoted 2026-01-01) or ISO strings; year keys ints or
        digit strings (JSON). Any problem raises ValueError naming the entry, e.g.
        `calendar 2026.workdays[2]: 2026-03-03 is a Tuesday, not a weekend day`.
        """
        unknown = sorted(set(data) - {"version", "years"})
        if unknown:
            raise ValueError(f"calendar: unknown keys {', '.join(map(str, unknown))}")
        raw_years = data.get("years")
        if not isinstance(raw_years, Mapping):
            raise ValueError("calendar: 'years' must be a mapping of year to its days")
        years: dict[int, YearSchedule] = {}
        for key, body in raw_years.items():
            year = _year(key)
            if year in years:
                raise ValueError(f"calendar {year}: listed twice")
            years[year] = _schedule(year, body)
        return cls(years)

    # -- questions ---------------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        """Whether the data lists `year`; if not, that year counts weekends only."""
        return year in self.years

    def is_provisional(self, year: int) -> bool:
        """Whether `year`'s entry is a reckoning awaiting the official arrangement (or absent)."""
        schedule = self.years.get(year)
        return schedule is None or schedule.provisional

    def holiday_name(self, day: date) -> str | None:
        schedule = self.years.get(_day(day).year)
        return None if schedule is None else schedule.holidays.get(_day(day))

    def is_working_day(self, day: date) -> bool:
        day = _day(day)
        schedule = self.years.get(day.year)
        if schedule is not None:
            if day in schedule.holidays:
                return False
            if day in schedule.workdays:
                return True
        return day.weekday() < 5

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The n-th working day after `start`'s day; `start`'s day itself never counts.

        A datetime counts by its own wall-clock date: convert it to the city's timezone first
        (`deadline_at` does). n = 0 gives `start`'s day unchanged.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if n > MAX_WORKING_DAYS:
            raise ValueError(f"n must be at most {MAX_WORKING_DAYS}, got {n}")
        day = _day(start)
        left = n
        while left:
            day += DAY
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days d with a < d <= b (negative when b is before a).

        So `working_days_between(d, add_working_days(d, n)) == n`, and on a deadline's own day
        `working_days_between(today, deadline_day)` is 0: no further working day remains.
        """
        first, last = _day(a), _day(b)
        if last < first:
            return -self.working_days_between(last, first)
        count, day = 0, first + DAY
        while day <= last:
            if self.is_working_day(day):
                count += 1
            day += DAY
        return count

    def deadline_at(self, received_at: datetime, n: int, tz: tzinfo | str) -> datetime:
        """End of the n-th working day after `received_at`'s local day, in UTC.

        "Within 7 working days" includes the 7th: the deadline is its last microsecond
        (23:59:59.999999 local). The local day is taken in `tz` (the city's, `Asia/Shanghai`),
        so a complaint received at 00:30 on a Saturday in Yantai counts from Saturday although
        it is still Friday in UTC.
        """
        zone = resolve_timezone(tz)
        local = aware(received_at, "received_at").astimezone(zone)
        last_day = self.add_working_days(local.date(), n)
        return datetime.combine(last_day, time.max, tzinfo=zone).astimezone(UTC)

    def local_date(self, moment: datetime, tz: tzinfo | str) -> date:
        """The wall-clock date of `moment` in `tz`."""
        return aware(moment, "moment").astimezone(resolve_timezone(tz)).date()


def resolve_timezone(tz: tzinfo | str) -> tzinfo:
    """A tzinfo from an IANA name (`"Asia/Shanghai"`) or a tzinfo; ValueError if unknown."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc


def _day(value: date | datetime) -> date:
    # datetime is a subclass of date: take its wall-clock date, never compare it as a datetime.
    return value.date() if isinstance(value, datetime) else value


def _year(key: object) -> int:
    if isinstance(key, bool):
        raise ValueError(f"calendar: {key!r} is not a year")
    if isinstance(key, int):
        year = key
    elif isinstance(key, str) and key.isdigit():
        year = int(key)
    else:
        raise ValueError(f"calendar: {key!r} is not a year")
    if not 1949 <= year <= 9999:
        raise ValueError(f"calendar: {year} is not a plausible year")
    return year


def _date(value: object, where: str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{where}: {value!r} is a timestamp, expected a date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _in_year(day: date, year: int, where: str) -> date:
    if day.year != year:
        raise ValueError(f"{where}: {day} is not in {year}")
    return day


def _span(value: object, year: int, where: str) -> Iterable[date]:
    if isinstance(value, list | tuple):
        if not 1 <= len(value) <= 2:
            raise ValueError(f"{where}: expected [first, last] or [day], got {len(value)} items")
        first = _in_year(_date(value[0], where), year, where)
        last = _in_year(_date(value[-1], where), year, where)
    else:
        first = last = _in_year(_date(value, where), year, where)
    if last < first:
        raise ValueError(f"{where}: last day {last} is before first day {first}")
    day = first
    while day <= last:
        yield day
        day += DAY


def _schedule(year: int, body: object) -> YearSchedule:
    where = f"calendar {year}"
    if not isinstance(body, Mapping):
        raise ValueError(f"{where}: expected a mapping with holidays and workdays")
    unknown = sorted(set(map(str, body)) - _YEAR_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")

    provisional = body.get("provisional", False)
    if not isinstance(provisional, bool):
        raise ValueError(f"{where}.provisional: must be true or false")
    source = body.get("source", "")
    if not isinstance(source, str):
        raise ValueError(f"{where}.source: must be text")

    raw_holidays = body.get("holidays") or {}
    if not isinstance(raw_holidays, Mapping):
        raise ValueError(f"{where}.holidays: expected a mapping of name to [first, last]")
    holidays: dict[date, str] = {}
    for name, span in raw_holidays.items():
        entry = f"{where}.holidays.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{entry}: a holiday needs a name")
        for day in _span(span, year, entry):
            if day in holidays:
                raise ValueError(f"{entry}: {day} is already in {holidays[day]}")
            holidays[day] = name

    raw_workdays = body.get("workdays") or []
    if not isinstance(raw_workdays, list | tuple):
        raise ValueError(f"{where}.workdays: expected a list of dates")
    workdays: set[date] = set()
    for i, value in enumerate(raw_workdays):
        entry = f"{where}.workdays[{i}]"
        day = _in_year(_date(value, entry), year, entry)
        if day.weekday() < 5:
            raise ValueError(f"{entry}: {day} is a {day:%A}, not a weekend day")
        if day in holidays:
            raise ValueError(f"{entry}: {day} is also a holiday ({holidays[day]})")
        if day in workdays:
            raise ValueError(f"{entry}: {day} is listed twice")
        workdays.add(day)

    return YearSchedule(
        year=year,
        holidays=MappingProxyType(holidays),
        workdays=frozenset(workdays),
        provisional=provisional,
        source=source.strip(),
    )
