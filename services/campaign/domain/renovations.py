"""Renovation projects (改造项目): scope, budget, stages, quality and safety checks, and the
public consultation on a plan (征求群众意见)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from contracts.campaign import FUNDING_SOURCES, RENOVATION_KINDS, RENOVATION_STAGES, SCOPE_AREAS
from contracts.people import Actor
from services.campaign.domain.campaign import Campaign, revised
from services.campaign.domain.closed import takes_new_work
from services.campaign.domain.money import MAX_FEN, fen_of
from services.campaign.domain.text import Problems, required_text
from services.runtime.failures import Conflict, InvalidInput, NotFound

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
# How long a project's title, a scope item's description (and a check's finding), and the name
# of a check's inspector may be.
TITLE_MAX: Final = 200
SCOPE_TEXT_MAX: Final = 500
INSPECTOR_MAX: Final = 100


class StageConflict(Conflict):
    """A change the project's stage does not allow: 409 with the stage it is in."""

    def __init__(self, current: str, reason: str) -> None:
        super().__init__(reason, field="stage")
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
class BudgetEntry:
    """A budget line as a clerk gives it: its amount in fen or in yuan, one of the two."""

    source: str
    amount_fen: int | None = None
    amount_yuan: Decimal | str | None = None


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


def validate_scope(
    items: Sequence[ScopeItem], problems: Problems | None = None
) -> tuple[ScopeItem, ...]:
    """The scope, its descriptions trimmed; every problem a problem of `problems` (raised here
    when none is given)."""
    found = problems or Problems()
    if not items:
        found.add("scope_items", "a renovation names at least one scope item")
    kept: list[ScopeItem] = []
    for i, item in enumerate(items):
        if item.area not in SCOPE_AREAS:
            found.add(f"scope_items.{i}.area", f"must be one of {', '.join(SCOPE_AREAS)}")
        text = found.text(f"scope_items.{i}.description", item.description, limit=SCOPE_TEXT_MAX)
        kept.append(ScopeItem(item.area, text))
    if problems is None:
        found.raise_any()
    return tuple(kept)


def _in_fen(entry: BudgetLine | BudgetEntry, i: int, problems: Problems) -> BudgetLine | None:
    """The line with its amount in fen; None (and a problem) when the amount is not one."""
    if isinstance(entry, BudgetLine):
        return entry
    if (entry.amount_fen is None) == (entry.amount_yuan is None):
        problems.add(f"budget.{i}", "give amount_fen or amount_yuan, not both")
        return None
    if entry.amount_fen is not None:
        return BudgetLine(entry.source, entry.amount_fen)
    assert entry.amount_yuan is not None
    fen, reason = fen_of(entry.amount_yuan)
    if fen is None:
        problems.add(f"budget.{i}.amount_yuan", reason or "must be a decimal amount in yuan")
        return None
    return BudgetLine(entry.source, fen)


def validate_budget(
    entries: Sequence[BudgetLine | BudgetEntry], problems: Problems | None = None
) -> tuple[BudgetLine, ...]:
    """One line per funding source, amounts in fen (or given in yuan), something to spend;
    every problem a problem of `problems` (raised here when none is given)."""
    found = problems or Problems()
    if not entries:
        found.add("budget", "a renovation has a budget by funding source")
    seen: set[str] = set()
    in_range = True
    lines: list[BudgetLine] = []
    for i, entry in enumerate(entries):
        if entry.source not in FUNDING_SOURCES:
            found.add(f"budget.{i}.source", f"must be one of {', '.join(FUNDING_SOURCES)}")
        elif entry.source in seen:
            found.add(f"budget.{i}.source", f"{entry.source} is listed twice")
        seen.add(entry.source)
        line = _in_fen(entry, i, found)
        if line is None:
            in_range = False
            continue
        lines.append(line)
        if not 0 <= line.amount_fen <= MAX_FEN:
            found.add(f"budget.{i}.amount_fen", f"must be from 0 to {MAX_FEN} fen")
            in_range = False
    if lines and in_range and sum(line.amount_fen for line in lines) <= 0:
        found.add("budget", "the budget adds up to nothing")
    if problems is None:
        found.raise_any()
    return tuple(lines)


