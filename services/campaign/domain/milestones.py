"""Milestones and lateness: what each campaign expects of a district or a market, recorded, or
flagged late once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from contracts.campaign import DISTRICT_MILESTONES, MARKET_MILESTONES
from contracts.people import Actor
from services.campaign.domain.campaign import SCOPE_OF, Campaign, revised
from services.campaign.domain.text import Problems
from services.runtime.failures import InvalidInput
from services.runtime.ids import new_id

# (Chinese, English) names, for disclosures the public reads.
MILESTONE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "work_plan_submitted": ("报送工作方案", "work plan submitted"),
    "leadership_structure_submitted": ("报送领导机构名单", "leadership structure submitted"),
    "deployment_meeting_held": ("召开市场经营者部署会", "deployment meeting held"),
    "task_force_set_up": ("成立市场专班", "task force set up"),
    "renovation_plan_approved": ("批复改造方案", "renovation plan approved"),
}
MilestoneStatus = Literal["on_time", "late", "overdue", "pending"]


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

    def unrecorded(self, milestone_id: str) -> Milestone:
        """The milestone as it stands before anything was recorded or flagged (version 0: its
        first change makes it version 1)."""
        where = (self.campaign_id, self.scope, self.district, self.market_id, self.kind)
        return Milestone(*where, self.deadline, id=milestone_id, version=0)


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


@dataclass(frozen=True, kw_only=True)
class Milestone(Expected):
    """An expected milestone once it has a row: recorded as done, or flagged late. Where it
    applies and its deadline are the `Expected` fields it extends (given first, in order); the
    rest by name."""

    id: str
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
    problems = Problems()
    if report.achieved_on > today:
        problems.add(
            "achieved_on", f"{report.achieved_on.isoformat()} is in the future (today is {today})"
        )
    if expected.kind == "deployment_meeting_held" and not report.attendees:
        problems.add("attendees", "a deployment meeting records how many attended")
    elif report.attendees is not None and report.attendees < 1:
        problems.add("attendees", "must be at least 1")
    if any(not d.strip() for d in report.documents):
        problems.add("documents", "a document reference must not be empty")
    problems.raise_any()
    base = existing or expected.unrecorded(make_id())
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
    return revised(expected.unrecorded(make_id()), now, late_flagged_at=now)
