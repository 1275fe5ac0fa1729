"""Wiring of the telemetry service, in one place: the unit of work over the service's schema, the
registry views, the readings subscription, the silence check, the gauges and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.runtime.app import Service, create_app
from services.runtime.clock import EpochClock, epoch_now
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
    uow = service.units(postgres_stores)

    readings = settings.readings_topic
    service.messaging.track_feed(readings, stale_after_s=settings.feed_stale_after_s)
    telemetry = Telemetry(
        uow,
        settings,
        directory,
        TelemetryMetrics(service.metrics),
        now,
        ready=service.projections.ready,
        # Records found missing before a batch (pending batches a crash dropped) come again.
        rewind=service.messaging.rewind,
        # Silence counts only while the readings reach the service, judged by each process for
        # the partitions it holds (docs/rules.md, "monitoring gap").
        feed=lambda: service.messaging.feed_view(readings),
    )

    terminals, markets = topics.REGISTRY_TERMINALS.name, topics.REGISTRY_MARKETS.name
    service.project_batches(terminals, service.with_pool(directory.on_terminals), view="terminals")
    service.project_batches(markets, service.with_pool(directory.on_markets), view="markets")
    service.messaging.subscribe_batch(
        readings,
        telemetry.handle_batch,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
    )
    service.on_start(lambda: directory.load(service.pool))
    service.on_start(telemetry.gauges.refresh)
    service.after_start(telemetry.gauges.run)
    # Pending states are written when due although no batch comes, and at stop.
    service.after_start(telemetry.flush_when_due)

    # Every process checks the silence of the terminals of the readings' partitions it holds
    # (docs/rules.md, "monitoring gap"): none waits for, or stands in for, another's check.
    service.every(
        settings.silence_check_interval_s,
        telemetry.check_silence,
        "silence-check",
        each_replica=True,
    )

    return create_app(
        service,
        [router],
        title="Market Sentinel — telemetry",
        description="Signed terminal readings in; food-safety and market-order risks out.",
        state={"telemetry": telemetry},
    )
