"""Wiring of the complaints service, in one place: the policy and calendar files, the unit of
work over the service's schema, the registry view, the Kafka routers, the deadline clock and the
HTTP API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.complaints.api import router
from services.complaints.domain import Policy, WorkCalendar
from services.complaints.handlers import inspection_router, intake_router
from services.complaints.metrics import ComplaintsMetrics
from services.complaints.policy_files import load_calendar, load_policy
from services.complaints.service import Complaints, Suggestions
from services.complaints.settings import ComplaintsSettings
from services.complaints.store import postgres_stores
from services.runtime.app import Service, create_app
from services.runtime.clock import Clock, utc_now
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: ComplaintsSettings | None = None,
    *,
    policy: Policy | None = None,
    calendar: WorkCalendar | None = None,
    now: Clock = utc_now,
) -> FastAPI:
    settings = settings or ComplaintsSettings()
    service = Service(settings, MIGRATIONS)
    directory = RegistryDirectory()
    directory.attach(service)
    uow = service.units(postgres_stores)
    complaints = Complaints(
        uow,
        directory,
        policy or load_policy(settings),
        calendar or load_calendar(settings),
        now,
        ComplaintsMetrics(service.metrics),
        photo_max_bytes=settings.photo_max_bytes,
        photo_ttl=timedelta(seconds=settings.photo_ttl_s),
        photo_max_unclaimed=settings.photo_max_unclaimed,
    )
    service.subscribe(topics.COMPLAINTS_INTAKE.name, intake_router(complaints))
    service.subscribe(topics.INSPECTION_EVENTS.name, inspection_router(complaints))
    service.every(settings.clock_check_interval_s, complaints.check_clock, "deadline-clock")
    service.every(settings.clock_check_interval_s, complaints.expire_photos, "photo-expiry")

    return create_app(
        service,
        [router],
        title="Market Sentinel — complaints",
        description="Consumer complaints within the legal time limits (working-day clocks); "
        "citizens' suggestions (意见建议) and their answers.",
        state={"complaints": complaints, "suggestions": Suggestions(uow, directory, now)},
        max_upload_bytes=settings.photo_max_bytes,
    )
