"""Pure campaign rules: deadlines, milestones and lateness, renovation projects, disclosures and
the progress view. No I/O: values in, values (or an error naming the field) out.

Dates are calendar days in the city's time zone: a milestone is on time when it was done on or
before its deadline day, and late from the day after. The instant a deadline passes is the end
of that day in the city (`end_of_day`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from contracts.campaign import (
    DISTRICT_MILESTONES,
    EXPOSURE_SOURCES,
    FUNDING_SOURCES,
    MARKET_MILESTONES,
    RENOVATION_KINDS,
    RENOVATION_STAGES,
    SCOPE_AREAS,
)
from contracts.people import Actor
from services.campaign.domain.text import required_text
from services.runtime.failures import Conflict, InvalidInput, NotFound

MILESTONE_KINDS: Final = (*DISTRICT_MILESTONES, *MARKET_MILESTONES)
# The years a campaign may have: those of `year` in registry.campaign.upserted.
CAMPAIGN_YEARS: Final[tuple[int, int]] = (2000, 2100)
SCOPE_OF: Final[Mapping[str, str]] = {
    **{k: "district" for k in DISTRICT_MILESTONES},
    **{k: "market" for k in MARKET_MILESTONES},
}
# (Chinese, English) names, for disclosures the public reads.
MILESTONE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "work_plan_submitted": ("报送工作方案", "work plan submitted"),
    "leadership_structure_submitted": ("报送领导机构名单", "leadership structure submitted"),
    "deployment_meeting_held": ("召开市场经营者部署会", "deployment meeting held"),
    "task_force_set_up": ("成立市场专班", "task force set up"),
    "renovation_plan_approved": ("批复改造方案", "renovation plan approved"),
}
CHECK_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "quality": ("质量", "quality"),
    "safety": ("安全", "safety"),
}
NEXT_STAGE: Final[Mapping[str, str]] = {
    "planned": "approved",
    "approved": "under_construction",
    "under_construction": "accepted",
}
# Stages from which a project's budget counts as committed.
COMMITTED_STAGES: Final = ("approved", "under_construction", "accepted")
DEFAULT_RECTIFY_DAYS: Final = 15
MAX_FEN: Final = 10**14  # one trillion yuan: more is a typing error
MilestoneStatus = Literal["on_time", "late", "overdue", "pending"]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The instant `day` ends in the city: midnight at the start of the next day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


Versioned = TypeVar("Versioned", "Milestone", "RenovationProject", "Disclosure")


def revised(value: Versioned, now: datetime, **changes: Any) -> Versioned:
    """The value's next version: `changes` made at `now`."""
    return replace(value, **changes, version=value.version + 1, updated_at=now)


# -- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRule:
    """Exactly one of: days after the mobilisation date, a month-day of the campaign's year, a
    fixed date."""

    days_after_mobilisation: int | None = None
    month_day: tuple[int, int] | None = None
    fixed_date: date | None = None

    def resolve(self, mobilisation: date, year: int) -> date:
        if self.days_after_mobilisation is not None:
            return mobilisation + timedelta(days=self.days_after_mobilisation)
        if self.month_day is not None:
            return date(year, *self.month_day)
        assert self.fixed_date is not None
        return self.fixed_date

    def to_dict(self) -> dict[str, Any]:
        if self.days_after_mobilisation is not None:
            return {"days_after_mobilisation": self.days_after_mobilisation}
        if self.month_day is not None:
            return {"month_day": f"{self.month_day[0]:02d}-{self.month_day[1]:02d}"}
        assert self.fixed_date is not None
        return {"fixed_date": self.fixed_date.isoformat()}

    @staticmethod
    def from_dict(value: Mapping[str, Any], field_name: str = "deadline") -> DeadlineRule:
        """Parse `{"days_after_mobilisation": 1}`, `{"month_day": "04-30"}` or
        `{"fixed_date": "2026-04-30"}`; InvalidInput naming the field otherwise."""
        known = {"days_after_mobilisation", "month_day", "fixed_date"}
        given = {k: v for k, v in value.items() if v is not None}
        if set(given) - known or len(given) != 1:
            raise InvalidInput(field_name, "give exactly one of " + ", ".join(sorted(known)))
        ((key, raw),) = given.items()
        try:
            if key == "days_after_mobilisation":
                days = int(raw)
                if isinstance(raw, bool) or days != raw or not 0 <= days <= 3650:
                    raise ValueError
                return DeadlineRule(days_after_mobilisation=days)
            if key == "month_day":
                month, day = (int(p) for p in str(raw).split("-"))
                date(2000, month, day)  # a leap year: 02-29 is a month-day
                return DeadlineRule(month_day=(month, day))
            day_value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            return DeadlineRule(fixed_date=day_value)
        except (ValueError, TypeError):
            reasons = {
                "days_after_mobilisation": "must be a whole number of days from 0 to 3650",
                "month_day": "must be a month-day MM-DD, e.g. 04-30",
                "fixed_date": "must be a date YYYY-MM-DD",
            }
            raise InvalidInput(f"{field_name}.{key}", reasons[key]) from None


