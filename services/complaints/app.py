"""Wiring of the complaints service: the registry view, intake from integrators, the deadline
clock and the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from contracts import topics
from services.complaints.api import router
from services.complaints.commands import Complaints, utc_now
from services.complaints.domain import Policy, WorkCalendar
from services.complaints.settings import ComplaintsSettings
from services.complaints.suggestions import Suggestions
from services.runtime.app import Service, create_app
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def load_policy(settings: ComplaintsSettings) -> Policy:
    # The city's timezone is a stack-wide setting; the policy may still name another.
    overrides = {"timezone": settings.timezone}
    try:
        if settings.policy:
            overrides |= json.loads(settings.policy)
        return Policy.from_dict(overrides)
    except (ValueError, TypeError) as exc:
        raise SystemExit(f"COMPLAINTS_POLICY: {exc}") from exc


def load_calendar(settings: ComplaintsSettings) -> WorkCalendar:
    if settings.calendar_file is None:
        return WorkCalendar.default()
    try:
        return WorkCalendar.from_file(settings.calendar_file)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"COMPLAINTS_CALENDAR_FILE: {exc}") from exc


def build(
    settings: ComplaintsSettings | None = None,
    *,
    policy: Policy | None = None,
    calendar: WorkCalendar | None = None,
    now: Callable[[], datetime] = utc_now,
) -> FastAPI:
    settings = settings or ComplaintsSettings()
    service = Service(settings, MIGRATIONS)
    directory = RegistryDirectory()
    directory.attach(service)
    complaints = Complaints(
        service,
        directory,
        policy or load_policy(settings),
        calendar or load_calendar(settings),
        now,
    )
    service.subscribe(topics.COMPLAINTS_INTAKE.name, complaints.on_intake)
    service.subscribe(topics.INSPECTION_EVENTS.name, complaints.on_inspection)
    service.every(settings.clock_check_interval_s, complaints.check_clock, "deadline-clock")

    app = create_app(
        service,
        [router],
        title="Market Sentinel — complaints",
        description="Consumer complaints within the legal time limits (working-day clocks); "
        "citizens' suggestions (意见建议) and their answers.",
    )
    app.state.complaints = complaints
    app.state.suggestions = Suggestions(service, directory, now)
    return app
