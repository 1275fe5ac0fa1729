"""What the registry takes from other services' topics, each event exactly once (inbox).

From `inspection.events.v1` (`InspectionFeed`):

- `inspection.rectification.ordered` with `suspension: true` for a merchant: the merchant is
  `suspended` (a new `registry.merchant.upserted` snapshot);
- `inspection.rectification.verified` with `suspension_lifted: true`: back to `active` (or
  `licence_expired` if the licence ran out meanwhile) once no other order keeps it suspended.

Other event types, and market-level orders (no merchant), change nothing. (Disclosing overdue
rectifications is the campaign service's business now.)

From `registry.campaign.v1`, the campaign service's topic (`RenovationFeed`):

- `registry.renovation.upserted`: the market's `renovation_status` follows the stages of its
  renovation projects (a new `registry.market.upserted` snapshot when it changes).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from contracts.campaign import RenovationUpserted
from contracts.inspection import RectificationOrdered, RectificationVerified
from services.registry.commands import Registry
from services.registry.metrics import RegistryMetrics
from services.runtime import inbox
from services.runtime.messaging import Delivery, PoisonMessage

log = logging.getLogger(__name__)
CONSUMER = "registry-inspection"
RENOVATIONS = "registry-renovations"
ORDERED = "inspection.rectification.ordered"
VERIFIED = "inspection.rectification.verified"
RENOVATION = "registry.renovation.upserted"
MODELS: dict[str, Any] = {ORDERED: RectificationOrdered, VERIFIED: RectificationVerified}


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
    def __init__(self, registry: Registry, metrics: RegistryMetrics) -> None:
        self.registry, self.metrics = registry, metrics

    async def on_event(self, delivery: Delivery) -> None:
        kind = event_type(delivery)
        model = MODELS.get(kind)
        if model is None:
            return  # tasks and the rest: not the registry's business
        event = delivery.envelope(model)
        data = event.data
        if not data.merchant_id or not (
            (kind == ORDERED and data.suspension) or (kind == VERIFIED and data.suspension_lifted)
        ):
            return  # no suspension to set or lift
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
            if kind == ORDERED:
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
            else:
                changed = await self.registry.lift_suspension(
                    store, merchant_id=data.merchant_id, rectification_id=data.rectification_id
                )
                if changed is not None:
                    self.metrics.suspensions.labels("lifted").inc()
                    log.info(
                        "merchant suspension lifted",
                        extra={"merchant_id": changed.id, "status": changed.status},
                    )


class RenovationFeed:
    def __init__(self, registry: Registry, metrics: RegistryMetrics) -> None:
        self.registry, self.metrics = registry, metrics

    async def on_event(self, delivery: Delivery) -> None:
        if event_type(delivery) != RENOVATION:
            return  # campaigns and milestones: the campaign's own business
        event = delivery.envelope(RenovationUpserted)
        project = event.data
        async with self.registry.transaction() as store:
            if not await inbox.claim(
                store.conn,
                RENOVATIONS,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            changed = await self.registry.follow_renovation(
                store,
                project_id=project.project_id,
                market_id=project.market_id,
                stage=project.stage,
                version=project.version,
            )
        if changed is not None:
            self.metrics.renovation_statuses.labels(changed.renovation_status).inc()
            log.info(
                "market renovation status changed",
                extra={"market_id": changed.id, "renovation_status": changed.renovation_status},
            )
