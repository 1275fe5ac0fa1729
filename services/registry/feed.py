"""What the registry takes from `inspection.events.v1`, each event exactly once (inbox):

- `inspection.rectification.ordered` with `suspension: true` for a merchant: the merchant is
  `suspended` (a new `registry.merchant.upserted` snapshot);
- `inspection.rectification.verified` with `suspension_lifted: true`: back to `active` (or
  `licence_expired` if the licence ran out meanwhile) once no other order keeps it suspended;
  a passed verification also resolves the order's public disclosure;
- `inspection.rectification.overdue`: disclosed to the public (`registry.disclosures.v1`).

Other event types, and market-level orders (no merchant) for suspensions, change nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from contracts.inspection import (
    RectificationOrdered,
    RectificationOverdue,
    RectificationVerified,
)
from services.registry.campaign.commands import Campaigns
from services.registry.commands import Registry
from services.registry.metrics import RegistryMetrics
from services.runtime import inbox
from services.runtime.messaging import Delivery, PoisonMessage

log = logging.getLogger(__name__)
CONSUMER = "registry-inspection"
ORDERED = "inspection.rectification.ordered"
VERIFIED = "inspection.rectification.verified"
OVERDUE = "inspection.rectification.overdue"
MODELS: dict[str, Any] = {
    ORDERED: RectificationOrdered,
    VERIFIED: RectificationVerified,
    OVERDUE: RectificationOverdue,
}


def event_type(delivery: Delivery) -> str:
    """The CloudEvents `type`, read before choosing the model to parse the event with."""
    try:
        head = orjson.loads(delivery.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    found = head.get("type") if isinstance(head, dict) else None
    if not isinstance(found, str):
        raise PoisonMessage("type: missing")
    return found


class InspectionFeed:
    def __init__(self, registry: Registry, campaigns: Campaigns, metrics: RegistryMetrics) -> None:
        self.registry, self.campaigns, self.metrics = registry, campaigns, metrics

    async def on_event(self, delivery: Delivery) -> None:
        kind = event_type(delivery)
        model = MODELS.get(kind)
        if model is None:
            return  # tasks and the rest: not the registry's business
        event = delivery.envelope(model)
        async with self.registry.transaction() as store:
            if not await inbox.claim(
                store.conn,
                CONSUMER,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            data = event.data
            if kind == ORDERED and data.suspension and data.merchant_id:
                changed = await self.registry.suspend(
                    store,
                    merchant_id=data.merchant_id,
                    rectification_id=data.rectification_id,
                    task_id=data.task_id,
                )
                if changed is not None:
                    self.metrics.suspensions.labels("suspended").inc()
                    log.info(
                        "merchant suspended",
                        extra={
                            "merchant_id": changed.id,
                            "rectification_id": data.rectification_id,
                        },
                    )
            elif kind == VERIFIED:
                if data.suspension_lifted and data.merchant_id:
                    changed = await self.registry.lift_suspension(
                        store, merchant_id=data.merchant_id, rectification_id=data.rectification_id
                    )
                    if changed is not None:
                        self.metrics.suspensions.labels("lifted").inc()
                        log.info(
                            "merchant suspension lifted",
                            extra={"merchant_id": changed.id, "status": changed.status},
                        )
                await self.campaigns.rectification_verified(store.conn, event)
            elif kind == OVERDUE:
                await self.campaigns.disclose_overdue(store.conn, event)