DEFAULT_RULES: Final[Mapping[str, DeadlineRule]] = {
    # The day after the city's mobilisation meeting (动员会).
    "work_plan_submitted": DeadlineRule(days_after_mobilisation=1),
    "leadership_structure_submitted": DeadlineRule(days_after_mobilisation=1),
    # Deployment meetings with market operators by the end of April.
    "deployment_meeting_held": DeadlineRule(month_day=(4, 30)),
    # Per market: a task force (专班) within two weeks, a renovation plan approved within two
    # months of mobilisation.
    "task_force_set_up": DeadlineRule(days_after_mobilisation=14),
    "renovation_plan_approved": DeadlineRule(days_after_mobilisation=60),
}


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    mobilisation_date: date
    year: int
    districts: tuple[str, ...]
    rules: Mapping[str, DeadlineRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def rule(self, kind: str) -> DeadlineRule:
        return self.rules.get(kind) or DEFAULT_RULES[kind]

    def deadline(self, kind: str) -> date:
        return self.rule(kind).resolve(self.mobilisation_date, self.year)

    def deadlines(self) -> dict[str, date]:
        return {kind: self.deadline(kind) for kind in MILESTONE_KINDS}

    def reconfigure(
        self,
        now: datetime,
        *,
        name: str | None = None,
        mobilisation_date: date | None = None,
        year: int | None = None,
        rules: Mapping[str, DeadlineRule] | None = None,
        districts: Sequence[str] | None = None,
    ) -> Campaign:
        """The campaign with the given parts changed, validated like a new one."""
        moved = mobilisation_date is not None and mobilisation_date != self.mobilisation_date
        changed = plan_campaign(
            self.id,
            name if name is not None else self.name,
            mobilisation_date or self.mobilisation_date,
            districts if districts is not None else self.districts,
            {**self.rules, **(rules or {})},
            now,
            # A moved mobilisation date moves the year with it unless one is given.
            year=year if year is not None else (None if moved else self.year),
        )
        return replace(
            changed, version=self.version + 1, created_at=self.created_at, updated_at=now
        )


def plan_campaign(
    campaign_id: str,
    name: str,
    mobilisation_date: date,
    districts: Sequence[str],
    rules: Mapping[str, DeadlineRule],
    now: datetime,
    *,
    year: int | None = None,
) -> Campaign:
    """A new campaign, with every deadline derived and checked (none before mobilisation)."""
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    if not districts:
        raise InvalidInput("districts", "a campaign needs at least one district")
    if len(set(districts)) != len(districts):
        raise InvalidInput("districts", "a district is listed twice")
    unknown = sorted(set(rules) - set(MILESTONE_KINDS))
    if unknown:
        raise InvalidInput(f"deadlines.{unknown[0]}", "not a milestone kind")
    # The event contract's years (and no deadline past the calendar's end).
    if not CAMPAIGN_YEARS[0] <= mobilisation_date.year <= CAMPAIGN_YEARS[1]:
        raise InvalidInput(
            "mobilisation_date", f"must be in the years {CAMPAIGN_YEARS[0]} to {CAMPAIGN_YEARS[1]}"
        )
    year = year if year is not None else mobilisation_date.year
    if not CAMPAIGN_YEARS[0] <= year <= CAMPAIGN_YEARS[1]:
        raise InvalidInput("year", f"must be from {CAMPAIGN_YEARS[0]} to {CAMPAIGN_YEARS[1]}")
    campaign = Campaign(
        id=campaign_id,
        name=name.strip(),
        mobilisation_date=mobilisation_date,
        year=year,
        districts=tuple(districts),
        rules={k: rules.get(k, DEFAULT_RULES[k]) for k in MILESTONE_KINDS},
        created_at=now,
        updated_at=now,
    )
    for kind in MILESTONE_KINDS:
        try:
            deadline = campaign.deadline(kind)
        except ValueError:
            raise InvalidInput(
                f"deadlines.{kind}.month_day", f"there is no such day in {year}"
            ) from None
        if deadline < mobilisation_date:
            raise InvalidInput(
                f"deadlines.{kind}",
                f"{deadline.isoformat()} is before the mobilisation date "
                f"{mobilisation_date.isoformat()}",
            )
    return campaign


# -- milestones and lateness -----------------------------------------------------------------


def is_late(deadline: date, today: date) -> bool:
    """A deadline has passed once its day is over."""
    return today > deadline


def milestone_status(deadline: date, achieved_on: date | None, today: date) -> MilestoneStatus:
    """`on_time` / `late` (done after the deadline) when done; `overdue` / `pending` when not."""
    if achieved_on is not None:
        return "on_time" if achieved_on <= deadline else "late"
    return "overdue" if is_late(deadline, today) else "pending"


@dataclass(frozen=True)
class Expected:
    """A milestone the campaign expects of one district or market."""

    campaign_id: str
    scope: str
    district: str
    market_id: str | None
    kind: str
    deadline: date

    @property
    def scope_id(self) -> str:
        return self.market_id or self.district


def expected_milestones(campaign: Campaign, markets: Iterable[tuple[str, str]]) -> list[Expected]:
    """Every milestone of the campaign: per district taking part, and per market (id, district)
    of those districts."""
    deadlines = campaign.deadlines()
    found = [
        Expected(campaign.id, "district", d, None, kind, deadlines[kind])
        for d in campaign.districts
        for kind in DISTRICT_MILESTONES
    ]
    found += [
        Expected(campaign.id, "market", district, market_id, kind, deadlines[kind])
        for market_id, district in markets
        if district in campaign.districts
        for kind in MARKET_MILESTONES
    ]
    return found


@dataclass(frozen=True)
class MilestoneReport:
    achieved_on: date
    attendees: int | None = None
    documents: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Milestone:
    id: str
    campaign_id: str
    scope: str
    district: str
    market_id: str | None
    kind: str
    deadline: date
    achieved_on: date | None = None
    attendees: int | None = None
    documents: tuple[str, ...] = ()
    note: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime | None = None
    late_flagged_at: datetime | None = None
    version: int = 1
    updated_at: datetime | None = None
    # Who recorded it, as the identity provider named them (`recorded_by` is the bare subject).
    recorded_actor: Actor | None = None

    @property
    def scope_id(self) -> str:
        return self.market_id or self.district

    @property
    def recorded(self) -> bool:
        return self.achieved_on is not None

    @property
    def on_time(self) -> bool | None:
        return None if self.achieved_on is None else self.achieved_on <= self.deadline

    def status(self, today: date) -> MilestoneStatus:
        return milestone_status(self.deadline, self.achieved_on, today)


@dataclass(frozen=True)
class MilestoneChange:
    milestone: Milestone
    flagged_late: bool  # this change flags it late: publish `milestone.late` and disclose it


def record_milestone(
    expected: Expected,
    existing: Milestone | None,
    report: MilestoneReport,
    *,
    by: Actor | str,
    today: date,
    now: datetime,
    make_id: Callable[[], str] = lambda: new_id("mst"),
) -> MilestoneChange:
    """Record (or correct) a milestone as done. Done after its deadline and not flagged yet: it
    is flagged in this change, so every late milestone is flagged exactly once. `by` is recorded
    as `recorded_actor` (its subject as `recorded_by`); a bare subject is an actor named by it."""
    actor = by if isinstance(by, Actor) else Actor.of(by)
    if SCOPE_OF[expected.kind] != expected.scope:
        raise InvalidInput("kind", f"{expected.kind} is a {SCOPE_OF[expected.kind]} milestone")
    if report.achieved_on > today:
        raise InvalidInput(
            "achieved_on", f"{report.achieved_on.isoformat()} is in the future (today is {today})"
        )
    if expected.kind == "deployment_meeting_held" and not report.attendees:
        raise InvalidInput("attendees", "a deployment meeting records how many attended")
    if report.attendees is not None and report.attendees < 1:
        raise InvalidInput("attendees", "must be at least 1")
    if any(not d.strip() for d in report.documents):
        raise InvalidInput("documents", "a document reference must not be empty")
    base = existing or Milestone(
        id=make_id(),
        campaign_id=expected.campaign_id,
        scope=expected.scope,
        district=expected.district,
        market_id=expected.market_id,
        kind=expected.kind,
        deadline=expected.deadline,
        version=0,
    )
    flag = report.achieved_on > base.deadline and base.late_flagged_at is None
    milestone = revised(
        base,
        now,
        achieved_on=report.achieved_on,
        attendees=report.attendees,
        documents=tuple(d.strip() for d in report.documents),
        note=report.note,
        recorded_by=actor.subject,
        recorded_at=now,
        recorded_actor=actor,
        late_flagged_at=now if flag else base.late_flagged_at,
    )
    return MilestoneChange(milestone, flag)


def due_late_flags(
    expected: Iterable[Expected], known: Mapping[tuple[str, str], Milestone], today: date
) -> list[Expected]:
    """Milestones past their deadline that nobody recorded and that are not flagged yet.

    `known` holds every milestone row of the campaign by (scope id, kind): a row exists once a
    milestone was recorded or flagged, so a milestone is flagged at most once.
    """
    return [e for e in expected if is_late(e.deadline, today) and (e.scope_id, e.kind) not in known]


def flag_missing(
    expected: Expected, now: datetime, make_id: Callable[[], str] = lambda: new_id("mst")
) -> Milestone:
    """The milestone as flagged late while still missing."""
    return Milestone(
        id=make_id(),
        campaign_id=expected.campaign_id,
        scope=expected.scope,
        district=expected.district,
        market_id=expected.market_id,
        kind=expected.kind,
        deadline=expected.deadline,
        late_flagged_at=now,
        version=1,
        updated_at=now,
    )


# -- money -----------------------------------------------------------------------------------


def yuan_to_fen(amount: Decimal | str | int, field_name: str = "amount_yuan") -> int:
    """Yuan (a decimal with at most two places) to integer fen; never through a float."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput(field_name, "must be a decimal amount in yuan") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(field_name, "must be a finite amount of at least 0")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise InvalidInput(
            field_name, "has more than two decimal places (fen is the smallest unit)"
        )
    if fen > MAX_FEN:
        raise InvalidInput(field_name, "is implausibly large")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


# -- renovation projects ---------------------------------------------------------------------


class StageConflict(Conflict):
    """A change the project's stage does not allow: 409 with the stage it is in."""

    def __init__(self, current: str, reason: str) -> None:
        super().__init__(reason, [{"field": "stage", "reason": reason}])
        self.current = current

    def body(self) -> dict[str, Any]:
        return super().body() | {"current_stage": self.current}


@dataclass(frozen=True)
class ScopeItem:
    area: str
    description: str


@dataclass(frozen=True)
class BudgetLine:
    source: str
    amount_fen: int


@dataclass(frozen=True)
class StageChange:
    stage: str
    reached_on: date
    by: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class Check:
    id: str
    kind: str
    result: str
    checked_on: date
    inspector: str
    findings: tuple[str, ...]
    recorded_by: str
    recorded_at: datetime
    note: str | None = None
    rectify_by: date | None = None
    resolved_by: str | None = None

    @property
    def open_failure(self) -> bool:
        return self.result == "fail" and self.resolved_by is None


@dataclass(frozen=True)
class Comment:
    """A citizen's suggestion on a plan open for comment, and how the plan answered it. `text`
    is what the suggestion event carried (never its author)."""

    suggestion_id: str
    received_at: datetime
    text: str
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: Actor | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class Consultation:
    """The public consultation on a renovation plan (征求群众意见): comments are taken from
    `opens_on` to `closes_on`, both included (city days)."""

    opens_on: date
    closes_on: date
    comments: tuple[Comment, ...] = ()
    opened_at: datetime | None = None
    opened_by: Actor | None = None

    def is_open(self, day: date) -> bool:
        return self.opens_on <= day <= self.closes_on

    def closed(self, day: date) -> bool:
        """The window is over: no comment is taken any more."""
        return day > self.closes_on

    @property
    def unanswered(self) -> int:
        return sum(1 for c in self.comments if not c.answered)

    def comment(self, suggestion_id: str) -> Comment | None:
        return next((c for c in self.comments if c.suggestion_id == suggestion_id), None)


@dataclass(frozen=True)
class RenovationProject:
    id: str
    campaign_id: str
    market_id: str
    district: str
    kind: str
    title: str
    scope_items: tuple[ScopeItem, ...]
    budget: tuple[BudgetLine, ...]
    stage: str
    stages: tuple[StageChange, ...]
    checks: tuple[Check, ...] = ()
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    consultation: Consultation | None = None

    @property
    def budget_total_fen(self) -> int:
        return sum(line.amount_fen for line in self.budget)

    def budget_by_source(self) -> dict[str, int]:
        totals: dict[str, int] = dict.fromkeys(FUNDING_SOURCES, 0)
        for line in self.budget:
            totals[line.source] += line.amount_fen
        return totals

    @property
    def committed(self) -> bool:
        return self.stage in COMMITTED_STAGES

    def open_failures(self) -> list[Check]:
        return [c for c in self.checks if c.open_failure]

    def check(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)


def validate_scope(items: Sequence[ScopeItem]) -> tuple[ScopeItem, ...]:
    if not items:
        raise InvalidInput("scope_items", "a renovation names at least one scope item")
    for i, item in enumerate(items):
        if item.area not in SCOPE_AREAS:
            raise InvalidInput(f"scope_items.{i}.area", f"must be one of {', '.join(SCOPE_AREAS)}")
        if not item.description.strip():
            raise InvalidInput(f"scope_items.{i}.description", "must not be empty")
    return tuple(ScopeItem(i.area, i.description.strip()) for i in items)


def validate_budget(lines: Sequence[BudgetLine]) -> tuple[BudgetLine, ...]:
    """One line per funding source, amounts in fen, something to spend."""
    if not lines:
        raise InvalidInput("budget", "a renovation has a budget by funding source")
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.source not in FUNDING_SOURCES:
            raise InvalidInput(f"budget.{i}.source", f"must be one of {', '.join(FUNDING_SOURCES)}")
        if line.source in seen:
            raise InvalidInput(f"budget.{i}.source", f"{line.source} is listed twice")
        seen.add(line.source)
        if not 0 <= line.amount_fen <= MAX_FEN:
            raise InvalidInput(f"budget.{i}.amount_fen", f"must be from 0 to {MAX_FEN} fen")
    if sum(line.amount_fen for line in lines) <= 0:
        raise InvalidInput("budget", "the budget adds up to nothing")
    return tuple(lines)


def plan_project(
    campaign: Campaign,
    *,
    project_id: str,
    market_id: str,
    district: str,
    kind: str,
    title: str,
    scope_items: Sequence[ScopeItem],
    budget: Sequence[BudgetLine],
    by: str,
    today: date,
    now: datetime,
    planned_on: date | None = None,
) -> RenovationProject:
    if kind not in RENOVATION_KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(RENOVATION_KINDS)}")
    if district not in campaign.districts:
        raise InvalidInput(
            "market_id", f"the market's district {district!r} does not take part in the campaign"
        )
    if not title.strip():
        raise InvalidInput("title", "must not be empty")
    planned_on = planned_on or today
    if planned_on > today:
        raise InvalidInput("planned_on", f"{planned_on.isoformat()} is in the future")
    return RenovationProject(
        id=project_id,
        campaign_id=campaign.id,
        market_id=market_id,
        district=district,
        kind=kind,
        title=title.strip(),
        scope_items=validate_scope(scope_items),
        budget=validate_budget(budget),
        stage="planned",
        stages=(StageChange("planned", planned_on, by, now),),
        created_at=now,
        updated_at=now,
    )


