"""Risk event → inspection task visible in the API.

The registry and inspection services run in-process (own schemas and consumer groups; the
inspection group starts at the current end of `telemetry.risks.v1`, so it sees only what this
benchmark publishes). A district, a market with its task force and `risks` merchants are made
through the registry's API and reach inspection through the registry topics, as in production.
Then one `telemetry.risk.raised` (major, food safety) per merchant is published to
`telemetry.risks.v1` at `rate` a second; latency is from the broker's acknowledgement of the
risk event to the first `GET /tasks?market_id=` (polled every 20 ms) that lists its task.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.envelope import make_event
from contracts.telemetry import RiskRaised
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.registry.app import build as build_registry
from services.registry.settings import RegistrySettings
from tests.support.signing import ISSUER, LocalSigner

# In-process apps trust a key made for this run only (as the unit tests do): the benchmark
# measures risk -> task, not sign-in.
SIGNER = LocalSigner()
RISKS = "telemetry.risks.v1"


async def _start_at_end(kafka: str, group: str, topic: str) -> None:
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


async def _city(registry: httpx.AsyncClient, merchants: int) -> tuple[str, str, list[str]]:
    code = f"b{uuid.uuid4().hex[:8]}"
    r = await registry.post("/districts", json={"code": code, "name": code})
    r.raise_for_status()
    market = (
        await registry.post(
            "/markets",
            json={
                "name": "压测市场",
                "district": code,
                "kind": "farmers",
                "operator": "o",
                "address": "a",
                "capacity": 5000,
                "opening_hours": {"open": "06:00", "close": "19:00"},
            },
        )
    ).json()
    r = await registry.put(
        f"/markets/{market['id']}/task-force", json={"leader": "王队长", "members": ["李", "张"]}
    )
    r.raise_for_status()
    ids = []
    for i in range(merchants):
        r = await registry.post(
            "/merchants",
            json={
                "name": f"商户{i}",
                "market_id": market["id"],
                "stall_no": f"B-{i}",
                "credit_code": "914403001922038216",
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "categories": [],
            },
        )
        r.raise_for_status()
        ids.append(r.json()["id"])
    return code, market["id"], ids


def _risk(district: str, market_id: str, merchant_id: str) -> Any:
    risk_id = str(uuid.uuid4())
    raised_at = datetime.now(UTC).replace(microsecond=0)
    data = RiskRaised.model_validate(
        {
            "risk_id": risk_id,
            "rule": "cold_chain_excursion",
            "category": "food_safety",
            "severity": "major",
            "state": "open",
            "terminal_id": f"trm_{merchant_id}",
            "market_id": market_id,
            "merchant_id": merchant_id,
            "stall_no": None,
            "district": district,
            "raised_at": raised_at,
            "evidence": {
                "rule": "cold_chain_excursion",
                "thresholds": {"limit_c": 8.0, "raise_after_s": 900},
                "first_ts": raised_at - timedelta(minutes=15),
                "last_ts": raised_at,
                "peak": 11.0,
                "duration_s": 900.0,
                "degree_minutes": 45.0,
                "readings_count": 16,
                "profile": "chilled",
            },
        }
    )
    return make_event(
        service="telemetry",
        event_type="telemetry.risk.raised",
        version=1,
        subject=risk_id,
        data=data,
        correlation_id=risk_id,
    )


@dataclass
class RunningStack:
    """Registry and inspection in-process, a district with one market and its merchants."""

    registry_app: Any
    inspection_app: Any
    registry: httpx.AsyncClient
    inspection: httpx.AsyncClient
    producer: AIOKafkaProducer
    district: str
    market_id: str
    merchants: list[str]

    async def raise_risk(self, merchant: str) -> None:
        event = _risk(self.district, self.market_id, merchant)
        await self.producer.send_and_wait(RISKS, event.to_json(), key=event.subject.encode())

    async def raise_risks(self, rate: float) -> None:
        started = time.perf_counter()
        for i, merchant in enumerate(self.merchants):
            await self.raise_risk(merchant)
            ahead = started + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def open_tasks(self) -> list[dict[str, Any]]:
        r = await self.inspection.get(
            "/tasks", params={"market_id": self.market_id, "state": "open", "limit": 1000}
        )
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def wait_for_tasks(self, count: int, within: float) -> None:
        deadline = time.monotonic() + within
        while len(await self.open_tasks()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"inspection did not open {count} tasks in {within} s")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def running_stack(
    kafka: str, database_url: str, merchants: int
) -> AsyncIterator[RunningStack]:
    common: dict[str, Any] = dict(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=ISSUER,
        oidc_jwks=SIGNER.jwks_json(),
        outbox_poll_interval_s=0.05,
    )
    tag = uuid.uuid4().hex[:6]
    registry_app = build_registry(
        RegistrySettings(
            **common,
            terminal_master_secret="bench-only-master",  # noqa: S106
            db_schema=f"bench_reg_{tag}",
            consumer_group=f"bench-reg-{tag}",
        )
    )
    group = f"bench-ins-{tag}"
    for topic, g in ((RISKS, group), ("complaints.events.v1", group)):
        await _start_at_end(kafka, g, topic)
    await _start_at_end(kafka, f"{group}-scores", "credit.scores.v1")
    inspection_app = build_inspection(
        InspectionSettings(**common, consumer_group=group, db_schema=f"bench_ins_{tag}")
    )
    for app in (registry_app, inspection_app):
        await app.state.service.start()
    admin = SIGNER.bearer("admin", "*")
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=registry_app), base_url="http://r", headers=admin
            ) as registry,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=inspection_app),
                base_url="http://i",
                headers=admin,
            ) as inspection,
        ):
            district, market_id, ids = await _city(registry, merchants)
            directory = inspection_app.state.inspection.directory
            deadline = time.monotonic() + 120
            while not (
                (m := directory.markets.get(market_id))
                and m.task_force
                and all(x in directory.merchants for x in ids)
            ):
                if time.monotonic() > deadline:
                    raise TimeoutError("inspection did not learn the bench merchants in 120 s")
                await asyncio.sleep(0.05)
            yield RunningStack(
                registry_app,
                inspection_app,
                registry,
                inspection,
                producer,
                district,
                market_id,
                ids,
            )
    finally:
        await producer.stop()
        for app in (inspection_app, registry_app):
            await app.state.service.stop()


async def risk_to_task(
    kafka: str, database_url: str, risks: int = 100, rate: float = 10.0
) -> list[float]:
    async with running_stack(kafka, database_url, risks) as stack:
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}

        async def poll() -> None:
            while len(seen) < risks:
                r = await stack.inspection.get(
                    "/tasks", params={"market_id": stack.market_id, "limit": 1000}
                )
                now = time.perf_counter()
                for task in r.json()["items"]:
                    merchant = task["merchant_id"]
                    if merchant in sent and merchant not in seen:
                        seen[merchant] = now
                await asyncio.sleep(0.02)

        polling = asyncio.create_task(poll())
        started = time.perf_counter()
        for i, merchant in enumerate(stack.merchants):
            await stack.raise_risk(merchant)
            sent[merchant] = time.perf_counter()
            ahead = started + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        await asyncio.wait_for(polling, 60)
        return [seen[m] - sent[m] for m in stack.merchants]
