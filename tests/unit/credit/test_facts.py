"""Events of other services, as their contract models, become credit facts (or none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.complaints import ComplaintAccepted, ComplaintClosed
from contracts.inspection import (
    RectificationOrdered,
    TaskCreated,
)
from services.credit.domain import (
    FACT_KINDS,
    EventMeta,
    Fact,
    facts_from_complaint,
    facts_from_inspection,
    facts_from_merchant,
)
from services.inspection.domain import mark_rectification_overdue, verify
from tests.support import inspection_builders as inspection
from tests.support.credit_events import (
    FINDINGS,
    T0,
    D,
    complaint_closed,
    merchant,
    order,
    overdue,
    task_completed,
    trigger,
    verified,
)

META = EventMeta("ev_1", "inspection.events.v1", 2, 41, "risk_1")


def kinds(facts: list[Fact]) -> list[str]:
    return [f.kind for f in facts]


# -- inspection ----------------------------------------------------------------------------------


def test_a_passed_inspection_is_a_pass_with_its_cause() -> None:
    [fact] = facts_from_inspection("inspection.task.completed", task_completed("pass"), META)
    assert fact.kind == "inspection.pass"
    assert (fact.merchant_id, fact.market_id, fact.district) == ("mer_1", "mkt_1", "zhifu")
    assert fact.occurred_at == T0 + D  # completed_at, not the envelope's time
    assert (fact.event_id, fact.event_type) == ("ev_1", "inspection.task.completed")
    assert (fact.topic, fact.partition, fact.offset, fact.correlation_id) == (
        "inspection.events.v1",
        2,
        41,
        "risk_1",
    )
    assert fact.key == ("ev_1", "inspection.pass")


@pytest.mark.parametrize("outcome", ["minor", "major", "critical"])
def test_a_finding_is_scored_by_its_outcome(outcome: str) -> None:
    completed = task_completed(outcome, triggers=[])
    facts = facts_from_inspection("inspection.task.completed", completed, META)
    assert kinds(facts) == [f"inspection.finding.{outcome}"]
    assert FINDINGS[outcome]["code"] in (facts[0].detail or "")


def test_a_food_safety_risk_confirmed_by_a_finding_costs_extra() -> None:
    completed = task_completed("major", triggers=[trigger(), trigger(ref="risk_2")])
    facts = facts_from_inspection("inspection.task.completed", completed, META)
    # One confirmation per inspection, however many risks it confirmed.
    assert kinds(facts) == ["inspection.finding.major", "food_safety_risk.confirmed"]
    assert "risk_1, risk_2" in (facts[1].detail or "")
    assert len({f.key for f in facts}) == 2


@pytest.mark.parametrize(
    "triggers",
    [
        [],  # a patrol
        [trigger(category="market_order", ref="risk_9")],  # crowding is not food safety
        [trigger("complaint", "food_safety", "cmp_1")],  # a complaint is scored when closed
    ],
    ids=["patrol", "market-order-risk", "food-safety-complaint"],
)
def test_no_confirmation_without_a_food_safety_risk(triggers: list[dict[str, Any]]) -> None:
    completed = task_completed("minor", triggers=triggers)
    facts = facts_from_inspection("inspection.task.completed", completed, META)
    assert kinds(facts) == ["inspection.finding.minor"]


def test_a_food_safety_risk_that_the_inspection_did_not_confirm_costs_nothing() -> None:
    facts = facts_from_inspection("inspection.task.completed", task_completed("pass"), META)
    assert kinds(facts) == ["inspection.pass"]


def test_a_reinspection_completion_is_not_scored() -> None:
    for outcome in ("pass", "major"):
        completed = task_completed(outcome, triggers=[], reason_kind="reinspection")
        assert facts_from_inspection("inspection.task.completed", completed, META) == []


def test_rectification_verified_on_time_earns_and_otherwise_nothing() -> None:
    facts = facts_from_inspection("inspection.rectification.verified", verified(), META)
    assert kinds(facts) == ["rectification.on_time"]
    assert facts[0].occurred_at == T0 + 2 * D
    for late_or_failed in (verified(on_time=False), verified(passed=False, on_time=False)):
        assert (
            facts_from_inspection("inspection.rectification.verified", late_or_failed, META) == []
        )


def test_an_overdue_rectification_costs() -> None:
    facts = facts_from_inspection("inspection.rectification.overdue", overdue(), META)
    assert kinds(facts) == ["rectification.overdue"]
    assert facts[0].occurred_at == T0 + 3 * D


def test_market_level_inspection_events_give_nothing() -> None:
    cases: list[tuple[str, BaseModel]] = [
        ("inspection.task.completed", task_completed("critical", merchant_id=None)),
        ("inspection.rectification.verified", verified(merchant=None)),
        ("inspection.rectification.overdue", overdue(merchant=None)),
    ]
    for event_type, data in cases:
        assert facts_from_inspection(event_type, data, META) == []


def test_other_inspection_events_give_nothing() -> None:
    ordered = RectificationOrdered.model_validate(order())
    assert facts_from_inspection("inspection.rectification.ordered", ordered, META) == []
    task = task_completed().model_dump(mode="json")
    for name in ("outcome", "findings", "departments", "note", "completed_by", "completed_at"):
        task.pop(name)
    task.pop("rectification_id")
    task.pop("actor")
    task.pop("photos")
    created = TaskCreated.model_validate({**task, "state": "open"})
    assert facts_from_inspection("inspection.task.created", created, META) == []


def test_an_event_type_and_model_that_disagree_are_refused() -> None:
    with pytest.raises(ValueError, match="TaskCompleted"):
        facts_from_inspection("inspection.task.completed", overdue(), META)


def test_the_inspection_services_own_events_translate() -> None:
    """The real inspection rules' events: risk → task → major finding → overdue → verified."""
    done = inspection.completed("major", codes=("CCH-01",))
    assert done.order is not None
    facts = [
        f
        for out in done.events
        for f in facts_from_inspection(out.type, out.data, EventMeta(out.id, out.topic, 0, 1, "c"))
    ]
    assert kinds(facts) == ["inspection.finding.major", "food_safety_risk.confirmed"]
    assert facts[0].occurred_at == inspection.T0

    late = mark_rectification_overdue(done.order, inspection.T0 + 4 * D, inspection.POLICY)
    assert late is not None
    checked = verify(
        late.order,
        passed=True,
        by=inspection.INSPECTOR,
        now=inspection.T0 + 5 * D,
        policy=inspection.POLICY,
        reinspection=late.reinspection,
    )
    later = [
        f
        for out in (*late.events, *checked.events)
        for f in facts_from_inspection(out.type, out.data, EventMeta(out.id, out.topic, 0, 2, "c"))
    ]
    # Overdue costs; the late verification earns nothing; the re-inspection's completion is
    # not scored a second time.
    assert kinds(later) == ["rectification.overdue"]