def amend_project(
    project: RenovationProject,
    now: datetime,
    *,
    title: str | None = None,
    scope_items: Sequence[ScopeItem] | None = None,
    budget: Sequence[BudgetLine] | None = None,
) -> RenovationProject:
    """Scope and budget change only while the plan is not approved."""
    if project.stage != "planned":
        raise StageConflict(
            project.stage,
            f"the project is {project.stage}; scope and budget change only while planned",
        )
    if title is not None and not title.strip():
        raise InvalidInput("title", "must not be empty")
    return revised(
        project,
        now,
        title=title.strip() if title is not None else project.title,
        scope_items=validate_scope(scope_items) if scope_items is not None else project.scope_items,
        budget=validate_budget(budget) if budget is not None else project.budget,
    )


def advance_project(
    project: RenovationProject,
    to: str,
    *,
    reached_on: date,
    by: str,
    today: date,
    now: datetime,
    note: str | None = None,
) -> RenovationProject:
    """planned → approved → under_construction → accepted, one step at a time. Acceptance needs
    every failed quality or safety check resolved by a later passing one."""
    if to not in RENOVATION_STAGES:
        raise InvalidInput("stage", f"must be one of {', '.join(RENOVATION_STAGES)}")
    expected = NEXT_STAGE.get(project.stage)
    if to != expected:
        then = f"the next stage is {expected}" if expected else "accepted is the last stage"
        raise StageConflict(
            project.stage, f"the project is {project.stage}; it cannot move to {to} ({then})"
        )
    if reached_on > today:
        raise InvalidInput("reached_on", f"{reached_on.isoformat()} is in the future")
    last = project.stages[-1]
    if reached_on < last.reached_on:
        raise InvalidInput(
            "reached_on",
            f"{reached_on.isoformat()} is before the project became {last.stage} "
            f"({last.reached_on.isoformat()})",
        )
    if to in CONSULTATION_GATES:
        consultation_allows(project, to, today)
    failures = project.open_failures()
    if to == "accepted" and failures:
        names = ", ".join(f"{c.kind} check {c.id}" for c in failures)
        raise StageConflict(
            project.stage, f"cannot accept the project with unresolved failed checks: {names}"
        )
    stages = (*project.stages, StageChange(to, reached_on, by, now, note))
    return revised(project, now, stage=to, stages=stages)


