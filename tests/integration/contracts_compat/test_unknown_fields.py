"""Forward compatibility on real Kafka and Postgres (issue 18, point 1): a `.v1` topic only ever
gains optional fields, so an event carrying fields its consumers' contracts do not know — a new
CloudEvents extension attribute, a new field in `data`, and one in every object nested in it — is
handled by every service that consumes the topic, not dead-lettered.

All six services run in-process on the stack, each in consumer groups of its own that start at the
topics' end. For each consumed topic of the catalog one event is produced; every consuming
subscription's committed offset must pass it (offsets commit only after the handler returned, and
a handler that keeps failing stalls its partition instead), and no `<topic>.dlq` record comes from
this run's groups. Registry snapshots go first, so the later events name a market, merchant and
terminal the services know: the complaint intake, for one, is refused (parked) for an unknown
market, so its not being parked shows the extended market snapshot was taken in.

Terminals' readings (`telemetry.readings.v1`) are not envelopes: telemetry verifies them byte for
byte against their HMAC and stays strict about them (a reading with an added field is rejected);
they are left out here.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from contracts import topics
from contracts.envelope import Envelope, make_event
from contracts.events import EVENTS
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.registry.app import build as build_registry
from services.registry.settings import RegistrySettings
from services.runtime.app import Service
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.integration.complaints.conftest import submission
from tests.integration.credit.conftest import completed
from tests.integration.inspection.conftest import risk_event
from tests.integration.inspection.upstream import accepted_event, honour_event, score_event
from tests.support.city import Place, start_group_at_end
from tests.support.complaints_events import intake_event, suggestion_received
from tests.support.credit_events import decided_event, duties_event, objection_decided_event
from tests.support.event_samples import SAMPLES
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

CONSUMED = [t for t in topics.TOPICS if t.consumers and t is not topics.TELEMETRY_READINGS]
SPECS = {spec.type: spec for spec in EVENTS}


@dataclass
class Stack:
    tag: str
    services: dict[str, Service]
    producer: AIOKafkaProducer

    def subscriptions(self, topic: str) -> list[tuple[str, str, Any]]:
        """(service, group, subscriber) of every subscription to `topic`."""
        return [
            (name, group, subscriber)
            for name, svc in self.services.items()
            for subscribed, group, subscriber in svc.messaging._subscribers
            if subscribed == topic
        ]


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    tag = uuid.uuid4().hex[:6]
    secret = secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"]

    def common(name: str) -> dict[str, Any]:
        return {
            "kafka_bootstrap_servers": kafka,
            "database_url": database_url,
            "oidc_issuer": secrets_env["OIDC_ISSUER"],
            "outbox_poll_interval_s": 0.1,
            "consumer_group": f"fc-{name}-{tag}",
            "db_schema": f"fc_{name}_{tag}",
            # A handler that keeps failing shows up soon as a stalled partition.
            "handler_max_attempts": 3,
            "retry_backoff_s": 0.05,
        }

    apps = {
        "registry": build_registry(
            RegistrySettings(**common("registry"), terminal_master_secret=secret)
        ),
        "telemetry": build_telemetry(
            TelemetrySettings(**common("telemetry"), terminal_master_secret=secret)
        ),
        "inspection": build_inspection(InspectionSettings(**common("inspection"))),
        "complaints": build_complaints(ComplaintsSettings(**common("complaints"))),
        "credit": build_credit(CreditSettings(**common("credit"), honours_auto_draw=False)),
        "campaign": build_campaign(
            CampaignSettings(**common("campaign"), campaign_check_interval_s=0)
        ),
    }
    services: dict[str, Service] = {name: app.state.service for name, app in apps.items()}
    # Every group starts at the topics' end: the services see only what this test publishes.
    for svc in services.values():
        for topic, group, _ in svc.messaging._subscribers:
            await start_group_at_end(kafka, group, topic)
    started: list[Service] = []
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    try:
        for svc in services.values():
            await svc.start()
            started.append(svc)
        await producer.start()
        yield Stack(tag, services, producer)
    finally:
        await producer.stop()
        for svc in reversed(started):
            await svc.stop()


def grown(event: Envelope[Any] | bytes) -> bytes:
    """The event as a newer producer would send it: an unknown CloudEvents extension attribute,
    and an unknown field in `data` and in every object nested in it."""

    def add(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: add(v) for k, v in node.items()} | {"added_in_v1_9": {"any": [1, "x"]}}
        if isinstance(node, list):
            return [add(v) for v in node]
        return node

    body = orjson.loads(event if isinstance(event, bytes) else event.to_json())
    extension = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    return orjson.dumps(body | extension | {"data": add(body["data"])})


def _snapshot(event_type: str, place: Place, **ids: Any) -> Envelope[Any]:
    data = SAMPLES[event_type].model_dump(mode="json") | ids
    data |= {"updated_at": datetime.now(UTC).isoformat()}
    spec = SPECS[event_type]
    subject = next(iter(ids.values()))
    return make_event(
        service="registry",
        event_type=event_type,
        version=spec.version,
        subject=subject,
        data=spec.data.model_validate(data),
        correlation_id=subject,
    )


def registry_events(place: Place) -> dict[str, tuple[str, Envelope[Any] | bytes]]:
    where = {"district": place.district, "market_id": place.market_id}
    return {
        topics.REGISTRY_MARKETS.name: (
            place.market_id,
            _snapshot("registry.market.upserted", place, **where),
        ),
        topics.REGISTRY_MERCHANTS.name: (
            place.merchant_id,
            _snapshot(
                "registry.merchant.upserted",
                place,
                merchant_id=place.merchant_id,
                **where,
                stall_no=place.stall_no,
            ),
        ),
        topics.REGISTRY_TERMINALS.name: (
            place.terminal_id,
            _snapshot(
                "registry.terminal.upserted",
                place,
                terminal_id=place.terminal_id,
                **where,
                merchant_id=place.merchant_id,
            ),
        ),
    }


def other_events(place: Place) -> dict[str, tuple[str, Envelope[Any] | bytes]]:
    now = datetime.now(UTC)
    campaign_id = f"cmp_{uuid.uuid4().hex[:10]}"
    campaign = make_event(
        service="campaign",
        event_type="registry.campaign.upserted",
        version=SPECS["registry.campaign.upserted"].version,
        subject=campaign_id,
        data=SPECS["registry.campaign.upserted"].data.model_validate(
            SAMPLES["registry.campaign.upserted"].model_dump(mode="json")
            | {"campaign_id": campaign_id}
        ),
    )
    accepted = accepted_event(place, category="food_safety", accepted_at=now)
    suggestion = suggestion_received(place.market_id, f"prj_{uuid.uuid4().hex[:8]}", now)
    suggested = make_event(
        service="complaints",
        event_type="complaints.suggestion.received",
        version=1,
        subject=suggestion.suggestion_id,
        data=suggestion,
    )
    month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return {
        topics.REGISTRY_CAMPAIGN.name: (campaign_id, campaign),
        topics.CAMPAIGN_DUTIES.name: (
            place.market_id,
            duties_event(place, self_inspection=0.9, reports=1.0, certified=0.75),
        ),
        topics.CAMPAIGN_ENFORCEMENT.name: (place.merchant_id, decided_event(place, "warning")),
        topics.TELEMETRY_RISKS.name: (
            place.terminal_id,
            risk_event(place, raised_at=now - timedelta(minutes=1)),
        ),
        topics.COMPLAINTS_INTAKE.name: (
            f"intake-{place.market_id}",
            intake_event(submission(place)),
        ),
        topics.COMPLAINTS_EVENTS.name: (accepted.subject, accepted),
        topics.COMPLAINTS_SUGGESTIONS.name: (suggestion.suggestion_id, suggested),
        topics.INSPECTION_EVENTS.name: (place.merchant_id, completed(place, "pass")),
        topics.CREDIT_SCORES.name: (
            place.merchant_id,
            score_event(place, grade="B", version=1, score=80),
        ),
        topics.CREDIT_HONOURS.name: (place.merchant_id, honour_event(place, month)),
        topics.CREDIT_OBJECTIONS.name: (place.merchant_id, objection_decided_event(place)),
    }


async def _handled_by_every_consumer(
    stack: Stack, events: dict[str, tuple[str, Envelope[Any] | bytes]]
) -> None:
    sent = {}
    for topic, (key, event) in events.items():
        sent[topic] = await stack.producer.send_and_wait(topic, grown(event), key=key.encode())

    async def passed(topic: str) -> bool:
        tp = TopicPartition(topic, sent[topic].partition)
        for _service, _group, subscriber in stack.subscriptions(topic):
            committed = await subscriber.consumer.committed(tp)
            if committed is None or committed <= sent[topic].offset:
                return False
        return True

    for topic in events:
        consumers = {service for service, _, _ in stack.subscriptions(topic)}
        assert consumers >= set(topics.by_name(topic).consumers), topic
        await until(
            functools.partial(passed, topic),
            within=60,
            what=f"every consumer of {topic} committed past the extended event",
        )


async def test_events_with_unknown_fields_are_handled_by_every_consumer_not_dead_lettered(
    stack: Stack, kafka: str
) -> None:
    n = stack.tag
    place = Place(f"fc{n}", f"mkt_fc{n}", f"mer_fc{n}", "B-7", f"trm_fc{n}")
    first, then = registry_events(place), other_events(place)
    assert set(first) | set(then) == {t.name for t in CONSUMED}  # every consumed topic

    watchers = [TopicWatcher(kafka, t.dlq) for t in CONSUMED]
    for watcher in watchers:
        await watcher.__aenter__()
    try:
        await _handled_by_every_consumer(stack, first)
        await _handled_by_every_consumer(stack, then)
        keys = {key.encode() for key, _ in [*first.values(), *then.values()]}
        await asyncio.gather(*(w.drain(settle_s=0.5) for w in watchers))
    finally:
        for watcher in watchers:
            await watcher.__aexit__(None, None, None)

    # This run's events parked by this run's groups (the topics are shared with other runs).
    ours = [
        (r.topic, r.headers.get("dlq.consumer_group"), r.headers.get("dlq.error"))
        for w in watchers
        for r in w.records
        if r.key in keys and f"-{n}".encode() in r.headers.get("dlq.consumer_group", b"")
    ]
    assert ours == []
    for name, svc in stack.services.items():
        assert not svc.messaging.dispatcher.stalled, name
