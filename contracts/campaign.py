"""Campaign contracts: the city's plan as data — its deadlines, the milestones districts and
markets record (or miss), market renovation projects with their budgets and quality and safety
checks, and the problems disclosed to the public.

Topics:

- `registry.campaign.v1`, key = **campaign id**, so one campaign's whole story arrives in order
  from one partition. `subject` is the entity the event is about: the campaign id
  (`registry.campaign.upserted`), the milestone id (`registry.milestone.*`) or the renovation
  project id (`registry.renovation.*`).
- `registry.disclosures.v1` (compacted), key = subject = **disclosure id**: the latest state of
  every problem exposed to the public.

Each event's `data` is the whole entity after the change, with `version` growing by one per
change, like the registry's snapshots. Money is in integer **fen** (分, 1/100 yuan), never a
floating-point number.

Chains (contracts/README.md, "Reading an event"): a campaign, milestone or project event starts
its own chain (its `correlationid` is its own `id`), except that a `registry.disclosure.upserted`
carries the chain of what disclosed it: the late milestone or failed check event (`causationid` =
that event's id), or the consumed `inspection.rectification.*` event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
CAMPAIGN_UPSERTED: Final = "registry.campaign.upserted"
MILESTONE_RECORDED: Final = "registry.milestone.recorded"
MILESTONE_LATE: Final = "registry.milestone.late"
RENOVATION_UPSERTED: Final = "registry.renovation.upserted"
RENOVATION_CHECK_FAILED: Final = "registry.renovation.check_failed"
DISCLOSURE_UPSERTED: Final = "registry.disclosure.upserted"

# -- vocabulary ------------------------------------------------------------------------------

MilestoneScope = Literal["district", "market"]
MilestoneKind = Literal[
    "work_plan_submitted",
    "leadership_structure_submitted",
    "deployment_meeting_held",
    "task_force_set_up",
    "renovation_plan_approved",
]
DISTRICT_MILESTONES: Final[tuple[MilestoneKind, ...]] = (
    "work_plan_submitted",
    "leadership_structure_submitted",
    "deployment_meeting_held",
)
MARKET_MILESTONES: Final[tuple[MilestoneKind, ...]] = (
    "task_force_set_up",
    "renovation_plan_approved",
)
MilestoneState = Literal["missing", "recorded"]
RenovationKind = Literal["old_market_upgrade", "new_market"]
RENOVATION_KINDS: Final[tuple[RenovationKind, ...]] = ("old_market_upgrade", "new_market")
RenovationStage = Literal["planned", "approved", "under_construction", "accepted"]
RENOVATION_STAGES: Final[tuple[RenovationStage, ...]] = (
    "planned",
    "approved",
    "under_construction",
    "accepted",
)
FundingSource = Literal["fiscal", "ppp", "special_fund"]
FUNDING_SOURCES: Final[tuple[FundingSource, ...]] = ("fiscal", "ppp", "special_fund")
ScopeArea = Literal["infrastructure", "hygiene", "layout", "equipment", "other"]
SCOPE_AREAS: Final[tuple[ScopeArea, ...]] = (
    "infrastructure",
    "hygiene",
    "layout",
    "equipment",
    "other",
)
CheckKind = Literal["quality", "safety"]
CheckResult = Literal["pass", "fail"]
RenovationChange = Literal[
    "created",
    "amended",
    "stage_changed",
    "check_recorded",
    "consultation_opened",
    "comment_received",
    "comment_answered",
]
DisclosureKind = Literal["late_milestone", "failed_check", "overdue_rectification", "exposure"]
DISCLOSURE_KINDS: Final[tuple[DisclosureKind, ...]] = (
    "late_milestone",
    "failed_check",
    "overdue_rectification",
    "exposure",
)
# Who exposed a problem (舆论监督): the press, a citizen, or a supervising body.
ExposureSource = Literal["press", "public", "supervision"]
EXPOSURE_SOURCES: Final[tuple[ExposureSource, ...]] = ("press", "public", "supervision")
DisclosureState = Literal["open", "resolved", "lapsed"]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC)")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]
Fen = Annotated[int, Field(ge=0, description="an amount of money in fen (1/100 yuan)")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- campaigns -------------------------------------------------------------------------------


class DeadlineRule(_Frozen):
    """How a milestone's deadline follows from the campaign: exactly one of the three."""

    days_after_mobilisation: int | None = Field(
        default=None, ge=0, le=3650, description="the mobilisation date plus this many days"
    )
    month_day: str | None = Field(
        default=None,
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
        description="MM-DD in the campaign's year, e.g. 04-30",
    )
    fixed_date: date | None = Field(default=None, description="a fixed date")

    @model_validator(mode="after")
    def _exactly_one(self) -> DeadlineRule:
        given = [
            v
            for v in (self.days_after_mobilisation, self.month_day, self.fixed_date)
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of days_after_mobilisation, month_day, fixed_date")
        return self


class MilestoneDeadline(_Frozen):
    kind: MilestoneKind
    scope: MilestoneScope = Field(
        description="district milestones: one per district; market: one per market"
    )
    rule: DeadlineRule
    deadline: date = Field(description="the last day (city time) on which it is on time")


class CampaignUpserted(_Frozen):
    """`registry.campaign.upserted` on `registry.campaign.v1`, key = subject = campaign_id.

    A campaign was created or reconfigured; `deadlines` are derived from its mobilisation date.
    """

    campaign_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the campaign")
    name: str
    year: int = Field(ge=2000, le=2100, description="the campaign's year (month_day rules)")
    mobilisation_date: date = Field(description="the city's mobilisation meeting (动员会)")
    districts: list[str] = Field(min_length=1, description="district codes taking part")
    deadlines: list[MilestoneDeadline]
    created_at: Instant
    updated_at: Instant
    actor: Actor | None = Field(
        default=None, description="who created or reconfigured it (subject and name)"
    )


# -- milestones ------------------------------------------------------------------------------


class _Milestone(_Frozen):
    milestone_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the milestone")
    campaign_id: str
    scope: MilestoneScope
    district: str = Field(description="district code")
    market_id: str | None = Field(description="the market, for market milestones")
    kind: MilestoneKind
    deadline: date = Field(description="the last day (city time) on which it is on time")
    state: MilestoneState
    achieved_on: date | None = Field(description="the day it was done; null while missing")
    on_time: bool | None = Field(description="done by the deadline; null while missing")
    attendees: int | None = Field(default=None, ge=1, description="meetings: how many attended")
    documents: list[str] = Field(
        description="references of the documents (文号), e.g. 芝政办发〔2026〕12号"
    )
    note: str | None = None
    recorded_by: str | None = Field(description="who recorded it; null while missing")
    recorded_at: Instant | None
    late_flagged_at: Instant | None = Field(
        description="when it was flagged late (its deadline passed undone); set once"
    )


class MilestoneRecorded(_Milestone):
    """`registry.milestone.recorded` on `registry.campaign.v1`, key = campaign_id,
    subject = milestone_id.

    A district or market reported a milestone done (or corrected its report). A milestone done
    after its deadline that was not flagged yet is flagged in the same change, and a
    `registry.milestone.late` follows.
    """

    state: Literal["recorded"]
    achieved_on: date
    on_time: bool
    recorded_by: str
    recorded_at: Instant
    actor: Actor | None = Field(
        default=None,
        description="who recorded it (subject and name); also when registering a task force or "
        "approving a renovation recorded it for them",
    )


class MilestoneLate(_Milestone):
    """`registry.milestone.late` on `registry.campaign.v1`, key = campaign_id,
    subject = milestone_id.

    The milestone's deadline passed and it was not done by then (`state: missing`), or it was
    recorded after the deadline (`state: recorded`, `on_time: false`). Published once per
    milestone; the problem is disclosed to the public as `disclosure_id`.
    """

    late_flagged_at: Instant
    disclosure_id: str


# -- renovation projects ---------------------------------------------------------------------


class ScopeItem(_Frozen):
    area: ScopeArea = Field(
        description="old markets: infrastructure and hygiene; new markets: layout and equipment"
    )
    description: str = Field(min_length=1)


class BudgetLine(_Frozen):
    source: FundingSource = Field(description="fiscal funds, social capital (PPP), special fund")
    amount_fen: Fen


class StageChange(_Frozen):
    stage: RenovationStage
    reached_on: date = Field(description="the day the project reached the stage")
    by: str
    at: Instant = Field(description="when it was recorded")
    note: str | None = None


class Check(_Frozen):
    check_id: str = Field(min_length=1)
    kind: CheckKind = Field(description="quality or safety supervision")
    result: CheckResult
    checked_on: date
    inspector: str = Field(min_length=1)
    findings: list[str] = Field(description="what was found; a failed check has at least one")
    note: str | None = None
    rectify_by: date | None = Field(description="failed: the rectification deadline")
    recorded_by: str
    recorded_at: Instant
    resolved_by: str | None = Field(
        default=None, description="failed: the passing check of the same kind that resolved it"
    )

    @model_validator(mode="after")
    def _failure_has_findings(self) -> Check:
        if self.result == "fail" and (not self.findings or self.rectify_by is None):
            raise ValueError("a failed check has findings and a rectify_by date")
        return self


class Comment(_Frozen):
    suggestion_id: str = Field(description="the citizen's suggestion (complaints service)")
    received_at: Instant
    answer: str | None = Field(description="how the plan answered it; null while unanswered")
    answered_at: Instant | None
    answered_by: Actor | None = None


class Consultation(_Frozen):
    opens_on: date
    closes_on: date = Field(description="the last day comments are taken (city time)")
    comments: list[Comment]
    unanswered: int = Field(
        ge=0, description="comments not answered yet; the plan moves to construction only at 0"
    )


class RenovationUpserted(_Frozen):
    """`registry.renovation.upserted` on `registry.campaign.v1`, key = campaign_id,
    subject = project_id.

    A market's renovation project was created or changed (`change`): its scope or budget amended
    while planned, its stage moved (planned → approved → under_construction → accepted), or a
    quality or safety check recorded.
    """

    project_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the project")
    campaign_id: str
    market_id: str
    district: str
    kind: RenovationKind
    title: str
    scope_items: list[ScopeItem] = Field(min_length=1)
    budget: list[BudgetLine] = Field(min_length=1, description="one line per funding source")
    budget_total_fen: Fen
    stage: RenovationStage
    stages: list[StageChange] = Field(min_length=1, description="every stage reached, in order")
    checks: list[Check]
    consultation: Consultation | None = Field(
        default=None, description="the public consultation on the plan (征求群众意见), if opened"
    )
    change: RenovationChange
    created_at: Instant
    updated_at: Instant
    actor: Actor | None = Field(default=None, description="who made this change (subject and name)")


class RenovationCheckFailed(_Frozen):
    """`registry.renovation.check_failed` on `registry.campaign.v1`, key = campaign_id,
    subject = project_id.

    A quality or safety check of a renovation found problems. The inspection service can open a
    market-level task from it (the market's operator is responsible); the problem is disclosed
    to the public as `disclosure_id` until a passing check of the same kind.
    """

    project_id: str
    campaign_id: str
    market_id: str
    market_name: str | None
    district: str
    project_kind: RenovationKind
    project_stage: RenovationStage
    check: Check
    rectify_by: date
    disclosure_id: str


# -- public disclosure -----------------------------------------------------------------------


class DisclosureUpserted(_Frozen):
    """`registry.disclosure.upserted` on `registry.disclosures.v1` (compacted),
    key = subject = disclosure_id.

    A problem exposed to the public (曝光), with its deadline and state: a campaign milestone
    missed, a renovation check failed, or a rectification order from inspection left overdue.
    It is `resolved` when the milestone is recorded, a check of the same kind passes, or the
    rectification is verified; `lapsed` (since 1.8.0) when the rectification order lapsed
    because its merchant left its stall (退出经营), or when its market closed for good (停业)
    with the problem still open — never rectified, and nobody left to.
    """

    disclosure_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the disclosure")
    kind: DisclosureKind
    state: DisclosureState
    source_id: str = Field(
        description="the milestone id, check id or rectification id the problem is about"
    )
    campaign_id: str | None
    district: str
    district_name: str | None
    market_id: str | None
    market_name: str | None
    merchant_id: str | None
    merchant_name: str | None
    stall_no: str | None
    title: str = Field(description="a one-line summary in Chinese, for the public")
    title_en: str
    details: list[str] = Field(description="what was found or what is missing")
    exposure_source: ExposureSource | None = Field(
        default=None, description="exposures: who exposed the problem"
    )
    exposure_reference: str | None = Field(
        default=None, description="exposures: the report or article, e.g. 烟台日报 2026-05-03"
    )
    deadline: Instant = Field(description="when it had to be done or rectified by")
    deadline_date: date = Field(description="the deadline's day in city time")
    opened_at: Instant
    resolved_at: Instant | None
    updated_at: Instant
    late_flagged_at: Instant | None = Field(
        default=None, description="exposures: when it was flagged past its deadline (set once)"
    )
    lapsed_at: Instant | None = Field(
        default=None, description="state lapsed: when its rectification order lapsed"
    )

    @model_validator(mode="after")
    def _resolved_at(self) -> DisclosureUpserted:
        if (self.state == "resolved") != (self.resolved_at is not None):
            raise ValueError("a resolved disclosure has resolved_at, any other has none")
        if (self.state == "lapsed") != (self.lapsed_at is not None):
            raise ValueError("a lapsed disclosure has lapsed_at, any other has none")
        return self
