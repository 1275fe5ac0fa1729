"""What an enforcement case may be opened from, learned from other services' topics, each event at
most once (inbox, in the transaction that keeps it):

- `inspection.events.v1` `inspection.task.completed`: the task's outcome (a case needs
  `critical`; the others are kept so a refusal can say what the outcome was), its market,
  merchant, district and findings;
- `complaints.events.v1` `complaints.complaint.accepted`: an accepted complaint (a complaint
  referred for a case), its market, merchant, district and category.

Other event types are ignored. Each origin keeps the id and correlation id of the event it was
learned from: a case opened from it is caused by that event and joins its chain.
"""

from __future__ import annotations

import logging
from typing import Final

from contracts.complaints import ComplaintAccepted
from contracts.inspection import TaskCompleted
from services.campaign.domain.enforcement import Origin
from services.campaign.joint.store import JointStore
from services.runtime import inbox
from services.runtime.app import Service
from services.runtime.messaging import Delivery

log = logging.getLogger(__name__)
INSPECTION_CONSUMER: Final = "campaign-joint-inspection"
COMPLAINTS_CONSUMER: Final = "campaign-joint-complaints"
TASK_COMPLETED: Final = "inspection.task.completed"
COMPLAINT_ACCEPTED: Final = "complaints.complaint.accepted"


class Origins:
    def __init__(self, service: Service) -> None:
        self.service = service

    async def _keep(self, consumer: str, delivery: Delivery, event_id: str, origin: Origin) -> None:
        async with self.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                consumer,
                event_id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            await JointStore(conn).upsert_origin(origin)
        log.debug(
            "enforcement origin kept",
            extra={"origin": f"{origin.kind}:{origin.origin_id}", "status": origin.status},
        )

    async def on_inspection(self, delivery: Delivery) -> None:
        if delivery.event_type() != TASK_COMPLETED:
            return
        event = delivery.envelope(TaskCompleted)
        task = event.data
        origin = Origin(
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
                    {
                        "code": f.code,
                        "severity": f.severity,
                        "title_zh": f.title_zh,
                        "note": f.note,
                    }
                    for f in task.findings
                ],
            },
        )
        await self._keep(INSPECTION_CONSUMER, delivery, event.id, origin)

    async def on_complaint(self, delivery: Delivery) -> None:
        if delivery.event_type() != COMPLAINT_ACCEPTED:
            return
        event = delivery.envelope(ComplaintAccepted)
        case = event.data
        origin = Origin(
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
        await self._keep(COMPLAINTS_CONSUMER, delivery, event.id, origin)
