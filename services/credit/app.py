"""Wiring of the credit service, in one place: the policy files, the unit of work over the
service's schema, the registry view, the Kafka routers of the ledger (inspection, complaints,
registry, risks, joint enforcement, its own objections) and of the campaign's duties, the fade
clock, the assessment and honour-list schedules and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.credit.api import router
from services.credit.domain import PolicyBook
from services.credit.domain.objections import DecisionDeadline
from services.credit.handlers import (
    complaints_router,
    duties_router,
    enforcement_router,
    inspection_router,
    merchants_batches,
    objections_router,
    risks_router,
)
from services.credit.metrics import CreditMetrics
from services.credit.policy_files import load_book
from services.credit.service import Credit
from services.credit.settings import CreditSettings
from services.credit.store import postgres_stores
from services.runtime.app import Service, create_app
from services.runtime.clock import Clock, utc_now
from services.runtime.data_files import load_calendar
from services.runtime.directory import MIGRATIONS as DIRECTORY_MIGRATIONS
from services.runtime.directory import RegistryDirectory
from services.runtime.gauges import CountedGauges

MIGRATIONS = Path(__file__).parent / "migrations"
# The topics the ledger is made of: a rebuild replays them, the monthly drawing waits for them.
LEDGER_TOPICS = (
    topics.INSPECTION_EVENTS.name,
    topics.COMPLAINTS_EVENTS.name,
    topics.REGISTRY_MERCHANTS.name,
    topics.TELEMETRY_RISKS.name,
    topics.CAMPAIGN_ENFORCEMENT.name,
    topics.CREDIT_OBJECTIONS.name,
)


def wire(
    settings: CreditSettings,
    *,
    book: PolicyBook | None = None,
    now: Clock = utc_now,
    publish: bool = True,
    consume: bool = True,
) -> tuple[Service, Credit]:
    """The service and its consumers; `publish=False` (a rebuild) announces nothing and runs no
    clocks; `consume=False` (a one-off command) consumes nothing and runs no clocks."""
    service = Service(settings, MIGRATIONS)
    directory = RegistryDirectory()
    uow = service.units(postgres_stores)
    # Open objections by district and overdue, counted from the database: at start, then
    # periodically (days pass deadlines) and soon after each filing or decision.
    gauges = CountedGauges(
        "objections",
        lambda: credit.refresh_objection_counts(),
        settings.objection_count_interval_s,
    )
    credit = Credit(
        uow,
        directory,
        book or load_book(settings),
        now,
        CreditMetrics(service.metrics),
        publish=publish,
        tz=settings.timezone,
        deadline=DecisionDeadline(
            settings.objection_working_days,
            load_calendar(settings.calendar_file, "CREDIT_CALENDAR_FILE"),
            settings.timezone,
        ),
        objections_changed=gauges.poke,
    )
    if not consume:
        # A one-off command: the registry view as the running service left it in the tables;
        # the topics are the running service's to consume.
        service.add_migrations("directory", DIRECTORY_MIGRATIONS)
        service.on_start(lambda: directory.load(service.pool))
        return service, credit
    directory.attach(service)
    service.subscribe(topics.INSPECTION_EVENTS.name, inspection_router(credit))
    service.subscribe(topics.COMPLAINTS_EVENTS.name, complaints_router(credit))
    # In batches, in the service's group as the other ledger topics: one replica takes each
    # snapshot's facts, and a rebuild waits for the group to catch up (rebuild.py).
    service.messaging.subscribe_batch(topics.REGISTRY_MERCHANTS.name, merchants_batches(credit))
    service.subscribe(topics.TELEMETRY_RISKS.name, risks_router(credit))
    service.subscribe(topics.CAMPAIGN_ENFORCEMENT.name, enforcement_router(credit))
    service.subscribe(topics.CAMPAIGN_DUTIES.name, duties_router(credit))
    service.subscribe(topics.CREDIT_OBJECTIONS.name, objections_router(credit))

    async def ledger_caught_up() -> None:
        for topic in LEDGER_TOPICS:
            await service.messaging.caught_up(topic)
        credit.ledger_caught_up.set()

    service.after_start(ledger_caught_up)
    if publish:
        service.every(settings.fade_check_interval_s, credit.check_fades, "fade-clock")

        async def assessments(_: Service) -> None:
            # On its schedule, not at every restart; and only once the view knows every market.
            if directory.caught_up.is_set() and await credit.assessment_due(
                settings.assessment_interval_s
            ):
                await credit.publish_assessments(credit.period(settings.assessment_period_days))

        service.every(min(settings.assessment_interval_s, 60.0), assessments, "assessments")
        if settings.honours_auto_draw:
            service.every(settings.honours_check_interval_s, credit.draw_due_honours, "honours")
        service.on_start(credit.refresh_grades)
        service.on_start(gauges.refresh)
        service.after_start(gauges.run)
    return service, credit


def build(
    settings: CreditSettings | None = None,
    *,
    book: PolicyBook | None = None,
    now: Clock = utc_now,
) -> FastAPI:
    settings = settings or CreditSettings()
    service, credit = wire(settings, book=book, now=now)
    return create_app(
        service,
        [router],
        title="Market Sentinel — credit",
        description="Explainable merchant credit grades and market assessments (考核).",
        state={"credit": credit},
    )
