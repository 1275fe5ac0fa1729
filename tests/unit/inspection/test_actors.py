"""People in inspection: who claimed, completed and verified is recorded with the task or order
and carried by its event; the clock's and other events' changes name nobody."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts import generate
from contracts.events import spec
from contracts.inspection import RectificationVerified, TaskClaimed, TaskCompleted
from contracts.people import Actor
from services.inspection.domain import (
    FindingReport,
    IllegalTransition,
    RectificationOrder,
    Task,
    claim,
    mark_rectification_overdue,
    mark_task_overdue,
    verify,
)
from services.runtime import serial
from tests.support.inspection_builders import (
    INSPECTOR,
    POLICY,
    T0,
    D,
    H,
    complete,
    new_task,
    schema_problems,
    wire,
)
from tests.support.schema_subset import validate

LI = Actor(subject="0b5c1c9e-7d1f-4f53-9a57-2f5e0c1d9a01", name="李检查员")
WANG = Actor(subject="7e1f6b2a-4c3d-4e5f-8a9b-0c1d2e3f4a5b", name="王检查员")


def claimed(by: Actor = LI) -> Task:
    return claim(new_task(), by=by, now=T0 + H).task


def test_a_claim_records_the_inspector_and_its_event_carries_them() -> None:
    change = claim(new_task(), by=LI, now=T0 + H)
    task = change.task
    assert (task.assignee, task.claimed_actor, task.completed_actor) == (LI.subject, LI, None)
    (event,) = change.events
    assert isinstance(event.data, TaskClaimed) and event.data.actor == LI
    assert event.data.assignee == LI.subject
    assert wire(event)["data"]["actor"] == {"subject": LI.subject, "name": "李检查员"}
    assert schema_problems(event) == []


def test_claiming_again_as_the_same_subject_changes_nothing_and_another_is_told_who() -> None:
    task = claimed()
    renamed = Actor(subject=LI.subject, name="李四")
    assert claim(task, by=renamed, now=T0 + 2 * H).events == ()
    with pytest.raises(IllegalTransition, match=f"李检查员 \\({LI.subject}\\)"):
        claim(task, by=WANG, now=T0 + 2 * H)


def test_completion_records_who_completed_and_its_event_carries_them() -> None:
    done = complete(
        claimed(),
        by=LI,
        outcome="major",
        findings=[FindingReport("CCH-01", "冷柜门未关")],
        now=T0 + 2 * H,
        policy=POLICY,
    )
    assert (done.task.completed_by, done.task.completed_actor) == (LI.subject, LI)
    assert done.task.claimed_actor == LI
    completed_event, ordered, *_ = done.events
    assert isinstance(completed_event.data, TaskCompleted)
    assert completed_event.data.actor == LI and completed_event.data.completed_by == LI.subject
    assert schema_problems(completed_event) == []
    # The order follows from the completion (its cause), not from a person: no actor.
    assert "actor" not in wire(ordered)["data"] and ordered.causation_id == completed_event.id
    assert done.order is not None and done.order.verified_actor is None


def test_only_the_claimer_completes_whatever_name_the_other_goes_by() -> None:
    with pytest.raises(IllegalTransition, match="李检查员"):
        complete(claimed(), by=WANG, outcome="pass", findings=[], now=T0, policy=POLICY)


def test_a_bare_subject_is_an_actor_named_by_it() -> None:
    task = claim(new_task(), by=INSPECTOR, now=T0).task
    assert task.claimed_actor == Actor(subject=INSPECTOR, name=INSPECTOR)
    with pytest.raises(ValueError, match="by must name"):
        claim(new_task(), by=" ", now=T0)


def ordered(outcome: str = "major") -> RectificationOrder:
    done = complete(
        claimed(),
        by=LI,
        outcome=outcome,
        findings=[FindingReport({"major": "CCH-01", "critical": "HYG-06"}[outcome])],
        now=T0,
        policy=POLICY,
    )
    assert done.order is not None
    return done.order


def test_a_verification_records_who_checked_passed_or_failed() -> None:
    failed = verify(ordered(), passed=False, by=WANG, now=T0 + D, policy=POLICY)
    assert (failed.order.verified_by, failed.order.verified_actor) == (None, WANG)
    passed = verify(failed.order, passed=True, by=LI, now=T0 + 2 * D, policy=POLICY)
    assert (passed.order.verified_by, passed.order.verified_actor) == (LI.subject, LI)
    for result, who in ((failed, WANG), (passed, LI)):
        event = result.events[0]
        assert isinstance(event.data, RectificationVerified)
        assert event.data.actor == who and schema_problems(event) == []


def test_the_verifier_closes_a_re_inspection_and_is_its_actor() -> None:
    suspended = ordered("critical")
    task_id = suspended.reinspection_task_id
    assert task_id is not None
    reinspection = Task(
        task_id=task_id,
        reason_kind="reinspection",
        market_id=suspended.market_id,
        district=suspended.district,
        merchant_id=suspended.merchant_id,
        stall_no=suspended.stall_no,
        task_force=None,
        created_at=T0,
        due_at=T0 + D,
        correlation_id=suspended.correlation_id,
        reinspection_of=suspended.rectification_id,
    )
    result = verify(
        suspended, passed=True, by=WANG, now=T0 + D, policy=POLICY, reinspection=reinspection
    )
    closed = result.closed_task
    assert closed is not None
    assert (closed.claimed_actor, closed.completed_actor) == (WANG, WANG)
    completed_event = result.events[1]
    assert isinstance(completed_event.data, TaskCompleted) and completed_event.data.actor == WANG
    # A re-inspection someone had claimed keeps its claimer; the verifier completed it.
    held = claim(reinspection, by=LI, now=T0).task
    again = verify(suspended, passed=True, by=WANG, now=T0 + D, policy=POLICY, reinspection=held)
    assert again.closed_task is not None
    assert (again.closed_task.claimed_actor, again.closed_task.completed_actor) == (LI, WANG)


def test_the_clock_names_nobody() -> None:
    late = mark_task_overdue(claimed(), T0 + 10 * H)
    assert late is not None and late.task.claimed_actor == LI
    assert "actor" not in wire(late.events[0])["data"]
    escalation = mark_rectification_overdue(ordered(), T0 + 4 * D, POLICY)
    assert escalation is not None
    assert all("actor" not in wire(e)["data"] for e in escalation.events)


def test_stored_values_keep_their_actors_and_older_rows_read_as_none() -> None:
    done = complete(claimed(), by=LI, outcome="pass", findings=[], now=T0, policy=POLICY)
    stored = serial.dump(done.task)
    assert stored["claimed_actor"] == stored["completed_actor"] == LI.to_dict()
    assert serial.load(Task, stored) == done.task
    older = {k: v for k, v in stored.items() if k not in ("claimed_actor", "completed_actor")}
    assert serial.load(Task, older) == replace(done.task, claimed_actor=None, completed_actor=None)

    checked = verify(ordered(), passed=True, by=LI, now=T0 + D, policy=POLICY).order
    assert serial.dump(checked)["verified_actor"] == LI.to_dict()
    assert serial.load(RectificationOrder, serial.dump(checked)) == checked
    older_order = {k: v for k, v in serial.dump(checked).items() if k != "verified_actor"}
    assert serial.load(RectificationOrder, older_order).verified_actor is None


def test_events_of_older_producers_without_an_actor_still_validate() -> None:
    change = claim(new_task(), by=LI, now=T0 + H)
    done = complete(change.task, by=LI, outcome="pass", findings=[], now=T0 + H, policy=POLICY)
    checked = verify(ordered(), passed=True, by=LI, now=T0 + D, policy=POLICY)
    for event, model in (
        (change.events[0], TaskClaimed),
        (done.events[0], TaskCompleted),
        (checked.events[0], RectificationVerified),
    ):
        old = wire(event)
        del old["data"]["actor"]
        assert model.model_validate(old["data"]).actor is None
        assert validate(old, generate.envelope_schema(spec(event.type))) == []
