"""People in complaints: who accepted, rejected and closed a case is recorded with it and carried
by its event; the clock names nobody, and the public tracking page shows no staff."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from contracts import generate
from contracts.complaints import (
    COMPLAINT_ACCEPTED,
    COMPLAINT_CLOSED,
    COMPLAINT_OVERDUE,
    COMPLAINT_RECEIVED,
    COMPLAINT_REJECTED,
    ComplaintAccepted,
    ComplaintClosed,
    ComplaintRejected,
)
from contracts.events import spec
from contracts.people import Actor
from services.complaints import events
from services.complaints.domain import (
    DEFAULT_POLICY,
    accept,
    close,
    mark_overdue,
    reject,
)
from services.complaints.domain.model import Complaint
from services.runtime import serial
from services.runtime.data_files import default_calendar
from services.runtime.outbox import Item
from tests.support.schema_subset import validate
from tests.unit.complaints.support import announce, received

NOW = datetime(2026, 5, 6, 1, 30, tzinfo=UTC)
CAL = default_calendar()
ZHOU = Actor(subject="3c2b1a09-8d7e-4f6a-9b8c-7d6e5f4a3b2c", name="周处理员")
WU = Actor(subject="9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", name="吴处理员")


def accepted(by: Actor = ZHOU) -> Complaint:
    return accept(
        received(), by=by, now=NOW + timedelta(hours=1), policy=DEFAULT_POLICY, calendar=CAL
    )


def wire(item: Item) -> dict[str, object]:
    parsed: dict[str, object] = orjson.loads(item[1].to_json())
    return parsed


def data_of(item: Item) -> dict[str, object]:
    data = wire(item)["data"]
    assert isinstance(data, dict)
    return data


def valid(item: Item) -> bool:
    return validate(wire(item), generate.envelope_schema(spec(item[1].type))) == []


def test_each_decision_records_its_handler_and_its_event_carries_them() -> None:
    case = accepted()
    assert (case.handled_by, case.accepted_actor) == (ZHOU.subject, ZHOU)
    item = announce(COMPLAINT_ACCEPTED, case, events.accepted(case, None))
    assert isinstance(item[1].data, ComplaintAccepted) and item[1].data.actor == ZHOU
    assert data_of(item)["actor"] == {"subject": ZHOU.subject, "name": "周处理员"}
    assert valid(item)

    done = close(
        case,
        by=WU,
        outcome="refunded",
        substantiated=True,
        satisfaction=5,
        now=NOW + timedelta(days=2),
    )
    assert (done.accepted_actor, done.closed_actor, done.handled_by) == (ZHOU, WU, WU.subject)
    item = announce(COMPLAINT_CLOSED, done, events.closed(done, None))
    assert isinstance(item[1].data, ComplaintClosed) and item[1].data.actor == WU
    assert valid(item)

    refused = reject(received(), by=WU, reason="不属于本部门管辖", now=NOW)
    assert (refused.rejected_actor, refused.accepted_actor) == (WU, None)
    item = announce(COMPLAINT_REJECTED, refused, events.rejected(refused, None))
    assert isinstance(item[1].data, ComplaintRejected) and item[1].data.actor == WU
    assert valid(item)


def test_received_and_overdue_name_nobody() -> None:
    case = received()
    assert "actor" not in data_of(announce(COMPLAINT_RECEIVED, case, events.received(case, None)))
    late = mark_overdue(case, NOW + timedelta(days=30))
    assert late is not None
    assert "actor" not in data_of(announce(COMPLAINT_OVERDUE, late, events.overdue(late, None)))


def test_a_bare_subject_is_a_handler_named_by_it() -> None:
    case = accept(received(), by="handler-wang", now=NOW, policy=DEFAULT_POLICY, calendar=CAL)
    assert case.accepted_actor == Actor(subject="handler-wang", name="handler-wang")


def test_the_case_keeps_its_actors_and_older_rows_read_as_none() -> None:
    done = close(
        accepted(), by=WU, outcome="mediated", substantiated=False, satisfaction=3, now=NOW
    )
    stored = serial.dump(done)
    assert stored["accepted_actor"] == ZHOU.to_dict() and stored["closed_actor"] == WU.to_dict()
    assert stored["rejected_actor"] is None
    assert serial.load(Complaint, stored) == done
    older = {k: v for k, v in stored.items() if not k.endswith("_actor")}
    assert serial.load(Complaint, older) == replace(done, accepted_actor=None, closed_actor=None)


def test_the_public_tracking_page_names_no_staff() -> None:
    status = orjson.dumps(accepted().public_status())
    assert ZHOU.subject.encode() not in status and "周处理员".encode() not in status


def test_events_of_older_producers_without_an_actor_still_validate() -> None:
    case = accepted()
    done = close(case, by=WU, outcome="refunded", substantiated=True, satisfaction=4, now=NOW)
    refused = reject(received(), by=WU, reason="重复投诉", now=NOW)
    for item, model in (
        (announce(COMPLAINT_ACCEPTED, case, events.accepted(case, None)), ComplaintAccepted),
        (announce(COMPLAINT_CLOSED, done, events.closed(done, None)), ComplaintClosed),
        (announce(COMPLAINT_REJECTED, refused, events.rejected(refused, None)), ComplaintRejected),
    ):
        old = wire(item)
        data = old["data"]
        assert isinstance(data, dict)
        del data["actor"]
        assert model.model_validate(data).actor is None
        assert validate(old, generate.envelope_schema(spec(item[1].type))) == []
