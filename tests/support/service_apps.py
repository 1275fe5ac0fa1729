"""Every service's app, built and not started (authorisation runs before any handler touches
Kafka or Postgres, so a refusal needs neither), trusting tokens of a local signer (SIGNER); and
the walk of their route tables: each route with the roles its `require(...)` admits (ROUTES), and
those that refuse an anonymous call (PROTECTED)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.support.signing import ISSUER, LocalSigner

SIGNER = LocalSigner()
COMMON: dict[str, Any] = {
    "kafka_bootstrap_servers": "127.0.0.1:1",
    "database_url": "postgresql://nobody@127.0.0.1:1/none",
    "oidc_issuer": ISSUER,
    "oidc_jwks": SIGNER.jwks_json(),
}


def built_apps() -> Iterator[tuple[str, Any]]:
    """(service, app) for each service, on a Kafka and a Postgres that nobody listens at."""
    from services.campaign.app import build as campaign
    from services.campaign.settings import CampaignSettings
    from services.complaints.app import build as complaints
    from services.complaints.settings import ComplaintsSettings
    from services.credit.app import build as credit
    from services.credit.settings import CreditSettings
    from services.inspection.app import build as inspection
    from services.inspection.settings import InspectionSettings
    from services.registry.app import build as registry
    from services.registry.settings import RegistrySettings
    from services.telemetry.app import build as telemetry
    from services.telemetry.settings import TelemetrySettings

    yield "registry", registry(RegistrySettings(**COMMON, terminal_master_secret="m" * 32))
    yield "telemetry", telemetry(TelemetrySettings(**COMMON, terminal_master_secret="m" * 32))
    yield "inspection", inspection(InspectionSettings(**COMMON))
    yield "complaints", complaints(ComplaintsSettings(**COMMON))
    yield "credit", credit(CreditSettings(**COMMON))
    yield "campaign", campaign(CampaignSettings(**COMMON))


APPS = dict(built_apps())


def roles_of(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles a route's `require(...)` admits, found anywhere in its dependency tree."""
    roles = getattr(dependant.call, "roles", None)
    if roles is not None:
        return tuple(roles)
    for sub in dependant.dependencies:
        found = roles_of(sub)
        if found is not None:
            return found
    return None


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (which this FastAPI keeps nested; the
    services include theirs without a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def routes() -> Iterator[tuple[str, str, str, tuple[str, ...] | None]]:
    """(service, method, path, roles) of every route of APPS; roles None: anyone may call it."""
    for service, app in APPS.items():
        for route in api_routes(app.routes):
            for method in sorted(route.methods):
                yield service, method, route.path, roles_of(route.dependant)


ROUTES = list(routes())
PROTECTED = [(s, m, p, r) for s, m, p, r in ROUTES if r is not None]
