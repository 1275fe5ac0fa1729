"""What the registry takes from inspection.events.v1, on real Kafka and Postgres: suspensions
set the merchant's status (exactly once). (Disclosures of overdue rectifications are the campaign
service's: tests/integration/campaign/test_inspection_feed.py.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.inspection import (
    RectificationOrdered,
    RectificationVerified,
    TaskClaimed,
)
from contracts.registry import MerchantUpserted
from services.runtime.messaging import Delivery
from tests.integration.registry.conftest import Api
from tests.support.inspection_feed import (
    AT,
    inspection_event,
    order,
    publish,
)
from tests.support.kafka import Record, TopicWatcher
from tests.support.registry_api import market_body, merchant_body


@pytest.fixture(scope="module", autouse=True)
async def caught_up(api: Api) -> None:
    """The registry has read what inspection.events.v1 already held (other runs' events, from
    the beginning, in this session's new group) before a test waits for its own."""
    service = api.app.state.service  # type: ignore[attr-defined]
    await asyncio.wait_for(service.messaging.caught_up(topics.INSPECTION_EVENTS.name), 180)


async def _city(api: Api) -> tuple[str, dict[str, Any], dict[str, Any]]:
    district = f"d{uuid.uuid4().hex[:8]}"
    assert (await api.post("/districts", {"code": district, "name": "芝罘区"})).status_code == 201
    market = (await api.post("/markets", market_body(district))).json()
    merchant = await api.post("/merchants", merchant_body(market["id"], "A-01"))
    assert merchant.status_code == 201, merchant.text
    return district, market, merchant.json()


def _about(merchant_id: str):  # type: ignore[no-untyped-def]
    """The merchant's snapshots after the one its registration published (which the relay may
    still be sending when a test starts watching)."""

    def match(rec: Record) -> bool:
        return rec.key == merchant_id.encode() and rec.json()["data"]["version"] > 1

    return match


async def test_a_suspension_order_suspends_the_merchant_once_and_lifting_it_reactivates(
    api: Api, kafka: str, producer: AIOKafkaProducer
) -> None:
    district, market, merchant = await _city(api)
    fields = order(merchant, market["id"], district)
    ordered = inspection_event("inspection.rectification.ordered", RectificationOrdered(**fields))
    key = fields["task_id"]
    async with TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as watcher:
        await publish(producer, key, ordered)
        [suspended] = await watcher.wait_for(_about(merchant["id"]))
        snapshot = Delivery(
            suspended.topic, suspended.partition, suspended.offset, suspended.key, suspended.value
        ).envelope(MerchantUpserted)
        assert (snapshot.data.status, snapshot.data.version) == ("suspended", 2)

        # The same event again (Kafka redelivers), other event types and a market-level order
        # change nothing; they share the task's key, so they are handled before what follows.
        await publish(producer, key, ordered)
        claimed = TaskClaimed(
            task_id=key, version=2, reason_kind="risk", state="claimed", market_id=market["id"],
            district=district, merchant_id=merchant["id"], stall_no="A-01", task_force=None,
            triggers=[], created_at=AT, due_at=AT, assignee="insp", claimed_at=AT,
            overdue_at=None,
        )  # fmt: skip
        await publish(producer, key, inspection_event("inspection.task.claimed", claimed))
        market_level = RectificationOrdered(**order(None, market["id"], district, task_id=key))
        await publish(
            producer, key, inspection_event("inspection.rectification.ordered", market_level)
        )
        lifted = RectificationVerified(
            **(fields | {"version": 2, "state": "verified"}),
            passed=True,
            verified_by="insp",
            verified_at=AT + timedelta(days=1),
            on_time=True,
            previous_deadline=None,
            suspension_lifted=True,
        )
        await publish(producer, key, inspection_event("inspection.rectification.verified", lifted))
        await watcher.wait_for(_about(merchant["id"]), count=2)
        records = await watcher.drain(settle_s=1.0)

    snapshots = [
        Delivery(r.topic, r.partition, r.offset, r.key, r.value).envelope(MerchantUpserted).data
        for r in records
        if _about(merchant["id"])(r)
    ]
    assert [(s.version, s.status) for s in snapshots] == [(2, "suspended"), (3, "active")]
    got = await api.get(f"/merchants/{merchant['id']}")
    assert (got.json()["status"], got.json()["version"]) == ("active", 3)
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", ordered.id) == 1


async def test_lifting_a_suspension_after_the_licence_ran_out_leaves_it_expired(
    api: Api, kafka: str, producer: AIOKafkaProducer
) -> None:
    district, market, merchant = await _city(api)
    fields = order(merchant, market["id"], district)
    key = fields["task_id"]
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    async with TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as watcher:
        await publish(
            producer,
            key,
            inspection_event("inspection.rectification.ordered", RectificationOrdered(**fields)),
        )
        await watcher.wait_for(_about(merchant["id"]))
        # The licence ran out while the merchant was suspended (the licence job skips it).
        await pool.execute(
            "UPDATE merchants SET licence_valid_until = current_date - 1 WHERE id = $1",
            merchant["id"],
        )
        lifted = RectificationVerified(
            **(fields | {"version": 2, "state": "verified"}),
            passed=True, verified_by="insp", verified_at=AT, on_time=True,
            previous_deadline=None, suspension_lifted=True,
        )  # fmt: skip
        await publish(producer, key, inspection_event("inspection.rectification.verified", lifted))
        [_, last] = await watcher.wait_for(_about(merchant["id"]), count=2)
    assert last.json()["data"]["status"] == "licence_expired"
