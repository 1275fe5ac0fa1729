"""The events a change publishes: contract data, envelope attributes, Kafka key, ready to enqueue.

The rules return `Outgoing` values; the service writes `outgoing.outbox_item()` to the outbox in
the transaction that stores the change. Ids are derived from the subject, the type and the new
version (`model.event_id`), so an event that causes another in the same change can name it as
its cause, and a retried transaction produces the very same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from contracts import inspection as c
from contracts.envelope import Envelope, schema_id
from contracts.events import spec
from contracts.people import Actor
from contracts.registry import TaskForce as TaskForceModel
from contracts.topics import INSPECTION_EVENTS
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
    """One event to publish on `inspection.events.v1`."""

    id: str
    type: str
    subject: str
    key: str
    data: BaseModel
    correlation_id: str
    causation_id: str | None
    time: datetime

    topic: str = INSPECTION_EVENTS.name

    def envelope(self) -> Envelope[Any]:
        model: Any = Envelope[type(self.data)]  # type: ignore[misc]
        envelope: Envelope[Any] = model(
            id=self.id,
            source=f"/sentinel/{SERVICE}",
            type=self.type,
            subject=self.subject,
            time=self.time,
            dataschema=schema_id(self.type, spec(self.type).version),
            correlationid=self.correlation_id,
            causationid=self.causation_id,
            data=self.data,
        )
        return envelope

    def outbox_item(self) -> tuple[str, Envelope[Any], str]:
        """`(topic, envelope, key)` as `services.runtime.outbox.enqueue_many` takes it."""
        return (self.topic, self.envelope(), self.key)


# -- data ----------------------------------------------------------------------------------------


def _task_force(task_force: TaskForce | None) -> TaskForceModel | None:
    if task_force is None:
        return None
    return TaskForceModel(leader=task_force.leader, members=list(task_force.members))


def _ref(ref: TriggerRef) -> c.TriggerRef:
    return c.TriggerRef.model_validate(ref.to_dict())


def _finding(finding: Finding) -> c.Finding:
    return c.Finding.model_validate(finding.to_dict())


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


def _task_event(
    event_type: str,
    data: BaseModel,
    task: Task,
    now: datetime,
    causation_id: str | None,
) -> Outgoing:
    return Outgoing(
        id=event_id(event_type, task.task_id, task.version),
        type=event_type,
        subject=task.task_id,
        key=task.task_id,
        data=data,
        correlation_id=task.correlation_id,
        causation_id=causation_id,
        time=now,
    )


def _order_event(
    event_type: str,
    data: BaseModel,
    order: RectificationOrder,
    now: datetime,
    causation_id: str | None,
) -> Outgoing:
    return Outgoing(
        id=event_id(event_type, order.rectification_id, order.version),
        type=event_type,
        subject=order.rectification_id,
        # Keyed by the task that ordered it: one inspection's story stays on one partition.
        key=order.task_id,
        data=data,
        correlation_id=order.correlation_id,
        causation_id=causation_id,
        time=now,
    )


def task_created(task: Task, now: datetime, causation_id: str | None) -> Outgoing:
    return _task_event(TASK_CREATED, c.TaskCreated(**_task_fields(task)), task, now, causation_id)


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
    return _task_event(TASK_UPDATED, data, task, now, causation_id)


def task_claimed(task: Task, now: datetime) -> Outgoing:
    data = c.TaskClaimed(**_task_fields(task), actor=task.claimed_actor)
    return _task_event(TASK_CLAIMED, data, task, now, None)


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
    return _task_event(TASK_COMPLETED, data, task, now, causation_id)


def task_overdue(task: Task, now: datetime) -> Outgoing:
    return _task_event(TASK_OVERDUE, c.TaskOverdue(**_task_fields(task)), task, now, None)


def rectification_ordered(order: RectificationOrder, now: datetime, causation_id: str) -> Outgoing:
    data = c.RectificationOrdered(**_order_fields(order))
    return _order_event(RECTIFICATION_ORDERED, data, order, now, causation_id)


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
    return _order_event(RECTIFICATION_VERIFIED, data, order, now, None)


def rectification_overdue(
    order: RectificationOrder, now: datetime, escalation_task_id: str | None
) -> Outgoing:
    data = c.RectificationOverdue(**_order_fields(order), escalation_task_id=escalation_task_id)
    return _order_event(RECTIFICATION_OVERDUE, data, order, now, None)