@dataclass(frozen=True)
class CheckReport:
    kind: str
    result: str
    checked_on: date
    inspector: str
    findings: tuple[str, ...] = ()
    note: str | None = None
    rectify_by: date | None = None


@dataclass(frozen=True)
class CheckOutcome:
    project: RenovationProject
    check: Check
    resolved: tuple[Check, ...]  # failed checks of the same kind this passing one resolved


def record_check(
    project: RenovationProject,
    report: CheckReport,
    *,
    check_id: str,
    by: str,
    today: date,
    now: datetime,
) -> CheckOutcome:
    """A quality or safety check (from approval on). A failure gets a rectification deadline
    (default 15 days); a pass resolves the open failures of its kind."""
    if report.kind not in CHECK_LABELS:
        raise InvalidInput("kind", "must be quality or safety")
    if report.result not in ("pass", "fail"):
        raise InvalidInput("result", "must be pass or fail")
    if project.stage == "planned":
        raise StageConflict("planned", "checks are recorded once the project is approved")
    if report.checked_on > today:
        raise InvalidInput("checked_on", f"{report.checked_on.isoformat()} is in the future")
    if not report.inspector.strip():
        raise InvalidInput("inspector", "must not be empty")
    findings = tuple(f.strip() for f in report.findings if f.strip())
    rectify_by: date | None = None
    if report.result == "fail":
        if not findings:
            raise InvalidInput("findings", "a failed check names what was found")
        rectify_by = report.rectify_by or report.checked_on + timedelta(days=DEFAULT_RECTIFY_DAYS)
        if rectify_by < report.checked_on:
            raise InvalidInput("rectify_by", "is before the check")
    elif report.rectify_by is not None:
        raise InvalidInput("rectify_by", "only a failed check has a rectification deadline")
    check = Check(
        id=check_id,
        kind=report.kind,
        result=report.result,
        checked_on=report.checked_on,
        inspector=report.inspector.strip(),
        findings=findings,
        recorded_by=by,
        recorded_at=now,
        note=report.note,
        rectify_by=rectify_by,
    )
    resolved: list[Check] = []
    checks: list[Check] = []
    for earlier in project.checks:
        if report.result == "pass" and earlier.open_failure and earlier.kind == report.kind:
            earlier = replace(earlier, resolved_by=check_id)
            resolved.append(earlier)
        checks.append(earlier)
    changed = revised(project, now, checks=(*checks, check))
    return CheckOutcome(changed, check, tuple(resolved))


