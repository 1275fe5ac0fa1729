"""What the registry takes from other services' topics, each event once (the use cases claim it
in the inbox of their unit of work).

From `inspection.events.v1` (`inspection_events`):

- `inspection.rectification.ordered` with `suspension: true` for a merchant: the merchant is
  `suspended` (a new `registry.merchant.upserted` snapshot);
- `inspection.rectification.verified` with `suspension_lifted: true`: back to `active` (or
  `licence_expired` if the licence ran out meanwhile) once no other order keeps it suspended;
- `inspection.rectification.lapsed` of an order with `suspension: true`: the same (its finding
  was found wrong, `finding_corrected`; a merchant who left stays `left`).

Each of these snapshots joins the order's chain (its `correlationid`), so what it costs the
merchant's credit is of the order's story. Other event types, and market-level orders (no
merchant), change nothing. (Disclosing overdue
rectifications is the campaign service's business.)

From `registry.campaign.v1`, the campaign service's topic (`campaign_events`):

- `registry.renovation.upserted`: the market's `renovation_status` follows the stages of its
  renovation projects (a new `registry.market.upserted` snapshot when it changes).
"""

from __future__ import annotations

import logging

from contracts.campaign import RENOVATION_UPSERTED, RenovationUpserted
from contracts.envelope import Envelope
from contracts.inspection import (
    RECTIFICATION_LAPSED,
    RECTIFICATION_ORDERED,
    RECTIFICATION_VERIFIED,
    RectificationLapsed,
    RectificationOrdered,
    RectificationVerified,
)
from services.registry.domain.model import Merchant
from services.registry.metrics import RegistryMetrics
from services.registry.service import Claim, Registry
from services.runtime.messaging import Delivery
from services.runtime.router import EventRouter

log = logging.getLogger(__name__)
CONSUMER = "registry-inspection"
RENOVATIONS = "registry-renovations"


def inspection_events(registry: Registry, metrics: RegistryMetrics) -> EventRouter:
    def note(changed: Merchant | None, label: str, message: str, rectification_id: str) -> None:
        # Counted and logged only when the merchant's status changed.
        if changed is not None:
            metrics.suspensions.labels(label).inc()
            about = {"merchant_id": changed.id, "rectification_id": rectification_id}
            log.info(message, extra={**about, "status": changed.status})

    async def ordered(event: Envelope[RectificationOrdered], delivery: Delivery) -> None:
        data = event.data
        if not (data.merchant_id and data.suspension):
            return  # no suspension to set
        changed = await registry.suspend(
            merchant_id=data.merchant_id,
            rectification_id=data.rectification_id,
            task_id=data.task_id,
            claim=Claim(CONSUMER, event.id, delivery),
            chain=event.correlationid,
        )
        note(changed, "suspended", "merchant suspended", data.rectification_id)

    async def ended(
        event: Envelope[RectificationVerified | RectificationLapsed], delivery: Delivery
    ) -> None:
        data = event.data
        # A passed re-inspection lifts it; so does an order's lapse, which ends the order.
        lifts = (
            data.suspension_lifted if isinstance(data, RectificationVerified) else data.suspension
        )
        if not (data.merchant_id and lifts):
            return  # no suspension to lift
        changed = await registry.lift_suspension(
            merchant_id=data.merchant_id,
            rectification_id=data.rectification_id,
            claim=Claim(CONSUMER, event.id, delivery),
            chain=event.correlationid,
        )
        note(changed, "lifted", "merchant suspension lifted", data.rectification_id)

    return EventRouter(
        {RECTIFICATION_ORDERED: ordered, RECTIFICATION_VERIFIED: ended, RECTIFICATION_LAPSED: ended}
    )


def campaign_events(registry: Registry, metrics: RegistryMetrics) -> EventRouter:
    async def renovation(event: Envelope[RenovationUpserted], delivery: Delivery) -> None:
        project = event.data
        changed = await registry.follow_renovation(
            project_id=project.project_id,
            market_id=project.market_id,
            stage=project.stage,
            version=project.version,
            claim=Claim(RENOVATIONS, event.id, delivery),
        )
        if changed is not None:
            metrics.renovation_statuses.labels(changed.renovation_status).inc()
            log.info(
                "market renovation status changed",
                extra={"market_id": changed.id, "renovation_status": changed.renovation_status},
            )

    return EventRouter({RENOVATION_UPSERTED: renovation})
