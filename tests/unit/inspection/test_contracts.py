"""Every change the rules make publishes a valid event of the inspection contract."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import inspection
from contracts.events import EVENTS, spec
from contracts.topics import INSPECTION_EVENTS
from services.inspection.domain import (
    FindingReport,
    Outgoing,
    PatrolPlan,
    RectificationOrder,
    Task,
    claim,
    decide,
    lapse,
    mark_rectification_overdue,
    mark_task_overdue,
    verify,
    withdraw,
)
from services.inspection.events import item as outbox_item
from services.runtime import serial
from tests.support.inspection_builders import (
    INSPECTOR,
    POLICY,
    T0,
    TASK_FORCE,
    D,
    H,
    complaint,
    complete,
    risk,
    schema_problems,
    wire,
)


def inspection_story() -> tuple[list[Outgoing], list[Task], list[RectificationOrder]]:
    """A risk, a complaint and a patrol, through every transition the rules know."""
    out: list[Outgoing] = []
    tasks: list[Task] = []
    orders: list[RectificationOrder] = []

    made = decide(None, risk("major", event_id="ev_r1"), POLICY, T0, task_force=TASK_FORCE)
    assert made.task is not None
    task = made.task
    out += made.events
    for trigger in (
        risk("critical", "escalated", event_id="ev_r2", at=T0 + H),
        risk("minor", risk_id="risk_2", event_id="ev_r3", rule="cold_chain_cumulative"),
        risk("critical", "cleared", event_id="ev_r4", at=T0 + 2 * H),
    ):
        changed = decide(task, trigger, POLICY, T0 + 2 * H)
        assert changed.task is not None
        task, out = changed.task, out + list(changed.events)
    late = mark_task_overdue(task, T0 + 5 * H)
    assert late is not None
    claimed = claim(late.task, by=INSPECTOR, now=T0 + 6 * H)
    done = complete(
        claimed.task,
        by=INSPECTOR,
        outcome="major",
        findings=[FindingReport("CCH-01", "8.9 °C at 14:00"), FindingReport("CCH-03")],
        departments=["health", "market_regulation"],
        note="joint inspection",
        now=T0 + 7 * H,
        policy=POLICY,
    )
    assert done.order is not None
    out += [*late.events, *claimed.events, *done.events]
    failed = verify(done.order, passed=False, by=INSPECTOR, now=T0 + 3 * D, policy=POLICY)
    escalation = mark_rectification_overdue(failed.order, T0 + 7 * D, POLICY)
    assert escalation is not None and escalation.reinspection is not None
    passed = verify(
        escalation.order,
        passed=True,
        by=INSPECTOR,
        now=T0 + 8 * D,
        policy=POLICY,
        reinspection=escalation.reinspection,
    )
    assert passed.closed_task is not None
    out += [*failed.events, *escalation.events, *passed.events]
    tasks += [task, done.task, escalation.reinspection, passed.closed_task]
    orders += [done.order, failed.order, escalation.order, passed.order]

    # A complaint about the market itself, completed critical: a suspension and its re-inspection.
    market = decide(None, complaint("hygiene", merchant_id=None, event_id="ev_c1"), POLICY, T0)
    assert market.task is not None
    mine = claim(market.task, by=INSPECTOR, now=T0)
    shut = complete(
        mine.task,
        by=INSPECTOR,
        outcome="critical",
        findings=[FindingReport("PST-03")],
        now=T0 + H,
        policy=POLICY,
    )
    assert shut.order is not None and shut.reinspection is not None
    still = verify(
        shut.order,
        passed=False,
        by=INSPECTOR,
        now=T0 + D,
        policy=POLICY,
        reinspection=shut.reinspection,
    )
    # The order still open lapses (the event a merchant's leaving makes of its orders).
    ended = lapse(still.order, "merchant_left", T0 + 2 * D)
    assert ended is not None
    out += [*market.events, *mine.events, *shut.events, *still.events, *ended.events]
    tasks += [shut.task, shut.reinspection]
    orders += [shut.order, still.order, ended.order]

    plan = PatrolPlan.start("mer_2", None, None, T0, POLICY)
    due = plan.trigger(market_id="mkt_1", stall_no="B-01", district="zhifu")
    patrol = decide(None, due, POLICY, plan.due_at, task_force=TASK_FORCE)
    assert patrol.task is not None
    # Its merchant leaves its stall before the patrol: the task is withdrawn.
    gone = withdraw(patrol.task, "merchant_left", plan.due_at + H)
    assert gone is not None
    out += [*patrol.events, *gone.events]
    tasks += [patrol.task, gone.task]
    return out, tasks, orders


EVENTS_OUT, TASKS, ORDERS = inspection_story()


def test_the_story_publishes_every_event_type_of_the_topic() -> None:
    assert {e.type for e in EVENTS_OUT} == set(INSPECTION_EVENTS.event_types)


def test_every_inspection_event_type_is_registered_on_its_topic() -> None:
    registered = {s.type: s for s in EVENTS if s.type.startswith("inspection.")}
    assert set(registered) == set(INSPECTION_EVENTS.event_types)
    for event_spec in registered.values():
        assert event_spec.version == 1
        assert event_spec.topic is INSPECTION_EVENTS


@pytest.mark.parametrize("event", EVENTS_OUT, ids=lambda e: e.type)
def test_each_event_validates_against_its_published_schema(event: Outgoing) -> None:
    assert schema_problems(event) == []


@pytest.mark.parametrize("event", EVENTS_OUT, ids=lambda e: e.type)
def test_each_event_has_the_envelope_the_design_asks_for(event: Outgoing) -> None:
    body = wire(event)
    assert body["source"] == "/sentinel/inspection"
    assert body["dataschema"] == spec(event.type).schema_id
    assert uuid.UUID(body["id"]).version == 5
    assert body["time"].endswith("Z")
    data = body["data"]
    if event.type.startswith("inspection.task."):
        assert body["subject"] == event.key == data["task_id"]
    else:
        assert body["subject"] == data["rectification_id"]
        assert event.key == data["task_id"]  # the task's story stays on one partition
    item = outbox_item(event)
    assert (item[0], item[2]) == ("inspection.events.v1", event.key)


def test_event_ids_are_unique_and_each_cause_precedes_its_effect() -> None:
    ids = [e.id for e in EVENTS_OUT]
    assert len(ids) == len(set(ids))
    seen: set[str] = set()
    external = {"ev_r1", "ev_r2", "ev_r3", "ev_r4", "ev_c1"}  # the consumed events
    for event in EVENTS_OUT:
        if event.causation_id is not None and event.causation_id not in external:
            assert event.causation_id in seen, event.type
        seen.add(event.id)


def test_correlation_is_the_chain_that_started_the_task() -> None:
    chains = {e.correlation_id for e in EVENTS_OUT}
    patrol = [e for e in EVENTS_OUT if e.data.model_dump().get("reason_kind") == "patrol"]
    [patrol_task] = {e.subject for e in patrol}
    assert chains == {"risk_1", "cmp_1", patrol_task}
    risky = [e for e in EVENTS_OUT if e.correlation_id == "risk_1"]
    # Rectification and re-inspection events stay in the chain of the risk that began it.
    assert {e.type for e in risky} >= {
        "inspection.rectification.ordered",
        "inspection.rectification.overdue",
        "inspection.task.created",
    }


def test_versions_grow_by_one_per_change_of_a_subject() -> None:
    versions: dict[str, list[int]] = {}
    for event in EVENTS_OUT:
        versions.setdefault(event.subject, []).append(event.data.model_dump()["version"])
    for subject, seen in versions.items():
        assert seen == list(range(seen[0], seen[0] + len(seen))), subject


@pytest.mark.parametrize("task", TASKS, ids=lambda t: f"{t.reason_kind}-{t.state}")
def test_tasks_survive_json(task: Task) -> None:
    text = json.dumps(serial.dump(task), allow_nan=False)
    assert serial.load(Task, json.loads(text)) == task


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.severity}-v{o.version}")
def test_orders_survive_json(order: RectificationOrder) -> None:
    text = json.dumps(serial.dump(order), allow_nan=False)
    assert serial.load(RectificationOrder, json.loads(text)) == order


# -- the models refuse what cannot happen --------------------------------------------------------


def _data(event_type: str) -> dict[str, Any]:
    event = next(e for e in EVENTS_OUT if e.type == event_type)
    data: dict[str, Any] = event.data.model_dump(mode="json")
    return data


def test_a_completion_must_be_consistent() -> None:
    good = _data("inspection.task.completed")
    assert good["outcome"] != "pass"
    with pytest.raises(ValidationError, match="pass has no findings"):
        inspection.TaskCompleted.model_validate({**good, "outcome": "pass"})
    with pytest.raises(ValidationError, match="orders rectification"):
        inspection.TaskCompleted.model_validate({**good, "rectification_id": None})
    with pytest.raises(ValidationError):
        inspection.TaskCompleted.model_validate({**good, "departments": []})
    with pytest.raises(ValidationError):
        inspection.TaskCompleted.model_validate({**good, "departments": ["police"]})


def test_a_suspension_has_no_deadline_and_only_a_pass_lifts_it() -> None:
    ordered = _data("inspection.rectification.ordered")
    with pytest.raises(ValidationError, match="suspension has no deadline"):
        inspection.RectificationOrdered.model_validate({**ordered, "suspension": True})
    verified = next(
        e.data.model_dump(mode="json")
        for e in EVENTS_OUT
        if e.type == "inspection.rectification.verified" and e.data.model_dump()["passed"]
    )
    with pytest.raises(ValidationError, match="passed verification closes"):
        inspection.RectificationVerified.model_validate({**verified, "state": "open"})
    with pytest.raises(ValidationError, match="lifts a suspension"):
        inspection.RectificationVerified.model_validate({**verified, "suspension_lifted": True})


def test_times_must_carry_an_offset_and_are_normalised_to_utc() -> None:
    created = _data("inspection.task.created")
    with pytest.raises(ValidationError, match="timezone"):
        inspection.TaskCreated.model_validate({**created, "due_at": "2026-05-01T12:00:00"})
    shifted = inspection.TaskCreated.model_validate(
        {**created, "due_at": "2026-05-01T20:00:00+08:00"}
    )
    assert shifted.due_at.isoformat() == "2026-05-01T12:00:00+00:00"


def test_outcome_order() -> None:
    assert [inspection.outcome_rank(o) for o in inspection.OUTCOMES] == [0, 1, 2, 3]
    with pytest.raises(KeyError):
        inspection.outcome_rank("grave")