# -- public consultation on a renovation plan (征求群众意见) --------------------------------------

CONSULTATION_DAYS: Final[tuple[int, int]] = (1, 60)
ANSWER_MAX_CHARS: Final = 2000
# The stages a project reaches only once its consultation allows it: approval once the window
# is over (the public is not asked about a plan already approved), construction once every
# comment is answered too.
CONSULTATION_GATES: Final = ("approved", "under_construction")


class ConsultationConflict(Conflict):
    """The plan's consultation does not allow the change yet: 409 naming `consultation`."""

    def __init__(self, project: RenovationProject, reason: str) -> None:
        super().__init__(reason, [{"field": "consultation", "reason": reason}])
        self.current = project.stage
        self.consultation = project.consultation

    def body(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"current_stage": self.current}
        if self.consultation is not None:
            extra["consultation"] = {
                "opens_on": self.consultation.opens_on.isoformat(),
                "closes_on": self.consultation.closes_on.isoformat(),
                "unanswered": self.consultation.unanswered,
            }
        return super().body() | extra


def consultation_allows(project: RenovationProject, to: str, today: date) -> None:
    """Raise ConsultationConflict when the consultation holds the project back from `to`:
    approval while comments are still taken; construction while they are, or while a comment
    has no answer. A project never opened for comment is not held back."""
    c = project.consultation
    if c is None or to not in CONSULTATION_GATES:
        return
    if not c.closed(today):
        raise ConsultationConflict(
            project,
            f"the consultation is open until {c.closes_on.isoformat()}; the project moves to "
            f"{to} once it has closed",
        )
    if to == "under_construction" and c.unanswered:
        raise ConsultationConflict(
            project,
            f"{c.unanswered} comment(s) of the consultation are not answered; answer every "
            "comment before construction",
        )


