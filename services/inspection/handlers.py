"""The Kafka side: one `EventRouter` per consumed topic, each route turning an event into a
use-case call (services/inspection/service.py). Types a router has no route for are another
consumer's business and are passed over (services/runtime/router.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts import topics
from contracts.campaign import RENOVATION_CHECK_FAILED, RenovationCheckFailed
from contracts.complaints import COMPLAINT_ACCEPTED, ComplaintAccepted
from contracts.credit import SCORE_CHANGED, ScoreChanged
from contracts.envelope import Envelope
from contracts.honours import HONOUR_DELISTED, HONOUR_LISTED, HonourDelisted, HonourListed
from contracts.objections import FINDING_KINDS, OBJECTION_DECIDED, ObjectionDecided
from contracts.registry import MARKET_UPSERTED, MarketUpserted, MerchantUpserted
from contracts.telemetry import (
    RISK_ACKNOWLEDGED,
    RISK_CLEARED,
    RISK_ESCALATED,
    RISK_RAISED,
    RiskAcknowledged,
    RiskCleared,
    RiskEscalated,
    RiskRaised,
)
from services.inspection.domain import ComplaintTrigger, RenovationTrigger, RiskTrigger
from services.inspection.service import InspectionService
from services.runtime import serial
from services.runtime.messaging import Delivery
from services.runtime.router import EventRouter

RISKS_CONSUMER = "inspection-risks"
COMPLAINTS_CONSUMER = "inspection-complaints"
RENOVATIONS_CONSUMER = "inspection-renovations"
RISK_TYPES = (
    RISK_RAISED,
    RISK_ESCALATED,
    RISK_CLEARED,
    RISK_ACKNOWLEDGED,
)
RiskEvent = RiskRaised | RiskEscalated | RiskCleared | RiskAcknowledged


def risk_trigger(event: Envelope[Any]) -> RiskTrigger:
    data: RiskEvent = event.data
    # Due dates count from when it happened (event time), not from when we got to it.
    if isinstance(data, RiskEscalated):
        at = data.evidence.last_ts
    elif isinstance(data, RiskCleared):
        at = data.cleared_at
    elif isinstance(data, RiskAcknowledged):
        at = data.acknowledged_at
    else:
        at = data.raised_at
    transition = event.type.rsplit(".", 1)[1]
    return serial.into(RiskTrigger, data, event_id=event.id, transition=transition, at=at)


def complaint_trigger(event: Envelope[ComplaintAccepted]) -> ComplaintTrigger:
    data = event.data
    # The SLA counts from the acceptance: the regulator is on notice from then.
    return serial.into(ComplaintTrigger, data, event_id=event.id, at=data.accepted_at)


def renovation_trigger(event: Envelope[RenovationCheckFailed]) -> RenovationTrigger:
    data, check = event.data, event.data.check
    return serial.into(
        RenovationTrigger,
        data,
        check_id=check.check_id,
        event_id=event.id,
        correlation_id=event.correlationid,
        check_kind=check.kind,
        at=check.recorded_at,
    )


class Handlers:
    def __init__(self, service: InspectionService) -> None:
        self.service = service

    async def on_risk(self, event: Envelope[Any], delivery: Delivery) -> None:
        await self.service.trigger(risk_trigger(event), delivery, RISKS_CONSUMER, "risk")

    async def on_complaint(self, event: Envelope[Any], delivery: Delivery) -> None:
        """Only an accepted complaint asks for an inspection (received, rejected, closed and
        overdue ones do not)."""
        trigger = complaint_trigger(event)
        await self.service.trigger(trigger, delivery, COMPLAINTS_CONSUMER, "complaint")

    async def on_check_failed(self, event: Envelope[Any], delivery: Delivery) -> None:
        """A failed renovation check opens (or joins) the market's `renovation` task."""
        trigger = renovation_trigger(event)
        await self.service.trigger(trigger, delivery, RENOVATIONS_CONSUMER, "renovation")

    async def on_score(self, event: Envelope[Any], _: Delivery) -> None:
        data: ScoreChanged = event.data
        await self.service.regrade(data.merchant_id, data.grade, data.version)

    async def on_honour(self, event: Envelope[Any], delivery: Delivery) -> None:
        """`credit.honours.v1`: the month's warning list (黑榜) of merchants; honours and markets'
        lists change no patrol."""
        data: HonourListed | HonourDelisted = event.data
        if data.entity != "merchant" or data.list != "warning":
            return
        await self.service.warning_list(
            data.entity_id,
            data.month,
            listed=isinstance(data, HonourListed),
            event_id=event.id,
            delivery=delivery,
        )

    async def on_objection(self, event: Envelope[Any], delivery: Delivery) -> None:
        """`credit.objections.v1`: an inspection's finding the district decided `corrected` (the
        record was wrong). The envelope's chain and the disputed entry's instant name the
        inspection; an upheld objection, a repair (the record was right) or another entry's
        correction changes no order."""
        data: ObjectionDecided = event.data
        if data.decision != "corrected" or data.disputed.kind not in FINDING_KINDS:
            return
        await self.service.finding_corrected(
            data.merchant_id,
            chain=event.correlationid,
            found_at=data.disputed.occurred_at,
            event_id=event.id,
            delivery=delivery,
        )

    async def on_market(self, event: Envelope[Any], _: Delivery) -> None:
        data: MarketUpserted = event.data
        await self.service.market_seen(data)

    async def on_merchants(self, deliveries: Sequence[Delivery]) -> None:
        """The merchants view takes a batch in one unit of work (a new replica reads a city's
        merchants before it is ready)."""
        await self.service.merchants_seen([d.envelope(MerchantUpserted).data for d in deliveries])

    def routers(self) -> dict[str, EventRouter]:
        """The router of each consumed topic, by topic name."""
        risks = EventRouter(dict.fromkeys(RISK_TYPES, self.on_risk))
        complaints = EventRouter({COMPLAINT_ACCEPTED: self.on_complaint})
        campaign = EventRouter({RENOVATION_CHECK_FAILED: self.on_check_failed})
        scores = EventRouter({SCORE_CHANGED: self.on_score})
        honours = EventRouter({HONOUR_LISTED: self.on_honour, HONOUR_DELISTED: self.on_honour})
        markets = EventRouter({MARKET_UPSERTED: self.on_market})
        objections = EventRouter({OBJECTION_DECIDED: self.on_objection})
        return {
            topics.TELEMETRY_RISKS.name: risks,
            topics.COMPLAINTS_EVENTS.name: complaints,
            topics.REGISTRY_CAMPAIGN.name: campaign,
            topics.CREDIT_SCORES.name: scores,
            topics.CREDIT_HONOURS.name: honours,
            topics.REGISTRY_MARKETS.name: markets,
            topics.CREDIT_OBJECTIONS.name: objections,
        }
