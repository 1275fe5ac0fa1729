"""Reading complaint and credit events into triggers and scores: what is taken, what is left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.credit import ScoreChanged
from contracts.envelope import make_event
from services.runtime.messaging import Delivery, PoisonMessage
from tests.integration.inspection.conftest import Place
from tests.integration.inspection.upstream import accepted_event, received_event, score_event
from tests.unit.inspection.routed import complaint_trigger_of as complaint_trigger
from tests.unit.inspection.routed import score_change_of as score_change

PLACE = Place("zhifu", "mkt_1", "mer_1", "A-12", "trm_1")
AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _delivery(value: bytes, topic: str = "complaints.events.v1") -> Delivery:
    return Delivery(topic=topic, partition=0, offset=7, key=b"k", value=value)


def test_an_accepted_complaint_is_a_trigger_from_its_acceptance() -> None:
    event = accepted_event(PLACE, category="hygiene", accepted_at=AT)
    trigger = complaint_trigger(_delivery(event.to_json()))
    assert trigger is not None
    assert (trigger.complaint_id, trigger.event_id) == (event.data.complaint_id, event.id)
    assert (trigger.category, trigger.at) == ("hygiene", AT)
    assert (trigger.merchant_id, trigger.market_id, trigger.stall_no, trigger.district) == (
        "mer_1",
        "mkt_1",
        "A-12",
        "zhifu",
    )


def test_other_complaint_events_are_left_alone() -> None:
    event = received_event(PLACE, "cmp_1", "food_safety")
    assert complaint_trigger(_delivery(event.to_json())) is None
    assert complaint_trigger(_delivery(b'{"type": "complaints.complaint.reopened"}')) is None


@pytest.mark.parametrize(
    "value",
    [b"{nope", b'{"id": "x"}', b'{"type": "complaints.complaint.accepted", "data": {}}'],
)
def test_what_cannot_be_read_is_poison(value: bytes) -> None:
    with pytest.raises(PoisonMessage):
        complaint_trigger(_delivery(value))


def test_a_score_change_is_read_and_other_types_left() -> None:
    event = score_event(PLACE, grade="C", version=4)
    score = score_change(_delivery(event.to_json(), "credit.scores.v1"))
    assert isinstance(score, ScoreChanged) and (score.grade, score.version) == ("C", 4)
    other = make_event(
        service="credit",
        event_type="credit.score.recomputed",
        version=1,
        subject="mer_1",
        data=event.data,
        time=AT + timedelta(seconds=1),
    )
    assert score_change(_delivery(other.to_json(), "credit.scores.v1")) is None