def open_consultation(
    project: RenovationProject, *, days: int, today: date, now: datetime, by: Actor
) -> RenovationProject:
    """Open the plan for comment from today for `days` days (today included), only while the
    project is planned. A new round may follow one that has closed; comments carry over."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidInput("days", "must be a whole number of days")
    low, high = CONSULTATION_DAYS
    if not low <= days <= high:
        raise InvalidInput("days", f"must be from {low} to {high} days")
    if project.stage != "planned":
        raise StageConflict(
            project.stage,
            f"the project is {project.stage}; a plan is opened for comment only while planned",
        )
    earlier = project.consultation
    if earlier is not None and not earlier.closed(today):
        raise ConsultationConflict(
            project, f"a consultation is open already, until {earlier.closes_on.isoformat()}"
        )
    consultation = Consultation(
        opens_on=today,
        closes_on=today + timedelta(days=days - 1),
        comments=earlier.comments if earlier else (),
        opened_at=now,
        opened_by=by,
    )
    return revised(project, now, consultation=consultation)


def receive_comment(
    project: RenovationProject,
    *,
    suggestion_id: str,
    text: str,
    received_at: datetime,
    market_id: str | None,
    tz: ZoneInfo,
    now: datetime,
) -> RenovationProject | None:
    """A citizen's suggestion naming the project: a comment when the consultation was open on
    the day it was received (city time) and it is about the project's market (or names none).
    None — nothing to change — otherwise, or when it is attached already."""
    c = project.consultation
    if c is None or not c.is_open(received_at.astimezone(tz).date()):
        return None
    if market_id is not None and market_id != project.market_id:
        return None
    if c.comment(suggestion_id) is not None:
        return None
    comment = Comment(suggestion_id, received_at.astimezone(UTC), text.strip())
    comments = tuple(sorted((*c.comments, comment), key=lambda x: x.received_at))
    return revised(project, now, consultation=replace(c, comments=comments))


def answer_comment(
    project: RenovationProject,
    suggestion_id: str,
    *,
    answer: str,
    by: Actor,
    now: datetime,
) -> RenovationProject:
    """Record how the plan answered a comment (a later answer corrects it) — until construction
    begins: from then on the answers are the record the plan was built on."""
    c = project.consultation
    comment = c.comment(suggestion_id) if c is not None else None
    if c is None or comment is None:
        raise NotFound(f"no comment {suggestion_id!r} on renovation project {project.id!r}")
    if project.stage not in ("planned", "approved"):
        raise StageConflict(
            project.stage,
            f"the project is {project.stage}; comments are answered before construction",
        )
    answer = required_text("answer", answer, ANSWER_MAX_CHARS)
    answered = replace(comment, answer=answer, answered_at=now, answered_by=by)
    comments = tuple(answered if x.suggestion_id == suggestion_id else x for x in c.comments)
    return revised(project, now, consultation=replace(c, comments=comments))


# -- public disclosure -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """A re-check of an exposed problem's rectification (复查): fixed, or not yet."""

    on: date
    at: datetime
    fixed: bool
    note: str | None
    by: Actor


@dataclass(frozen=True)
class Disclosure:
    id: str
    kind: str
    source_id: str
    state: str
    district: str
    title: str
    title_en: str
    details: tuple[str, ...]
    deadline: datetime
    deadline_date: date
    opened_at: datetime
    campaign_id: str | None = None
    district_name: str | None = None
    market_id: str | None = None
    market_name: str | None = None
    merchant_id: str | None = None
    merchant_name: str | None = None
    stall_no: str | None = None
    resolved_at: datetime | None = None
    version: int = 1
    updated_at: datetime | None = None
    # Exposures (曝光): who exposed the problem and where, who recorded it, when its deadline
    # passed unrectified (flagged once) and the re-checks of its rectification.
    exposure_source: str | None = None
    exposure_reference: str | None = None
    recorded_by: Actor | None = None
    late_flagged_at: datetime | None = None
    verifications: tuple[Verification, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return self.state == "open" and now >= self.deadline

    def resolve(self, now: datetime) -> Disclosure | None:
        """Resolved now; None when it already was (nothing to publish)."""
        if self.state == "resolved":
            return None
        return revised(self, now, state="resolved", resolved_at=now)


@dataclass(frozen=True)
class _Place:
    """Where a disclosed problem is, by code and by the names the registry gives."""

    district: str
    market_id: str | None
    district_name: str | None
    market_name: str | None

    @property
    def name(self) -> str:
        """What the public reads: the market's name, else the district's, else its code."""
        return self.market_name or self.district_name or self.district


def _opened(
    kind: str,
    source_id: str,
    place: _Place,
    *,
    disclosure_id: str,
    now: datetime,
    state: str = "open",
    **content: Any,
) -> Disclosure:
    """A disclosure first published at `now`. `content` is what the kind tells the public (its
    titles, details and deadline) and what only it carries (the campaign, the merchant, the
    exposure, when it was resolved)."""
    return Disclosure(
        id=disclosure_id,
        kind=kind,
        source_id=source_id,
        state=state,
        district=place.district,
        district_name=place.district_name,
        market_id=place.market_id,
        market_name=place.market_name,
        opened_at=now,
        updated_at=now,
        **content,
    )


def disclose_late_milestone(
    milestone: Milestone,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    district_name: str | None = None,
    market_name: str | None = None,
) -> Disclosure:
    """A late milestone, open while it is missing and resolved once it is recorded."""
    zh, en = MILESTONE_LABELS[milestone.kind]
    place = _Place(milestone.district, milestone.market_id, district_name, market_name)
    where = place.name
    details = [f"应于{milestone.deadline.isoformat()}前{zh}"]
    if milestone.achieved_on is not None:
        details.append(f"已于{milestone.achieved_on.isoformat()}完成")
    else:
        details.append("截至公开时尚未完成")
    done = milestone.achieved_on is not None
    return _opened(
        "late_milestone",
        milestone.id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}未按期{zh}",
        title_en=f"{where}: {en} — deadline {milestone.deadline.isoformat()} missed",
        details=tuple(details),
        deadline=end_of_day(milestone.deadline, tz),
        deadline_date=milestone.deadline,
        now=now,
        state="resolved" if done else "open",
        resolved_at=now if done else None,
        campaign_id=milestone.campaign_id,
    )


