"""Markets' duties in the campaign service: task-force reports (定期汇报), operators' daily
self-inspections (自查) with their follow-ups, training of market managers (培训, 合格证), and
each market's standing on them (`campaign.duties.v1`, read into the market assessment).

    router = duties.attach(service, directory, config=DutiesConfig(), now=utc_now)
    app = create_app(service, [..., router], ...)

`attach` registers the component's migrations and its clock with the service, hooks into the
registry view (a market's task force dates its reporting schedule) and returns the HTTP routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter

from services.campaign.duties import clock
from services.campaign.duties.api import build_router
from services.campaign.duties.checklist import load_checklist
from services.campaign.duties.commands import Duties
from services.campaign.duties.config import DutiesConfig
from services.runtime.app import Service
from services.runtime.clock import utc_now
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = ["MIGRATIONS", "Component", "Duties", "DutiesConfig", "attach", "install"]


@dataclass(frozen=True)
class Component:
    duties: Duties
    router: APIRouter


def install(
    service: Service,
    directory: RegistryDirectory,
    *,
    config: DutiesConfig | None = None,
    now: Callable[[], datetime] = utc_now,
) -> Component:
    """Wire the component into `service` and return it (its use cases and its routes)."""
    config = config or DutiesConfig()
    try:
        checklist = load_checklist(config.checklist_path)
    except ValueError as exc:
        raise SystemExit(f"self-inspection checklist: {exc}") from exc
    service.add_migrations("duties", MIGRATIONS)
    duties = Duties(service, directory, config, checklist, now)
    directory.on_market_change(duties.on_market_change)
    clock.schedule(service, duties)
    return Component(duties, build_router(duties))


def attach(
    service: Service,
    directory: RegistryDirectory,
    *,
    config: DutiesConfig | None = None,
    now: Callable[[], datetime] = utc_now,
) -> APIRouter:
    """Wire the component into `service`; returns its router for `create_app`."""
    return install(service, directory, config=config, now=now).router
