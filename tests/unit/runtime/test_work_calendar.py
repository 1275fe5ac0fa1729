"""Working-day arithmetic on the packaged calendar: weekends, holidays, make-up working days,
the new year, the 7 and 45 working-day clocks, and the city's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.data_files import CALENDAR_FILE, default_calendar, read_calendar
from services.runtime.work_calendar import WorkCalendar

CAL = default_calendar()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=SHANGHAI)


# -- which days work -----------------------------------------------------------------------------


def test_weekdays_work_and_weekends_do_not() -> None:
    # 2026-03-09 is a Monday with nothing special around it.
    week = [date(2026, 3, 9) + timedelta(days=i) for i in range(7)]
    assert [CAL.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_a_public_holiday_on_a_weekday_is_off() -> None:
    assert date(2026, 10, 1).weekday() == 3  # Thursday
    assert not CAL.is_working_day(date(2026, 10, 1))
    assert CAL.holiday_name(date(2026, 10, 1)) == "国庆节"
    assert not CAL.is_working_day(date(2026, 2, 23))  # Monday, 正月初七
    assert CAL.holiday_name(date(2026, 3, 9)) is None


def test_a_make_up_weekend_day_works() -> None:
    for day in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 10, 10)):
        assert day.weekday() >= 5
        assert CAL.is_working_day(day), day


def test_the_2026_arrangement_has_the_notices_days_off_and_working_weekend_days() -> None:
    schedule = CAL.years[2026]
    assert not schedule.provisional
    weekday_holidays = sorted(d for d in schedule.holidays if d.weekday() < 5)
    # 元旦 1-2, 春节 16-20 + 23, 清明 6, 劳动 1 + 4-5, 端午 19, 中秋 25, 国庆 1-2 + 5-7
    assert len(weekday_holidays) == 2 + 6 + 1 + 3 + 1 + 1 + 5
    assert sorted(schedule.workdays) == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]


def test_2027_is_provisional_with_the_statutory_days_only() -> None:
    assert CAL.covers(2027) and CAL.is_provisional(2027)
    schedule = CAL.years[2027]
    assert len(schedule.holidays) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3
    assert {date(2027, 2, 5), date(2027, 2, 8), date(2027, 6, 9), date(2027, 9, 15)} <= set(
        schedule.holidays
    )
    assert not schedule.workdays


def test_an_unlisted_year_counts_weekends_only_and_says_so() -> None:
    assert not CAL.covers(2025) and CAL.is_provisional(2025)
    assert CAL.is_working_day(date(2025, 10, 1))  # a holiday, but the data does not know 2025
    assert not CAL.is_working_day(date(2025, 10, 4))  # Saturday
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 1)
    empty = WorkCalendar.weekends_only()
    assert not empty.covers(2026)
    assert empty.is_working_day(date(2026, 10, 1))


# -- adding working days -------------------------------------------------------------------------


def test_the_start_day_does_not_count() -> None:
    assert CAL.add_working_days(date(2026, 3, 9), 1) == date(2026, 3, 10)  # Mon -> Tue
    assert CAL.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 16)  # Fri -> Mon
    assert CAL.add_working_days(date(2026, 3, 14), 1) == date(2026, 3, 16)  # Sat -> Mon
    assert CAL.add_working_days(date(2026, 3, 14), 0) == date(2026, 3, 14)


def test_holidays_are_skipped_and_make_up_days_counted() -> None:
    # Wed 30 Sep + 1: 1-7 Oct off → Thu 8 Oct.
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # Fri 9 Oct + 1: Sat 10 Oct is a make-up working day.
    assert CAL.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # Fri 13 Feb + 1: Sat 14 Feb works; + 2: 15-23 Feb off → Tue 24 Feb.
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_seven_working_days_checked_by_hand() -> None:
    # Mon 9 Mar: 10-13 (4), 16-18 (7) → Wed 18 Mar.
    assert CAL.add_working_days(date(2026, 3, 9), 7) == date(2026, 3, 18)
    # Tue 10 Feb: 11-13 (3), Sat 14 (4, make-up), 15-23 off, 24-26 (7) → Thu 26 Feb.
    assert CAL.add_working_days(date(2026, 2, 10), 7) == date(2026, 2, 26)
    # Tue 28 Apr: 29-30 (2), 1-5 May off, 6-8 (5), Sat 9 (6, make-up), Mon 11 (7).
    assert CAL.add_working_days(date(2026, 4, 28), 7) == date(2026, 5, 11)


def test_forty_five_working_days_checked_by_hand() -> None:
    # Mon 5 Jan: 6-9 (4), four full weeks to 6 Feb (24), 9-13 Feb (29), Sat 14 (30),
    # 15-23 off, 24-27 (34), Sat 28 (35), 2-6 Mar (40), 9-13 Mar (45) → Fri 13 Mar.
    assert CAL.add_working_days(date(2026, 1, 5), 45) == date(2026, 3, 13)
    # Mon 1 Jun: 2-5 (4), 8-12 (9), 15-18 (13), 19 off, 22-26 (18), then 5 full weeks to
    # 31 Jul (43), Mon 3 Aug (44), Tue 4 Aug (45).
    assert CAL.add_working_days(date(2026, 6, 1), 45) == date(2026, 8, 4)


def test_a_deadline_across_the_new_year() -> None:
    # Wed 30 Dec 2026: Thu 31 (1), 1 Jan 2027 off, Sat/Sun, 4-8 Jan (6), Mon 11 Jan (7).
    assert CAL.add_working_days(date(2026, 12, 30), 7) == date(2027, 1, 11)
    assert CAL.working_days_between(date(2026, 12, 30), date(2027, 1, 11)) == 7
    # Without the 2027 data the holiday on 1 Jan would count.
    weekends = WorkCalendar.weekends_only()
    assert weekends.add_working_days(date(2026, 12, 30), 7) == date(2027, 1, 8)


def test_a_datetime_counts_by_its_own_date() -> None:
    assert CAL.add_working_days(datetime(2026, 3, 13, 23, 59, tzinfo=UTC), 1) == date(2026, 3, 16)


@pytest.mark.parametrize("n", [-1, 1.5, True, 10_000])
def test_nonsense_counts_are_refused(n: Any) -> None:
    with pytest.raises(ValueError, match="n must be"):
        CAL.add_working_days(date(2026, 3, 9), n)


def test_working_days_between_is_exclusive_of_the_start_and_antisymmetric() -> None:
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 10)) == 1
    assert CAL.working_days_between(date(2026, 3, 13), date(2026, 3, 15)) == 0
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3  # 8, 9, Sat 10
    assert CAL.working_days_between(date(2026, 10, 10), date(2026, 9, 30)) == -3


days = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 12, 31))


@given(start=days, n=st.integers(min_value=1, max_value=60))
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_later(
    start: date, n: int
) -> None:
    end = CAL.add_working_days(start, n)
    assert end > start
    assert CAL.is_working_day(end)
    assert CAL.working_days_between(start, end) == n
    # The day before the result is still short of n: the result is the first day that makes n.
    assert CAL.working_days_between(start, end - timedelta(days=1)) == n - 1


@given(start=days, a=st.integers(0, 40), b=st.integers(0, 40))
def test_adding_working_days_composes(start: date, a: int, b: int) -> None:
    # The acceptance clock then the mediation clock is one clock of a + b working days.
    assert CAL.add_working_days(CAL.add_working_days(start, a), b) == CAL.add_working_days(
        start, a + b
    )


# -- deadlines in the city's timezone -------------------------------------------------------------


def test_the_deadline_is_the_end_of_the_nth_working_day_local_in_utc() -> None:
    received = local(2026, 3, 9, 10, 0)  # Monday morning
    deadline = CAL.deadline_at(received, 7, "Asia/Shanghai")
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 3, 18, 23, 59, 59, 999_999, tzinfo=SHANGHAI)
    assert deadline == datetime(2026, 3, 18, 15, 59, 59, 999_999, tzinfo=UTC)


def test_received_late_on_a_friday_evening_counts_from_friday() -> None:
    # Fri 27 Nov 2026, 23:30 in Yantai = 15:30 UTC, still Friday in both.
    received = local(2026, 11, 27, 23, 30)
    # Mon 30 Nov (1) .. Fri 4 Dec (5), Mon 7 (6), Tue 8 Dec (7).
    assert CAL.deadline_at(received, 7, SHANGHAI) == local(2026, 12, 8, 23, 59, 59, 999_999)


def test_received_just_after_local_midnight_counts_from_the_local_day_not_utcs() -> None:
    # Fri 27 Nov 00:30 in Yantai is still Thursday 16:30 in UTC.
    received = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)
    assert received.astimezone(SHANGHAI).date() == date(2026, 11, 27)
    # Counting from the local Friday, the first working day after it is Monday...
    assert CAL.deadline_at(received, 1, SHANGHAI) == local(2026, 11, 30, 23, 59, 59, 999_999)
    assert CAL.deadline_at(received, 7, SHANGHAI) == local(2026, 12, 8, 23, 59, 59, 999_999)
    # ...where a UTC clock would count from Thursday and end a working day earlier.
    assert CAL.deadline_at(received, 1, UTC) == datetime(
        2026, 11, 27, 23, 59, 59, 999_999, tzinfo=UTC
    )


def test_the_deadline_day_is_inclusive() -> None:
    deadline = CAL.deadline_at(local(2026, 3, 9, 10, 0), 7, SHANGHAI)
    last_evening = local(2026, 3, 18, 23, 59)
    next_morning = local(2026, 3, 19, 0, 0)
    assert last_evening <= deadline < next_morning


def test_deadline_refuses_a_naive_time_and_an_unknown_zone() -> None:
    with pytest.raises(ValueError, match="received_at must carry a timezone"):
        CAL.deadline_at(datetime(2026, 3, 9, 10, 0), 7, SHANGHAI)
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        CAL.deadline_at(local(2026, 3, 9, 10, 0), 7, "Mars/Olympus")


def test_a_fixed_offset_zone_works_too() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert CAL.deadline_at(local(2026, 3, 9, 10, 0), 7, plus8) == CAL.deadline_at(
        local(2026, 3, 9, 10, 0), 7, SHANGHAI
    )


# -- loading other data --------------------------------------------------------------------------


def test_the_packaged_file_is_beside_the_module_and_loads_the_same() -> None:
    assert CALENDAR_FILE.name == "calendar_cn.yaml" and CALENDAR_FILE.is_file()
    assert read_calendar(CALENDAR_FILE) == CAL
    assert default_calendar() is CAL  # parsed once


def test_a_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(
        "years:\n"
        "  2030:\n"
        "    holidays:\n"
        "      Founders: [2030-03-04, 2030-03-05]\n"
        "      One: 2030-03-07\n"
        "    workdays: ['2030-03-09']\n",
        encoding="utf-8",
    )
    cal = read_calendar(path)
    assert cal.covers(2030) and not cal.is_provisional(2030)
    # Mon 4 + Tue 5 off, Wed 6, Thu 7 off, Fri 8, Sat 9 works.
    assert cal.add_working_days(date(2030, 3, 1), 3) == date(2030, 3, 9)


def test_from_dict_takes_json_shaped_data() -> None:
    cal = WorkCalendar.from_dict(
        {"years": {"2030": {"holidays": {"x": ["2030-01-01"]}, "workdays": []}}}
    )
    assert not cal.is_working_day(date(2030, 1, 1))


@pytest.mark.parametrize(
    ("years", "message"),
    [
        ({"twenty": {}}, r"'twenty' is not a year"),
        ({2026: []}, r"calendar 2026: expected a mapping"),
        ({2026: {"holydays": {}}}, r"calendar 2026: unknown keys holydays"),
        ({2026: {"provisional": "yes"}}, r"calendar 2026.provisional"),
        ({2026: {"holidays": {"春节": ["2026-02-30"]}}}, r"2026.holidays.春节: '2026-02-30'"),
        ({2026: {"holidays": {"春节": ["2027-02-01"]}}}, r"2026.holidays.春节: 2027-02-01 is not"),
        (
            {2026: {"holidays": {"a": ["2026-02-10", "2026-02-01"]}}},
            r"2026.holidays.a: last day 2026-02-01 is before",
        ),
        (
            {2026: {"holidays": {"a": ["2026-02-10"], "b": ["2026-02-10"]}}},
            r"2026.holidays.b: 2026-02-10 is already in a",
        ),
        ({2026: {"holidays": {"a": [1, 2, 3]}}}, r"2026.holidays.a: expected \[first, last\]"),
        (
            {2026: {"workdays": ["2026-03-03"]}},
            r"calendar 2026.workdays\[0\]: 2026-03-03 is a Tuesday, not a weekend day",
        ),
        (
            {2026: {"holidays": {"a": ["2026-03-07"]}, "workdays": ["2026-03-07"]}},
            r"2026.workdays\[0\]: 2026-03-07 is also a holiday \(a\)",
        ),
        ({2026: {"workdays": "2026-03-07"}}, r"2026.workdays: expected a list"),
        ([2026], r"calendar: 'years' must be a mapping of year to its days"),
        ({2026: {}, "2026": {}}, r"calendar 2026: listed twice"),
        ({True: {}}, r"calendar: True is not a year"),
        ({1900: {}}, r"calendar: 1900 is not a plausible year"),
        (
            {2026: {"holidays": {"a": [datetime(2026, 2, 10, 8)]}}},
            r"2026.holidays.a: .* is a timestamp, expected a date",
        ),
        ({2026: {"source": 7}}, r"calendar 2026.source: must be text"),
        ({2026: {"holidays": ["2026-02-10"]}}, r"2026.holidays: expected a mapping of name"),
        ({2026: {"holidays": {" ": ["2026-02-10"]}}}, r"2026.holidays. : a holiday needs a name"),
        (
            {2026: {"workdays": ["2026-03-07", "2026-03-07"]}},
            r"2026.workdays\[1\]: 2026-03-07 is listed twice",
        ),
    ],
)
def test_bad_data_names_the_entry(years: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar.from_dict({"years": years})


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("years: {2026: {workdays: [2026-03-03]}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.yaml: calendar 2026.workdays\[0\]"):
        read_calendar(path)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a mapping with 'years'"):
        read_calendar(path)
    path.write_text("years: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_calendar(path)
    with pytest.raises(ValueError, match="unknown keys colour"):
        WorkCalendar.from_dict({"years": {}, "colour": "red"})