def disclose_failed_check(
    project: RenovationProject,
    check: Check,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    district_name: str | None = None,
    market_name: str | None = None,
) -> Disclosure:
    assert check.rectify_by is not None, "a failed check has a rectification deadline"
    zh, en = CHECK_LABELS[check.kind]
    place = _Place(project.district, project.market_id, district_name, market_name)
    where = place.name
    return _opened(
        "failed_check",
        check.id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}改造工程{zh}检查不合格，限期{check.rectify_by.isoformat()}前整改",
        title_en=f"{where}: renovation {en} check failed; rectify by {check.rectify_by}",
        details=check.findings,
        deadline=end_of_day(check.rectify_by, tz),
        deadline_date=check.rectify_by,
        now=now,
        campaign_id=project.campaign_id,
    )


@dataclass(frozen=True)
class OverdueOrder:
    """What a disclosure needs of an overdue rectification order (from inspection's event)."""

    rectification_id: str
    district: str
    market_id: str
    merchant_id: str | None
    stall_no: str | None
    deadline: datetime
    findings: tuple[str, ...]


def disclose_overdue_rectification(
    order: OverdueOrder,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    district_name: str | None = None,
    market_name: str | None = None,
    merchant_name: str | None = None,
) -> Disclosure:
    place = _Place(order.district, order.market_id, district_name, market_name)
    where = place.name
    who = " ".join(
        p for p in (where, order.stall_no and f"{order.stall_no}摊位", merchant_name) if p
    )
    deadline_date = order.deadline.astimezone(tz).date()
    return _opened(
        "overdue_rectification",
        order.rectification_id,
        place,
        disclosure_id=disclosure_id,
        title=f"{who} 逾期未整改",
        title_en=f"{who}: rectification overdue since {deadline_date.isoformat()}",
        details=order.findings,
        deadline=order.deadline,
        deadline_date=deadline_date,
        now=now,
        merchant_id=order.merchant_id,
        merchant_name=merchant_name,
        stall_no=order.stall_no,
    )


def still_overdue(
    existing: Disclosure, order: OverdueOrder, *, tz: ZoneInfo, now: datetime
) -> Disclosure | None:
    """A later overdue of the same order (a new deadline passed after a failed re-inspection):
    the disclosure is (re)opened with that deadline; None when nothing changed."""
    if existing.state == "open" and existing.deadline == order.deadline:
        return None
    return revised(
        existing,
        now,
        state="open",
        resolved_at=None,
        deadline=order.deadline,
        deadline_date=order.deadline.astimezone(tz).date(),
        details=order.findings or existing.details,
    )


# -- public exposure and deadline rectification (舆论监督, 限期整改) ------------------------------

# (Chinese, English) names of who exposed a problem.
EXPOSURE_SOURCE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "press": ("媒体", "the press"),
    "public": ("群众", "the public"),
    "supervision": ("督查", "supervision"),
}
MAX_RECTIFY_DAYS: Final = 365
EXPOSURE_TITLE_MAX: Final = 200
EXPOSURE_REFERENCE_MAX: Final = 200
EXPOSURE_DETAIL_MAX: Final = 500
EXPOSURE_DETAILS_MAX: Final = 50
VERIFY_NOTE_MAX: Final = 1000


@dataclass(frozen=True)
class ExposureReport:
    """A problem the press, a citizen or a supervising body exposed, as a clerk records it."""

    source: str
    reference: str
    title: str
    rectify_by: date
    details: tuple[str, ...] = ()


def disclose_exposure(
    report: ExposureReport,
    *,
    disclosure_id: str,
    district: str,
    market_id: str,
    tz: ZoneInfo,
    today: date,
    now: datetime,
    by: Actor,
    district_name: str | None = None,
    market_name: str | None = None,
) -> Disclosure:
    """An exposed problem, public and open until a re-check finds it fixed, with the deadline
    the market has to rectify it by (from today to a year ahead)."""
    if report.source not in EXPOSURE_SOURCES:
        raise InvalidInput("source", f"must be one of {', '.join(EXPOSURE_SOURCES)}")
    reference = required_text("reference", report.reference, EXPOSURE_REFERENCE_MAX)
    title = required_text("title", report.title, EXPOSURE_TITLE_MAX)
    if len(report.details) > EXPOSURE_DETAILS_MAX:
        raise InvalidInput("details", f"at most {EXPOSURE_DETAILS_MAX} lines")
    details = tuple(
        required_text(f"details.{i}", d, EXPOSURE_DETAIL_MAX) for i, d in enumerate(report.details)
    )
    if report.rectify_by < today:
        raise InvalidInput(
            "rectify_by", f"{report.rectify_by.isoformat()} is before today ({today.isoformat()})"
        )
    if report.rectify_by > today + timedelta(days=MAX_RECTIFY_DAYS):
        raise InvalidInput("rectify_by", f"must be within {MAX_RECTIFY_DAYS} days of today")
    en = EXPOSURE_SOURCE_LABELS[report.source][1]
    place = _Place(district, market_id, district_name, market_name)
    where = place.name
    return _opened(
        "exposure",
        disclosure_id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}：{title}",
        title_en=f"{where}: {title} — exposed by {en}; rectify by {report.rectify_by}",
        details=details,
        deadline=end_of_day(report.rectify_by, tz),
        deadline_date=report.rectify_by,
        now=now,
        exposure_source=report.source,
        exposure_reference=reference,
        recorded_by=by,
    )


def flag_late_exposure(d: Disclosure, now: datetime) -> Disclosure | None:
    """An exposure still open after its deadline day, not flagged yet: flagged now (once), the
    public told it is late. None when there is nothing to flag."""
    if d.kind != "exposure" or d.late_flagged_at is not None or not d.overdue(now):
        return None
    line = f"整改期限{d.deadline_date.isoformat()}已过，尚未整改到位"
    return revised(d, now, late_flagged_at=now, details=(*d.details, line))


