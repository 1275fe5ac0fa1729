"""Joint meetings and enforcement cases as the events on `campaign.meetings.v1` and
`campaign.enforcement.v1` carry them (contracts/joint.py), each built with `outbox.outgoing`
(version and topic from the catalog).

Meetings: key = subject = correlation id = the meeting id (a meeting starts its own chain).
Cases: key = subject = the case id; every event of a case carries the chain of its origin (the
correlation id of the finding's or complaint's event) and is caused by the case's previous event
(the opening by the origin's event); each carries the whole case after the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import joint
from contracts.events import spec
from contracts.joint import (
    ACTION_ITEM_DONE,
    ACTION_ITEM_LATE,
    ENFORCEMENT_CLOSED,
    ENFORCEMENT_DECIDED,
    ENFORCEMENT_OPENED,
    MEETING_RECORDED,
)
from services.campaign.domain.enforcement import Case
from services.campaign.domain.meetings import ActionItem, Meeting
from services.runtime import serial
from services.runtime.outbox import Item, outgoing

SERVICE = "campaign"
CASE_EVENTS = {
    "open": ENFORCEMENT_OPENED,
    "decided": ENFORCEMENT_DECIDED,
    "closed": ENFORCEMENT_CLOSED,
}


def action_item(i: ActionItem) -> joint.ActionItem:
    return serial.into(joint.ActionItem, i)


def meeting_recorded(m: Meeting, now: datetime) -> Item:
    data = serial.into(
        joint.MeetingRecorded,
        m,
        action_items=[action_item(i) for i in m.items],
        actor=m.recorded_actor,
    )
    return _of_meeting(MEETING_RECORDED, m.meeting_id, data, now)


def item_done(m: Meeting, i: ActionItem, now: datetime) -> Item:
    data = joint.ActionItemDone(
        meeting_id=m.meeting_id,
        district=m.district,
        item=action_item(i),
        on_time=bool(i.on_time),
        actor=i.done_actor,
    )
    return _of_meeting(ACTION_ITEM_DONE, m.meeting_id, data, now)


def item_late(district: str, i: ActionItem, now: datetime) -> Item:
    assert i.late_flagged_at is not None
    data = joint.ActionItemLate(
        meeting_id=i.meeting_id, district=district, item=action_item(i), flagged_at=now
    )
    return _of_meeting(ACTION_ITEM_LATE, i.meeting_id, data, now)


def _of_meeting(event_type: str, meeting_id: str, data: Any, now: datetime) -> Item:
    """A meeting's event: the meeting's id is its subject, its key and its chain."""
    return outgoing(SERVICE, event_type, meeting_id, data, correlation_id=meeting_id, time=now)


def case_body(c: Case) -> dict[str, Any]:
    """The whole case as contracts/joint.py `EnforcementCase` describes it (JSON types)."""
    return {
        "case_id": c.case_id,
        "version": c.version,
        "state": c.state,
        "district": c.district,
        "market_id": c.market_id,
        "merchant_id": c.merchant_id,
        "origin": {"kind": c.origin_kind, "id": c.origin_id},
        "departments": list(c.departments),
        "facts": c.facts,
        "decision": serial.dump(c.decision),
        "closing_note": c.closing_note,
        "opened_at": c.opened_at,
        "decided_at": c.decided_at,
        "closed_at": c.closed_at,
        "actor": c.last_actor,
    }


def case_event(c: Case, now: datetime, *, correlation_id: str, causation_id: str | None) -> Item:
    """The event of the case's latest change (its state says which)."""
    event_type = CASE_EVENTS[c.state]
    data = spec(event_type).data.model_validate(case_body(c))
    return outgoing(
        SERVICE,
        event_type,
        c.case_id,
        data,
        correlation_id=correlation_id,
        causation_id=causation_id,
        time=now,
    )
