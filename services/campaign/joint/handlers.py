"""What an enforcement case may be opened from, learned from other services' topics by one
`EventRouter` each, every event at most once (inbox, in the unit of work that keeps it):

- `inspection.events.v1` `inspection.task.completed`: the task's outcome (a case needs
  `critical`; the others are kept so a refusal can say what the outcome was), its market,
  merchant, district and findings;
- `complaints.events.v1` `complaints.complaint.accepted`: an accepted complaint (a complaint
  referred for a case), its market, merchant, district and category.

Other event types are passed over. Each origin keeps the id and correlation id of the event it
was learned from: a case opened from it is caused by that event and joins its chain.
"""

from __future__ import annotations

from typing import Final

from contracts.complaints import ComplaintAccepted
from contracts.envelope import Envelope
from contracts.inspection import TaskCompleted
from services.campaign.domain.enforcement import Origin
from services.campaign.joint.service import Joint
from services.runtime.messaging import Delivery
from services.runtime.router import EventRouter

INSPECTION_CONSUMER: Final = "campaign-joint-inspection"
COMPLAINTS_CONSUMER: Final = "campaign-joint-complaints"


def finding_origin(event: Envelope[TaskCompleted]) -> Origin:
    task = event.data
    return Origin(
        kind="finding",
        origin_id=task.task_id,
        district=task.district,
        market_id=task.market_id,
        merchant_id=task.merchant_id,
        status=task.outcome,
        event_id=event.id,
        correlation_id=event.correlationid,
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
    return Origin(
        kind="complaint",
        origin_id=case.complaint_id,
        district=case.district,
        market_id=case.market_id,
        merchant_id=case.merchant_id,
        status="accepted",
        event_id=event.id,
        correlation_id=event.correlationid,
        occurred_at=case.accepted_at,
        detail={"category": case.category, "stall_no": case.stall_no},
    )


def inspection_router(joint: Joint) -> EventRouter:
    async def completed(event: Envelope[TaskCompleted], delivery: Delivery) -> None:
        await joint.keep_origin(INSPECTION_CONSUMER, event.id, delivery, finding_origin(event))

    router = EventRouter()
    router.route("inspection.task.completed", completed)
    return router


def complaints_router(joint: Joint) -> EventRouter:
    async def accepted(event: Envelope[ComplaintAccepted], delivery: Delivery) -> None:
        await joint.keep_origin(COMPLAINTS_CONSUMER, event.id, delivery, complaint_origin(event))

    router = EventRouter()
    router.route("complaints.complaint.accepted", accepted)
    return router
