"""A small city for integration tests: provisioned through the registry's API, and the pieces
every service's in-process test stack needs (a movable clock, people's tokens from the identity
provider, a group at the topic end).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.support import identity
from tests.support.credit_codes import fresh_credit_code


@dataclass
class Clock:
    """A service's clock: real time plus an offset the tests move forward."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Place:
    district: str
    market_id: str
    merchant_id: str
    stall_no: str
    terminal_id: str


def bearer(role: str, district: str, market_id: str | None = None) -> dict[str, str]:
    """A header with the access token of the test person of `role` in `district`, signed in at
    the session's identity provider (tests/support/identity.py)."""
    return identity.bearer(role, district, market_id)


async def provision(
    registry: httpx.AsyncClient, leader: str = "王队长", stall_no: str = "B-7"
) -> Place:
    """A district, a market with a task force, and a merchant, through the registry's API."""
    code = f"i{uuid.uuid4().hex[:8]}"
    r = await registry.post("/districts", json={"code": code, "name": code})
    assert r.status_code == 201, r.text
    r = await registry.post(
        "/markets",
        json={
            "name": "检查市场",
            "district": code,
            "kind": "farmers",
            "operator": "o",
            "address": "a",
            "capacity": 500,
            "opening_hours": {"open": "06:00", "close": "19:00"},
        },
    )
    assert r.status_code == 201, r.text
    market = r.json()
    r = await registry.put(
        f"/markets/{market['id']}/task-force", json={"leader": leader, "members": ["李", "张"]}
    )
    assert r.status_code == 200, r.text
    r = await registry.post(
        "/merchants",
        json={
            "name": "商户",
            "market_id": market["id"],
            "stall_no": stall_no,
            "credit_code": fresh_credit_code(),
            "food_licence": "JY13706020012345",
            "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
            "categories": [],
        },
    )
    assert r.status_code == 201, r.text
    merchant = r.json()
    return Place(code, market["id"], merchant["id"], stall_no, f"trm_{uuid.uuid4().hex[:12]}")


async def start_group_at_end(kafka: str, group: str, topic: str) -> None:
    """Commit the topic's current end as `group`'s position: the service then sees only what the
    test publishes, not what earlier runs left on the shared topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        await consumer.commit({tp: await consumer.position(tp) for tp in tps})
    finally:
        await consumer.stop()


def stack_settings(kafka: str, database_url: str, secrets_env: dict[str, str]) -> dict[str, Any]:
    """What every service's settings share on the session's stack: its Kafka, Postgres and
    identity provider, and an outbox relayed every 0.1 s so tests need not wait for it."""
    return {
        "kafka_bootstrap_servers": kafka,
        "database_url": database_url,
        "oidc_issuer": secrets_env["OIDC_ISSUER"],
        "outbox_poll_interval_s": 0.1,
    }


@dataclass
class InProcess:
    """The registry and one service as in-process apps on the real stack, with HTTP clients
    (the registry's with an admin token) and a producer for the service's input topics."""

    registry: httpx.AsyncClient
    client: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer


@asynccontextmanager
async def in_process(
    kafka: str,
    database_url: str,
    secrets_env: dict[str, str],
    build: Callable[[dict[str, Any]], Any],
) -> AsyncIterator[InProcess]:
    """`build(common_settings)` makes the service's app; both apps run until the block ends."""
    from services.registry.app import build as build_registry
    from tests.support.registry_api import registry_settings

    common = stack_settings(kafka, database_url, secrets_env)
    registry_app = build_registry(registry_settings(kafka, database_url, secrets_env))
    app = build(common)
    for a in (registry_app, app):
        await a.state.service.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=registry_app),
                base_url="http://registry",
                auth=identity.current().auth("admin", "*"),
            ) as reg,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://service"
            ) as client,
        ):
            yield InProcess(reg, client, app, producer)
    finally:
        await producer.stop()
        for a in (app, registry_app):
            await a.state.service.stop()
