"""Wiring of the telemetry service, in one place: the unit of work over the service's schema, the
registry views, the readings subscription, the silence check, the gauges and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from aiokafka import TopicPartition
from fastapi import FastAPI

from contracts import topics
from services.runtime.app import Service, create_app
from services.runtime.clock import EpochClock, epoch_now
from services.runtime.unit_of_work import postgres_units
from services.telemetry.api import router
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.projections import Directory
from services.telemetry.service import Telemetry
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import postgres_stores

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: TelemetrySettings | None = None, now: EpochClock = epoch_now) -> FastAPI:
    settings = settings or TelemetrySettings()
    master = settings.secret("terminal_master_secret")
    service = Service(settings, MIGRATIONS)
    directory = Directory(master.encode())
    uow = postgres_units(lambda: service.pool, service.schema, postgres_stores)

    async def rewind(topic: str, partition: int, offset: int) -> int:
        """Position the readings consumer at `offset` of a partition (at least at the first
        offset Kafka still holds) and return where: the records from there come again."""
        for name, _, subscriber in service.messaging._subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if name != settings.readings_topic or consumer is None:
                continue
            tp = TopicPartition(topic, partition)
            offset = max(offset, (await consumer.beginning_offsets([tp]))[tp])
            consumer.seek(tp, offset)
        return offset

    telemetry = Telemetry(
        uow,
        settings,
        directory,
        TelemetryMetrics(service.metrics),
        now,
        ready=service.projections.ready,
        rewind=rewind,
    )

    terminals, markets = topics.REGISTRY_TERMINALS.name, topics.REGISTRY_MARKETS.name
    service.project(terminals, service.with_pool(directory.on_terminal), view="terminals")
    service.project(markets, service.with_pool(directory.on_market), view="markets")
    service.messaging.subscribe_batch(
        settings.readings_topic,
        telemetry.handle_batch,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
    )
    service.on_start(lambda: directory.load(service.pool))
    service.on_start(telemetry.gauges.refresh)
    service.after_start(telemetry.gauges.run)
    # Pending states are written when due although no batch comes, and at stop.
    service.after_start(telemetry.flush_when_due)

    service.every(settings.silence_check_interval_s, telemetry.check_silence, "silence-check")

    return create_app(
        service,
        [router],
        title="Market Sentinel — telemetry",
        description="Signed terminal readings in; food-safety and market-order risks out.",
        state={"telemetry": telemetry},
    )
