"""Wiring of the duties component into the campaign service: the checklist file read and handed
to the rules, the tables (migrations component `duties`), the unit of work, the registry view's
hook (a market's task force dates its reporting schedule), the clock and the HTTP routes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from services.campaign.duties.api import build_router
from services.campaign.duties.config import DutiesConfig
from services.campaign.duties.metrics import DutiesMetrics
from services.campaign.duties.policy_files import load_checklist
from services.campaign.duties.service import ClockRun, Duties
from services.campaign.duties.store import postgres_stores
from services.campaign.market_changes import follow_markets
from services.runtime.app import Service
from services.runtime.clock import Clock, utc_now
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Component:
    duties: Duties
    router: APIRouter


def install(
    service: Service,
    directory: RegistryDirectory,
    *,
    config: DutiesConfig | None = None,
    now: Clock = utc_now,
) -> Component:
    """Wire the component into `service` and return it (its use cases and its routes)."""
    config = config or DutiesConfig()
    try:
        checklist = load_checklist(config.checklist_path)
    except ValueError as exc:
        raise SystemExit(f"self-inspection checklist: {exc}") from exc
    service.add_migrations("duties", MIGRATIONS)
    uow = service.units(postgres_stores)
    duties = Duties(uow, directory, config, checklist, now, DutiesMetrics(service.metrics))

    follow_markets(service, directory, postgres_stores, duties.on_market_change)

    async def check_duties(_: Service) -> ClockRun | None:
        # Only once the registry view knows every market (and its task force).
        if not directory.caught_up.is_set():
            return None
        return await duties.check()

    # An interval of 0 leaves the clock off (run `Duties.check` from a scheduler instead).
    if config.check_interval_s > 0:
        service.every(config.check_interval_s, check_duties, "duties-clock")
    return Component(duties, build_router(duties))
