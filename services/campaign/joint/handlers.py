"""What an enforcement case may be opened from, learned from other services' topics by one
`EventRouter` each, every event at most once (inbox, in the unit of work that keeps it):

- `inspection.events.v1` `inspection.task.completed`: the task's outcome (a case needs
  `critical`; the others are kept so a refusal can say what the outcome was), its market,
  merchant, district and findings;
- `inspection.events.v1` `inspection.rectification.lapsed` with reason `finding_corrected`:
  the task's finding was found wrong on the merchant's objection (信用异议), so it grounds no
  case any more;
- `complaints.events.v1` `complaints.complaint.accepted`: an accepted complaint (a complaint
  referred for a case), its market, merchant, district and category.

Other event types are passed over. Each origin keeps the id and correlation id of the event it
was learned from: a case opened from it is caused by that event and joins its chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from contracts.complaints import COMPLAINT_ACCEPTED, ComplaintAccepted
from contracts.envelope import Envelope
from contracts.inspection import (
    RECTIFICATION_LAPSED,
    TASK_COMPLETED,
    RectificationLapsed,
    TaskCompleted,
)
from services.campaign.domain.enforcement import Origin
from services.campaign.joint.service import Joint
from services.runtime.messaging import Delivery
from services.runtime.router import EventRouter

INSPECTION_CONSUMER: Final = "campaign-joint-inspection"
COMPLAINTS_CONSUMER: Final = "campaign-joint-complaints"


def _learned(
    kind: str,
    origin_id: str,
    event: Envelope[Any],
    *,
    status: str,
    occurred_at: datetime,
    detail: dict[str, Any],
) -> Origin:
    """An origin learned from `event`, whose data names its district, market and merchant."""
    place = event.data
    return Origin(
        kind=kind,
        origin_id=origin_id,
        district=place.district,
        market_id=place.market_id,
        merchant_id=place.merchant_id,
        status=status,
        event_id=event.id,
        correlation_id=event.correlationid,
        occurred_at=occurred_at,
        detail=detail,
    )


def finding_origin(event: Envelope[TaskCompleted]) -> Origin:
    task = event.data
    return _learned(
        "finding",
        task.task_id,
        event,
        status=task.outcome,
        occurred_at=task.completed_at,
        detail={
            "reason_kind": task.reason_kind,
            "stall_no": task.stall_no,
            "rectification_id": task.rectification_id,
            "findings": [
                {"code": f.code, "severity": f.severity, "title_zh": f.title_zh, "note": f.note}
                for f in task.findings
            ],
        },
    )


def complaint_origin(event: Envelope[ComplaintAccepted]) -> Origin:
    case = event.data
    return _learned(
        "complaint",
        case.complaint_id,
        event,
        status="accepted",
        occurred_at=case.accepted_at,
        detail={"category": case.category, "stall_no": case.stall_no},
    )


def _origins_router(
    joint: Joint, consumer: str, event_type: str, origin: Callable[[Envelope[Any]], Origin]
) -> EventRouter:
    """A router keeping, once per `consumer`, the origin each `event_type` event tells of."""

    async def keep(event: Envelope[Any], delivery: Delivery) -> None:
        await joint.keep_origin(consumer, event.id, delivery, origin(event))

    return EventRouter({event_type: keep})


def inspection_router(joint: Joint) -> EventRouter:
    router = _origins_router(joint, INSPECTION_CONSUMER, TASK_COMPLETED, finding_origin)

    async def lapsed(event: Envelope[RectificationLapsed], delivery: Delivery) -> None:
        order = event.data
        if order.reason == "finding_corrected":
            await joint.finding_found_wrong(
                INSPECTION_CONSUMER, event.id, delivery, order.task_id, order.lapsed_at
            )

    router.route(RECTIFICATION_LAPSED, lapsed)
    return router


def complaints_router(joint: Joint) -> EventRouter:
    return _origins_router(joint, COMPLAINTS_CONSUMER, COMPLAINT_ACCEPTED, complaint_origin)
