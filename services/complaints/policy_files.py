"""The files the complaint rules depend on, read here and handed to the domain parsed: the
working-day calendar (YAML, the runtime's reader) and the policy overrides of the settings
(JSON). The domain never touches a file or a parser (docs/architecture.md, the `domain/` room)."""

from __future__ import annotations

import json

from services.complaints.domain import Policy
from services.complaints.settings import ComplaintsSettings
from services.runtime import data_files
from services.runtime.work_calendar import WorkCalendar


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
    return data_files.load_calendar(settings.calendar_file, "COMPLAINTS_CALENDAR_FILE")
