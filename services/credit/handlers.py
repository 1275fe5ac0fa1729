"""The Kafka side of credit: one router per consumed topic, each route turning an event into a
use-case call (service.py). The cause every adjustment names (EventMeta) is read here: the event's
ids and where Kafka delivered it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from contracts.complaints import (
    COMPLAINT_ACCEPTED,
    COMPLAINT_CLOSED,
    COMPLAINT_OVERDUE,
    COMPLAINT_RECEIVED,
    COMPLAINT_REJECTED,
    COMPLAINT_TRANSFERRED,
)
from contracts.duties import DUTIES_UPDATED, DutiesUpdated
from contracts.envelope import Envelope
from contracts.inspection import (
    RECTIFICATION_LAPSED,
    RECTIFICATION_ORDERED,
    RECTIFICATION_OVERDUE,
    RECTIFICATION_VERIFIED,
    TASK_COMPLETED,
)
from contracts.joint import ENFORCEMENT_DECIDED
from contracts.objections import OBJECTION_DECIDED
from contracts.registry import MERCHANT_UPSERTED, MerchantUpserted
from contracts.telemetry import RISK_CLEARED, RISK_ESCALATED, RISK_RAISED
from services.credit.domain import EventMeta
from services.credit.metrics import CreditMetrics
from services.credit.service import Credit, MerchantSnapshot
from services.runtime.messaging import BatchHandler, Delivery
from services.runtime.router import EventRouter, delivery_type

INSPECTION_TYPES = (
    TASK_COMPLETED,
    RECTIFICATION_ORDERED,
    RECTIFICATION_VERIFIED,
    RECTIFICATION_OVERDUE,
    # No fact: the public page lists the order open no more.
    RECTIFICATION_LAPSED,
)
COMPLAINT_TYPES = (
    COMPLAINT_RECEIVED,
    COMPLAINT_ACCEPTED,
    COMPLAINT_REJECTED,
    COMPLAINT_TRANSFERRED,
    COMPLAINT_CLOSED,
    COMPLAINT_OVERDUE,
)
ENFORCEMENT_TYPES = (ENFORCEMENT_DECIDED,)
# A use case that reads an event of the ledger: its type, data, cause and delivery.
LedgerUseCase = Callable[[str, Any, EventMeta, Delivery], Awaitable[None]]
RISK_TYPES = (RISK_RAISED, RISK_ESCALATED, RISK_CLEARED)


def meta(event: Envelope[Any], delivery: Delivery) -> EventMeta:
    return EventMeta.of(event, delivery.topic, delivery.partition, delivery.offset)


class Counted:
    """A router that counts the events of the types it passes over as `ignored` (the credit
    events metric has always shown what a topic carried that credit does not read)."""

    def __init__(self, router: EventRouter, metrics: CreditMetrics) -> None:
        self.router, self.metrics = router, metrics
        self.__name__ = "router"

    async def __call__(self, delivery: Delivery) -> None:
        if delivery_type(delivery) not in self.router.types():
            self.metrics.events.labels(delivery.topic, "ignored").inc()
            return
        await self.router(delivery)


def _ledger_router(credit: Credit, types: tuple[str, ...], use_case: LedgerUseCase) -> Counted:
    async def handle(event: Envelope[Any], delivery: Delivery) -> None:
        await use_case(event.type, event.data, meta(event, delivery), delivery)

    router = EventRouter(dict.fromkeys(types, handle))
    return Counted(router, credit.metrics)


def inspection_router(credit: Credit) -> Counted:
    """`inspection.events.v1`: outcomes and rectification orders."""
    return _ledger_router(credit, INSPECTION_TYPES, credit.inspected)


def complaints_router(credit: Credit) -> Counted:
    """`complaints.events.v1`: each complaint's lifecycle."""
    return _ledger_router(credit, COMPLAINT_TYPES, credit.complained)


# The snapshots of the batch being read. The router is built once, at wiring time, and its route
# appends to the list of the batch at hand; a context variable rather than the handler's own
# attribute, so that two batches handled at once (two tasks) could never mix their snapshots.
_batch: ContextVar[list[MerchantSnapshot]] = ContextVar("credit_merchants_batch")


def merchants_batches(credit: Credit) -> BatchHandler:
    """`registry.merchants.v1`: the merchants' snapshots, a batch in one unit of work (a new
    deployment or a rebuild reads the city's merchants whole). Each delivery goes through the
    router as on any topic: parsed with its type's model, passed over when of another type."""

    async def take(event: Envelope[MerchantUpserted], delivery: Delivery) -> None:
        _batch.get().append(MerchantSnapshot(event.data, meta(event, delivery), delivery))

    router = EventRouter({MERCHANT_UPSERTED: take})

    async def upserted(deliveries: Sequence[Delivery]) -> None:
        taken: list[MerchantSnapshot] = []
        reading = _batch.set(taken)
        try:
            for delivery in deliveries:
                await router(delivery)
        finally:
            _batch.reset(reading)
        await credit.merchants_changed(taken)

    return upserted


def risks_router(credit: Credit) -> EventRouter:
    """`telemetry.risks.v1`: context only."""

    async def risk(event: Envelope[Any], _: Delivery) -> None:
        await credit.risk_seen(event.data)

    return EventRouter(dict.fromkeys(RISK_TYPES, risk))


def enforcement_router(credit: Credit) -> Counted:
    """`campaign.enforcement.v1`: opened and closed cases change nothing in credit, the decision
    is what is scored."""
    return _ledger_router(credit, ENFORCEMENT_TYPES, credit.enforcement_decided)


def duties_router(credit: Credit) -> Counted:
    """`campaign.duties.v1`: the markets' standing on their duties."""

    async def updated(event: Envelope[DutiesUpdated], delivery: Delivery) -> None:
        await credit.duties_updated(event.data, delivery.topic)

    router = EventRouter({DUTIES_UPDATED: updated})
    return Counted(router, credit.metrics)


def objections_router(credit: Credit) -> Counted:
    """`credit.objections.v1`, credit's own: a decided objection's correction reaches the ledger
    from the topic, so that a rebuild finds it too; a filing changes nothing there."""
    return _ledger_router(credit, (OBJECTION_DECIDED,), credit.objection_decided)
