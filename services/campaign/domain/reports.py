"""Task-force reporting (定期汇报制度): each market's task force reports on a fixed schedule.

A market's schedule starts on a day — the later of the campaign's mobilisation date and the day
the market's task force was set up, whichever are known, and never before the system tracked the
market — and runs in periods of `interval_days`
(default 14). Period k covers `start + k·interval` .. `start + (k+1)·interval − 1`; its last day is
the day the report is due (`due_on`). Days are calendar days in the city's time zone: the caller
passes `today`, the city's date now.

- A period whose due day has passed with no report is late: flagged once (`periods_to_flag`).
- Filing takes the oldest unfiled late period first (filed late, `on_time` false), otherwise the
  period running today (on time). A period is filed once.

No I/O: values in, values (or an error naming the field) out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Final, Literal

from contracts.people import Actor
from services.campaign.domain.text import Problems
from services.runtime.failures import Conflict

DEFAULT_INTERVAL_DAYS: Final = 14
# How long a report's progress, and each line of its problems and next steps, may be.
PROGRESS_MAX_CHARS: Final = 4000
LINE_MAX_CHARS: Final = 500
MAX_INTERVAL_DAYS: Final = 366
PeriodState = Literal["on_time", "filed_late", "late", "due", "upcoming"]


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    due_on: date  # the period's last day

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.due_on

    def ended_before(self, today: date) -> bool:
        return self.due_on < today


@dataclass(frozen=True, slots=True)
class Schedule:
    """A market's reporting schedule: periods of `interval_days` from `starts_on`."""

    starts_on: date
    interval_days: int = DEFAULT_INTERVAL_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.interval_days <= MAX_INTERVAL_DAYS:
            raise ValueError(f"a reporting interval is 1 to {MAX_INTERVAL_DAYS} days")

    def period(self, index: int) -> Period:
        start = self.starts_on + timedelta(days=index * self.interval_days)
        return Period(start, start + timedelta(days=self.interval_days - 1))

    def period_of(self, day: date) -> Period | None:
        """The period `day` falls in; None before the schedule starts."""
        if day < self.starts_on:
            return None
        return self.period((day - self.starts_on).days // self.interval_days)

    def ended(self, today: date) -> list[Period]:
        """Every period whose due day is before `today`, oldest first."""
        found: list[Period] = []
        index = 0
        while (p := self.period(index)).ended_before(today):
            found.append(p)
            index += 1
        return found

    def ended_between(self, first: date, last: date) -> list[Period]:
        """The periods whose due day falls in `first` .. `last` (inclusive), oldest first."""
        return [p for p in self.ended(last + timedelta(days=1)) if p.due_on >= first]


def schedule_for(
    *,
    has_task_force: bool,
    mobilisation: date | None,
    task_force_on: date | None,
    tracked_since: date | None = None,
    interval_days: int = DEFAULT_INTERVAL_DAYS,
) -> Schedule | None:
    """The market's schedule: from the later of the campaign's mobilisation and the day its task
    force was set up (either, when only one is known: a task force may be undated); None when
    neither is, and None for a market without a task force, whose reports nobody owes. Never
    before `tracked_since`, the day the system began tracking the market's duties: a period that
    ended before anyone could file it here is not flagged late."""
    known = [d for d in (mobilisation, task_force_on) if d is not None]
    if not has_task_force or not known:
        return None
    start = max(known)
    if tracked_since is not None:
        start = max(start, tracked_since)
    return Schedule(start, interval_days)


@dataclass(frozen=True, slots=True)
class Report:
    """A reporting period of a market that was filed, flagged late, or both."""

    market_id: str
    district: str
    period: Period
    report_id: str | None = None
    filed_on: date | None = None
    filed_at: datetime | None = None
    on_time: bool | None = None
    progress: str | None = None
    problems: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    actor: Actor | None = None
    late_flagged_at: datetime | None = None

    @property
    def filed(self) -> bool:
        return self.filed_on is not None

    def state(self, today: date) -> PeriodState:
        return period_state(self.period, self, today)


def period_state(period: Period, report: Report | None, today: date) -> PeriodState:
    """on_time / filed_late once filed; late once its due day passed unfiled; due while it runs;
    upcoming before it starts."""
    if report is not None and report.filed:
        return "on_time" if report.on_time else "filed_late"
    if period.ended_before(today):
        return "late"
    return "due" if period.contains(today) else "upcoming"


def periods_to_flag(
    schedule: Schedule, reports: Mapping[date, Report], today: date
) -> list[Period]:
    """The ended periods with no report and not flagged yet (each period is flagged once)."""
    found: list[Period] = []
    for period in schedule.ended(today):
        held = reports.get(period.start)
        if held is None or (not held.filed and held.late_flagged_at is None):
            found.append(period)
    return found


def flag_late(
    schedule: Schedule,
    reports: Mapping[date, Report],
    *,
    market_id: str,
    district: str,
    today: date,
    now: datetime,
) -> list[Report]:
    """The periods to flag late now, as flagged (`late_flagged_at` = now)."""
    flagged: list[Report] = []
    for period in periods_to_flag(schedule, reports, today):
        held = reports.get(period.start) or Report(market_id, district, period)
        flagged.append(replace(held, late_flagged_at=now))
    return flagged


def next_due(schedule: Schedule, reports: Mapping[date, Report], today: date) -> Period:
    """The period the next filing is for: the oldest unfiled ended one, else the running one when
    unfiled, else the next one (also the first, before the schedule starts)."""
    for period in schedule.ended(today):
        held = reports.get(period.start)
        if held is None or not held.filed:
            return period
    running = schedule.period_of(today)
    if running is None:
        return schedule.period(0)
    held = reports.get(running.start)
    if held is None or not held.filed:
        return running
    return schedule.period_of(running.due_on + timedelta(days=1)) or running


@dataclass(frozen=True, slots=True)
class Filing:
    report: Report
    flagged_late: bool  # this filing flagged its period late first (the clock had not yet)


def file_report(
    schedule: Schedule | None,
    reports: Mapping[date, Report],
    *,
    market_id: str,
    district: str,
    report_id: str,
    progress: str,
    problems: Sequence[str],
    next_steps: Sequence[str],
    actor: Actor | None,
    today: date,
    now: datetime,
) -> Filing:
    """File the report due now: the oldest unfiled late period (late), else the running period
    (on time). Refused when the market has no schedule, the schedule has not started, or the
    running period is already filed."""
    refused = Problems()
    text = refused.text("progress", progress, limit=PROGRESS_MAX_CHARS)
    problem_items = refused.texts("problems", problems, limit=LINE_MAX_CHARS)
    step_items = refused.texts("next_steps", next_steps, limit=LINE_MAX_CHARS)
    refused.raise_any()
    if schedule is None:
        raise Conflict(
            f"market {market_id} has no reporting schedule",
            field="market_id",
            reason="no campaign and no task force: nothing is due",
        )
    if today < schedule.starts_on:
        reason = f"reporting starts on {schedule.starts_on.isoformat()}"
        raise Conflict(reason, field="period")
    period = next_due(schedule, reports, today)
    if not period.contains(today) and not period.ended_before(today):
        running = schedule.period_of(today)
        assert running is not None
        reason = (
            f"the report for {running.start.isoformat()}..{running.due_on.isoformat()} was "
            f"already filed; the next period starts on {period.start.isoformat()}"
        )
        raise Conflict(reason, field="period")
    late = period.ended_before(today)
    held = reports.get(period.start) or Report(market_id, district, period)
    flag = late and held.late_flagged_at is None
    report = replace(
        held,
        report_id=report_id,
        filed_on=today,
        filed_at=now,
        on_time=not late,
        progress=text,
        problems=problem_items,
        next_steps=step_items,
        actor=actor,
        late_flagged_at=now if flag else held.late_flagged_at,
    )
    return Filing(report, flag)


def by_period(reports: Iterable[Report]) -> dict[date, Report]:
    return {r.period.start: r for r in reports}
