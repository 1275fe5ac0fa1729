"""Which policy entry set a task's due time (docs/console.md: a deadline links to the rule that
set it): checked against the due time the intake rules actually gave, so the two cannot drift
apart."""

from __future__ import annotations

from datetime import timedelta

from services.inspection.domain import Policy, decide, mark_rectification_overdue
from services.inspection.domain.due import DueRule, due_rule
from tests.support.inspection_builders import (
    END_OF_RECTIFY_BY,
    POLICY,
    T0,
    D,
    H,
    complaint,
    completed,
    failed,
    new_task,
    risk,
)


def test_a_risk_task_is_due_by_its_worst_risk_sla_and_an_escalation_changes_the_rule() -> None:
    task = new_task(risk("major"))
    rule = due_rule(task, POLICY)
    assert rule == DueRule("risk", "major", 4 * 3600)
    assert task.due_at == T0 + timedelta(seconds=rule.within_s)
    escalated = decide(task, risk("critical", "escalated", at=T0 + H), POLICY, T0 + H).task
    assert escalated is not None
    assert due_rule(escalated, POLICY) == DueRule("risk", "critical", 2 * 3600)
    assert escalated.due_at == T0 + H + 2 * H  # the rule the page names is what set it


def test_a_complaint_task_names_its_category_or_the_default() -> None:
    food = new_task(complaint("food_safety"))
    assert due_rule(food, POLICY) == DueRule("complaint", "food_safety", 24 * 3600)
    assert food.due_at == T0 + 24 * H
    other = new_task(complaint("short_weight", complaint_id="cmp_2"))
    assert due_rule(other, POLICY) == DueRule("complaint", None, 72 * 3600)
    assert other.due_at == T0 + 72 * H
    quicker = Policy(complaint_due={"short_weight": 12 * H})
    assert due_rule(other, quicker) == DueRule("complaint", "short_weight", 12 * 3600)


def test_a_patrol_has_the_task_forces_week_and_other_kinds_no_rule_here() -> None:
    assert due_rule(new_task(risk("major")).next(reason_kind="patrol"), POLICY) == DueRule(
        "patrol", None, 7 * 24 * 3600
    )
    assert due_rule(new_task(risk("major")).next(reason_kind="reinspection"), POLICY) is None


def test_a_suspensions_reinspection_names_the_suspension_term() -> None:
    done = completed("critical")
    task = done.reinspection
    assert task is not None and task.reinspection_reason == "suspension"
    rule = due_rule(task, POLICY)
    assert rule == DueRule("reinspection", "suspension", 3 * 24 * 3600)
    assert task.due_at == task.created_at + timedelta(seconds=rule.within_s or 0)


def test_an_overdue_orders_escalation_names_the_overdue_term() -> None:
    order = completed("major").order
    assert order is not None and order.deadline is not None
    escalation = mark_rectification_overdue(order, order.deadline + H, POLICY)
    assert escalation is not None and escalation.reinspection is not None
    task = escalation.reinspection
    rule = due_rule(task, POLICY)
    assert rule == DueRule("reinspection", "overdue", 24 * 3600)
    assert task.due_at == order.deadline + H + D


def test_a_failed_renovation_check_is_due_by_the_end_of_its_day() -> None:
    task = decide(None, failed(kind="quality"), POLICY, T0 + H).task
    assert task is not None and task.due_at == END_OF_RECTIFY_BY
    assert due_rule(task, POLICY) == DueRule("renovation", "quality", None)
