"""Wiring of the campaign service, in one place: the unit of work over the service's schema, the
registry view (markets, task forces, merchants), the inspection events it discloses, the
citizens' suggestions that comment on renovation plans, the campaign clock and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.campaign import duties, joint
from services.campaign.api import router
from services.campaign.duties import DutiesConfig
from services.campaign.handlers import inspection_router, suggestions_router
from services.campaign.joint.config import DEPARTMENTS_FILE, JointConfig
from services.campaign.market_changes import follow_markets
from services.campaign.metrics import CampaignMetrics
from services.campaign.service import Campaigns
from services.campaign.settings import CampaignSettings
from services.campaign.store import postgres_stores
from services.runtime.app import Service, create_app
from services.runtime.clock import Clock, utc_now
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


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
    uow = service.units(postgres_stores)
    campaigns = Campaigns(uow, directory, metrics, timezone=settings.timezone, now=now)

    follow_markets(service, directory, postgres_stores, campaigns.on_market)

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
    return create_app(
        service,
        [router, plan.router, joint_router],
        title="Market Sentinel — campaign",
        description="The city's campaign (专项整治行动): deadlines and milestones, renovation "
        "projects and the public consultation on their plans, public disclosures of late "
        "milestones, failed checks, overdue rectifications and problems exposed by the press "
        "or the public (with their rectification deadlines); task-force reports, operators' "
        "self-inspections, training and certificates; joint meetings and joint enforcement "
        "cases.",
        state={
            "campaigns": campaigns,
            "directory": directory,
            "duties": plan.duties,
            "joint": joint_router.joint,
        },
    )
