"""The files the complaint rules depend on, read here and handed to the domain parsed: the
working-day calendar (YAML) and the policy overrides of the settings (JSON). The domain never
touches a file or a parser (docs/architecture.md, the `domain/` room)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from services.complaints.domain import Policy, WorkCalendar
from services.complaints.settings import ComplaintsSettings
from services.runtime.data_files import read_yaml_mapping

# The packaged calendar stays beside the rules it describes.
CALENDAR_FILE = Path(__file__).parent / "domain" / "calendar_cn.yaml"


def read_calendar(path: str | Path) -> WorkCalendar:
    """A YAML file in `calendar_cn.yaml`'s format; ValueError names the file and the entry."""
    return read_yaml_mapping(Path(path), WorkCalendar.from_dict, "a mapping with 'years'")


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The packaged calendar, parsed once per process."""
    return read_calendar(CALENDAR_FILE)


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
        return default_calendar()
    try:
        return read_calendar(settings.calendar_file)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"COMPLAINTS_CALENDAR_FILE: {exc}") from exc
