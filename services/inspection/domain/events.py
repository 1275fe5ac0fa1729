"""The events a change publishes, as plain values: the task or order the event announces, what
the rule adds to it, the CloudEvents attributes the rules decide, the Kafka key.

The rules return `Outgoing` values; the service turns each into an outbox item
(services/inspection/events.py) in the unit of work that stores the change. Ids are derived
from the subject, the type and the new version (`model.event_id`), so an event that causes
another in the same change can name it as its cause, and a retried transaction produces the very
same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from contracts import inspection as c
from contracts.events import spec
from contracts.inspection import (
    RECTIFICATION_LAPSED,
    RECTIFICATION_ORDERED,
    RECTIFICATION_OVERDUE,
    RECTIFICATION_VERIFIED,
    TASK_CLAIMED,
    TASK_COMPLETED,
    TASK_CREATED,
    TASK_OVERDUE,
    TASK_UPDATED,
    TASK_WITHDRAWN,
)
from contracts.people import Actor
from services.inspection.domain.model import RectificationOrder, Task, TriggerRef, event_id

SERVICE: Final = "inspection"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to publish (its topic and schema version are the catalog's): the task or order
    as the change left it, and `details`, the event's fields that are not theirs."""

    id: str
    type: str
    subject: str
    key: str
    about: Task | RectificationOrder
    details: Mapping[str, Any]
    correlation_id: str
    causation_id: str | None
    time: datetime

    @property
    def topic(self) -> str:
        return spec(self.type).topic.name

    @property
    def data(self) -> BaseModel:
        """The event's data as the catalog's model of its type: the task's or order's fields by
        name (their task force, triggers and findings too), and the details."""
        model = spec(self.type).data
        about = self.about
        fields = {name: getattr(about, name) for name in model.model_fields if hasattr(about, name)}
        if isinstance(about, Task):
            fields["triggers"] = [_ref(ref) for ref in about.triggers]
        # Validated: the contract's own checks (a severity it knows, a consistent completion)
        # hold for every event the rules make.
        return model.model_validate(fields | dict(self.details), from_attributes=True)


def _ref(ref: TriggerRef) -> c.TriggerRef:
    # The contract's fields by name from the value, the ref's id under the contract's name.
    fields = {name: getattr(ref, name) for name in c.TriggerRef.model_fields if name != "id"}
    return c.TriggerRef.model_validate({**fields, "id": ref.ref_id})


def _announce(
    event_type: str,
    about: Task | RectificationOrder,
    now: datetime,
    causation_id: str | None,
    **details: Any,
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
        about=about,
        details=details,
        correlation_id=about.correlation_id,
        causation_id=causation_id,
        time=now,
    )


def task_created(task: Task, now: datetime, causation_id: str | None) -> Outgoing:
    return _announce(TASK_CREATED, task, now, causation_id)


def task_updated(
    task: Task,
    now: datetime,
    causation_id: str,
    *,
    change: str,
    trigger_id: str,
    previous_due_at: datetime | None,
) -> Outgoing:
    return _announce(
        TASK_UPDATED,
        task,
        now,
        causation_id,
        change=change,
        trigger_id=trigger_id,
        previous_due_at=previous_due_at,
    )


def task_claimed(task: Task, now: datetime) -> Outgoing:
    return _announce(TASK_CLAIMED, task, now, None, actor=task.claimed_actor)


def task_completed(task: Task, now: datetime, causation_id: str | None = None) -> Outgoing:
    return _announce(TASK_COMPLETED, task, now, causation_id, actor=task.completed_actor)


def task_overdue(task: Task, now: datetime) -> Outgoing:
    return _announce(TASK_OVERDUE, task, now, None)


def task_withdrawn(task: Task, now: datetime) -> Outgoing:
    return _announce(TASK_WITHDRAWN, task, now, None, reason=task.withdrawal_reason)


def rectification_ordered(order: RectificationOrder, now: datetime, causation_id: str) -> Outgoing:
    return _announce(RECTIFICATION_ORDERED, order, now, causation_id)


def rectification_verified(
    order: RectificationOrder,
    now: datetime,
    *,
    passed: bool,
    by: Actor,
    on_time: bool,
    previous_deadline: datetime | None,
    suspension_lifted: bool,
    note: str | None = None,
    photos: tuple[str, ...] = (),
) -> Outgoing:
    # The check's own verifier and time: the order keeps `verified_by` from a passed one only.
    return _announce(
        RECTIFICATION_VERIFIED,
        order,
        now,
        None,
        passed=passed,
        verified_by=by.subject,
        verified_at=now,
        on_time=on_time,
        previous_deadline=previous_deadline,
        suspension_lifted=suspension_lifted,
        actor=by,
        note=note,
        photos=list(photos),
    )


def rectification_lapsed(order: RectificationOrder, now: datetime) -> Outgoing:
    return _announce(RECTIFICATION_LAPSED, order, now, None, reason=order.lapse_reason)


def rectification_overdue(
    order: RectificationOrder, now: datetime, escalation_task_id: str | None
) -> Outgoing:
    return _announce(RECTIFICATION_OVERDUE, order, now, None, escalation_task_id=escalation_task_id)
