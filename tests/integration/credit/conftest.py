from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.envelope import Envelope, make_event
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.runtime.clock import Clock as Now
from services.runtime.clock import utc_now
from tests.support import credit_events as samples
from tests.support.city import (
    Clock,
    InProcess,
    Place,
    bearer,
    in_process,
    provision,
    start_group_at_end,
)
from tests.support.kafka import Record, TopicWatcher

LEDGER_TOPICS = (
    topics.INSPECTION_EVENTS.name,
    topics.COMPLAINTS_EVENTS.name,
    topics.REGISTRY_MERCHANTS.name,
    topics.TELEMETRY_RISKS.name,
    topics.CAMPAIGN_ENFORCEMENT.name,
    topics.CAMPAIGN_DUTIES.name,
)


@asynccontextmanager
async def with_inspection(
    kafka: str, database_url: str, secrets_env: dict[str, str], name: str, now: Now = utc_now
) -> AsyncIterator[tuple[InProcess, httpx.AsyncClient, Any]]:
    """Registry and credit (clock `now`) in process with inspection beside them, meeting only on
    Kafka, each in fresh groups (`crd-<name>-…`, `ins-<name>-…`) that start at the topics' ends;
    yields the run, a client of inspection's API and inspection's app once every view is ready."""
    tag = uuid.uuid4().hex[:8]
    credit_group, inspection_group = f"crd-{name}-{tag}", f"ins-{name}-{tag}"
    for topic in LEDGER_TOPICS:
        await start_group_at_end(kafka, credit_group, topic)
    for topic in (
        topics.TELEMETRY_RISKS.name,
        topics.COMPLAINTS_EVENTS.name,
        topics.CREDIT_HONOURS.name,
        topics.REGISTRY_CAMPAIGN.name,
    ):
        await start_group_at_end(kafka, inspection_group, topic)
    # Inspection reads grades in a group of its own; earlier runs' scores are not this test's.
    await start_group_at_end(kafka, f"{inspection_group}-scores", topics.CREDIT_SCORES.name)

    def build(common: dict[str, Any]) -> Any:
        settings = CreditSettings(
            **common,
            consumer_group=credit_group,
            db_schema=f"credit_{tag}",
            honours_auto_draw=False,
        )
        return build_credit(settings, now=now)

    async with in_process(kafka, database_url, secrets_env, build) as run:
        inspection_app = build_inspection(
            InspectionSettings(
                kafka_bootstrap_servers=kafka,
                database_url=database_url,
                oidc_issuer=secrets_env["OIDC_ISSUER"],
                outbox_poll_interval_s=0.1,
                consumer_group=inspection_group,
                db_schema=f"inspection_{tag}",
            )
        )
        await inspection_app.state.service.start()
        try:
            # Fresh groups read the shared registry topics whole before the views know a place.
            for app in (inspection_app, run.app):
                await asyncio.wait_for(app.state.service.projections.ready.wait(), 180)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=inspection_app), base_url="http://inspection"
            ) as inspection:
                yield run, inspection, inspection_app
        finally:
            await inspection_app.state.service.stop()


def placed(model: Any, place: Place, **changes: Any) -> Any:
    """A sample event's data moved to `place` (and to now), revalidated."""
    data = model.model_dump(mode="json")
    data.update(market_id=place.market_id, district=place.district, merchant_id=place.merchant_id)
    data.update(changes)
    return type(model).model_validate(data)


def completed(
    place: Place, outcome: str, *, risk_id: str | None = None, at: datetime | None = None
) -> Envelope[Any]:
    """An `inspection.task.completed` for the place's merchant, now (or `at`)."""
    now = at or datetime.now(UTC)
    triggers = [] if risk_id is None else [samples.trigger(ref=risk_id)]
    task_id = f"tsk_{uuid.uuid4().hex[:12]}"
    data = placed(
        samples.task_completed(outcome, triggers=triggers),
        place,
        task_id=task_id,
        completed_at=now.isoformat(),
        stall_no=place.stall_no,
    )
    return make_event(
        service="inspection",
        event_type="inspection.task.completed",
        version=1,
        subject=task_id,
        data=data,
        correlation_id=risk_id or task_id,
        time=now,
    )


def overdue_rectification(place: Place, *, at: datetime, chain: str | None = None) -> Envelope[Any]:
    """An `inspection.rectification.overdue` for the place's merchant, its deadline missed at
    `at`; in `chain` (the finding's that ordered it), else a chain of its own."""
    rectification_id = f"rec_{uuid.uuid4().hex[:12]}"
    data = placed(
        samples.overdue(),
        place,
        rectification_id=rectification_id,
        stall_no=place.stall_no,
        ordered_at=(at - timedelta(days=3)).isoformat(),
        deadline=at.isoformat(),
        overdue_at=at.isoformat(),
    )
    return make_event(
        service="inspection",
        event_type="inspection.rectification.overdue",
        version=1,
        subject=rectification_id,
        data=data,
        correlation_id=chain or rectification_id,
        time=at,
    )


