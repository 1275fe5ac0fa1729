"""A market's standing on its duties over the window: the fields of campaign.duties.updated."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.duties import DutiesUpdated
from services.campaign.domain.duties import changed, standing, window
from services.campaign.domain.reports import Report, Schedule, by_period
from services.campaign.domain.self_inspection import OpeningDays
from services.campaign.domain.training import Certificate, Trainee
from services.runtime import serial

TODAY = date(2026, 4, 30)
NOW = datetime(2026, 4, 30, 3, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 31), date(2026, 4, 29)  # the 30 days up to yesterday


def trainee(n: int) -> Trainee:
    return Trainee(f"trn_{n}", "m1", "zhifu", f"经理{n}", "管理员", NOW)


def certificate(n: int, valid_until: date) -> Certificate:
    return Certificate(
        f"crt_{n}", f"trn_{n}", "m1", "zhifu", "crs", "ses", date(2025, 1, 1), valid_until, NOW
    )


def compute(**changes: Any) -> Any:
    kwargs: dict[str, Any] = {
        "market_id": "m1",
        "district": "zhifu",
        "today": TODAY,
        "now": NOW,
        "window_days": 30,
        "opening": OpeningDays(),
        "duties_since": date(2026, 1, 1),
        "self_inspected": set(),
        "open_follow_ups": 0,
        "schedule": None,
        "reports": {},
        "trainees": [],
        "certificates": [],
    }
    kwargs.update(changes)
    return standing(**kwargs)


def test_the_window_ends_yesterday() -> None:
    assert window(TODAY, 30) == (FIRST, LAST)
    with pytest.raises(ValueError):
        window(TODAY, 0)


def test_nothing_to_rate_gives_null_rates() -> None:
    s = compute(duties_since=TODAY)
    assert (s.opening_days, s.self_inspected_days, s.self_inspection_rate) == (0, 0, None)
    assert (s.reports_due, s.reports_late, s.report_on_time_rate) == (0, 0, None)
    assert (s.managers, s.managers_certified, s.certified_share) == (0, 0, None)


def test_self_inspection_rate_over_the_opening_days() -> None:
    inspected = {FIRST + timedelta(days=n) for n in range(0, 30, 2)}  # every other day
    inspected |= {TODAY, FIRST - timedelta(days=1)}  # outside the window: not counted
    s = compute(self_inspected=inspected, open_follow_ups=2)
    assert (s.opening_days, s.self_inspected_days, s.self_inspection_rate) == (30, 15, 0.5)
    assert s.open_follow_ups == 2


def test_closed_weekdays_and_the_duty_start_shrink_the_opening_days() -> None:
    no_mondays = OpeningDays(frozenset({1}))
    s = compute(opening=no_mondays, duties_since=date(2026, 4, 20))  # Mon 20 .. Wed 29
    assert s.opening_days == 8 and s.self_inspection_rate == 0.0  # 10 days but two Mondays


def test_reports_due_in_the_window_and_those_not_on_time() -> None:
    schedule = Schedule(date(2026, 3, 2), 14)  # due 15 Mar, 29 Mar, 12 Apr, 26 Apr, 10 May
    p = schedule.period
    on_time = Report("m1", "zhifu", p(1), "r1", date(2026, 3, 28), NOW, True, "ok")
    filed_late = Report("m1", "zhifu", p(2), "r2", date(2026, 4, 14), NOW, False, "ok")
    s = compute(schedule=schedule, reports=by_period([on_time, filed_late]))
    # 29 Mar falls before the window; 12 Apr (filed late) and 26 Apr (never filed) in it.
    assert (s.reports_due, s.reports_late, s.report_on_time_rate) == (2, 2, 0.0)
    s = compute(
        schedule=schedule,
        reports=by_period([replace(filed_late, on_time=True), replace(on_time, period=p(3))]),
    )
    assert (s.reports_due, s.reports_late, s.report_on_time_rate) == (2, 0, 1.0)


def test_certified_share_counts_certificates_valid_today() -> None:
    managers = [trainee(1), trainee(2), trainee(3)]
    certs = [certificate(1, TODAY), certificate(2, TODAY - timedelta(days=1))]
    s = compute(trainees=managers, certificates=certs)
    assert (s.managers, s.managers_certified, s.certified_share) == (3, 1, 0.3333)


def test_the_standing_is_a_valid_duties_updated_event() -> None:
    s = compute(trainees=[trainee(1)], certificates=[certificate(1, TODAY)])
    event = DutiesUpdated.model_validate(serial.dump(s))
    assert event.as_of == TODAY and event.window_days == 30 and event.certified_share == 1.0
    assert set(serial.dump(s)) == set(DutiesUpdated.model_fields)


def test_changed_ignores_when_it_was_computed() -> None:
    s = compute()
    assert changed(None, s)
    later = replace(s, as_of=TODAY + timedelta(days=1), updated_at=NOW + timedelta(days=1))
    assert not changed(s.measures(), later)
    assert changed(s.measures(), replace(s, open_follow_ups=1))
