"""The registry's routers turn other services' events into use-case calls, each event once; other
types and orders without a merchant's suspension change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.envelope import CONTENT_TYPE, Envelope
from contracts.inspection import (
    Finding,
    RectificationLapsed,
    RectificationOrdered,
    RectificationVerified,
)
from services.registry.fakes import FakeRegistryUnits
from services.registry.handlers import campaign_events, inspection_events
from services.registry.metrics import RegistryMetrics
from services.registry.service import Registry
from services.runtime.delivery import Delivery
from services.runtime.metrics import Metrics
from services.runtime.outbox import outgoing
from tests.support.event_samples import SAMPLES
from tests.unit.registry.conftest import NOW, snapshots

FINDING = Finding(
    code="CCH-01", group="cold_chain", severity="critical", title_zh="冷链", title_en="cold chain"
)
ORDER: dict[str, Any] = {
    "rectification_id": "rec_1",
    "version": 1,
    "task_id": "tsk_1",
    "market_id": "mkt_1",
    "district": "zhifu",
    "merchant_id": "mer_1",
    "stall_no": "A-01",
    "severity": "critical",
    "findings": [FINDING],
    "state": "open",
    "ordered_at": NOW,
    "deadline": None,
    "suspension": True,
    "failed_verifications": 0,
    "reinspection_task_id": None,
    "overdue_at": None,
}
VERIFIED: dict[str, Any] = ORDER | {
    "version": 2,
    "state": "verified",
    "passed": True,
    "verified_by": "insp",
    "verified_at": NOW + timedelta(days=1),
    "on_time": True,
    "previous_deadline": None,
    "suspension_lifted": True,
}


def event(service: str, event_type: str, data: Any) -> Envelope[Any]:
    # One story, as inspection tells it: the order and what became of it share its chain.
    _, made, _ = outgoing(service, event_type, "subject", data, correlation_id="risk_1")
    return made


def delivered(made: Envelope[Any], offset: int = 0) -> Delivery:
    headers = (("content-type", CONTENT_TYPE.encode()), ("ce_type", made.type.encode()))
    return Delivery("some.topic.v1", 0, offset, b"key", made.to_json(), headers)


def metrics() -> RegistryMetrics:
    return RegistryMetrics(Metrics("registry-test"))


async def test_an_order_suspends_and_a_verification_lifts_each_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    route = inspection_events(registry, metrics())
    ordered = event("inspection", "inspection.rectification.ordered", RectificationOrdered(**ORDER))
    await route(delivered(ordered))
    await route(delivered(ordered, offset=1))  # redelivered
    lifted = event(
        "inspection", "inspection.rectification.verified", RectificationVerified(**VERIFIED)
    )
    await route(delivered(lifted, offset=2))
    assert [(s, v, d.status) for _, s, v, d in snapshots(units)] == [
        ("mer_1", 2, "suspended"),
        ("mer_1", 3, "active"),
    ]
    assert units.claimed == {
        ("registry-inspection", ordered.id),
        ("registry-inspection", lifted.id),
    }


async def test_an_order_that_lapses_ends_its_suspension_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    """Its finding was found wrong (信用异议 corrected): nothing to rectify, so the merchant trades
    again. A lapsed order without a suspension lifts nothing."""
    route = inspection_events(registry, metrics())
    ordered = event("inspection", "inspection.rectification.ordered", RectificationOrdered(**ORDER))
    await route(delivered(ordered))
    ended = ORDER | {"version": 2, "state": "lapsed", "lapsed_at": NOW + timedelta(days=5)}
    lapsed = event(
        "inspection",
        "inspection.rectification.lapsed",
        RectificationLapsed(**ended, reason="finding_corrected"),
    )
    await route(delivered(lapsed, offset=1))
    await route(delivered(lapsed, offset=2))  # redelivered
    unsuspended = ended | {"rectification_id": "rec_2", "suspension": False}
    unsuspended["deadline"] = NOW + timedelta(days=7)
    other = event(
        "inspection",
        "inspection.rectification.lapsed",
        RectificationLapsed(**unsuspended, reason="finding_corrected"),
    )
    await route(delivered(other, offset=3))
    assert [(s, v, d.status) for _, s, v, d in snapshots(units)] == [
        ("mer_1", 2, "suspended"),
        ("mer_1", 3, "active"),
    ]
    assert units.claimed == {
        ("registry-inspection", ordered.id),
        ("registry-inspection", lapsed.id),
    }
    # Both snapshots are of the order's story: what they cost the merchant follows its finding.
    chains = {e.correlationid for _, e, _ in units.published}
    assert chains == {ordered.correlationid} == {lapsed.correlationid}


async def test_orders_without_a_merchants_suspension_are_passed_over(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    route, before = inspection_events(registry, metrics()), units.tables.copy()
    at_market = ORDER | {"merchant_id": None, "stall_no": None}
    with_deadline = ORDER | {"suspension": False, "deadline": NOW + timedelta(days=7)}
    for data in (at_market, with_deadline):
        made = event("inspection", "inspection.rectification.ordered", RectificationOrdered(**data))
        await route(delivered(made))
    market = event("registry", "registry.market.upserted", SAMPLES["registry.market.upserted"])
    await route(delivered(market))
    assert units.published == [] and units.claimed == set() and units.tables == before


async def test_a_renovation_stage_moves_the_market_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    route = campaign_events(registry, metrics())
    project = SAMPLES["registry.renovation.upserted"]
    made = event("campaign", "registry.renovation.upserted", project)
    await route(delivered(made))
    await route(delivered(made, offset=1))
    assert [(s, v, d.renovation_status) for _, s, v, d in snapshots(units)] == [
        ("mkt_1", 2, "in_progress")
    ]
