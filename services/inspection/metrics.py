"""Inspection's own metrics, beside the runtime's (DESIGN §9 names, bounded labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.runtime.metrics import Metrics

# From minutes (a live risk) to days (a task completed within its SLA, a late replay).
SLA_BUCKETS = (1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)


class InspectionMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_inspection"
        self.decisions = Counter(
            f"{p}_trigger_decisions_total",
            "What triggers did, by trigger kind and action (create, attach, escalate, clear, "
            "ignore)",
            ["trigger", "action"],
            registry=r,
        )
        self.tasks = Counter(
            f"{p}_task_transitions_total",
            "Task state changes by reason kind and transition (created, claimed, completed)",
            ["reason_kind", "transition"],
            registry=r,
        )
        self.overdue = Counter(
            f"{p}_overdue_marked_total",
            "Tasks and rectification orders marked overdue, by entity",
            ["entity"],
            registry=r,
        )
        self.plans = Counter(
            f"{p}_patrol_plan_changes_total",
            "Patrol plan changes: started, regraded (a newer credit score), stale (a score or "
            "warning list entry not newer than the plan's, ignored), task_created (a patrol came "
            "due), inspected (a completed task re-anchored it), warned and delisted (the warning "
            "list)",
            ["change"],
            registry=r,
        )
        self.trigger_to_task = Histogram(
            f"{p}_trigger_to_task_seconds",
            "From the trigger's event time to the task made for it",
            ["trigger"],
            buckets=SLA_BUCKETS,
            registry=r,
        )
        self.completion = Histogram(
            f"{p}_task_completion_seconds",
            "From a task's creation to its completion, by reason kind",
            ["reason_kind"],
            buckets=SLA_BUCKETS,
            registry=r,
        )
