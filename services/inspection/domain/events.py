"""The events a change publishes, as plain values: contract data, the CloudEvents attributes the
rules decide, the Kafka key.

The rules return `Outgoing` values; the service turns each into an outbox item
(services/inspection/events.py) in the unit of work that stores the change. Ids are derived from
the subject, the type and the new version (`model.event_id`), so an event that causes another in
the same change can name it as its cause, and a retried transaction produces the very same
events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from contracts import inspection as c
from contracts.events import spec
from contracts.people import Actor
from contracts.registry import TaskForce as TaskForceModel
from services.inspection.domain.model import (
    Finding,
    RectificationOrder,
    Task,
    TaskForce,
    TriggerRef,
    event_id,
)

SERVICE: Final = "inspection"
TASK_CREATED: Final = "inspection.task.created"
TASK_UPDATED: Final = "inspection.task.updated"
TASK_CLAIMED: Final = "inspection.task.claimed"
TASK_COMPLETED: Final = "inspection.task.completed"
TASK_OVERDUE: Final = "inspection.task.overdue"
RECTIFICATION_ORDERED: Final = "inspection.rectification.ordered"
RECTIFICATION_VERIFIED: Final = "inspection.rectification.verified"
RECTIFICATION_OVERDUE: Final = "inspection.rectification.overdue"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to publish (its topic and schema version are the catalog's)."""

    id: str
    type: str
    subject: str
    key: str
    data: BaseModel
    correlation_id: str
    causation_id: str | None
    time: datetime

    @property
    def topic(self) -> str:
        return spec(self.type).topic.name


# -- data ----------------------------------------------------------------------------------------


def _task_force(task_force: TaskForce | None) -> TaskForceModel | None:
    if task_force is None:
        return None
    return TaskForceModel(leader=task_force.leader, members=list(task_force.members))


def _ref(ref: TriggerRef) -> c.TriggerRef:
    # The contract's fields by name from the value, the ref's id under the contract's name.
    fields = {name: getattr(ref, name) for name in c.TriggerRef.model_fields if name != "id"}
    return c.TriggerRef.model_validate({**fields, "id": ref.ref_id})


def _finding(finding: Finding) -> c.Finding:
    # The same fields by name; the contract checks the severity is one it knows.
    return c.Finding.model_validate(finding, from_attributes=True)


def _task_fields(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "version": task.version,
        "reason_kind": task.reason_kind,
        "state": task.state,
        "market_id": task.market_id,
        "district": task.district,
        "merchant_id": task.merchant_id,
        "stall_no": task.stall_no,
        "task_force": _task_force(task.task_force),
        "triggers": [_ref(ref) for ref in task.triggers],
        "triggers_dropped": task.triggers_dropped,
        "grade": task.grade,
        "reinspection_of": task.reinspection_of,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "assignee": task.assignee,
        "claimed_at": task.claimed_at,
        "overdue_at": task.overdue_at,
    }


def _order_fields(order: RectificationOrder) -> dict[str, Any]:
    return {
        "rectification_id": order.rectification_id,
        "version": order.version,
        "task_id": order.task_id,
        "market_id": order.market_id,
        "district": order.district,
        "merchant_id": order.merchant_id,
        "stall_no": order.stall_no,
        "severity": order.severity,
        "findings": [_finding(f) for f in order.findings],
        "state": order.state,
        "ordered_at": order.ordered_at,
        "deadline": order.deadline,
        "suspension": order.suspension,
        "failed_verifications": order.failed_verifications,
        "reinspection_task_id": order.reinspection_task_id,
        "overdue_at": order.overdue_at,
    }


def _announce(
    event_type: str,
    data: BaseModel,
    about: Task | RectificationOrder,
    now: datetime,
    causation_id: str | None,
) -> Outgoing:
    if isinstance(about, Task):
        subject = key = about.task_id
    else:
        # Keyed by the task that ordered it: one inspection's story stays on one partition.
        subject, key = about.rectification_id, about.task_id
    return Outgoing(
        id=event_id(event_type, subject, about.version),
        type=event_type,
        subject=subject,
        key=key,
        data=data,
        correlation_id=about.correlation_id,
        causation_id=causation_id,
        time=now,
    )


def task_created(task: Task, now: datetime, causation_id: str | None) -> Outgoing:
    return _announce(TASK_CREATED, c.TaskCreated(**_task_fields(task)), task, now, causation_id)


def task_updated(
    task: Task,
    now: datetime,
    causation_id: str,
    *,
    change: str,
    trigger_id: str,
    previous_due_at: datetime | None,
) -> Outgoing:
    data = c.TaskUpdated(
        **_task_fields(task),
        change=change,
        trigger_id=trigger_id,
        previous_due_at=previous_due_at,
    )
    return _announce(TASK_UPDATED, data, task, now, causation_id)


def task_claimed(task: Task, now: datetime) -> Outgoing:
    data = c.TaskClaimed(**_task_fields(task), actor=task.claimed_actor)
    return _announce(TASK_CLAIMED, data, task, now, None)


def task_completed(task: Task, now: datetime, causation_id: str | None = None) -> Outgoing:
    data = c.TaskCompleted(
        **_task_fields(task),
        outcome=task.outcome,
        findings=[_finding(f) for f in task.findings],
        departments=list(task.departments),
        note=task.note,
        completed_by=task.completed_by,
        completed_at=task.completed_at,
        rectification_id=task.rectification_id,
        actor=task.completed_actor,
        photos=list(task.photos),
    )
    return _announce(TASK_COMPLETED, data, task, now, causation_id)


def task_overdue(task: Task, now: datetime) -> Outgoing:
    return _announce(TASK_OVERDUE, c.TaskOverdue(**_task_fields(task)), task, now, None)


def rectification_ordered(order: RectificationOrder, now: datetime, causation_id: str) -> Outgoing:
    data = c.RectificationOrdered(**_order_fields(order))
    return _announce(RECTIFICATION_ORDERED, data, order, now, causation_id)


def rectification_verified(
    order: RectificationOrder,
    now: datetime,
    *,
    passed: bool,
    by: Actor,
    on_time: bool,
    previous_deadline: datetime | None,
    suspension_lifted: bool,
) -> Outgoing:
    data = c.RectificationVerified(
        **_order_fields(order),
        passed=passed,
        verified_by=by.subject,
        verified_at=now,
        on_time=on_time,
        previous_deadline=previous_deadline,
        suspension_lifted=suspension_lifted,
        actor=by,
    )
    return _announce(RECTIFICATION_VERIFIED, data, order, now, None)


def rectification_overdue(
    order: RectificationOrder, now: datetime, escalation_task_id: str | None
) -> Outgoing:
    data = c.RectificationOverdue(**_order_fields(order), escalation_task_id=escalation_task_id)
    return _announce(RECTIFICATION_OVERDUE, data, order, now, None)
