"""Two replicas of each service that keeps a registry view: each replica's view holds the whole
registry, on real Kafka and Postgres (issue 18, point 4).

The replicas share the service's consumer group, its schema and so the view's durable copy,
exactly as two pods of one deployment do. Snapshots go to every partition of the registry's
topics; before the views had groups of their own, each replica held only the partitions the
group gave it, and a replica whose snapshot the other had stored first never took it in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import BaseModel

from contracts import topics
from contracts.envelope import make_event
from contracts.events import spec
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support.city import start_group_at_end
from tests.support.event_samples import SAMPLES
from tests.support.poll import until

PARTITIONS = 3
PER_PARTITION = 2

# Each service's views, by the topic they follow: the mapping a handler reads.
Views = Callable[[FastAPI], dict[str, Mapping[str, Any]]]


def _registry_views(app: FastAPI) -> dict[str, Mapping[str, Any]]:
    d = app.state.directory
    return {topics.REGISTRY_MARKETS.name: d.markets, topics.REGISTRY_MERCHANTS.name: d.merchants}


def _views_of(attr: str) -> Views:
    def views(app: FastAPI) -> dict[str, Mapping[str, Any]]:
        d = getattr(app.state, attr).directory
        if attr == "telemetry":
            return {
                topics.REGISTRY_TERMINALS.name: d.terminals,
                topics.REGISTRY_MARKETS.name: d.markets,
            }
        return {
            topics.REGISTRY_MARKETS.name: d.markets,
            topics.REGISTRY_MERCHANTS.name: d.merchants,
        }

    return views


SERVICES: dict[str, tuple[Callable[..., FastAPI], type, Views]] = {
    "complaints": (build_complaints, ComplaintsSettings, _views_of("complaints")),
    "credit": (build_credit, CreditSettings, _views_of("credit")),
    "campaign": (build_campaign, CampaignSettings, _registry_views),
    "inspection": (build_inspection, InspectionSettings, _views_of("inspection")),
    "telemetry": (build_telemetry, TelemetrySettings, _views_of("telemetry")),
}
SNAPSHOTS: dict[str, tuple[str, str]] = {
    topics.REGISTRY_MARKETS.name: ("registry.market.upserted", "market_id"),
    topics.REGISTRY_MERCHANTS.name: ("registry.merchant.upserted", "merchant_id"),
    topics.REGISTRY_TERMINALS.name: ("registry.terminal.upserted", "terminal_id"),
}


def _snapshot(event_type: str, id_field: str, key: str, version: int) -> BaseModel:
    sample = SAMPLES[event_type]
    update: dict[str, Any] = {id_field: key, "version": version, "updated_at": datetime.now(UTC)}
    if event_type == "registry.merchant.upserted":
        # One stall per merchant: the views index merchants by their stall too.
        update["stall_no"] = f"S-{key[-8:]}"
    return sample.model_copy(update=update)


async def _publish(producer: AIOKafkaProducer, topic: str, partition: int, data: Any) -> None:
    event_type, id_field = SNAPSHOTS[topic]
    key = getattr(data, id_field)
    event = make_event(
        service="registry",
        event_type=event_type,
        version=spec(event_type).version,
        subject=key,
        data=data,
    )
    await producer.send_and_wait(
        topic,
        event.to_json(),
        key=key.encode(),
        partition=partition,
        headers=[("ce_type", event_type.encode())],
    )


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_every_replica_holds_the_whole_registry(
    name: str, kafka: str, database_url: str, secrets_env: dict[str, str]
) -> None:
    build, settings_class, views = SERVICES[name]
    group = f"replicas-{name}-{uuid.uuid4().hex[:8]}"
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka,
        "database_url": database_url,
        "oidc_issuer": secrets_env["OIDC_ISSUER"],
        "consumer_group": group,
        "db_schema": f"replicas_{name}_{uuid.uuid4().hex[:8]}",
        "outbox_poll_interval_s": 0.1,
    }
    if name == "telemetry":
        common["terminal_master_secret"] = secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"]
    apps = [build(settings_class(**common, replica_id=r)) for r in ("pod-a", "pod-b")]
    services = [app.state.service for app in apps]
    # The service's own group (shared by the replicas) starts at the ends of its topics: the
    # replicas see what this test causes, not the history of the shared topics.
    own = {
        (topic, g)
        for s in services
        for topic, g, _ in s.messaging._subscribers
        if (topic, g) not in s.projections.views
    }
    for topic, g in own:
        await start_group_at_end(kafka, g, topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for service in services:
            await service.start()
        for service in services:
            await until(service.projections.ready.is_set, within=180, what="views caught up")
        # The replicas consume the views in groups of their own.
        groups = [{g for _, g in s.projections.views} for s in services]
        assert not groups[0] & groups[1]

        followed = views(apps[0]).keys()
        sent: dict[str, list[BaseModel]] = {}
        for topic in followed:
            event_type, id_field = SNAPSHOTS[topic]
            sent[topic] = []
            for partition in range(PARTITIONS):
                for _ in range(PER_PARTITION):
                    key = f"{id_field[:3]}_{uuid.uuid4().hex[:12]}"
                    data = _snapshot(event_type, id_field, key, version=1)
                    await _publish(producer, topic, partition, data)
                    sent[topic].append(data)

        def holds(app: FastAPI, topic: str, version: int, keys: list[str]) -> bool:
            view = views(app)[topic]
            return all(k in view and view[k].version >= version for k in keys)

        for topic, snapshots in sent.items():
            id_field = SNAPSHOTS[topic][1]
            keys = [getattr(s, id_field) for s in snapshots]
            for replica, app in zip(("pod-a", "pod-b"), apps, strict=True):
                await until(
                    lambda app=app, topic=topic, keys=keys: holds(app, topic, 1, keys),
                    within=60,
                    what=f"{name} {replica} holds every {topic} snapshot",
                )

        # A newer snapshot, stored by whichever replica came first, reaches both memories.
        topic = next(iter(sent))
        event_type, id_field = SNAPSHOTS[topic]
        first = sent[topic][0]
        key = getattr(first, id_field)
        await _publish(producer, topic, 0, _snapshot(event_type, id_field, key, version=2))
        for app in apps:
            await until(
                lambda app=app: holds(app, topic, 2, [key]),
                within=60,
                what=f"{name}: both replicas hold version 2 of {key}",
            )
        assert all(views(app)[topic][key].version == 2 for app in apps)
    finally:
        await producer.stop()
        for service in services:
            if service.started:
                await service.stop()
