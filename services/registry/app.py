"""Wiring of the registry service, in one place: settings, the unit-of-work factory and the
clock handed to the use cases, the routes, the daily licence job, and the routers of what the
registry takes from other services' topics (inspection's suspensions, the campaign's renovation
stages)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.registry.api import router
from services.registry.handlers import campaign_events, inspection_events
from services.registry.metrics import RegistryMetrics
from services.registry.public import router as public_router
from services.registry.service import Registry
from services.registry.settings import RegistrySettings
from services.registry.store import postgres_stores
from services.runtime.app import Service, create_app
from services.runtime.clock import utc_now

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: RegistrySettings | None = None, *, consume: bool = True) -> FastAPI:
    """The service. `consume=False` (one-off CLI runs) leaves other services' events to the
    running service."""
    settings = settings or RegistrySettings()
    secret = settings.secret("terminal_master_secret")
    service = Service(settings, MIGRATIONS)
    metrics = RegistryMetrics(service.metrics)
    registry = Registry(
        service.units(postgres_stores),
        now=utc_now,
        timezone=settings.timezone,
        master_secret=secret.encode(),
    )

    async def expire_licences(_: Service) -> None:
        await registry.expire_licences()

    service.every(settings.licence_check_interval_s, expire_licences, "expire-licences")
    if consume:
        service.subscribe(topics.INSPECTION_EVENTS.name, inspection_events(registry, metrics))
        service.subscribe(topics.REGISTRY_CAMPAIGN.name, campaign_events(registry, metrics))
    return create_app(
        service,
        [router, public_router],
        title="Market Sentinel — registry",
        description="Districts, markets and task forces, merchants and licences, terminals; "
        "the public directory of markets.",
        state={"registry": registry},
    )
