"""Complaints and suggestions as their events carry them: the contract data of each event type.

The complainant's name and phone, and a suggestion's author, stay in the complaints schema;
every event carries the masked form. The use cases (service.py) address each event with `item`:
`subject` = `correlationid` = the complaint's (or the suggestion's) id, which starts its own
chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from contracts import complaints as c
from contracts import suggestions as s
from services.complaints.domain import Complaint
from services.complaints.domain.suggestions import Suggestion
from services.runtime import serial
from services.runtime.outbox import Item, outgoing

SERVICE = "complaints"


M = TypeVar("M", bound=BaseModel)


def item(
    event_type: str,
    subject_id: str,
    data: BaseModel,
    now: datetime,
    *,
    causation_id: str | None = None,
) -> Item:
    """The event for the outbox, keyed by and correlated with its complaint or suggestion."""
    return outgoing(
        SERVICE,
        event_type,
        subject_id,
        data,
        correlation_id=subject_id,
        causation_id=causation_id,
        time=now,
    )


def _case(model: type[M], case: Complaint, external_ref: str | None, **more: object) -> M:
    """The case as its events carry it: every field of the contract by name from the case,
    but for the complainant (masked), the rejection reason (`reject_reason` on the wire) and
    what the event adds."""
    return serial.into(
        model,
        case,
        complainant=case.complainant.masked(),
        reject_reason=case.rejection_reason,
        external_ref=external_ref,
        **more,
    )


def received(case: Complaint, external_ref: str | None) -> c.ComplaintReceived:
    return _case(c.ComplaintReceived, case, external_ref)


def accepted(case: Complaint, external_ref: str | None) -> c.ComplaintAccepted:
    return _case(c.ComplaintAccepted, case, external_ref, actor=case.accepted_actor)


def rejected(case: Complaint, external_ref: str | None) -> c.ComplaintRejected:
    return _case(c.ComplaintRejected, case, external_ref, actor=case.rejected_actor)


def transferred(case: Complaint, external_ref: str | None) -> c.ComplaintTransferred:
    if not case.transfers:
        raise ValueError(f"complaint {case.complaint_id} was never transferred")
    moved = case.transfers[-1]
    return _case(
        c.ComplaintTransferred,
        case,
        external_ref,
        transferred_at=moved.at,
        from_market_id=moved.from_market_id,
        from_district=moved.from_district,
        reason=moved.reason,
        actor=moved.actor,
    )


def closed(case: Complaint, external_ref: str | None) -> c.ComplaintClosed:
    return _case(
        c.ComplaintClosed,
        case,
        external_ref,
        within_limit=bool(case.closed_in_time),
        actor=case.closed_actor,
    )


def overdue(case: Complaint, external_ref: str | None) -> c.ComplaintOverdue:
    clock = case.running_clock
    deadline = case.current_deadline
    marked = case.overdue_marked_at
    if clock is None or deadline is None or marked is None:
        raise ValueError(f"complaint {case.complaint_id} has no overdue clock to publish")
    return _case(
        c.ComplaintOverdue, case, external_ref, clock=clock, deadline=deadline, overdue_at=marked
    )


def suggestion_received(x: Suggestion) -> s.SuggestionReceived:
    # The author masked; every other field of the contract by name from the suggestion.
    return serial.into(s.SuggestionReceived, x, author=x.masked_author())


def suggestion_answered(x: Suggestion) -> s.SuggestionAnswered:
    return serial.into(s.SuggestionAnswered, x, author=x.masked_author(), actor=x.answered_by)
