"""The Kafka side of complaints: one router per consumed topic, each route turning an event into
a use-case call (service.py)."""

from __future__ import annotations

from contracts.complaints import INTAKE_SUBMITTED, ComplaintSubmitted
from contracts.envelope import Envelope
from contracts.inspection import TASK_COMPLETED, TaskCompleted
from services.complaints.service import Complaints
from services.runtime.failures import InvalidInput
from services.runtime.messaging import Delivery, PoisonMessage
from services.runtime.router import EventRouter


def intake_router(complaints: Complaints) -> EventRouter:
    """`complaints.intake.v1`: integrators' channels (the 12345 hotline ...)."""

    async def submitted(event: Envelope[ComplaintSubmitted], _: Delivery) -> None:
        # A complaint that breaks the rules is parked on the DLQ with the field and the reason;
        # nothing is stored.
        try:
            await complaints.intake(event.data, event.id)
        except InvalidInput as exc:
            raise PoisonMessage(exc.message) from exc

    return EventRouter({INTAKE_SUBMITTED: submitted})


def inspection_router(complaints: Complaints) -> EventRouter:
    """`inspection.events.v1`: what inspections of a complaint found."""

    async def completed(event: Envelope[TaskCompleted], _: Delivery) -> None:
        await complaints.inspected(event.data)

    return EventRouter({TASK_COMPLETED: completed})
