"""Wiring of the campaign service, in one place: the unit of work over the service's schema, the
registry view (markets, task forces, merchants), the inspection events it discloses, the
citizens' suggestions that comment on renovation plans, the campaign clock and the HTTP API."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

import asyncpg
from fastapi import FastAPI

from contracts import topics
from contracts.registry import MarketUpserted
from services.campaign import duties, joint
from services.campaign.api import router
from services.campaign.duties import DutiesConfig
from services.campaign.handlers import inspection_router, suggestions_router
from services.campaign.joint.config import DEPARTMENTS_FILE, JointConfig
from services.campaign.metrics import CampaignMetrics
from services.campaign.service import Campaigns
from services.campaign.settings import CampaignSettings
from services.campaign.store import Stores, postgres_stores
from services.runtime.app import Service, create_app
from services.runtime.clock import Clock, utc_now
from services.runtime.directory import RegistryDirectory
from services.runtime.outbox import enqueue_many
from services.runtime.unit_of_work import UnitOfWork, UowFactory, postgres_units

MIGRATIONS = Path(__file__).parent / "migrations"


class _JoinedUnit(UnitOfWork[Stores]):
    """A unit of work inside a transaction another part of the service holds (the registry
    view's, which takes a newer market snapshot): its events join that transaction's outbox
    rows, and an exception leaves through the holder, which rolls all of it back."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        super().__init__()
        self.conn, self.schema = conn, schema
        self.stores = postgres_stores(conn)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._outgoing:
            await enqueue_many(self.conn, self._outgoing, schema=self.schema)
        self._outgoing = []

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        return self


def joined(conn: asyncpg.Connection, schema: str) -> UowFactory[Stores]:
    return lambda: _JoinedUnit(conn, schema)


def build(
    settings: CampaignSettings | None = None,
    *,
    now: Clock = utc_now,
    consume: bool = True,
) -> FastAPI:
    """The service. `now` is the campaign clock (tests move it); `consume=False` (one-off CLI
    runs) leaves inspection's events to the running service (the registry view is still read)."""
    settings = settings or CampaignSettings()
    service = Service(settings, MIGRATIONS)
    metrics = CampaignMetrics(service.metrics)
    directory = RegistryDirectory()
    directory.attach(service)
    uow = postgres_units(lambda: service.pool, service.schema, postgres_stores)
    campaigns = Campaigns(uow, directory, metrics, timezone=settings.timezone, now=now)

    async def on_market(
        conn: asyncpg.Connection, previous: MarketUpserted | None, market: MarketUpserted
    ) -> None:
        await campaigns.on_market(previous, market, joined(conn, service.schema))

    directory.on_market_change(on_market)

    async def check_clock(_: Service) -> None:
        # Only once the view knows every market: a market it missed has no milestones to flag.
        if directory.caught_up.is_set():
            await campaigns.check_clock()

    if settings.campaign_check_interval_s > 0:
        service.every(settings.campaign_check_interval_s, check_clock, "campaign-clock")
    if consume:
        service.subscribe(topics.INSPECTION_EVENTS.name, inspection_router(campaigns))
        # A group of its own: the suggestions topic's offsets never wait on inspection's.
        service.subscribe(
            topics.COMPLAINTS_SUGGESTIONS.name,
            suggestions_router(campaigns),
            group_id=f"{settings.group_id}-suggestions",
        )
    plan = duties.install(service, directory, config=DutiesConfig.from_settings(settings), now=now)
    joint_router = joint.attach(
        service,
        directory,
        config=JointConfig(
            check_interval_s=settings.joint_check_interval_s,
            timezone=settings.timezone,
            departments_file=settings.joint_departments_file or DEPARTMENTS_FILE,
        ),
        now=now,
        consume=consume,
    )
    app = create_app(
        service,
        [router, plan.router, joint_router],
        title="Market Sentinel — campaign",
        description="The city's campaign (专项整治行动): deadlines and milestones, renovation "
        "projects and the public consultation on their plans, public disclosures of late "
        "milestones, failed checks, overdue rectifications and problems exposed by the press "
        "or the public (with their rectification deadlines); task-force reports, operators' "
        "self-inspections, training and certificates; joint meetings and joint enforcement "
        "cases.",
    )
    app.state.campaigns = campaigns
    app.state.directory = directory
    app.state.duties = plan.duties
    app.state.joint = joint_router.joint
    return app
