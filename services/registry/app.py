"""Wiring of the registry service: settings, runtime, routes, the daily licence job, and what the
registry takes from other services' topics (inspection's suspensions, the campaign's
renovation stages)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.registry.api import router
from services.registry.commands import Registry
from services.registry.feed import InspectionFeed, RenovationFeed
from services.registry.metrics import RegistryMetrics
from services.registry.public import router as public_router
from services.registry.settings import RegistrySettings
from services.runtime.app import Service, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: RegistrySettings | None = None, *, consume: bool = True) -> FastAPI:
    """The service. `consume=False` (one-off CLI runs) leaves other services' events to the
    running service."""
    settings = settings or RegistrySettings()
    if not settings.terminal_master_secret.get_secret_value():
        raise SystemExit(
            "SENTINEL_TERMINAL_MASTER_SECRET (or REGISTRY_TERMINAL_MASTER_SECRET) is not set"
        )
    service = Service(settings, MIGRATIONS)
    metrics = RegistryMetrics(service.metrics)
    registry = Registry(service, settings)
    feed = InspectionFeed(registry, metrics)
    renovations = RenovationFeed(registry, metrics)

    async def expire_licences(_: Service) -> None:
        await registry.expire_licences()

    service.every(settings.licence_check_interval_s, expire_licences, "expire-licences")
    if consume:
        service.subscribe(topics.INSPECTION_EVENTS.name, feed.on_event)
        service.subscribe(topics.REGISTRY_CAMPAIGN.name, renovations.on_event)
    app = create_app(
        service,
        [router, public_router],
        title="Market Sentinel — registry",
        description="Districts, markets and task forces, merchants and licences, terminals; "
        "the public directory of markets.",
    )
    app.state.registry = registry
    app.state.feed = feed
    app.state.renovations = renovations
    return app
