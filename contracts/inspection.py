"""Inspection contracts: tasks, the evidence behind them, their outcome, and rectification orders.

Every event travels on `inspection.events.v1` with the Kafka key = the **task id**: task events
are keyed by their own task, rectification events by the task whose completion ordered them, so
one inspection's whole story (created, claimed, completed, ordered, verified, overdue) is read in
order from one partition. A re-inspection task is a task of its own, keyed by its own id.

Envelope attributes (contracts/README.md, "Reading an event"):

- `subject`: the task id for `inspection.task.*`, the rectification id for
  `inspection.rectification.*`.
- `correlationid`: the chain the task belongs to, fixed when the task is created: the `risk_id`
  of the risk or the `complaint_id` of the complaint that started it, or the chain of the
  `registry.renovation.check_failed` event that did; a routine patrol starts its own chain, so its
  correlation id is its task id; a re-inspection task and every rectification event carry the
  correlation id of the task that found the problem.
- `causationid`: the `id` of the event that directly caused this one: the risk, complaint or
  failed renovation check event for `task.created` and `task.updated`; `task.completed` for
  `rectification.ordered`; `rectification.ordered`, `.verified` or `.overdue` for the
  re-inspection task they create or close. Events caused by a person (claim, complete, verify)
  or by the clock (overdue, a patrol coming due) have none: `null`.

Each event's `data` is the whole task (or order) as it is after the change, with `version`
growing by one per change, so a consumer can build its projection from any one event and ignore
an older version it receives late.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.people import Actor
from contracts.registry import TaskForce
from contracts.telemetry import RiskRule, Severity

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
TASK_CREATED: Final = "inspection.task.created"
TASK_UPDATED: Final = "inspection.task.updated"
TASK_CLAIMED: Final = "inspection.task.claimed"
TASK_COMPLETED: Final = "inspection.task.completed"
TASK_OVERDUE: Final = "inspection.task.overdue"
TASK_WITHDRAWN: Final = "inspection.task.withdrawn"
RECTIFICATION_ORDERED: Final = "inspection.rectification.ordered"
RECTIFICATION_VERIFIED: Final = "inspection.rectification.verified"
RECTIFICATION_OVERDUE: Final = "inspection.rectification.overdue"
RECTIFICATION_LAPSED: Final = "inspection.rectification.lapsed"

# -- vocabulary ------------------------------------------------------------------------------

# `renovation` (since 1.8.0): a failed quality or safety check of a market's renovation project.
ReasonKind = Literal["risk", "complaint", "patrol", "reinspection", "renovation"]
REASON_KINDS: Final[tuple[ReasonKind, ...]] = (
    "risk",
    "complaint",
    "patrol",
    "reinspection",
    "renovation",
)
TaskState = Literal["open", "claimed", "completed", "withdrawn"]
TASK_STATES: Final[tuple[TaskState, ...]] = ("open", "claimed", "completed", "withdrawn")
# Why a task still to do was withdrawn, or an open rectification order lapsed: `merchant_left`,
# the merchant it is about left its stall (退出经营), or `market_closed`, its market closed for
# good (停业) — nobody is there to inspect or rectify; or `finding_corrected` (since 1.8.0), the
# district found the inspection's finding wrong on the merchant's objection (信用异议, decided
# `corrected` on `credit.objections.v1`) — there is nothing to rectify.
WithdrawalReason = Literal["merchant_left", "market_closed", "finding_corrected"]
Outcome = Literal["pass", "minor", "major", "critical"]
# Ascending: the index of an outcome is its rank.
OUTCOMES: Final[tuple[Outcome, ...]] = ("pass", "minor", "major", "critical")
FindingSeverity = Literal["minor", "major", "critical"]
FINDING_SEVERITIES: Final[tuple[FindingSeverity, ...]] = ("minor", "major", "critical")
Department = Literal["market_regulation", "health", "environment"]
DEPARTMENTS: Final[tuple[Department, ...]] = ("market_regulation", "health", "environment")
RectificationState = Literal["open", "verified", "lapsed"]
RECTIFICATION_STATES: Final[tuple[RectificationState, ...]] = ("open", "verified", "lapsed")
Grade = Literal["A", "B", "C", "D"]
GRADES: Final[tuple[Grade, ...]] = ("A", "B", "C", "D")
# `renovation_check` (since 1.8.0): a failed check of a renovation project (campaign service).
TriggerKind = Literal["risk", "complaint", "renovation_check"]
TaskChange = Literal["attached", "escalated", "cleared"]

NOTE_MAX_CHARS: Final = 1000
_RANK: Final[Mapping[str, int]] = {name: rank for rank, name in enumerate(OUTCOMES)}


def outcome_rank(outcome: str) -> int:
    """0 for `pass` up to 3 for `critical`; KeyError for anything else."""
    return _RANK[outcome]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC)")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]


# -- value objects -----------------------------------------------------------------------------


class TriggerRef(BaseModel):
    """A risk, complaint or failed renovation check attached to a task as evidence (the first one
    created the task)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: TriggerKind
    id: str = Field(
        min_length=1,
        description="the risk_id, the complaint_id, or the check_id of a failed renovation check",
    )
    event_ids: list[str] = Field(
        min_length=1,
        description="ids of the events of this risk or complaint the task took in: all of them, "
        "or, past the service's bound, the first and the latest (see event_count)",
    )
    event_count: int | None = Field(
        default=None,
        ge=1,
        description="how many events of it the task took in, event_ids or not; absent in older "
        "events, where event_ids lists them all",
    )
    category: str = Field(
        description="risk: food_safety | market_order; complaint: its category (food_safety, "
        "short_weight, price, hygiene, service, other); renovation check: quality | safety"
    )
    rule: RiskRule | None = Field(default=None, description="risk: the rule that raised it")
    severity: Severity | None = Field(
        default=None, description="risk: the highest severity it reached while attached"
    )
    terminal_id: str | None = Field(default=None, description="risk: the terminal behind it")
    attached_at: Instant = Field(description="when the risk or complaint event happened")
    cleared_at: Instant | None = Field(
        default=None, description="risk: when it cleared; the evidence stays on the task"
    )


