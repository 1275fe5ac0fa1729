"""Complaints and suggestions as their events carry them: the contract data of each event type.

The complainant's name and phone, and a suggestion's author, stay in the complaints schema;
every event carries the masked form. The use cases (service.py) address each event with
`services.runtime.outbox.outgoing`: `subject` = `correlationid` = the complaint's (or the
suggestion's) id, which starts its own chain.
"""

from __future__ import annotations

from typing import Any

from contracts import complaints as c
from contracts import suggestions as s
from services.complaints.domain import Complaint
from services.complaints.domain.suggestions import Suggestion

RECEIVED = "complaints.complaint.received"
ACCEPTED = "complaints.complaint.accepted"
REJECTED = "complaints.complaint.rejected"
CLOSED = "complaints.complaint.closed"
OVERDUE = "complaints.complaint.overdue"
SUGGESTION_RECEIVED = "complaints.suggestion.received"
SUGGESTION_ANSWERED = "complaints.suggestion.answered"


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


def received(case: Complaint, external_ref: str | None) -> c.ComplaintReceived:
    return c.ComplaintReceived.model_validate(case_data(case, external_ref))


def accepted(case: Complaint, external_ref: str | None) -> c.ComplaintAccepted:
    data = case_data(case, external_ref) | {"actor": case.accepted_actor}
    return c.ComplaintAccepted.model_validate(data)


def rejected(case: Complaint, external_ref: str | None) -> c.ComplaintRejected:
    data = case_data(case, external_ref) | {"actor": case.rejected_actor}
    return c.ComplaintRejected.model_validate(data)


def closed(case: Complaint, external_ref: str | None) -> c.ComplaintClosed:
    data = case_data(case, external_ref) | {
        "within_limit": bool(case.closed_in_time),
        "actor": case.closed_actor,
    }
    return c.ComplaintClosed.model_validate(data)


def overdue(case: Complaint, external_ref: str | None) -> c.ComplaintOverdue:
    clock = case.running_clock
    deadline = case.current_deadline
    marked = case.overdue_marked_at
    if clock is None or deadline is None or marked is None:
        raise ValueError(f"complaint {case.complaint_id} has no overdue clock to publish")
    data = case_data(case, external_ref) | {
        "clock": clock,
        "deadline": deadline,
        "overdue_at": marked,
    }
    return c.ComplaintOverdue.model_validate(data)


def suggestion_data(x: Suggestion) -> dict[str, Any]:
    """The suggestion as its events carry it: the author masked."""
    return {
        "suggestion_id": x.suggestion_id,
        "version": x.version,
        "tracking_code": x.tracking_code,
        "about": x.about,
        "market_id": x.market_id,
        "district": x.district,
        "project_id": x.project_id,
        "text": x.text,
        "author": x.masked_author(),
        "publish_answer": x.publish_answer,
        "state": x.state,
        "received_at": x.received_at,
        "answer": x.answer,
        "answered_at": x.answered_at,
    }


def suggestion_received(x: Suggestion) -> s.SuggestionReceived:
    return s.SuggestionReceived.model_validate(suggestion_data(x))


def suggestion_answered(x: Suggestion) -> s.SuggestionAnswered:
    return s.SuggestionAnswered.model_validate(suggestion_data(x) | {"actor": x.answered_by})
