"""Wiring of the inspection service, in one place: the policy, the unit of work, the registry
views, the routers of the risk, complaint, failed renovation check, credit score, warning list
and objection topics, the gauges, the overdue clock, the patrol scheduler and the work API."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.inspection.api import router
from services.inspection.domain import Policy
from services.inspection.handlers import Handlers
from services.inspection.metrics import InspectionMetrics, InspectionObserver
from services.inspection.policy_files import default_catalogue
from services.inspection.projections import Directory
from services.inspection.service import InspectionService
from services.inspection.settings import InspectionSettings, InvalidPolicy
from services.inspection.store import Stores, count_open_work
from services.runtime.app import Service, create_app
from services.runtime.clock import Clock, utc_now
from services.runtime.gauges import CountedGauges

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


async def _log_policy(policy: Policy) -> None:
    log.info("inspection policy", extra={"policy": policy.to_dict()})


def build(
    settings: InspectionSettings | None = None,
    *,
    policy: Policy | None = None,
    now: Clock = utc_now,
) -> FastAPI:
    """The service; `policy` (tests) replaces the one the settings configure."""
    settings = settings or InspectionSettings()
    if policy is None:
        try:
            policy = settings.load_policy()
        except InvalidPolicy as exc:
            raise SystemExit(str(exc)) from exc
    service = Service(settings, MIGRATIONS)
    uow = service.units(Stores.postgres)
    metrics = InspectionMetrics(service.metrics)

    async def recount() -> None:
        metrics.show(await count_open_work(service.pool))

    # Recounted from the database: at start, periodically, and after each committed change.
    gauges = CountedGauges("inspection", recount, settings.gauge_refresh_interval_s)
    directory = Directory(uow)
    inspection = InspectionService(
        uow,
        directory,
        policy,
        now,
        catalogue=default_catalogue(),
        observer=InspectionObserver(metrics, gauges),
        photo_max_bytes=settings.photo_max_bytes,
    )
    handlers = Handlers(inspection)
    routers = handlers.routers()

    service.project(
        topics.REGISTRY_MARKETS.name, routers[topics.REGISTRY_MARKETS.name], view="markets"
    )
    service.project_batches(topics.REGISTRY_MERCHANTS.name, handlers.on_merchants, view="merchants")
    service.subscribe(topics.TELEMETRY_RISKS.name, routers[topics.TELEMETRY_RISKS.name])
    service.subscribe(topics.COMPLAINTS_EVENTS.name, routers[topics.COMPLAINTS_EVENTS.name])
    # Failed renovation checks become market-level tasks; the topic's other events are ignored.
    # From the topic's end the first time: inspection does not read the passing checks that
    # close a failure, so replaying the campaign's history would open a task for every failed
    # check ever recorded, long since put right.
    service.subscribe(
        topics.REGISTRY_CAMPAIGN.name,
        routers[topics.REGISTRY_CAMPAIGN.name],
        auto_offset_reset="latest",
    )
    # Grades are a compacted latest-per-merchant topic, read like the projections in a group of
    # their own; plans ignore a score version they already have, so a replay changes nothing.
    service.subscribe(
        topics.CREDIT_SCORES.name,
        routers[topics.CREDIT_SCORES.name],
        group_id=f"{settings.group_id}-scores",
    )
    # The monthly warning list (红黑榜): exactly once through the inbox, in the service's group.
    service.subscribe(topics.CREDIT_HONOURS.name, routers[topics.CREDIT_HONOURS.name])
    # From the start: a finding corrected while inspection was away still ends its orders.
    service.subscribe(topics.CREDIT_OBJECTIONS.name, routers[topics.CREDIT_OBJECTIONS.name])
    service.on_start(directory.load)
    service.on_start(lambda: _log_policy(policy))
    # Tasks by state and overdue rectifications, counted from the database: before consuming,
    # then periodically and after each change (on every replica).
    service.on_start(gauges.refresh)
    service.after_start(gauges.run)
    service.every(
        settings.clock_check_interval_s, lambda _: inspection.check_clock(), "overdue-clock"
    )
    service.every(
        settings.patrol_check_interval_s, lambda _: inspection.check_patrols(), "patrol-scheduler"
    )

    return create_app(
        service,
        [router],
        title="Market Sentinel — inspection",
        description="Risks become inspection tasks; findings become rectification orders.",
        state={"inspection": inspection},
        max_upload_bytes=settings.photo_max_bytes,
    )
