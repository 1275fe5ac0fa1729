"""Other services' events about merchant mer_1 of market mkt_1, as their contract models: what
credit's facts, use cases and store suites are fed (a completed task, a rectification order
verified or overdue, a closed complaint, a merchant's snapshot, an enforcement case); and the
campaign's envelopes about a place provisioned on the stack (a decided case, a market's duties),
as credit's integration suites and the other consumers of those topics are fed them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contracts.complaints import ComplaintClosed
from contracts.duties import DutiesUpdated
from contracts.envelope import Envelope, make_event
from contracts.events import spec
from contracts.inspection import (
    RectificationLapsed,
    RectificationOverdue,
    RectificationVerified,
    TaskCompleted,
)
from contracts.joint import EnforcementDecided
from contracts.objections import ObjectionDecided
from contracts.registry import MerchantUpserted

if TYPE_CHECKING:
    from tests.support.city import Place

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
D = timedelta(days=1)
# After the policy that scores enforcement sanctions came into force (2026-12).
DECEMBER = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)

FINDINGS = {
    "minor": {"code": "HYG-01", "group": "hygiene", "severity": "minor"},
    "major": {"code": "CCH-01", "group": "cold_chain", "severity": "major"},
    "critical": {"code": "LIC-01", "group": "licence", "severity": "critical"},
}


def finding(severity: str) -> dict[str, Any]:
    return {**FINDINGS[severity], "title_zh": "问题", "title_en": "problem", "note": ""}


def trigger(
    kind: str = "risk", category: str = "food_safety", ref: str = "risk_1"
) -> dict[str, Any]:
    risk = kind == "risk"
    rule = "cold_chain_excursion" if category == "food_safety" else "crowding"
    return {
        "kind": kind,
        "id": ref,
        "event_ids": [f"ev_{ref}"],
        "category": category,
        "rule": rule if risk else None,
        "severity": "major" if risk else None,
        "terminal_id": "trm_1" if risk else None,
        "attached_at": T0.isoformat(),
    }


def task_completed(
    outcome: str = "major",
    *,
    triggers: list[dict[str, Any]] | None = None,
    reason_kind: str = "risk",
    merchant_id: str | None = "mer_1",
) -> TaskCompleted:
    findings = [] if outcome == "pass" else [finding(outcome)]
    reinspection = reason_kind == "reinspection"
    return TaskCompleted.model_validate(
        {
            "task_id": "tsk_1",
            "version": 3,
            "reason_kind": reason_kind,
            "state": "completed",
            "market_id": "mkt_1",
            "district": "zhifu",
            "merchant_id": merchant_id,
            "stall_no": "A-12" if merchant_id else None,
            "task_force": None,
            "triggers": [trigger()] if triggers is None else triggers,
            "reinspection_of": "rec_0" if reinspection else None,
            "created_at": T0.isoformat(),
            "due_at": (T0 + 4 * timedelta(hours=1)).isoformat(),
            "assignee": "inspector-li",
            "claimed_at": T0.isoformat(),
            "overdue_at": None,
            "outcome": outcome,
            "findings": findings,
            "departments": ["market_regulation"],
            "completed_by": "inspector-li",
            "completed_at": (T0 + D).isoformat(),
            "rectification_id": None if outcome == "pass" or reinspection else "rec_1",
        }
    )


def order(**changes: Any) -> dict[str, Any]:
    return {
        "rectification_id": "rec_1",
        "version": 2,
        "task_id": "tsk_1",
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": "mer_1",
        "stall_no": "A-12",
        "severity": "major",
        "findings": [finding("major")],
        "state": "open",
        "ordered_at": T0.isoformat(),
        "deadline": (T0 + 3 * D).isoformat(),
        "suspension": False,
        "failed_verifications": 0,
        "reinspection_task_id": "tsk_2",
        "overdue_at": None,
        **changes,
    }


def verified(*, passed: bool = True, on_time: bool = True, merchant: str | None = "mer_1") -> Any:
    return RectificationVerified.model_validate(
        order(
            merchant_id=merchant,
            state="verified" if passed else "open",
            passed=passed,
            verified_by="inspector-li",
            verified_at=(T0 + 2 * D).isoformat(),
            on_time=on_time,
            previous_deadline=(T0 + 3 * D).isoformat(),
            suspension_lifted=False,
        )
    )


def lapsed() -> RectificationLapsed:
    """The order after its merchant left its stall (退出经营)."""
    return RectificationLapsed.model_validate(
        order(
            version=3,
            state="lapsed",
            reinspection_task_id=None,
            lapsed_at=(T0 + 2 * D).isoformat(),
            reason="merchant_left",
        )
    )


def overdue(merchant: str | None = "mer_1") -> RectificationOverdue:
    return RectificationOverdue.model_validate(
        order(
            merchant_id=merchant,
            overdue_at=(T0 + 3 * D).isoformat(),
            escalation_task_id=None,
        )
    )


def complaint_closed(
    *, substantiated: bool = True, duplicate_of: str | None = None, merchant: str | None = "mer_1"
) -> ComplaintClosed:
    return ComplaintClosed.model_validate(
        {
            "complaint_id": "cmp_1",
            "version": 4,
            "tracking_code": "TS-0001",
            "state": "closed",
            "complainant": {"name": "张*", "phone": "138****5678"},
            "market_id": "mkt_1",
            "district": "zhifu",
            "merchant_id": merchant,
            "stall_no": "A-12" if merchant else None,
            "category": "short_weight",
            "facts": "500 g sold as 1 kg",
            "request": "refund",
            "channel": "web",
            "occurred_at": None,
            "received_at": T0.isoformat(),
            "acceptance_deadline": (T0 + 9 * D).isoformat(),
            "accepted_at": (T0 + D).isoformat(),
            "mediation_deadline": (T0 + 60 * D).isoformat(),
            "rejected_at": None,
            "reject_reason": None,
            "closed_at": (T0 + 5 * D).isoformat(),
            "outcome": "refunded",
            "substantiated": substantiated,
            "satisfaction": 4,
            "duplicate_of": duplicate_of,
            "duplicates": [],
            "acceptance_overdue_at": None,
            "mediation_overdue_at": None,
            "handled_by": "handler-wang",
            "external_ref": None,
            "within_limit": True,
        }
    )


def merchant(status: str = "active", *, updated_at: datetime = T0) -> MerchantUpserted:
    return MerchantUpserted(
        version=2,
        updated_at=updated_at,
        merchant_id="mer_1",
        name="老王海鲜",
        market_id="mkt_1",
        district="zhifu",
        stall_no="A-12",
        credit_code="91370602MA3C000000",
        food_licence="JY13706020000001",
        licence_valid_until=date(2026, 4, 30),
        categories=["seafood"],
        status=status,
    )


def case(
    sanction: str = "fine",
    *,
    state: str = "decided",
    merchant_id: str | None = "mer_1",
    decided_at: datetime = DECEMBER,
    origin: str = "complaint",
    case_id: str = "case_1",
) -> dict[str, Any]:
    """An enforcement case as the campaign service publishes it (`data` of its events)."""
    amounts: dict[str, Any] = {
        "warning": {},
        "fine": {"fine_fen": 500_000},
        "suspension": {"suspension_days": 15},
    }[sanction]
    decided = state != "open"
    return {
        "case_id": case_id,
        "version": {"open": 1, "decided": 2, "closed": 3}[state],
        "state": state,
        "district": "zhifu",
        "market_id": "mkt_1",
        "merchant_id": merchant_id,
        "origin": {"kind": origin, "id": "cmp_9" if origin == "complaint" else "tsk_9"},
        "departments": ["market_regulation", "health"],
        "facts": "销售过期肉品",
        "decision": {
            "sanction": sanction,
            **amounts,
            "reasoning": "《食品安全法》第一百二十四条",
            "decided_on": decided_at.date().isoformat(),
        }
        if decided
        else None,
        "closing_note": "罚款已缴清" if state == "closed" else None,
        "opened_at": (decided_at - timedelta(days=3)).isoformat(),
        "decided_at": decided_at.isoformat() if decided else None,
        "closed_at": (decided_at + timedelta(days=1)).isoformat() if state == "closed" else None,
    }


def decided(sanction: str = "fine", **kw: Any) -> EnforcementDecided:
    """A decided enforcement case (`case`) as the contract model."""
    return EnforcementDecided.model_validate(case(sanction, **kw))


# -- campaign's events at a provisioned place, as the campaign service publishes them --------------


def decided_event(
    place: Place,
    sanction: str,
    *,
    case_id: str | None = None,
    merchant: bool = True,
    root: str | None = None,
) -> Envelope[Any]:
    """A `campaign.enforcement.decided` as the campaign service publishes it."""
    case_id = case_id or f"case_{uuid.uuid4().hex[:12]}"
    data = EnforcementDecided.model_validate(
        case(sanction, case_id=case_id, decided_at=datetime.now(UTC))
        | {
            "market_id": place.market_id,
            "district": place.district,
            "merchant_id": place.merchant_id if merchant else None,
        }
    )
    return make_event(
        service="campaign",
        event_type="campaign.enforcement.decided",
        version=spec("campaign.enforcement.decided").version,
        subject=case_id,
        data=data,
        correlation_id=root or case_id,
    )


def duties_event(
    place: Place,
    *,
    self_inspection: float | None,
    reports: float | None,
    certified: float | None,
    as_of: date | None = None,
    updated_at: datetime | None = None,
) -> Envelope[Any]:
    """A `campaign.duties.updated` for the place's market, as the campaign service sends it."""
    data = DutiesUpdated(
        market_id=place.market_id,
        district=place.district,
        as_of=as_of or datetime.now(UTC).date(),
        window_days=30,
        opening_days=20,
        self_inspected_days=round(20 * (self_inspection or 0)),
        self_inspection_rate=self_inspection,
        open_follow_ups=0,
        reports_due=2,
        reports_late=2 - round(2 * (reports or 0)),
        report_on_time_rate=reports,
        managers=4,
        managers_certified=round(4 * (certified or 0)),
        certified_share=certified,
        updated_at=updated_at or datetime.now(UTC),
    )
    return make_event(
        service="campaign",
        event_type="campaign.duties.updated",
        version=spec("campaign.duties.updated").version,
        subject=place.market_id,
        data=data,
    )


def objection_decided_event(place: Place, decision: str = "upheld") -> Envelope[Any]:
    """A `credit.objection.decided` as credit publishes it (and reads back), about a major
    finding of the place's merchant."""
    now = datetime.now(UTC)
    objection_id = f"obj_{uuid.uuid4().hex[:12]}"
    data = ObjectionDecided.model_validate(
        {
            "objection_id": objection_id,
            "merchant_id": place.merchant_id,
            "market_id": place.market_id,
            "district": place.district,
            "disputed": {
                "event_id": f"ev_{uuid.uuid4().hex[:12]}",
                "kind": "inspection.finding.major",
                "delta": -15,
                "occurred_at": (now - timedelta(days=3)).isoformat(),
                "fades_at": (now + timedelta(days=362)).isoformat(),
            },
            "decision": decision,
            "reasoning": "复核无误",
            "decided_at": now.isoformat(),
            "actor": {"subject": "c-zhou", "name": "周登记"},
        }
    )
    return make_event(
        service="credit",
        event_type="credit.objection.decided",
        version=spec("credit.objection.decided").version,
        subject=place.merchant_id,
        data=data,
    )
