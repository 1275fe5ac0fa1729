from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, make_event
from contracts.telemetry import RiskRaised
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.registry.app import build as build_registry
from tests.support import identity
from tests.support.city import Clock, Place, provision, stack_settings, start_group_at_end
from tests.support.kafka import Record
from tests.support.poll import until
from tests.support.registry_api import registry_settings


def risk_event(place: Place, *, raised_at: datetime, severity: str = "major") -> Envelope[Any]:
    """A `telemetry.risk.raised` as telemetry publishes it (contracts model, make_event)."""
    risk_id = str(uuid.uuid4())
    data = RiskRaised.model_validate(
        {
            "risk_id": risk_id,
            "rule": "cold_chain_excursion",
            "category": "food_safety",
            "severity": severity,
            "state": "open",
            "terminal_id": place.terminal_id,
            "market_id": place.market_id,
            "merchant_id": place.merchant_id,
            "stall_no": place.stall_no,
            "district": place.district,
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
class Stack:
    registry: httpx.AsyncClient
    inspection: httpx.AsyncClient
    inspection_app: Any
    producer: AIOKafkaProducer
    clock: Clock
    group: str

    def ours(self, record: Record) -> bool:
        """Whether a DLQ record was parked by this stack's consumers (another test session's
        inspection on the shared broker may read the same topics and park the same message)."""
        return record.headers.get("dlq.consumer_group") == self.group.encode()

    def token(self, role: str, district: str, subject: str | None = None) -> dict[str, str]:
        """A person's token; `subject` tells several people of one role and district apart."""
        return identity.bearer(role, district, who=subject)

    def subject(self, role: str, district: str, who: str | None = None) -> str:
        return identity.current().subject(role, district, who)

    async def place(self, leader: str = "王队长") -> Place:
        """A district, market with a task force and merchant, once inspection knows them."""
        place = await provision(self.registry, leader)
        directory = self.inspection_app.state.inspection.directory

        def known() -> bool:
            m = directory.markets.get(place.market_id)
            return bool(m and m.task_force and place.merchant_id in directory.merchants)

        await until(known, what="inspection's projection has the market and merchant")
        return place

    async def risk(
        self, place: Place, *, raised_at: datetime, severity: str = "major"
    ) -> Envelope[Any]:
        """Publish a `telemetry.risk.raised` about the place's merchant."""
        event = risk_event(place, raised_at=raised_at, severity=severity)
        await self.send(event, place.terminal_id)
        return event

    async def send(
        self,
        event: Envelope[Any],
        key: str,
        topic: str = "telemetry.risks.v1",
        *,
        partition: int | None = None,
    ) -> int:
        """Publish `event`; returns the partition it went to."""
        sent = await self.producer.send_and_wait(
            topic, event.to_json(), key=key.encode(), partition=partition
        )
        return int(sent.partition)


def minutes_ago(minutes: int) -> datetime:
    """A moment `minutes` before now, to the second (as the events upstream state times)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def distinct(records: list[Record]) -> list[Record]:
    """Records with distinct CloudEvents ids, in order.

    The broker is shared: another test session's inspection may consume what this one publishes
    and, its ids being derived from its inputs, publish the very same events again. Counting
    what happened counts distinct event ids (what a consumer's inbox would see)."""
    seen: set[str] = set()
    out: list[Record] = []
    for record in records:
        event_id = record.json()["id"]
        if event_id not in seen:
            seen.add(event_id)
            out.append(record)
    return out


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    common = stack_settings(kafka, database_url, secrets_env)
    registry_app = build_registry(registry_settings(kafka, database_url, secrets_env))
    clock = Clock()
    group = f"ins-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, "telemetry.risks.v1")
    await start_group_at_end(kafka, group, "complaints.events.v1")
    await start_group_at_end(kafka, f"{group}-scores", "credit.scores.v1")
    await start_group_at_end(kafka, group, "credit.honours.v1")
    await start_group_at_end(kafka, group, "registry.campaign.v1")
    # A schema and consumer groups of its own per test module; the registry projections start at
    # the compacted topics' beginning, as in production.
    inspection_app = build_inspection(
        InspectionSettings(
            **common,
            consumer_group=group,
            db_schema=f"inspection_{uuid.uuid4().hex[:6]}",
            clock_check_interval_s=0.2,
            patrol_check_interval_s=0.2,
        ),
        now=clock,
    )
    for app in (registry_app, inspection_app):
        await app.state.service.start()
    # The registry views are read whole from the compacted topics' beginning, which the shared
    # broker fills with every session's markets and merchants: the tests begin once inspection
    # is ready (as its readiness probe would say), not while it is still catching up.
    await asyncio.wait_for(inspection_app.state.service.projections.ready.wait(), 180)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app),
            base_url="http://r",
            auth=identity.current().auth("admin", "*"),
        ) as reg,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=inspection_app), base_url="http://i"
        ) as ins,
    ):
        yield Stack(reg, ins, inspection_app, producer, clock, group)
    await producer.stop()
    for app in (inspection_app, registry_app):
        await app.state.service.stop()
