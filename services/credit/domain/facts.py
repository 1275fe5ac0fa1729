"""Facts: what the credit rules read from the events of other services, in one vocabulary.

The adapter parses each consumed event into its contract model (`contracts.*`), then calls the
translator of its topic with the event type, the model and where the event was read
(`EventMeta`). A translator returns zero, one or two `Fact`s; the policy turns each into an
adjustment (`ledger.adjust`). Translators are pure: the registry translator is told the status
it last saw for the merchant instead of looking it up.

- `inspection.task.completed`, outcome pass → `inspection.pass`; outcome minor, major or
  critical → `inspection.finding.<outcome>`, plus `food_safety_risk.confirmed` when a
  food-safety risk is among the task's triggers. A re-inspection's completion → nothing: it is
  scored by its rectification events.
- `inspection.rectification.verified`, passed and on time → `rectification.on_time`.
- `inspection.rectification.overdue` → `rectification.overdue` (once per missed deadline).
- `complaints.complaint.closed`, substantiated and no duplicate → `complaint.substantiated`.
- `registry.merchant.upserted`: first sight → `merchant.registered` (and the status kind when
  not active); a change of status into licence_expired / suspended → `licence.expired` /
  `merchant.suspended`.
- `telemetry.risks.v1` → nothing: a risk alone never cuts credit; one an inspection confirms
  does.
- `campaign.enforcement.decided` about a merchant → `enforcement.<sanction>` (warning, fine,
  suspension): a joint enforcement case decided against it. A case against a market's operator
  (no merchant) gives nothing; the service adjusts each case once, on its first decision.
- `credit.objection.decided`, corrected → `objection.corrected`: the disputed adjustment reversed.
  Its worth is not the policy's: the disputed delta with its sign turned, fading when the disputed
  entry would have (`Fact.delta`, `Fact.fades_at`). A repair (信用修复) decided `repaired` →
  `objection.repaired`, worth the same. Upheld, or decided after the disputed entry faded
  (nothing left to reverse) → nothing. What followed from an inspection's finding corrected
  (its order's missed deadlines, its suspension) → `objection.follow_on`, made by the service
  from the ledger (`follow_ons`), not by a translator.

Every other event, and every event about a market rather than a merchant, gives no fact.
Each fact's `occurred_at` is the time the event says the thing happened (`completed_at`,
`verified_at`, `overdue_at`, `closed_at`, the registry's `updated_at`, the case's
`decided_at`), so replaying the topics
gives the same times, hence the same policy version and the same fade-out dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol, get_args

from pydantic import BaseModel

from contracts.complaints import COMPLAINT_CLOSED
from contracts.inspection import (
    RECTIFICATION_OVERDUE,
    RECTIFICATION_VERIFIED,
    TASK_COMPLETED,
    RectificationOverdue,
    RectificationVerified,
    TaskCompleted,
)
from contracts.joint import ENFORCEMENT_DECIDED, EnforcementDecided
from contracts.objections import OBJECTION_DECIDED, ObjectionDecided
from contracts.registry import MERCHANT_UPSERTED, MerchantUpserted
from services.runtime.clock import aware

FactKind = Literal[
    "merchant.registered",
    "inspection.pass",
    "inspection.finding.minor",
    "inspection.finding.major",
    "inspection.finding.critical",
    "rectification.on_time",
    "rectification.overdue",
    "complaint.substantiated",
    "food_safety_risk.confirmed",
    "licence.expired",
    "merchant.suspended",
    "enforcement.warning",
    "enforcement.fine",
    "enforcement.suspension",
    "objection.corrected",
    "objection.repaired",
    "objection.follow_on",
    "merchant.credit_code",
]
FACT_KINDS: Final[tuple[FactKind, ...]] = get_args(FactKind)


# How long the ledger shows a corrected 统一社会信用代码 (worth nothing: it only explains a move).
CODE_CHANGE_SHOWN: Final = timedelta(days=365)
_FINDING_KIND: Final[dict[str, FactKind]] = {
    "minor": "inspection.finding.minor",
    "major": "inspection.finding.major",
    "critical": "inspection.finding.critical",
}
# Registry statuses that cost credit when a merchant enters them.
_STATUS_KIND: Final[dict[str, FactKind]] = {
    "licence_expired": "licence.expired",
    "suspended": "merchant.suspended",
}
_SANCTION_KIND: Final[dict[str, FactKind]] = {
    "warning": "enforcement.warning",
    "fine": "enforcement.fine",
    "suspension": "enforcement.suspension",
}
# What a case was opened from, as the reason names it (the console links "task …" and
# "complaint …").
_ORIGIN: Final[dict[str, str]] = {"finding": "task", "complaint": "complaint"}


class Identified(Protocol):
    """An event's ids, as the envelope (contracts.envelope) carries them."""

    @property
    def id(self) -> str: ...

    @property
    def correlationid(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Where an event was read, and its envelope ids: the cause every adjustment names."""

    event_id: str
    topic: str
    partition: int
    offset: int
    correlation_id: str

    def __post_init__(self) -> None:
        if not self.event_id:
            raise ValueError("event_id must not be empty")
        if self.partition < 0 or self.offset < 0:
            raise ValueError("partition and offset must not be negative")

    @classmethod
    def of(cls, envelope: Identified, topic: str, partition: int, offset: int) -> EventMeta:
        """From a parsed envelope and the Kafka record's position."""
        return cls(envelope.id, topic, partition, offset, envelope.correlationid)


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing that happened to a merchant, as the credit policy names it."""

    kind: FactKind
    merchant_id: str
    market_id: str
    district: str
    occurred_at: datetime
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    correlation_id: str
    detail: str | None = None
    # What it is worth and until when, where the fact says so rather than the policy (a
    # correction reverses what another entry was worth).
    delta: int | None = None
    fades_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.delta is None) != (self.fades_at is None):
            raise ValueError("a fact that sets its worth sets both delta and fades_at")
        if self.kind not in FACT_KINDS:
            raise ValueError(f"unknown fact kind {self.kind!r}")
        if not self.merchant_id:
            raise ValueError("a fact is about a merchant: merchant_id must not be empty")
        object.__setattr__(self, "occurred_at", aware(self.occurred_at, "occurred_at"))

    @property
    def key(self) -> tuple[str, str]:
        """Unique per fact: one event gives at most one fact of each kind."""
        return (self.event_id, self.kind)


class Place(Protocol):
    """Where a merchant trades, as each consumed event (and the stored credit) names it."""

    @property
    def market_id(self) -> str: ...
    @property
    def district(self) -> str: ...


def _facts(
    merchant_id: str,
    place: Place,
    occurred_at: datetime,
    event_type: str,
    meta: EventMeta,
    found: list[tuple[FactKind, str]],
) -> list[Fact]:
    """The facts one event gives about one merchant, one per (kind, detail) found in it."""
    return [
        Fact(
            kind=kind,
            merchant_id=merchant_id,
            market_id=place.market_id,
            district=place.district,
            occurred_at=occurred_at,
            event_id=meta.event_id,
            event_type=event_type,
            topic=meta.topic,
            partition=meta.partition,
            offset=meta.offset,
            correlation_id=meta.correlation_id,
            detail=detail,
        )
        for kind, detail in found
    ]


def _mismatch(event_type: str, model: type[BaseModel], data: object) -> ValueError:
    return ValueError(f"{event_type} carries {model.__name__}, got {type(data).__name__}")


# -- inspection.events.v1 ----------------------------------------------------------------------


def facts_from_inspection(event_type: str, data: BaseModel, meta: EventMeta) -> list[Fact]:
    """Facts of one `inspection.events.v1` event (see the module's table)."""
    if event_type not in _INSPECTION_TRANSLATORS:
        return []
    model, translate = _INSPECTION_TRANSLATORS[event_type]
    if not isinstance(data, model):
        raise _mismatch(event_type, model, data)
    return translate(data, meta)


def _task_completed(task: TaskCompleted, meta: EventMeta) -> list[Fact]:
    if task.merchant_id is None or task.reason_kind == "reinspection":
        return []
    found: list[tuple[FactKind, str]]
    if task.outcome == "pass":
        found = [("inspection.pass", f"task {task.task_id} passed")]
    else:
        codes = ", ".join(f.code for f in task.findings)
        found = [(_FINDING_KIND[task.outcome], f"task {task.task_id}: {task.outcome} ({codes})")]
        risks = [t.id for t in task.triggers if t.kind == "risk" and t.category == "food_safety"]
        if risks:
            # One per inspection however many risks it confirmed: the inspection is the one fact.
            detail = f"task {task.task_id} ({task.outcome}) confirmed risk {', '.join(risks)}"
            found.append(("food_safety_risk.confirmed", detail))
    return _facts(task.merchant_id, task, task.completed_at, TASK_COMPLETED, meta, found)


def _rectification_verified(order: RectificationVerified, meta: EventMeta) -> list[Fact]:
    # A late or failed verification earns nothing: the missed deadline cost already (overdue).
    if order.merchant_id is None or not (order.passed and order.on_time):
        return []
    detail = f"rectification {order.rectification_id} ({order.severity}) verified on time"
    found: list[tuple[FactKind, str]] = [("rectification.on_time", detail)]
    return _facts(order.merchant_id, order, order.verified_at, RECTIFICATION_VERIFIED, meta, found)


def _rectification_overdue(order: RectificationOverdue, meta: EventMeta) -> list[Fact]:
    if order.merchant_id is None:
        return []
    deadline = order.deadline.isoformat() if order.deadline else "none"
    detail = f"rectification {order.rectification_id} ({order.severity}) past deadline {deadline}"
    found: list[tuple[FactKind, str]] = [("rectification.overdue", detail)]
    return _facts(order.merchant_id, order, order.overdue_at, RECTIFICATION_OVERDUE, meta, found)


# The inspection events credit reads: the model each carries and its translator.
_INSPECTION_TRANSLATORS: Final[
    dict[str, tuple[type[BaseModel], Callable[[Any, EventMeta], list[Fact]]]]
] = {
    TASK_COMPLETED: (TaskCompleted, _task_completed),
    RECTIFICATION_VERIFIED: (RectificationVerified, _rectification_verified),
    RECTIFICATION_OVERDUE: (RectificationOverdue, _rectification_overdue),
}


# -- complaints.events.v1 ----------------------------------------------------------------------


class ClosedComplaint(Place, Protocol):
    """What credit reads of `contracts.complaints.ComplaintClosed`."""

    @property
    def complaint_id(self) -> str: ...
    @property
    def merchant_id(self) -> str | None: ...
    @property
    def category(self) -> str: ...
    @property
    def substantiated(self) -> bool | None: ...
    @property
    def duplicate_of(self) -> str | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


def facts_from_complaint(event_type: str, data: ClosedComplaint, meta: EventMeta) -> list[Fact]:
    """`complaint.substantiated` for a closed, substantiated complaint that is no duplicate."""
    if event_type != COMPLAINT_CLOSED:
        return []
    if data.merchant_id is None or data.substantiated is not True or data.duplicate_of:
        return []
    if data.closed_at is None:
        raise ValueError(f"{event_type} {data.complaint_id}: closed_at is missing")
    detail = f"complaint {data.complaint_id} ({data.category}) substantiated"
    found: list[tuple[FactKind, str]] = [("complaint.substantiated", detail)]
    return _facts(data.merchant_id, data, data.closed_at, COMPLAINT_CLOSED, meta, found)


# -- registry.merchants.v1 ---------------------------------------------------------------------


def facts_from_merchant(
    data: MerchantUpserted,
    meta: EventMeta,
    previous_status: str | None,
    previous_code: str | None = None,
) -> list[Fact]:
    """Facts of a merchant snapshot, given the status last seen (None: never seen before) and
    the 统一社会信用代码 last seen (None: not known).

    First sight: `merchant.registered` (the merchant starts at the policy's start score, or its
    credit subject's), and the status kind too when the merchant arrives already expired or
    suspended. Later: the status kind only when the status changed into it; an unchanged
    snapshot, or a change back to `active`, gives nothing. A code corrected in the registry
    gives `merchant.credit_code`, worth nothing itself: the merchant's credit is its new
    subject's from then on, and the ledger says why the score moved.
    """
    found: list[tuple[FactKind, str]] = []
    if previous_status is None:
        found.append(("merchant.registered", f"merchant {data.merchant_id} registered"))
    if data.status != previous_status and data.status in _STATUS_KIND:
        was = previous_status or "unregistered"
        valid_until = data.licence_valid_until.isoformat()
        detail = f"status {was} → {data.status} (licence valid until {valid_until})"
        found.append((_STATUS_KIND[data.status], detail))
    updated_at = aware(data.updated_at, "updated_at")
    facts = _facts(data.merchant_id, data, updated_at, MERCHANT_UPSERTED, meta, found)
    if previous_code is not None and previous_code != data.credit_code:
        [moved] = _facts(
            data.merchant_id,
            data,
            updated_at,
            MERCHANT_UPSERTED,
            meta,
            [("merchant.credit_code", f"统一社会信用代码 {previous_code} → {data.credit_code}")],
        )
        facts.append(replace(moved, delta=0, fades_at=updated_at + CODE_CHANGE_SHOWN))
    return facts


# -- campaign.enforcement.v1 -------------------------------------------------------------------


def _sanction(case: EnforcementDecided) -> str:
    decision = case.decision
    if decision.sanction == "fine" and decision.fine_fen is not None:
        return f"fine ¥{decision.fine_fen / 100:,.2f}"
    if decision.sanction == "suspension" and decision.suspension_days is not None:
        return f"suspension of {decision.suspension_days} days"
    return decision.sanction


def facts_from_enforcement(event_type: str, data: BaseModel, meta: EventMeta) -> list[Fact]:
    """`enforcement.<sanction>` for a decided joint enforcement case against a merchant; nothing
    for another event of the topic or a case against the market's operator."""
    if event_type != ENFORCEMENT_DECIDED:
        return []
    if not isinstance(data, EnforcementDecided):
        raise _mismatch(event_type, EnforcementDecided, data)
    if data.merchant_id is None:
        return []
    origin = f"{_ORIGIN[data.origin.kind]} {data.origin.id}"
    detail = f"case {data.case_id} from {origin}: {_sanction(data)}"
    found = [(_SANCTION_KIND[data.decision.sanction], detail)]
    return _facts(data.merchant_id, data, data.decided_at, ENFORCEMENT_DECIDED, meta, found)


# -- credit.objections.v1 ----------------------------------------------------------------------


# A decision that reverses the disputed entry: the kind it adds, and what it did.
_REVERSALS: Final[dict[str, tuple[FactKind, str]]] = {
    "corrected": ("objection.corrected", "corrects"),
    "repaired": ("objection.repaired", "repairs"),
}


def facts_from_objection(event_type: str, data: BaseModel, meta: EventMeta) -> list[Fact]:
    """`objection.corrected` for an objection decided `corrected` while the disputed entry still
    counted, `objection.repaired` for a repair decided `repaired`: the disputed delta reversed
    until the entry would have faded; nothing else."""
    if event_type != OBJECTION_DECIDED:
        return []
    if not isinstance(data, ObjectionDecided):
        raise _mismatch(event_type, ObjectionDecided, data)
    disputed = data.disputed
    if data.decision not in _REVERSALS or data.decided_at >= disputed.fades_at:
        return []
    kind, verb = _REVERSALS[data.decision]
    detail = f"objection {data.objection_id} {verb} {disputed.kind} of event {disputed.event_id}"
    found: list[tuple[FactKind, str]] = [(kind, detail)]
    [fact] = _facts(data.merchant_id, data, data.decided_at, OBJECTION_DECIDED, meta, found)
    return [replace(fact, delta=-disputed.delta, fades_at=disputed.fades_at)]
