"""What can start or feed a task: a risk's lifecycle event, an accepted complaint, a patrol due,
a failed quality or safety check of a market's renovation project.

Handlers build these from the consumed events (plain values, so the rules do not depend on the
other services' contracts beyond their vocabulary). `at` is when the thing happened — the risk
event's or the acceptance's time — and the due date counts from it: the regulator is on notice
from that moment, however late the event is processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from contracts.telemetry import SEVERITIES
from services.inspection.domain.model import target_of
from services.runtime.clock import aware

RiskTransition = Literal["raised", "escalated", "cleared", "acknowledged"]
RISK_TRANSITIONS: tuple[RiskTransition, ...] = ("raised", "escalated", "cleared", "acknowledged")


@dataclass(frozen=True, slots=True)
class RiskTrigger:
    """A `telemetry.risk.*` event: `transition` is the last part of its type."""

    risk_id: str
    event_id: str
    rule: str
    category: str
    severity: str
    transition: RiskTransition
    merchant_id: str | None
    terminal_id: str
    market_id: str
    stall_no: str | None
    district: str
    at: datetime

    def __post_init__(self) -> None:
        if self.transition not in RISK_TRANSITIONS:
            raise ValueError(f"transition must be one of {', '.join(RISK_TRANSITIONS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        object.__setattr__(self, "at", aware(self.at, "at"))

    @property
    def reason_kind(self) -> str:
        return "risk"

    @property
    def ref_id(self) -> str:
        return self.risk_id


@dataclass(frozen=True, slots=True)
class ComplaintTrigger:
    """A `complaints.complaint.accepted` event (other complaint events start nothing)."""

    complaint_id: str
    event_id: str
    category: str
    merchant_id: str | None
    market_id: str
    stall_no: str | None
    district: str
    at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware(self.at, "at"))

    @property
    def reason_kind(self) -> str:
        return "complaint"

    @property
    def ref_id(self) -> str:
        return self.complaint_id


@dataclass(frozen=True, slots=True)
class PatrolTrigger:
    """A merchant's routine patrol came due (`PatrolPlan.trigger`); `at` is the planned date."""

    merchant_id: str
    market_id: str
    stall_no: str | None
    district: str
    grade: str | None
    at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware(self.at, "at"))

    @property
    def reason_kind(self) -> str:
        return "patrol"


CHECK_KINDS: tuple[str, ...] = ("quality", "safety")


@dataclass(frozen=True, slots=True)
class RenovationTrigger:
    """A `registry.renovation.check_failed` (campaign service): a quality or safety check of a
    market's renovation project found problems. It is about the market, not a merchant: the task
    is market-level, addressed to the operator (contracts/README.md, Campaign).

    `rectify_by` is the last day (city time) the check gave to put it right; `at` is when the
    check was recorded; `correlation_id` is the chain of the consumed event, which the task
    carries on."""

    check_id: str
    project_id: str
    event_id: str
    correlation_id: str
    check_kind: str
    market_id: str
    district: str
    rectify_by: date
    at: datetime

    def __post_init__(self) -> None:
        if self.check_kind not in CHECK_KINDS:
            raise ValueError(f"check_kind must be one of {', '.join(CHECK_KINDS)}")
        object.__setattr__(self, "at", aware(self.at, "at"))

    @property
    def reason_kind(self) -> str:
        return "renovation"

    @property
    def ref_id(self) -> str:
        return self.check_id

    @property
    def merchant_id(self) -> None:
        return None

    @property
    def stall_no(self) -> None:
        return None


Trigger = RiskTrigger | ComplaintTrigger | PatrolTrigger | RenovationTrigger


def task_key(trigger: Trigger) -> tuple[str, str]:
    """The dedupe key of the task a trigger belongs to: look the open task up by it, then call
    `decide`. A trigger without a merchant (crowding, a complaint about the market) belongs to a
    market-level task, keyed by the market."""
    return (target_of(trigger.merchant_id, trigger.market_id), trigger.reason_kind)