def plan_project(
    campaign: Campaign | None,
    *,
    project_id: str,
    market_id: str,
    district: str | None,
    kind: str,
    title: str,
    scope_items: Sequence[ScopeItem],
    budget: Sequence[BudgetLine | BudgetEntry],
    by: str,
    today: date,
    now: datetime,
    planned_on: date | None = None,
    campaign_id: str | None = None,
    closed_on: date | None = None,
) -> RenovationProject:
    """A planned project; every problem of the request named at once. `campaign`: None when no
    campaign has `campaign_id` (the id asked for); `district`: the market's, None when the
    registry does not know the market; `closed_on`: the day it closed for good, if it did."""
    problems = Problems()
    if campaign is None:
        problems.add("campaign_id", f"no campaign {campaign_id!r}")
    if district is None:
        problems.add("market_id", f"no market {market_id!r}")
    elif campaign is not None and district not in campaign.districts:
        problems.add(
            "market_id", f"the market's district {district!r} does not take part in the campaign"
        )
    takes_new_work(problems, market_id, closed_on)
    if kind not in RENOVATION_KINDS:
        problems.add("kind", f"must be one of {', '.join(RENOVATION_KINDS)}")
    title = problems.text("title", title, limit=TITLE_MAX)
    scope = validate_scope(scope_items, problems)
    lines = validate_budget(budget, problems)
    planned_on = planned_on or today
    if planned_on > today:
        problems.add("planned_on", f"{planned_on.isoformat()} is in the future")
    problems.raise_any()
    assert campaign is not None and district is not None
    return RenovationProject(
        id=project_id,
        campaign_id=campaign.id,
        market_id=market_id,
        district=district,
        kind=kind,
        title=title,
        scope_items=scope,
        budget=lines,
        stage="planned",
        stages=(StageChange("planned", planned_on, by, now),),
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class Amendment:
    """What an amendment of a planned project changes: None leaves that part as it is."""

    title: str | None = None
    scope_items: Sequence[ScopeItem] | None = None
    budget: Sequence[BudgetLine | BudgetEntry] | None = None


def amend_project(
    project: RenovationProject, amendment: Amendment, now: datetime
) -> RenovationProject:
    """Scope and budget change only while the plan is not approved."""
    if project.stage != "planned":
        raise StageConflict(
            project.stage,
            f"the project is {project.stage}; scope and budget change only while planned",
        )
    problems = Problems()
    title, scope_items, budget = amendment.title, amendment.scope_items, amendment.budget
    title = project.title if title is None else problems.text("title", title, limit=TITLE_MAX)
    scope = project.scope_items if scope_items is None else validate_scope(scope_items, problems)
    lines = project.budget if budget is None else validate_budget(budget, problems)
    problems.raise_any()
    return revised(project, now, title=title, scope_items=scope, budget=lines)


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
    problems = Problems()
    if to not in RENOVATION_STAGES:
        problems.add("stage", f"must be one of {', '.join(RENOVATION_STAGES)}")
    last = project.stages[-1]
    if reached_on > today:
        problems.add("reached_on", f"{reached_on.isoformat()} is in the future")
    elif reached_on < last.reached_on:
        problems.add(
            "reached_on",
            f"{reached_on.isoformat()} is before the project became {last.stage} "
            f"({last.reached_on.isoformat()})",
        )
    problems.raise_any()
    expected = NEXT_STAGE.get(project.stage)
    if to != expected:
        then = f"the next stage is {expected}" if expected else "accepted is the last stage"
        raise StageConflict(
            project.stage, f"the project is {project.stage}; it cannot move to {to} ({then})"
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
    problems = Problems()
    if report.kind not in CHECK_LABELS:
        problems.add("kind", "must be quality or safety")
    if report.result not in ("pass", "fail"):
        problems.add("result", "must be pass or fail")
    if report.checked_on > today:
        problems.add("checked_on", f"{report.checked_on.isoformat()} is in the future")
    inspector = problems.text("inspector", report.inspector, limit=INSPECTOR_MAX)
    findings = problems.texts("findings", report.findings, limit=SCOPE_TEXT_MAX)
    rectify_by: date | None = None
    if report.result == "fail":
        if not findings:
            problems.add("findings", "a failed check names what was found")
        rectify_by = report.rectify_by or report.checked_on + timedelta(days=DEFAULT_RECTIFY_DAYS)
        if rectify_by < report.checked_on:
            problems.add("rectify_by", "is before the check")
    elif report.rectify_by is not None:
        problems.add("rectify_by", "only a failed check has a rectification deadline")
    problems.raise_any()
    if project.stage == "planned":
        raise StageConflict("planned", "checks are recorded once the project is approved")
    check = Check(
        id=check_id,
        kind=report.kind,
        result=report.result,
        checked_on=report.checked_on,
        inspector=inspector,
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
        super().__init__(reason, field="consultation")
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
