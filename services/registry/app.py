"""Wiring of the registry service: settings, runtime, routes and the daily licence job."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.registry.api import router
from services.registry.commands import Registry
from services.registry.settings import RegistrySettings
from services.runtime.app import Service, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    if not settings.terminal_master_secret.get_secret_value():
        raise SystemExit(
            "SENTINEL_TERMINAL_MASTER_SECRET (or REGISTRY_TERMINAL_MASTER_SECRET) is not set"
        )
    if not settings.auth_secret.get_secret_value():
        raise SystemExit("SENTINEL_AUTH_SECRET (or REGISTRY_AUTH_SECRET) is not set")
    service = Service(settings, MIGRATIONS)
    registry = Registry(service, settings)

    async def expire_licences(_: Service) -> None:
        await registry.expire_licences()

    service.every(settings.licence_check_interval_s, expire_licences, "expire-licences")
    app = create_app(
        service,
        [router],
        title="Market Sentinel — registry",
        description="Districts, markets and task forces, merchants and licences, terminals.",
    )
    app.state.registry = registry
    return app
