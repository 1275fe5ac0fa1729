"""Which rule of the policy set a task's due time (docs/console.md: a deadline links to the rule
that set it).

A risk task is due within the risk SLA of the worst severity among its risks (an escalation moves
the due time earlier by that rule), a complaint task within the strictest SLA of its complaints'
categories (the default SLA for the others), a routine patrol within the task force's week, a
re-inspection within the term for why it was ordered (a suspended merchant's visit, an order past
its deadline), a failed renovation check's task by the end of the day the operator had to put it
right. Pure: the task and the policy in, the rule out.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.telemetry import severity_rank
from services.inspection.domain.model import Task
from services.inspection.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class DueRule:
    """The policy entry behind a due time: its `basis` (risk, complaint, patrol, reinspection,
    renovation), the `key` it was chosen by (a severity, a complaint category, a re-inspection's
    reason — suspension or overdue —, a renovation check's kind; None for a patrol or a
    category's default) and how long it gives, in seconds (None for a renovation check: the end
    of the day its project set)."""

    basis: str
    key: str | None
    within_s: int | None


def due_rule(task: Task, policy: Policy) -> DueRule | None:
    if task.reason_kind == "risk":
        graded = [
            t.severity
            for t in task.triggers
            if t.kind == "risk" and t.severity is not None and policy.risk_sla(t.severity)
        ]
        if not graded:
            return None
        worst = max(graded, key=severity_rank)
        sla = policy.risk_sla(worst)
        assert sla is not None
        return DueRule("risk", worst, int(sla.total_seconds()))
    if task.reason_kind == "complaint":
        categories = [t.category for t in task.triggers if t.kind == "complaint"]
        if not categories:
            return None
        strictest = min(categories, key=policy.complaint_sla)
        key = strictest if strictest in policy.complaint_due else None
        return DueRule("complaint", key, int(policy.complaint_sla(strictest).total_seconds()))
    if task.reason_kind == "patrol":
        return DueRule("patrol", None, int(policy.patrol_task_within.total_seconds()))
    if task.reason_kind == "reinspection" and task.reinspection_reason is not None:
        within = policy.reinspection_due(task.reinspection_reason)
        return DueRule("reinspection", task.reinspection_reason, int(within.total_seconds()))
    if task.reason_kind == "renovation":
        kinds = [t.category for t in task.triggers if t.kind == "renovation_check"]
        return DueRule("renovation", kinds[0] if kinds else None, None)
    return None