# -- complaints ----------------------------------------------------------------------------------


def test_a_substantiated_complaint_costs() -> None:
    facts = facts_from_complaint("complaints.complaint.closed", complaint_closed(), META)
    assert kinds(facts) == ["complaint.substantiated"]
    assert facts[0].occurred_at == T0 + 5 * D
    assert "cmp_1" in (facts[0].detail or "") and "short_weight" in (facts[0].detail or "")


@pytest.mark.parametrize(
    "closed",
    [
        complaint_closed(substantiated=False),
        complaint_closed(duplicate_of="cmp_0"),
        complaint_closed(merchant=None),
    ],
    ids=["unsubstantiated", "duplicate", "market-level"],
)
def test_complaints_that_do_not_count(closed: ComplaintClosed) -> None:
    assert facts_from_complaint("complaints.complaint.closed", closed, META) == []


def test_only_closing_counts() -> None:
    data = complaint_closed().model_dump() | {
        "state": "accepted",
        "closed_at": None,
        "outcome": None,
        "substantiated": None,
    }
    data.pop("within_limit")
    accepted = ComplaintAccepted.model_validate(data)
    assert facts_from_complaint("complaints.complaint.accepted", accepted, META) == []


# -- registry ------------------------------------------------------------------------------------


def test_first_sight_registers_the_merchant() -> None:
    facts = facts_from_merchant(merchant(), META, previous_status=None)
    assert kinds(facts) == ["merchant.registered"]
    assert facts[0].occurred_at == T0


@pytest.mark.parametrize(
    ("status", "kind"),
    [("licence_expired", "licence.expired"), ("suspended", "merchant.suspended")],
)
def test_a_change_of_status_costs(status: str, kind: str) -> None:
    assert kinds(facts_from_merchant(merchant(status), META, previous_status="active")) == [kind]
    # Seen first already expired or suspended: registered, and the status too.
    first = facts_from_merchant(merchant(status), META, previous_status=None)
    assert kinds(first) == ["merchant.registered", kind]


@pytest.mark.parametrize(
    ("previous", "status"),
    [
        ("active", "active"),
        ("licence_expired", "licence_expired"),
        ("suspended", "suspended"),
        ("licence_expired", "active"),
        ("suspended", "active"),
    ],
)
def test_no_change_into_a_bad_status_gives_nothing(previous: str, status: str) -> None:
    assert facts_from_merchant(merchant(status), META, previous_status=previous) == []


def test_suspended_to_expired_is_a_change_into_expired() -> None:
    facts = facts_from_merchant(merchant("licence_expired"), META, previous_status="suspended")
    assert kinds(facts) == ["licence.expired"]


def test_a_naive_registry_time_is_refused() -> None:
    with pytest.raises(ValueError, match="updated_at must carry a timezone"):
        facts_from_merchant(merchant(updated_at=datetime(2026, 5, 1)), META, None)


# -- values --------------------------------------------------------------------------------------


def test_fact_refuses_nonsense() -> None:
    base: dict[str, Any] = {
        "kind": "inspection.pass",
        "merchant_id": "mer_1",
        "market_id": "mkt_1",
        "district": "zhifu",
        "occurred_at": T0,
        "event_id": "ev_1",
        "event_type": "inspection.task.completed",
        "topic": "inspection.events.v1",
        "partition": 0,
        "offset": 0,
        "correlation_id": "c",
    }
    assert Fact(**base).occurred_at == T0
    with pytest.raises(ValueError, match="unknown fact kind"):
        Fact(**{**base, "kind": "inspection.excellent"})
    with pytest.raises(ValueError, match="merchant_id"):
        Fact(**{**base, "merchant_id": ""})
    with pytest.raises(ValueError, match="timezone"):
        Fact(**{**base, "occurred_at": datetime(2026, 5, 1)})
    with pytest.raises(ValueError, match="negative"):
        EventMeta("ev", "t", -1, 0, "c")
    with pytest.raises(ValueError, match="both delta and fades_at"):
        Fact(**{**base, "delta": 5})
    assert len(FACT_KINDS) == len(set(FACT_KINDS)) == 18


def test_event_meta_of_an_envelope() -> None:
    from contracts.envelope import make_event

    envelope = make_event(
        service="inspection",
        event_type="inspection.task.completed",
        version=1,
        subject="tsk_1",
        data=task_completed(),
        correlation_id="risk_1",
    )
    meta = EventMeta.of(envelope, "inspection.events.v1", 1, 7)
    assert meta == EventMeta(envelope.id, "inspection.events.v1", 1, 7, "risk_1")
