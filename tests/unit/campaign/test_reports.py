"""Task-force reporting: the schedule, late flags once per period, filing on time or late."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.people import Actor
from services.campaign.domain.reports import (
    Period,
    Report,
    Schedule,
    by_period,
    file_report,
    flag_late,
    next_due,
    period_state,
    periods_to_flag,
    schedule_for,
)
from services.runtime.errors import Conflict, InvalidInput
from services.runtime.failures import InvalidInputs

START = date(2026, 3, 2)  # a Monday
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
CLERK = Actor.of("sub-clerk", "李登记")
SCHEDULE = Schedule(START, 14)


def file(
    reports: dict[date, Report],
    today: date,
    *,
    schedule: Schedule | None = SCHEDULE,
    progress: str = "完成摊位改造 12 个",
    problems: tuple[str, ...] = ("资金未到位",),
    next_steps: tuple[str, ...] = ("督促施工方",),
) -> tuple[Report, bool]:
    filing = file_report(
        schedule,
        reports,
        market_id="m1",
        district="zhifu",
        report_id=f"rpt_{len(reports)}",
        progress=progress,
        problems=problems,
        next_steps=next_steps,
        actor=CLERK,
        today=today,
        now=NOW,
    )
    return filing.report, filing.flagged_late


# -- the schedule ----------------------------------------------------------------------------


def test_periods_run_back_to_back_from_the_start() -> None:
    assert SCHEDULE.period(0) == Period(date(2026, 3, 2), date(2026, 3, 15))
    assert SCHEDULE.period(1) == Period(date(2026, 3, 16), date(2026, 3, 29))
    assert SCHEDULE.period_of(date(2026, 3, 15)) == SCHEDULE.period(0)
    assert SCHEDULE.period_of(date(2026, 3, 16)) == SCHEDULE.period(1)
    assert SCHEDULE.period_of(date(2026, 3, 1)) is None


def test_a_period_ends_the_day_after_it_is_due() -> None:
    assert SCHEDULE.ended(date(2026, 3, 15)) == []
    assert SCHEDULE.ended(date(2026, 3, 16)) == [SCHEDULE.period(0)]
    assert SCHEDULE.ended(date(2026, 3, 31)) == [SCHEDULE.period(0), SCHEDULE.period(1)]


def test_periods_ended_between_two_days() -> None:
    ended = SCHEDULE.ended_between(date(2026, 3, 20), date(2026, 4, 30))
    assert [p.due_on for p in ended] == [date(2026, 3, 29), date(2026, 4, 12), date(2026, 4, 26)]


def test_the_interval_is_configurable() -> None:
    weekly = Schedule(START, 7)
    assert weekly.period(1) == Period(date(2026, 3, 9), date(2026, 3, 15))
    with pytest.raises(ValueError, match="interval"):
        Schedule(START, 0)


def test_schedule_starts_at_the_later_of_mobilisation_and_task_force() -> None:
    mob, tf = date(2026, 3, 1), date(2026, 3, 10)
    assert schedule_for(has_task_force=True, mobilisation=mob, task_force_on=tf) == Schedule(tf)
    assert schedule_for(has_task_force=True, mobilisation=tf, task_force_on=mob) == Schedule(tf)
    assert schedule_for(has_task_force=True, mobilisation=mob, task_force_on=None) == Schedule(mob)
    assert schedule_for(
        has_task_force=True, mobilisation=None, task_force_on=tf, interval_days=7
    ) == Schedule(tf, 7)
    assert schedule_for(has_task_force=True, mobilisation=None, task_force_on=None) is None
    # No task force: no report is owed, whatever the dates.
    assert schedule_for(has_task_force=False, mobilisation=mob, task_force_on=tf) is None


def test_schedule_never_starts_before_the_market_was_tracked() -> None:
    tracked = date(2026, 6, 1)
    found = schedule_for(
        has_task_force=True,
        mobilisation=date(2026, 3, 1),
        task_force_on=None,
        tracked_since=tracked,
    )
    assert found == Schedule(tracked)


# -- late flags ------------------------------------------------------------------------------


def test_an_ended_period_without_a_report_is_flagged_once() -> None:
    today = date(2026, 3, 16)
    flagged = flag_late(SCHEDULE, {}, market_id="m1", district="zhifu", today=today, now=NOW)
    assert [r.period for r in flagged] == [SCHEDULE.period(0)]
    assert flagged[0].late_flagged_at == NOW and not flagged[0].filed
    # Run again with what the first run stored: nothing more.
    assert periods_to_flag(SCHEDULE, by_period(flagged), today) == []


def test_the_due_day_itself_is_not_late() -> None:
    assert periods_to_flag(SCHEDULE, {}, date(2026, 3, 15)) == []


def test_a_period_filed_on_time_is_never_flagged() -> None:
    report, flagged = file({}, date(2026, 3, 15))
    assert report.on_time and not flagged
    assert periods_to_flag(SCHEDULE, by_period([report]), date(2026, 4, 1)) == [SCHEDULE.period(1)]


def test_several_missed_periods_are_each_flagged() -> None:
    flagged = flag_late(
        SCHEDULE, {}, market_id="m1", district="zhifu", today=date(2026, 4, 20), now=NOW
    )
    assert [r.period.due_on for r in flagged] == [
        date(2026, 3, 15),
        date(2026, 3, 29),
        date(2026, 4, 12),
    ]


# -- filing ----------------------------------------------------------------------------------


def test_filing_in_the_running_period_is_on_time() -> None:
    report, flagged = file({}, date(2026, 3, 10))
    assert report.period == SCHEDULE.period(0)
    assert report.on_time is True and not flagged
    assert report.filed_on == date(2026, 3, 10) and report.actor == CLERK
    assert report.problems == ("资金未到位",) and report.next_steps == ("督促施工方",)
    assert period_state(report.period, report, date(2026, 4, 1)) == "on_time"


def test_filing_takes_the_oldest_late_period_first() -> None:
    today = date(2026, 4, 1)  # periods 0 and 1 ended unfiled, period 2 runs
    first, flagged = file({}, today)
    assert first.period == SCHEDULE.period(0) and first.on_time is False
    assert flagged  # the clock had not flagged it: this filing does, once
    second, flagged = file(by_period([first]), today)
    assert second.period == SCHEDULE.period(1) and not second.on_time
    third, _ = file(by_period([first, second]), today)
    assert third.period == SCHEDULE.period(2) and third.on_time
    assert period_state(first.period, first, today) == "filed_late"


def test_filing_a_period_already_flagged_does_not_flag_it_again() -> None:
    flagged = flag_late(
        SCHEDULE, {}, market_id="m1", district="zhifu", today=date(2026, 3, 16), now=NOW
    )
    report, again = file(by_period(flagged), date(2026, 3, 17))
    assert not again and report.late_flagged_at == NOW and report.on_time is False


def test_a_period_is_filed_once() -> None:
    report, _ = file({}, date(2026, 3, 3))
    with pytest.raises(Conflict) as refused:
        file(by_period([report]), date(2026, 3, 4))
    assert refused.value.errors[0]["field"] == "period"
    assert "2026-03-16" in refused.value.errors[0]["reason"]


def test_no_schedule_nothing_to_file() -> None:
    with pytest.raises(Conflict) as refused:
        file({}, date(2026, 3, 3), schedule=None)
    assert refused.value.errors[0]["field"] == "market_id"


def test_before_the_schedule_starts_nothing_is_due() -> None:
    with pytest.raises(Conflict, match="starts on 2026-03-02"):
        file({}, date(2026, 3, 1))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"progress": "   "}, "progress"),
        ({"problems": ("ok", " ")}, "problems.1"),
        ({"next_steps": ("",)}, "next_steps.0"),
    ],
)
def test_blank_text_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        file({}, date(2026, 3, 3), **changes)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_next_due_moves_on_after_filing() -> None:
    today = date(2026, 3, 10)
    assert next_due(SCHEDULE, {}, today) == SCHEDULE.period(0)
    report, _ = file({}, today)
    assert next_due(SCHEDULE, by_period([report]), today) == SCHEDULE.period(1)
    assert next_due(SCHEDULE, {}, date(2026, 2, 1)) == SCHEDULE.period(0)


def test_period_states() -> None:
    p0, p1 = SCHEDULE.period(0), SCHEDULE.period(1)
    today = date(2026, 3, 16)
    assert period_state(p0, None, today) == "late"
    assert period_state(p1, None, today) == "due"
    assert period_state(SCHEDULE.period(2), None, today) == "upcoming"
    flagged = Report("m1", "zhifu", p0, late_flagged_at=NOW)
    assert flagged.state(today) == "late"
    filed_late = replace(flagged, report_id="r", filed_on=today + timedelta(days=1), on_time=False)
    assert filed_late.state(today) == "filed_late"


def test_every_blank_text_of_a_report_is_named_at_once() -> None:
    with pytest.raises(InvalidInputs) as refused:
        file({}, date(2026, 3, 10), progress=" ", problems=("资金未到位", ""), next_steps=(" ",))
    assert refused.value.problems == [
        ("progress", "must not be blank"),
        ("problems.1", "must not be blank"),
        ("next_steps.0", "must not be blank"),
    ]


def test_a_report_too_long_is_refused_with_the_other_problems() -> None:
    with pytest.raises(InvalidInputs) as refused:
        file({}, date(2026, 3, 10), progress="进" * 4001, problems=("问" * 501,))
    assert refused.value.problems == [
        ("progress", "must be at most 4000 characters"),
        ("problems.0", "must be at most 500 characters"),
    ]
