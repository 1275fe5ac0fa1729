"""Wiring of the registry service: settings, runtime, routes, the daily licence job, the
campaign clock, and the inspection events the registry takes in (suspensions, disclosures)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.registry.api import router
from services.registry.campaign.api import router as campaign_router
from services.registry.campaign.commands import Campaigns, utc_now
from services.registry.commands import Registry
from services.registry.feed import InspectionFeed
from services.registry.metrics import RegistryMetrics
from services.registry.public import router as public_router
from services.registry.settings import RegistrySettings
from services.runtime.app import Service, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: RegistrySettings | None = None,
    *,
    now: Callable[[], datetime] = utc_now,
    consume: bool = True,
) -> FastAPI:
    """The service. `now` is the campaign clock (tests move it); `consume=False` (one-off CLI
    runs) leaves inspection's events to the running service."""
    settings = settings or RegistrySettings()
    if not settings.terminal_master_secret.get_secret_value():
        raise SystemExit(
            "SENTINEL_TERMINAL_MASTER_SECRET (or REGISTRY_TERMINAL_MASTER_SECRET) is not set"
        )
    service = Service(settings, MIGRATIONS)
    metrics = RegistryMetrics(service.metrics)
    registry = Registry(service, settings)
    campaigns = Campaigns(service, registry, metrics, timezone=settings.timezone, now=now)
    registry.task_force_hooks.append(campaigns.on_task_force)
    feed = InspectionFeed(registry, campaigns, metrics)

    async def expire_licences(_: Service) -> None:
        await registry.expire_licences()

    service.every(settings.licence_check_interval_s, expire_licences, "expire-licences")
    if settings.campaign_check_interval_s > 0:
        service.every(settings.campaign_check_interval_s, campaigns.check_clock, "campaign-clock")
    if consume:
        service.subscribe(topics.INSPECTION_EVENTS.name, feed.on_event)
    app = create_app(
        service,
        [router, campaign_router, public_router],
        title="Market Sentinel — registry",
        description="Districts, markets and task forces, merchants and licences, terminals; "
        "the city's campaign, renovation projects and public disclosures.",
    )
    app.state.registry = registry
    app.state.campaigns = campaigns
    app.state.feed = feed
    return app
