"""What the campaign takes from inspection.events.v1, on real Kafka and Postgres: an overdue
rectification order is disclosed to the public, and resolved when a re-inspection passes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.campaign import DisclosureUpserted
from contracts.inspection import (
    RectificationLapsed,
    RectificationOverdue,
    RectificationVerified,
)
from services.runtime.messaging import Delivery
from tests.integration.campaign.conftest import Api
from tests.support.inspection_feed import (
    AT,
    inspection_event,
    order,
    publish,
)
from tests.support.kafka import TopicWatcher
from tests.support.registry_api import market_body, merchant_body


async def _city(api: Api) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A district, market and merchant at the registry, once the campaign knows them."""
    reg = api.registry
    district = f"d{uuid.uuid4().hex[:8]}"
    assert (await reg.post("/districts", {"code": district, "name": "芝罘区"})).status_code == 201
    market = (await reg.post("/markets", market_body(district))).json()
    merchant = await reg.post("/merchants", merchant_body(market["id"], "A-01"))
    assert merchant.status_code == 201, merchant.text
    await api.knows(market, merchant.json())
    return district, market, merchant.json()


DEADLINE = AT + timedelta(days=3)


async def _overdue_order(
    api: Api,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], RectificationOverdue]:
    """A major order to a new merchant, and its `overdue` at its deadline: (market, merchant,
    the order's fields, the overdue event's data)."""
    district, market, merchant = await _city(api)
    fields = order(
        merchant, market["id"], district, severity="major", suspension=False, deadline=DEADLINE
    )
    overdue = RectificationOverdue(
        **(fields | {"version": 2, "overdue_at": DEADLINE}), escalation_task_id="tsk_x"
    )
    return market, merchant, fields, overdue


async def test_an_overdue_rectification_is_disclosed_until_it_is_verified(
    api: Api, kafka: str, producer: AIOKafkaProducer
) -> None:
    market, merchant, fields, overdue = await _overdue_order(api)
    deadline, key = DEADLINE, fields["task_id"]
    event = inspection_event("inspection.rectification.overdue", overdue, correlation="risk_1")
    async with TopicWatcher(kafka, topics.REGISTRY_DISCLOSURES.name) as watcher:
        await publish(producer, key, event)
        [opened] = await watcher.wait_for(
            lambda r: r.json()["data"]["source_id"] == fields["rectification_id"]
        )
        disclosure = Delivery(
            opened.topic, opened.partition, opened.offset, opened.key, opened.value
        ).envelope(DisclosureUpserted)
        assert (disclosure.causationid, disclosure.correlationid) == (event.id, "risk_1")
        data = disclosure.data
        assert (data.kind, data.state, data.deadline) == ("overdue_rectification", "open", deadline)
        assert (data.merchant_name, data.stall_no, data.market_name) == (
            merchant["name"],
            "A-01",
            market["name"],
        )
        assert data.details == ["CCH-01 冷链温度严重超标：冷柜12°C"]
        # Committed before it was published: the public endpoint shows it already.
        public = await api.client.get(f"/public/disclosures?market_id={market['id']}")
        [item] = public.json()["items"]
        assert (item["id"], item["state"], item["overdue"]) == (data.disclosure_id, "open", True)

        verified = RectificationVerified(
            **(fields | {"version": 3, "state": "verified"}),
            passed=True, verified_by="insp", verified_at=deadline + timedelta(days=1),
            on_time=False, previous_deadline=deadline, suspension_lifted=False,
        )  # fmt: skip
        await publish(
            producer, key, inspection_event("inspection.rectification.verified", verified)
        )
        [_, resolved] = await watcher.wait_for(lambda r: r.key == opened.key, count=2)
    assert resolved.json()["data"]["state"] == "resolved"
    assert resolved.json()["data"]["version"] == 2
    item = (await api.client.get(f"/public/disclosures/{data.disclosure_id}")).json()
    assert (item["state"], item["overdue"]) == ("resolved", False)


async def test_the_disclosure_of_an_order_that_lapsed_ends_and_leaves_the_public_open_list(
    api: Api, kafka: str, producer: AIOKafkaProducer
) -> None:
    """Its merchant left its stall (退出经营): the order lapsed, never rectified."""
    market, _, fields, overdue = await _overdue_order(api)
    key = fields["task_id"]
    lapsed = RectificationLapsed(
        **(fields | {"version": 3, "state": "lapsed", "overdue_at": DEADLINE}),
        lapsed_at=DEADLINE + timedelta(days=1),
        reason="merchant_left",
    )
    async with TopicWatcher(kafka, topics.REGISTRY_DISCLOSURES.name) as watcher:
        await publish(producer, key, inspection_event("inspection.rectification.overdue", overdue))
        [opened] = await watcher.wait_for(
            lambda r: r.json()["data"]["source_id"] == fields["rectification_id"]
        )
        await publish(producer, key, inspection_event("inspection.rectification.lapsed", lapsed))
        [_, ended] = await watcher.wait_for(lambda r: r.key == opened.key, count=2)
    data = ended.json()["data"]
    assert (data["state"], data["resolved_at"], data["version"]) == ("lapsed", None, 2)
    assert data["lapsed_at"] is not None
    public = await api.client.get(
        "/public/disclosures", params={"market_id": market["id"], "state": "open"}
    )
    assert public.json()["items"] == []
    item = (await api.client.get(f"/public/disclosures/{data['disclosure_id']}")).json()
    assert (item["state"], item["overdue"]) == ("lapsed", False)


async def test_a_disclosure_lapses_when_its_market_closes_at_the_registry(
    api: Api, kafka: str, producer: AIOKafkaProducer
) -> None:
    """停业 through the registry's API, its merchant gone: the campaign reads the closed
    snapshot in its registry view's transaction, and the market's open disclosure lapses."""
    market, merchant, fields, overdue = await _overdue_order(api)
    async with TopicWatcher(kafka, topics.REGISTRY_DISCLOSURES.name) as watcher:
        event = inspection_event("inspection.rectification.overdue", overdue)
        await publish(producer, fields["task_id"], event)
        [opened] = await watcher.wait_for(
            lambda r: r.json()["data"]["source_id"] == fields["rectification_id"]
        )
        left = await api.registry.post(f"/merchants/{merchant['id']}/leave", {"reason": "转让"})
        assert left.status_code == 200, left.text
        closed = await api.registry.post(f"/markets/{market['id']}/close", {"reason": "搬迁"})
        assert closed.status_code == 200, closed.text
        [_, ended] = await watcher.wait_for(lambda r: r.key == opened.key, count=2)
    data = ended.json()["data"]
    assert (data["state"], data["resolved_at"]) == ("lapsed", None)
    assert data["lapsed_at"] is not None
