"""A case through its lifecycle, as the events on complaints.events.v1 carry it: every event
validates against its contract, and none carries the complainant in clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from contracts.complaints import (
    COMPLAINT_ACCEPTED,
    COMPLAINT_CLOSED,
    COMPLAINT_OVERDUE,
    COMPLAINT_RECEIVED,
    COMPLAINT_REJECTED,
    ComplaintAccepted,
    ComplaintClosed,
    ComplaintOverdue,
    ComplaintReceived,
    ComplaintRejected,
)
from services.complaints import events
from services.complaints.domain import (
    DEFAULT_POLICY,
    accept,
    close,
    mark_overdue,
    reject,
)
from services.complaints.domain.model import Complaint
from services.runtime.data_files import default_calendar
from services.runtime.outbox import Item
from tests.unit.complaints.support import announce, received

NOW = datetime(2026, 5, 6, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in the city
CAL = default_calendar()


def received_case() -> Complaint:
    # By the hotline, the number given with spaces: the events carry it masked all the same.
    return received(phone="138 1234 5678", channel="hotline_12345")


def no_personal_data(item: Item) -> None:
    wire = item[1].to_json()
    assert b"13812345678" not in wire and "张三".encode() not in wire
    assert orjson.loads(wire)["data"]["complainant"] == {"name": "张*", "phone": "138****5678"}


def test_every_transition_publishes_its_contract_masked_and_keyed_by_the_complaint() -> None:
    case = received_case()
    item = announce(
        COMPLAINT_RECEIVED, case, events.received(case, "12345-77"), causation_id="evt-intake"
    )
    topic, envelope, key = item
    assert (topic, key) == ("complaints.events.v1", case.complaint_id)
    assert isinstance(envelope.data, ComplaintReceived)
    assert envelope.correlationid == envelope.subject == case.complaint_id
    assert envelope.causationid == "evt-intake" and envelope.data.external_ref == "12345-77"
    no_personal_data(item)

    accepted = accept(
        case, by="h1", now=NOW + timedelta(hours=2), policy=DEFAULT_POLICY, calendar=CAL
    )
    item = announce(COMPLAINT_ACCEPTED, accepted, events.accepted(accepted, None))
    assert isinstance(item[1].data, ComplaintAccepted)
    assert item[1].data.mediation_deadline == accepted.mediation_deadline
    no_personal_data(item)

    closed = close(
        accepted,
        by="h1",
        outcome="refunded",
        substantiated=True,
        satisfaction=4,
        now=NOW + timedelta(days=3),
    )
    item = announce(COMPLAINT_CLOSED, closed, events.closed(closed, None))
    assert isinstance(item[1].data, ComplaintClosed)
    assert item[1].data.substantiated is True and item[1].data.within_limit is True
    no_personal_data(item)

    rejected = reject(case, by="h2", reason="不属于市场监管职责", now=NOW + timedelta(hours=1))
    item = announce(COMPLAINT_REJECTED, rejected, events.rejected(rejected, None))
    assert isinstance(item[1].data, ComplaintRejected)
    assert item[1].data.reject_reason == "不属于市场监管职责"
    no_personal_data(item)


def test_overdue_names_its_clock_and_deadline_and_refuses_a_case_not_overdue() -> None:
    case = received_case()
    with pytest.raises(ValueError, match="no overdue clock"):
        events.overdue(case, None)
    late = mark_overdue(case, case.acceptance_deadline + timedelta(seconds=1))
    assert late is not None
    item = announce(COMPLAINT_OVERDUE, late, events.overdue(late, None))
    data = item[1].data
    assert isinstance(data, ComplaintOverdue)
    assert (data.clock, data.deadline) == ("acceptance", case.acceptance_deadline)
    assert data.overdue_at == late.acceptance_overdue_at
    no_personal_data(item)