def verify_exposure(
    d: Disclosure,
    *,
    fixed: bool,
    note: str | None,
    by: Actor,
    today: date,
    now: datetime,
) -> Disclosure:
    """A re-check: fixed resolves the exposure (it leaves the public's open list); not fixed
    keeps it open, and the public reads that it was not. Not fixed needs a note of what is
    still wrong."""
    if d.kind != "exposure":
        raise NotFound(f"disclosure {d.id} is not an exposure")
    if d.state == "resolved":
        reason = f"exposure {d.id} is resolved already; nothing to verify"
        raise Conflict(reason, [{"field": "state", "reason": reason}])
    text = (note or "").strip() or None
    if text is not None and len(text) > VERIFY_NOTE_MAX:
        raise InvalidInput("note", f"must be at most {VERIFY_NOTE_MAX} characters")
    if not fixed and text is None:
        raise InvalidInput("note", "a problem not fixed needs a note of what is still wrong")
    check = Verification(today, now, fixed, text, by)
    if fixed:
        line = f"{today.isoformat()}复查：已整改到位" + (f"（{text}）" if text else "")
    else:
        line = f"{today.isoformat()}复查：未整改到位（{text}）"
    return revised(
        d,
        now,
        state="resolved" if fixed else "open",
        resolved_at=now if fixed else None,
        details=(*d.details, line),
        verifications=(*d.verifications, check),
    )


# -- progress --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketFacts:
    id: str
    name: str
    district: str
    has_task_force: bool


def _money(by_source: Mapping[str, int]) -> dict[str, Any]:
    return {
        "fen": dict(by_source),
        "yuan": {k: fen_to_yuan(v) for k, v in by_source.items()},
        "total_fen": sum(by_source.values()),
    }


def _summary(
    statuses: Sequence[MilestoneStatus],
    markets: Sequence[MarketFacts],
    projects: Sequence[RenovationProject],
) -> dict[str, Any]:
    budget: dict[str, int] = dict.fromkeys(FUNDING_SOURCES, 0)
    committed: dict[str, int] = dict.fromkeys(FUNDING_SOURCES, 0)
    for p in projects:
        for source, fen in p.budget_by_source().items():
            budget[source] += fen
            if p.committed:
                committed[source] += fen
    overdue = statuses.count("overdue")
    pending = statuses.count("pending")
    return {
        "milestones": {
            "expected": len(statuses),
            "on_time": statuses.count("on_time"),
            "late": statuses.count("late"),
            "missing": overdue + pending,
            "overdue": overdue,
            "pending": pending,
            "missed_deadline": statuses.count("late") + overdue,
        },
        "markets": {
            "total": len(markets),
            "with_task_force": sum(1 for m in markets if m.has_task_force),
        },
        "renovations": {
            "total": len(projects),
            "by_stage": {s: sum(1 for p in projects if p.stage == s) for s in RENOVATION_STAGES},
            "budget": _money(budget),
            "committed": _money(committed),
        },
    }


def progress(
    campaign: Campaign,
    *,
    district_names: Mapping[str, str],
    markets: Sequence[MarketFacts],
    milestones: Iterable[Milestone],
    projects: Iterable[RenovationProject],
    today: date,
    only_district: str | None = None,
) -> dict[str, Any]:
    """Per district: milestones on time / late / missing, markets with task forces, renovation
    projects by stage and money by source (budgeted, and committed from approval on).

    Milestone counts partition the expected ones: `on_time` (done by the deadline), `late` (done
    after it) and `missing` (not done: `overdue` past the deadline, `pending` not due yet);
    `missed_deadline` = `late` + `overdue`, the ones flagged late."""
    taking_part = [m for m in markets if m.district in campaign.districts]
    expected = expected_milestones(campaign, [(m.id, m.district) for m in taking_part])
    known = {(m.scope_id, m.kind): m for m in milestones}
    all_projects = list(projects)
    names = {m.id: m.name for m in taking_part}
    districts = [d for d in campaign.districts if only_district is None or d == only_district]
    rows: list[dict[str, Any]] = []
    all_statuses: list[MilestoneStatus] = []
    for code in districts:
        items: list[dict[str, Any]] = []
        statuses: list[MilestoneStatus] = []
        for e in expected:
            if e.district != code:
                continue
            row = known.get((e.scope_id, e.kind))
            deadline = row.deadline if row else e.deadline
            status = milestone_status(deadline, row.achieved_on if row else None, today)
            statuses.append(status)
            items.append(
                {
                    "kind": e.kind,
                    "scope": e.scope,
                    "market_id": e.market_id,
                    "market_name": names.get(e.market_id or ""),
                    "deadline": deadline.isoformat(),
                    "achieved_on": row.achieved_on.isoformat() if row and row.achieved_on else None,
                    "status": status,
                    "milestone_id": row.id if row else None,
                }
            )
        all_statuses += statuses
        in_district = [m for m in taking_part if m.district == code]
        district_projects = [p for p in all_projects if p.district == code]
        rows.append(
            {
                "district": code,
                "name": district_names.get(code),
                **_summary(statuses, in_district, district_projects),
                "markets_without_task_force": [m.id for m in in_district if not m.has_task_force],
                "milestone_items": items,
            }
        )
    scoped_markets = [m for m in taking_part if m.district in districts]
    scoped_projects = [p for p in all_projects if p.district in districts]
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "mobilisation_date": campaign.mobilisation_date.isoformat(),
        "as_of": today.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in campaign.deadlines().items()},
        "districts": rows,
        "totals": _summary(all_statuses, scoped_markets, scoped_projects),
    }
