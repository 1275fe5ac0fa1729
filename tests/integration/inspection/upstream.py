"""Events of the services upstream of inspection, built with their contract models as those
services publish them: complaint cases on `complaints.events.v1`, scores on `credit.scores.v1`,
listings on the honour and warning lists on `credit.honours.v1`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.complaints import ComplaintAccepted, ComplaintReceived
from contracts.credit import ScoreChanged
from contracts.envelope import Envelope, make_event
from contracts.events import spec
from contracts.honours import HonourDelisted, HonourListed
from tests.integration.inspection.conftest import Place, minutes_ago


def _case(place: Place, complaint_id: str, category: str, received_at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "version": 1,
        "tracking_code": f"TS{uuid.uuid4().hex[:8].upper()}",
        "state": "received",
        "complainant": {"name": "张*", "phone": "138****5678"},
        "market_id": place.market_id,
        "district": place.district,
        "merchant_id": place.merchant_id,
        "stall_no": place.stall_no,
        "category": category,
        "facts": "买的猪肉有异味",
        "request": "退款并查处",
        "channel": "hotline_12345",
        "occurred_at": received_at - timedelta(hours=2),
        "received_at": received_at,
        "acceptance_deadline": received_at + timedelta(days=9),
        "accepted_at": None,
        "mediation_deadline": None,
        "rejected_at": None,
        "reject_reason": None,
        "closed_at": None,
        "outcome": None,
        "substantiated": None,
        "satisfaction": None,
        "duplicate_of": None,
        "duplicates": [],
        "acceptance_overdue_at": None,
        "mediation_overdue_at": None,
        "handled_by": None,
        "external_ref": None,
    }


def received_event(place: Place, complaint_id: str, category: str) -> Envelope[Any]:
    data = ComplaintReceived.model_validate(_case(place, complaint_id, category, minutes_ago(60)))
    return make_event(
        service="complaints",
        event_type="complaints.complaint.received",
        version=1,
        subject=complaint_id,
        data=data,
        correlation_id=complaint_id,
    )


def accepted_event(
    place: Place, *, category: str, accepted_at: datetime, complaint_id: str | None = None
) -> Envelope[Any]:
    """A `complaints.complaint.accepted` as the complaints service publishes it."""
    complaint_id = complaint_id or f"cmp_{uuid.uuid4().hex[:16]}"
    case = _case(place, complaint_id, category, accepted_at - timedelta(hours=3))
    case |= {
        "version": 2,
        "state": "accepted",
        "accepted_at": accepted_at,
        "mediation_deadline": accepted_at + timedelta(days=63),
        "handled_by": "handler-zhou",
    }
    return make_event(
        service="complaints",
        event_type="complaints.complaint.accepted",
        version=1,
        subject=complaint_id,
        data=ComplaintAccepted.model_validate(case),
        correlation_id=complaint_id,
    )


def score_event(merchant: Place, *, grade: str, version: int, score: int = 55) -> Envelope[Any]:
    data = ScoreChanged(
        merchant_id=merchant.merchant_id,
        market_id=merchant.market_id,
        district=merchant.district,
        version=version,
        score=score,
        grade=grade,
        previous_score=None,
        previous_grade=None,
        policy_version="2026.1",
        reason="fade",
        adjustment=None,
        faded=1,
        changed_at=datetime.now(UTC),
    )
    return make_event(
        service="credit",
        event_type="credit.score.changed",
        version=1,
        subject=merchant.merchant_id,
        data=data,
    )


def honour_event(
    place: Place,
    month: str,
    *,
    listed: bool = True,
    kind: str = "warning",
    entity: str = "merchant",
) -> Envelope[Any]:
    """A `credit.honour.listed` / `.delisted` as the credit service publishes it."""
    event_type = "credit.honour.listed" if listed else "credit.honour.delisted"
    entity_id = place.merchant_id if entity == "merchant" else place.market_id
    common: dict[str, Any] = {
        "drawing_id": str(uuid.uuid4()),
        "month": month,
        "list": kind,
        "entity": entity,
        "entity_id": entity_id,
        "name": "商户",
        "market_id": place.market_id,
        "district": place.district,
        "policy_version": "2026-12",
        "drawn_at": datetime.now(UTC),
    }
    data = (
        HonourListed.model_validate(common | {"reasons": ["critical_findings: 2 in 6 months"]})
        if listed
        else HonourDelisted.model_validate(common)
    )
    return make_event(
        service="credit",
        event_type=event_type,
        version=spec(event_type).version,
        subject=entity_id,
        data=data,
        correlation_id=common["drawing_id"],
    )
