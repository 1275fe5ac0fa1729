"""Which rule of the policy set a task's due time (UX.md: "a deadline to the rule that set it").

A risk task is due within the risk SLA of the worst severity among its risks (an escalation moves
the due time earlier by that rule), a complaint task within the strictest SLA of its complaints'
categories (the default SLA for the others), a routine patrol within the task force's week. A
re-inspection's and a renovation check's due times come from their order or project, which their
own pages show: no rule here. Pure: the task and the policy in, the rule out.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.telemetry import severity_rank
from services.inspection.domain.model import Task
from services.inspection.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class DueRule:
    """The policy entry behind a due time: its `basis` (risk, complaint, patrol), the `key` it
    was chosen by (a severity, a complaint category; None for a patrol or a category's default)
    and how long it gives, in seconds."""

    basis: str
    key: str | None
    within_s: int


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
    return None