def closed_complaint(place: Place, *, duplicate_of: str | None = None) -> Envelope[Any]:
    now = datetime.now(UTC)
    complaint_id = f"cmp_{uuid.uuid4().hex[:12]}"
    data = placed(
        samples.complaint_closed(duplicate_of=duplicate_of),
        place,
        complaint_id=complaint_id,
        closed_at=now.isoformat(),
    )
    return make_event(
        service="complaints",
        event_type="complaints.complaint.closed",
        version=1,
        subject=complaint_id,
        data=data,
        correlation_id=complaint_id,
        time=now,
    )


def score_of(merchant_id: str, **expected: Any):  # type: ignore[no-untyped-def]
    def match(r: Record) -> bool:
        body = r.json()
        return (
            body["type"] == "credit.score.changed"
            and body["subject"] == merchant_id
            and all(body["data"].get(k) == v for k, v in expected.items())
        )

    return match


async def recorded(client: httpx.AsyncClient, place: Place, *kinds: str) -> bool:
    """Whether this credit service's own ledger of the place's merchant holds `kinds` (each as
    often as named). Another test session's credit on the shared broker may publish the same
    score changes first: a test that goes on to read this service waits on its ledger."""
    r = await client.get(
        f"/merchants/{place.merchant_id}/credit", headers=bearer("inspector", place.district)
    )
    if r.status_code != 200:
        return False
    held = Counter(e["kind"] for e in r.json()["ledger"])
    return all(held[k] >= n for k, n in Counter(kinds).items())


@dataclass
class Stack:
    registry: httpx.AsyncClient
    credit: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer
    clock: Clock
    settings: CreditSettings

    def token(self, role: str, district: str) -> dict[str, str]:
        return bearer(role, district)

    async def place(self) -> Place:
        return await provision(self.registry, stall_no=f"C-{uuid.uuid4().hex[:4]}")

    async def send(self, topic: str, event: Envelope[Any], key: str) -> None:
        await self.producer.send_and_wait(topic, event.to_json(), key=key.encode())


async def credit_stack(
    kafka: str,
    database_url: str,
    secrets_env: dict[str, str],
    *,
    from_beginning: bool,
) -> AsyncIterator[Stack]:
    clock = Clock()
    group = f"crd-{uuid.uuid4().hex[:8]}"
    if not from_beginning:
        for topic in LEDGER_TOPICS:
            await start_group_at_end(kafka, group, topic)
    settings: list[CreditSettings] = []

    def build(common: dict[str, Any]) -> Any:
        settings.append(
            CreditSettings(
                **common,
                consumer_group=group,
                db_schema=f"credit_{uuid.uuid4().hex[:6]}",
                fade_check_interval_s=0.5,
                # The tests draw the honour and warning list themselves (POST /honours/draw).
                honours_auto_draw=False,
            )
        )
        return build_credit(settings[0], now=clock)

    async with in_process(kafka, database_url, secrets_env, build) as run:
        yield Stack(run.registry, run.client, run.app, run.producer, clock, settings[0])


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    async for s in credit_stack(kafka, database_url, secrets_env, from_beginning=False):
        yield s


async def registered(stack: Stack, kafka: str) -> Place:
    """A new merchant, once credit has scored it (100, A)."""
    async with TopicWatcher(kafka, topics.CREDIT_SCORES.name) as scores:
        place = await stack.place()
        [first] = await scores.wait_for(score_of(place.merchant_id, score=100, grade="A"))
    data = first.json()["data"]
    assert data["previous_grade"] is None and data["adjustment"]["kind"] == "merchant.registered"
    return place


async def ledger(stack: Stack, place: Place) -> list[dict[str, Any]]:
    """The merchant's ledger as credit's API shows it to an inspector of its district."""
    r = await stack.credit.get(
        f"/merchants/{place.merchant_id}/credit", headers=stack.token("inspector", place.district)
    )
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["ledger"]
    return entries


async def plan_of(
    inspection: httpx.AsyncClient, merchant_id: str, headers: dict[str, str]
) -> dict[str, Any] | None:
    """The merchant's patrol plan as inspection's API shows it, None before it has one."""
    r = await inspection.get(f"/patrol-plans/{merchant_id}", headers=headers)
    return r.json() if r.status_code == 200 else None
