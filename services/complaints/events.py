"""A complaint case as the events on `complaints.events.v1` carry it: masked, public, whole.

The complainant's name and phone stay in the complaints schema; every event carries the masked
form. `subject` = `correlationid` = the complaint id: a complaint starts its own chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import complaints as c
from contracts import topics
from contracts.envelope import Envelope, make_event
from services.complaints.domain import Complaint

TOPIC = topics.COMPLAINTS_EVENTS.name
Item = tuple[str, Envelope[Any], str]


def case_data(case: Complaint, external_ref: str | None) -> dict[str, Any]:
    return {
        "complaint_id": case.complaint_id,
        "version": case.version,
        "tracking_code": case.tracking_code,
        "state": case.state,
        "complainant": case.complainant.masked(),
        "market_id": case.market_id,
        "district": case.district,
        "merchant_id": case.merchant_id,
        "stall_no": case.stall_no,
        "category": case.category,
        "facts": case.facts,
        "request": case.request,
        "channel": case.channel,
        "occurred_at": case.occurred_at,
        "received_at": case.received_at,
        "acceptance_deadline": case.acceptance_deadline,
        "accepted_at": case.accepted_at,
        "mediation_deadline": case.mediation_deadline,
        "rejected_at": case.rejected_at,
        "reject_reason": case.rejection_reason,
        "closed_at": case.closed_at,
        "outcome": case.outcome,
        "substantiated": case.substantiated,
        "satisfaction": case.satisfaction,
        "duplicate_of": case.duplicate_of,
        "duplicates": list(case.duplicates),
        "acceptance_overdue_at": case.acceptance_overdue_at,
        "mediation_overdue_at": case.mediation_overdue_at,
        "handled_by": case.handled_by,
        "external_ref": external_ref,
    }


def _event(
    event_type: str,
    model: type[c._Case],
    case: Complaint,
    now: datetime,
    external_ref: str | None,
    causation_id: str | None = None,
    **extra: Any,
) -> Item:
    data = model.model_validate(case_data(case, external_ref) | extra)
    event = make_event(
        service="complaints",
        event_type=event_type,
        version=1,
        subject=case.complaint_id,
        data=data,
        correlation_id=case.complaint_id,
        causation_id=causation_id,
        time=now,
    )
    return (TOPIC, event, case.complaint_id)


def received(
    case: Complaint, now: datetime, external_ref: str | None, causation_id: str | None
) -> Item:
    return _event(
        "complaints.complaint.received", c.ComplaintReceived, case, now, external_ref, causation_id
    )


def accepted(case: Complaint, now: datetime, external_ref: str | None) -> Item:
    return _event(
        "complaints.complaint.accepted",
        c.ComplaintAccepted,
        case,
        now,
        external_ref,
        actor=case.accepted_actor,
    )


def rejected(case: Complaint, now: datetime, external_ref: str | None) -> Item:
    return _event(
        "complaints.complaint.rejected",
        c.ComplaintRejected,
        case,
        now,
        external_ref,
        actor=case.rejected_actor,
    )


def closed(case: Complaint, now: datetime, external_ref: str | None) -> Item:
    return _event(
        "complaints.complaint.closed",
        c.ComplaintClosed,
        case,
        now,
        external_ref,
        within_limit=bool(case.closed_in_time),
        actor=case.closed_actor,
    )


def overdue(case: Complaint, now: datetime, external_ref: str | None) -> Item:
    clock = case.running_clock
    deadline = case.current_deadline
    marked = case.overdue_marked_at
    if clock is None or deadline is None or marked is None:
        raise ValueError(f"complaint {case.complaint_id} has no overdue clock to publish")
    return _event(
        "complaints.complaint.overdue",
        c.ComplaintOverdue,
        case,
        now,
        external_ref,
        clock=clock,
        deadline=deadline,
        overdue_at=marked,
    )
