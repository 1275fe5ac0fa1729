"""Wiring of the credit service: the registry view, the ledger consumers, the fade clock, the
assessment schedule and the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.credit.api import router
from services.credit.commands import Credit, utc_now
from services.credit.domain import PolicyBook
from services.credit.settings import CreditSettings
from services.runtime.app import Service, create_app
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def load_book(settings: CreditSettings) -> PolicyBook:
    try:
        return PolicyBook.load(settings.policy_dir)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"CREDIT_POLICY_DIR: {exc}") from exc


def wire(
    settings: CreditSettings,
    *,
    book: PolicyBook | None = None,
    now: Callable[[], datetime] = utc_now,
    publish: bool = True,
) -> Credit:
    """The service and its consumers; `publish=False` (a rebuild) announces nothing and runs no
    clocks."""
    service = Service(settings, MIGRATIONS)
    directory = RegistryDirectory()
    directory.attach(service)
    credit = Credit(service, directory, book or load_book(settings), now, publish=publish)
    service.subscribe(topics.INSPECTION_EVENTS.name, credit.on_inspection)
    service.subscribe(topics.COMPLAINTS_EVENTS.name, credit.on_complaint)
    service.subscribe(topics.REGISTRY_MERCHANTS.name, credit.on_merchant)
    service.subscribe(topics.TELEMETRY_RISKS.name, credit.on_risk)
    if publish:
        service.every(settings.fade_check_interval_s, credit.check_fades, "fade-clock")

        async def assessments(_: Service) -> None:
            # On its schedule, not at every restart; and only once the view knows every market.
            if credit.directory.caught_up.is_set() and await credit.assessment_due(
                settings.assessment_interval_s
            ):
                await credit.publish_assessments(credit.period(settings.assessment_period_days))

        service.every(min(settings.assessment_interval_s, 60.0), assessments, "assessments")
        service.on_start(credit.refresh_grades)
    return credit


def build(
    settings: CreditSettings | None = None,
    *,
    book: PolicyBook | None = None,
    now: Callable[[], datetime] = utc_now,
) -> FastAPI:
    settings = settings or CreditSettings()
    credit = wire(settings, book=book, now=now)
    app = create_app(
        credit.service,
        [router],
        title="Market Sentinel — credit",
        description="Explainable merchant credit grades and market assessments (考核).",
    )
    app.state.credit = credit
    return app