class Finding(BaseModel):
    """A finding recorded at an inspection: a catalogue code, the catalogue's facts, a note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, description="finding code from the catalogue, e.g. CCH-01")
    group: str = Field(
        description="hygiene, cold_chain, licence, weighing, pricing, pest_control, facilities"
    )
    severity: FindingSeverity = Field(description="the catalogue's default severity of the code")
    title_zh: str
    title_en: str
    note: str = Field(default="", max_length=NOTE_MAX_CHARS, description="the inspector's note")


# -- tasks -------------------------------------------------------------------------------------


# The most photos one inspection records.
PHOTOS_MAX: Final = 5


class _Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the task")
    reason_kind: ReasonKind = Field(
        description="why the task exists; one open task per (merchant or market, reason kind), "
        "one per rectification order for re-inspections"
    )
    state: TaskState
    market_id: str
    district: str = Field(description="district code")
    merchant_id: str | None = Field(
        description="null for a market-level task (e.g. crowding), addressed to the operator"
    )
    stall_no: str | None
    task_force: TaskForce | None = Field(
        description="the market's task force (专班) when the task was created"
    )
    triggers: list[TriggerRef] = Field(
        description="risks, complaints or failed renovation checks behind the task; empty for "
        "patrols and re-inspections. "
        "Bounded: past the service's limit it keeps the one that created the task and the latest "
        "(see triggers_dropped)"
    )
    triggers_dropped: int = Field(
        default=0,
        ge=0,
        description="how many earlier triggers were left out of `triggers` to keep it bounded",
    )
    grade: Grade | None = Field(
        default=None, description="patrol: the credit grade that set the interval (B if none)"
    )
    reinspection_of: str | None = Field(
        default=None, description="re-inspection: the rectification_id it verifies"
    )
    created_at: Instant
    due_at: Instant = Field(description="only ever moves earlier (a worse trigger attached)")
    assignee: str | None = Field(description="the inspector who claimed it")
    claimed_at: Instant | None
    overdue_at: Instant | None = Field(
        description="when it was marked overdue (past due, not completed); set once"
    )


class TaskCreated(_Task):
    """`inspection.task.created` on `inspection.events.v1`, key = subject = task_id.

    A risk (major or worse), an accepted complaint, a patrol coming due or a rectification
    needing re-inspection made a new task for the market's task force.
    """

    state: Literal["open"]


class TaskUpdated(_Task):
    """`inspection.task.updated` on `inspection.events.v1`, key = subject = task_id.

    Evidence changed on an open task: another risk or complaint attached, an attached risk
    escalated (the due date may have moved earlier) or an attached risk cleared (it is noted,
    never removed).
    """

    state: Literal["open", "claimed"]
    change: TaskChange
    trigger_id: str = Field(description="the risk_id or complaint_id that changed")
    previous_due_at: Instant | None = Field(
        description="the due date before this change, when the change moved it earlier"
    )


class TaskClaimed(_Task):
    """`inspection.task.claimed` on `inspection.events.v1`, key = subject = task_id."""

    state: Literal["claimed"]
    assignee: str = Field(min_length=1)
    claimed_at: Instant
    actor: Actor | None = Field(
        default=None, description="the inspector who claimed it (subject and name)"
    )


class TaskCompleted(_Task):
    """`inspection.task.completed` on `inspection.events.v1`, key = subject = task_id.

    The outcome is at least as severe as the catalogue's severity of every finding. Any outcome
    but `pass` orders rectification (`rectification_id`), published next on the same key. A
    re-inspection task completes when its order is verified and repeats that result: score the
    rectification events, not this one, for re-inspections.
    """

    state: Literal["completed"]
    outcome: Outcome
    findings: list[Finding]
    departments: list[Department] = Field(
        min_length=1, description="departments taking part (a joint inspection names several)"
    )
    note: str | None = Field(default=None, max_length=NOTE_MAX_CHARS)
    completed_by: str = Field(min_length=1)
    completed_at: Instant
    rectification_id: str | None = Field(description="the order this outcome issued, if any")
    actor: Actor | None = Field(
        default=None,
        description="the inspector who completed it (subject and name); for a re-inspection, "
        "whoever verified its order",
    )
    photos: list[str] = Field(
        default_factory=list,
        max_length=PHOTOS_MAX,
        description="ids of the task's photos recorded with the outcome (the inspection "
        "service keeps them, for staff of the district: GET /tasks/{task_id}/photos/{id})",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TaskCompleted:
        if (self.outcome == "pass") != (not self.findings):
            raise ValueError("outcome pass has no findings; any other outcome has some")
        if self.reason_kind != "reinspection" and (
            (self.outcome == "pass") != (self.rectification_id is None)
        ):
            raise ValueError("an outcome other than pass orders rectification, pass does not")
        return self


class TaskOverdue(_Task):
    """`inspection.task.overdue` on `inspection.events.v1`, key = subject = task_id.

    The task passed its due date before it was completed; published once per task.
    """

    state: Literal["open", "claimed"]
    overdue_at: Instant


class TaskWithdrawn(_Task):
    """`inspection.task.withdrawn` on `inspection.events.v1`, key = subject = task_id.

    A task still to do (open or claimed) that no inspection can close any more: the merchant it
    is about left its stall (退出经营), or its market closed for good (停业). Final; published
    once per task. Nothing was inspected:
    it scores nothing, and a complaint behind it is closed by its handler.
    """

    state: Literal["withdrawn"]
    withdrawn_at: Instant
    reason: WithdrawalReason


# -- rectification orders ----------------------------------------------------------------------


class _Rectification(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rectification_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the order")
    task_id: str = Field(description="the task whose outcome ordered it; also the Kafka key")
    market_id: str
    district: str = Field(description="district code")
    merchant_id: str | None = Field(description="null for an order to the market's operator")
    stall_no: str | None
    severity: FindingSeverity = Field(description="the outcome of the inspection")
    findings: list[Finding] = Field(min_length=1)
    state: RectificationState
    ordered_at: Instant
    deadline: Instant | None = Field(
        description="when it must be rectified; null under suspension (critical), which lasts "
        "until a re-inspection passes"
    )
    suspension: bool = Field(
        description="critical: trading is suspended (the merchant's, or for a market-level "
        "order the operator's affected area) until a re-inspection passes"
    )
    failed_verifications: int = Field(ge=0)
    reinspection_task_id: str | None = Field(
        description="the open re-inspection task that is to verify this order, if any"
    )
    overdue_at: Instant | None = Field(
        description="when the current deadline passed unverified; cleared by a new deadline"
    )

    @model_validator(mode="after")
    def _suspension_has_no_deadline(self) -> _Rectification:
        if self.suspension != (self.deadline is None):
            raise ValueError("a suspension has no deadline; every other order has one")
        return self


class RectificationOrdered(_Rectification):
    """`inspection.rectification.ordered` on `inspection.events.v1`, key = task_id,
    subject = rectification_id.

    An inspection found problems: rectify by the deadline (minor 7 days, major 3 days), or, when
    critical, stop trading until a re-inspection passes (`suspension`).
    """

    state: Literal["open"]


class RectificationVerified(_Rectification):
    """`inspection.rectification.verified` on `inspection.events.v1`, key = task_id,
    subject = rectification_id.

    A re-inspection checked the order. Passed: it is closed (`verified`) and a suspension is
    lifted. Failed: it stays `open` with a new deadline as long as the first, counted from the
    verification (a suspension stays, with a new re-inspection task).
    """

    state: Literal["open", "verified"]
    passed: bool
    verified_by: str = Field(min_length=1)
    verified_at: Instant
    on_time: bool = Field(
        description="passed by the deadline in force (always true for a lifted suspension)"
    )
    previous_deadline: Instant | None = Field(description="the deadline the check was against")
    suspension_lifted: bool
    actor: Actor | None = Field(
        default=None, description="the inspector who verified it (subject and name)"
    )
    # Since 1.8.0, optional: the evidence of the check (复查), absent in older events.
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX_CHARS,
        description="the inspector's note at the check, passed or failed",
    )
    photos: list[str] = Field(
        default_factory=list,
        max_length=PHOTOS_MAX,
        description="ids of the order's photos recorded with the check (the inspection service "
        "keeps them, for staff of the district: "
        "GET /rectifications/{rectification_id}/photos/{id})",
    )

    @model_validator(mode="after")
    def _state_follows_result(self) -> RectificationVerified:
        if self.state != ("verified" if self.passed else "open"):
            raise ValueError("a passed verification closes the order, a failed one keeps it open")
        if self.suspension_lifted and not (self.passed and self.suspension):
            raise ValueError("only a passed verification lifts a suspension")
        return self


class RectificationOverdue(_Rectification):
    """`inspection.rectification.overdue` on `inspection.events.v1`, key = task_id,
    subject = rectification_id.

    The deadline passed unverified; published once per deadline. It escalates: a re-inspection
    task (`escalation_task_id`) is created unless one is already open or the merchant has left
    its stall (退出经营).
    """

    state: Literal["open"]
    overdue_at: Instant
    escalation_task_id: str | None = Field(
        description="the re-inspection task this escalation created (null if one was open, or "
        "the merchant has left its stall)"
    )


class RectificationLapsed(_Rectification):
    """`inspection.rectification.lapsed` on `inspection.events.v1`, key = task_id,
    subject = rectification_id.

    An open order that can no longer be rectified nor re-inspected: its merchant left its stall
    (退出经营), or its market closed for good (停业); or one there is nothing to rectify for: the
    district found its finding wrong (`finding_corrected`, 信用异议 decided `corrected`), and a
    suspension it ordered ends with it. Final; published once per order; it no longer goes
    overdue, and its re-inspection task, if one was open, is withdrawn (`reinspection_task_id`
    null). Not a verification: it was not rectified, so it is not scored as on time; a
    disclosure of it is over.
    """

    state: Literal["lapsed"]
    lapsed_at: Instant
    reason: WithdrawalReason
