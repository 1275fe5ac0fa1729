"""Wiring of the inspection service: registry projections, the risk, complaint, failed renovation
check, credit score and warning list consumers, the overdue clock, the patrol scheduler and the
work API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.inspection.api import router
from services.inspection.commands import Inspection, utc_now
from services.inspection.domain import Policy
from services.inspection.projections import Directory
from services.inspection.settings import InspectionSettings, InvalidPolicy
from services.runtime.app import Service, create_app
from services.runtime.messaging import Delivery

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


async def _log_policy(policy: Policy) -> None:
    log.info("inspection policy", extra={"policy": policy.to_dict()})


def build(
    settings: InspectionSettings | None = None,
    *,
    policy: Policy | None = None,
    now: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The service; `policy` (tests) replaces the one the settings configure."""
    settings = settings or InspectionSettings()
    if policy is None:
        try:
            policy = settings.load_policy()
        except InvalidPolicy as exc:
            raise SystemExit(str(exc)) from exc
    service = Service(settings, MIGRATIONS)
    directory = Directory()
    inspection = Inspection(
        service,
        directory,
        policy,
        now,
        photo_max_bytes=settings.photo_max_bytes,
        gauge_refresh_interval_s=settings.gauge_refresh_interval_s,
    )

    async def on_market(d: Delivery) -> None:
        await directory.on_market(service.pool, d)

    async def on_merchant(d: Delivery) -> None:
        # A merchant's first snapshot starts its patrol plan, in the same transaction.
        await directory.on_merchant(service.pool, d, on_new=inspection.start_plan)

    service.project(topics.REGISTRY_MARKETS.name, on_market, view="markets")
    service.project(topics.REGISTRY_MERCHANTS.name, on_merchant, view="merchants")
    service.subscribe(topics.TELEMETRY_RISKS.name, inspection.on_risk)
    service.subscribe(topics.COMPLAINTS_EVENTS.name, inspection.on_complaint)
    # Failed renovation checks become market-level tasks; the topic's other events are ignored.
    # From the topic's end the first time: inspection does not read the passing checks that
    # close a failure, so replaying the campaign's history would open a task for every failed
    # check ever recorded, long since put right.
    service.subscribe(
        topics.REGISTRY_CAMPAIGN.name, inspection.on_campaign, auto_offset_reset="latest"
    )
    # Grades are a compacted latest-per-merchant topic, read like the projections in a group of
    # their own; plans ignore a score version they already have, so a replay changes nothing.
    service.subscribe(
        topics.CREDIT_SCORES.name, inspection.on_score, group_id=f"{settings.group_id}-scores"
    )
    # The monthly warning list (红黑榜): exactly once through the inbox, in the service's group.
    service.subscribe(topics.CREDIT_HONOURS.name, inspection.on_honour)
    service.on_start(lambda: directory.load(service.pool))
    service.on_start(lambda: _log_policy(policy))
    # Tasks by state and overdue rectifications, counted from the database: before consuming,
    # then periodically and after each change (on every replica).
    service.on_start(inspection.gauges.refresh)
    service.after_start(inspection.gauges.run)
    service.every(settings.clock_check_interval_s, inspection.check_clock, "overdue-clock")
    service.every(settings.patrol_check_interval_s, inspection.check_patrols, "patrol-scheduler")

    app = create_app(
        service,
        [router],
        title="Market Sentinel — inspection",
        description="Risks become inspection tasks; findings become rectification orders.",
    )
    app.state.inspection = inspection
    return app
