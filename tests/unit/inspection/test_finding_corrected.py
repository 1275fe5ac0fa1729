"""A finding the district found wrong (信用异议 decided `corrected` on `credit.objections.v1`):
the orders the inspection made lapse and their re-inspections are withdrawn, through
inspection's real router, on the fakes. Nothing else on the topic changes an order."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts.envelope import make_event
from contracts.objections import OBJECTION_DECIDED, Disputed, ObjectionDecided
from services.inspection.domain import FindingReport, IllegalTransition, RectificationOrder
from services.inspection.handlers import Handlers
from services.runtime.messaging import Delivery
from tests.support.inspection_builders import T0, D, H
from tests.unit.inspection.conftest import World, open_task
from tests.unit.inspection.test_service import LI, complete_major

OBJECTIONS = "credit.objections.v1"


def decided(
    order: RectificationOrder,
    *,
    decision: str = "corrected",
    ground: str = "error",
    kind: str | None = None,
    found_at: datetime | None = None,
    merchant_id: str | None = None,
    event_id: str = "ev_o1",
) -> Delivery:
    """Credit's decision on an objection to the entry `order`'s inspection made, as it travels:
    in the entry's chain, naming the instant the inspection was completed."""
    data = ObjectionDecided(
        objection_id="obj_1",
        merchant_id=merchant_id or order.merchant_id or "",
        market_id=order.market_id,
        district=order.district,
        disputed=Disputed(
            event_id="ev_completed",
            kind=kind or f"inspection.finding.{order.severity}",
            delta=-8,
            occurred_at=found_at or order.ordered_at,
            fades_at=order.ordered_at + 365 * D,
        ),
        ground=ground,  # type: ignore[arg-type]
        decision=decision,  # type: ignore[arg-type]
        reasoning="the market's own log shows 3 °C at 10:05",
        decided_at=order.ordered_at + 5 * D,
    )
    event = make_event(
        service="credit",
        event_type=OBJECTION_DECIDED,
        version=1,
        subject=data.merchant_id,
        data=data,
        correlation_id=order.correlation_id,
        event_id=event_id,
    )
    return Delivery(topic=OBJECTIONS, partition=0, offset=3, key=b"k", value=event.to_json())


async def route(world: World, delivery: Delivery) -> None:
    await Handlers(world.service).routers()[OBJECTIONS](delivery)


async def critical_order(world: World) -> RectificationOrder:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    world.at(T0 + H)
    found = [FindingReport("HYG-06", "")]
    _, order = await world.service.complete(
        LI, task_id, outcome="critical", findings=found, departments=[], note=None
    )
    assert order is not None and order.suspension and order.reinspection_task_id is not None
    return order


async def test_a_corrected_finding_ends_its_order_and_its_reinspection_once(world: World) -> None:
    order = await critical_order(world)
    world.at(T0 + 5 * D)
    await route(world, decided(order))

    ended = await world.stores.orders.get(order.rectification_id)
    assert ended is not None
    assert (ended.state, ended.lapsed_at, ended.lapse_reason, ended.reinspection_task_id) == (
        "lapsed",
        T0 + 5 * D,
        "finding_corrected",
        None,
    )
    assert order.reinspection_task_id is not None
    reinspection = await world.stores.tasks.get(order.reinspection_task_id)
    assert reinspection is not None
    assert (reinspection.state, reinspection.withdrawal_reason) == (
        "withdrawn",
        "finding_corrected",
    )
    assert world.types()[-2:] == ["inspection.rectification.lapsed", "inspection.task.withdrawn"]
    lapsed = world.uow.published[-2][1].data
    assert (lapsed.reason, lapsed.suspension) == ("finding_corrected", True)

    published = len(world.uow.published)
    await route(world, decided(order))  # redelivered: the inbox has it
    assert len(world.uow.published) == published
    with pytest.raises(IllegalTransition):
        await world.service.verify(LI, order.rectification_id, passed=True)


@pytest.mark.parametrize(
    "change",
    [
        {"decision": "upheld"},
        {"ground": "repaired", "decision": "repaired"},
        {"kind": "rectification.overdue"},
        {"kind": "food_safety_risk.confirmed"},
        {"found_at": T0 + 2 * H},
    ],
    ids=["upheld", "repaired", "another-entry", "the-risk-confirmed", "another-inspection"],
)
async def test_what_does_not_find_an_inspection_wrong_changes_no_order(
    world: World, change: dict[str, object]
) -> None:
    """Upheld (the record stands), repaired (it was right), a correction of another entry, or
    of an inspection completed at another instant in the same chain."""
    order = await critical_order(world)
    published = len(world.uow.published)
    world.at(T0 + 5 * D)
    await route(world, decided(order, **change))  # type: ignore[arg-type]
    assert await world.stores.orders.get(order.rectification_id) == order
    assert len(world.uow.published) == published


async def test_an_order_already_verified_stays_verified(world: World) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    _, order = await complete_major(world, task_id)
    assert order is not None
    world.at(T0 + D)
    verified = await world.service.verify(LI, order.rectification_id, passed=True)
    published = len(world.uow.published)
    world.at(T0 + 5 * D)
    await route(world, decided(order))
    assert await world.stores.orders.get(order.rectification_id) == verified
    assert len(world.uow.published) == published


async def test_another_merchants_correction_in_the_same_chain_is_not_this_order(
    world: World,
) -> None:
    order = await critical_order(world)
    published = len(world.uow.published)
    await route(world, decided(order, merchant_id="mer_2"))
    assert await world.stores.orders.get(order.rectification_id) == order
    assert len(world.uow.published) == published
