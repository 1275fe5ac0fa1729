"""Evidence stays bounded: a task keeps its first trigger and the latest ones, a trigger its
first event id and the latest ones, with counts of everything it took in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.inspection.domain import Policy, Task, TriggerRef, decide
from services.inspection.domain.model import bounded
from services.runtime import serial
from tests.support.inspection_builders import (
    POLICY,
    T0,
    TASK_FORCE,
    H,
    complaint,
    risk,
    schema_problems,
)

SMALL = Policy.from_dict({"max_triggers_per_task": 4, "max_event_ids_per_trigger": 3})
M = timedelta(minutes=1)


def _created(policy: Policy = SMALL) -> Task:
    decision = decide(None, risk("major", risk_id="risk_0"), policy, T0, task_force=TASK_FORCE)
    assert decision.task is not None
    return decision.task


def test_bounded_keeps_the_first_and_the_latest() -> None:
    assert bounded(("a",), "b", 3) == ("a", "b")
    assert bounded(("a", "b", "c"), "d", 3) == ("a", "c", "d")
    assert bounded(("a", "c", "d"), "e", 3) == ("a", "d", "e")
    with pytest.raises(ValueError, match="keep at least"):
        bounded(("a",), "b", 1)


def test_a_task_keeps_the_trigger_that_made_it_and_the_latest_others() -> None:
    task = _created()
    decisions = []
    for i in range(1, 8):
        decision = decide(task, risk("major", risk_id=f"risk_{i}", at=T0 + i * M), SMALL, T0)
        assert decision.action == "attach" and decision.task is not None
        decisions.append(decision)
        task = decision.task

    assert [r.ref_id for r in task.triggers] == ["risk_0", "risk_5", "risk_6", "risk_7"]
    assert task.triggers_dropped == 4
    assert task.correlation_id == "risk_0"
    assert task.due_at == T0 + 4 * H  # what a dropped trigger brought to the due date stays
    # The event says so: an integrator knows the list is not the whole story.
    last = decisions[-1].events[0]
    assert last.data.triggers_dropped == 4  # type: ignore[attr-defined]
    assert last.data.trigger_id == "risk_7"  # type: ignore[attr-defined]
    assert schema_problems(last) == []
    assert serial.load(Task, serial.dump(task)) == task


def test_a_dropped_risk_that_escalates_comes_back_as_the_latest_evidence() -> None:
    task = _created()
    for i in range(1, 5):
        decision = decide(task, risk("major", risk_id=f"risk_{i}", at=T0 + i * M), SMALL, T0)
        assert decision.task is not None
        task = decision.task
    assert "risk_1" not in [r.ref_id for r in task.triggers]

    back = decide(task, risk("critical", "escalated", risk_id="risk_1", at=T0 + H), SMALL, T0)

    assert back.action == "attach" and back.task is not None
    assert [r.ref_id for r in back.task.triggers] == ["risk_0", "risk_3", "risk_4", "risk_1"]
    assert back.task.triggers_dropped == 2
    assert back.task.due_at == T0 + 3 * H  # critical at T0 + 1 h: 2 h
    # A dropped risk clearing is not attached any more: nothing to note.
    cleared = decide(back.task, risk("major", "cleared", risk_id="risk_2"), SMALL, T0)
    assert cleared.reason == "not_attached"


def test_a_trigger_keeps_its_first_event_id_and_the_latest_and_counts_them_all() -> None:
    task = _created()
    [first] = task.triggers[0].event_ids
    escalated = risk("critical", "escalated", risk_id="risk_0", event_id="esc", at=T0 + M)
    decision = decide(task, escalated, SMALL, T0 + M)
    assert decision.task is not None
    cleared = risk("critical", "cleared", risk_id="risk_0", event_id="clr", at=T0 + H)
    done = decide(decision.task, cleared, SMALL, T0 + H)
    assert done.task is not None
    [ref] = done.task.triggers
    assert (ref.event_ids, ref.event_count) == ((first, "esc", "clr"), 3)

    keep = SMALL.max_event_ids_per_trigger
    more = ref.took("late_1", keep).took("late_2", keep)
    assert (more.event_ids, more.event_count) == ((first, "late_1", "late_2"), 5)
    assert serial.load(TriggerRef, serial.dump(more)) == more


def test_hundreds_of_risks_keep_the_task_small() -> None:
    task = _created(POLICY)
    for i in range(1, 500):
        decision = decide(task, risk("major", risk_id=f"risk_{i}", at=T0 + i * M), POLICY, T0)
        assert decision.task is not None
        task = decision.task
    assert len(task.triggers) == POLICY.max_triggers_per_task
    assert task.triggers_dropped == 500 - POLICY.max_triggers_per_task
    assert len(json.dumps(serial.dump(task))) < 20_000


def test_counts_read_back_from_values_stored_before_they_were_kept() -> None:
    task = _created(POLICY)
    stored = serial.dump(task)
    del stored["triggers_dropped"]
    for ref in stored["triggers"]:
        del ref["event_count"]
    read = serial.load(Task, stored)
    assert read.triggers_dropped == 0
    assert read.triggers[0].event_count == len(read.triggers[0].event_ids) == 1


def test_complaints_are_bounded_the_same_way() -> None:
    decision = decide(None, complaint(complaint_id="cmp_0"), SMALL, T0)
    assert decision.task is not None
    task = decision.task
    for i in range(1, 6):
        attached = decide(task, complaint("price", complaint_id=f"cmp_{i}"), SMALL, T0)
        assert attached.task is not None
        task = attached.task
    assert [r.ref_id for r in task.triggers] == ["cmp_0", "cmp_3", "cmp_4", "cmp_5"]
    assert task.triggers_dropped == 2
    assert task.correlation_id == "cmp_0"


def test_a_trigger_without_events_is_refused() -> None:
    with pytest.raises(ValueError, match="at least the event"):
        TriggerRef("risk", "risk_1", (), "food_safety", T0)
