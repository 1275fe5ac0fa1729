"""Inspection's own metrics, beside the runtime's (docs/operations.md lists them; bounded labels).

The counters count what happened in this process; the gauges (`sentinel_inspection_tasks`,
`sentinel_inspection_rectifications_overdue`) count what is in the database now, recounted at
start-up, every `INSPECTION_GAUGE_REFRESH_INTERVAL_S` and after each change
(services/runtime/gauges.py), so they are right after a restart and on every replica.
"""

from __future__ import annotations

from services.inspection.domain import Decision, Task
from services.inspection.service import Observer
from services.inspection.store import OpenWork
from services.runtime.gauges import CountedGauges, LabelledCounts, Labels
from services.runtime.metrics import Metrics

# The states of an unfinished task as the gauge tells them apart: `overdue` is an open or claimed
# task marked overdue by the clock; `open` and `claimed` are the others.
TASK_GAUGE_STATES = ("open", "claimed", "overdue")

# From minutes (a live risk) to days (a task completed within its SLA, a late replay).
SLA_BUCKETS = (1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)


class InspectionMetrics:
    def __init__(self, base: Metrics) -> None:
        self.decisions = base.counter(
            "trigger_decisions_total",
            "What triggers did, by trigger kind and action (create, attach, escalate, clear, "
            "ignore)",
            ["trigger", "action"],
        )
        self.tasks = base.counter(
            "task_transitions_total",
            "Task state changes by reason kind and transition"
            " (created, claimed, completed, withdrawn)",
            ["reason_kind", "transition"],
        )
        self.overdue = base.counter(
            "overdue_marked_total",
            "Tasks and rectification orders marked overdue, by entity",
            ["entity"],
            at_zero=[("task",), ("rectification",)],
        )
        self.plans = base.counter(
            "patrol_plan_changes_total",
            "Patrol plan changes: started, regraded (a newer credit score), stale (a score or "
            "warning list entry not newer than the plan's, ignored), task_created (a patrol came "
            "due), inspected (a completed task re-anchored it), warned and delisted (the warning "
            "list)",
            ["change"],
        )
        self.trigger_to_task = base.histogram(
            "trigger_to_task_seconds",
            "From the trigger's event time to the task made for it",
            ["trigger"],
            buckets=SLA_BUCKETS,
        )
        self.open_tasks = base.gauge(
            "tasks",
            "Unfinished tasks by district and state: open, claimed (neither overdue) and overdue "
            "(open or claimed, marked overdue), as last counted in the database",
            ["district", "state"],
        )
        self.rectifications_overdue = base.gauge(
            "rectifications_overdue",
            "Rectification orders past their deadline and not verified, by district, as last "
            "counted in the database",
            ["district"],
        )
        self._tasks_counts = LabelledCounts(self.open_tasks)
        self._overdue_counts = LabelledCounts(self.rectifications_overdue)
        self.completion = base.histogram(
            "task_completion_seconds",
            "From a task's creation to its completion, by reason kind",
            ["reason_kind"],
            buckets=SLA_BUCKETS,
        )

    def show(self, work: OpenWork) -> None:
        """Set the gauges to a count of the database (every district of a known market is
        shown, at 0 where it has nothing)."""
        task_counts: dict[Labels, float] = dict(work.tasks)
        districts = set(work.districts) | {district for district, _ in task_counts}
        self._tasks_counts.set(
            task_counts, also=[(d, state) for d in districts for state in TASK_GAUGE_STATES]
        )
        order_counts: dict[Labels, float] = {(d,): n for d, n in work.rectifications_overdue}
        self._overdue_counts.set(order_counts, also=[(d,) for d in districts])


class InspectionObserver(Observer):
    """The use cases' reports as counters, and a gauge recount after each committed change."""

    def __init__(self, metrics: InspectionMetrics, gauges: CountedGauges) -> None:
        self.metrics, self.gauges = metrics, gauges

    def decided(self, label: str, decision: Decision, lag_s: float | None) -> None:
        self.metrics.decisions.labels(label, decision.action).inc()
        if lag_s is not None:
            self.metrics.trigger_to_task.labels(label).observe(lag_s)

    def created(self, task: Task) -> None:
        self.task(task.reason_kind, "created")
        self.gauges.poke()

    def task(self, reason_kind: str, transition: str) -> None:
        self.metrics.tasks.labels(reason_kind, transition).inc()

    def completed(self, task: Task) -> None:
        self.task(task.reason_kind, "completed")
        if task.completed_at is not None:
            self.metrics.completion.labels(task.reason_kind).observe(
                (task.completed_at - task.created_at).total_seconds()
            )

    def plan(self, change: str) -> None:
        self.metrics.plans.labels(change).inc()

    def overdue(self, entity: str, count: int) -> None:
        self.metrics.overdue.labels(entity).inc(count)

    def changed(self) -> None:
        self.gauges.poke()
