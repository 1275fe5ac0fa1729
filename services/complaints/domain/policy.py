"""Every number of the complaint rules, with its default (docs/rules.md, "Complaints"), in one
immutable value.

The service builds one `Policy` at start-up (`Policy.from_dict` over its parsed settings) and
passes it to every rule. Clocks count working days of the `WorkCalendar`, in the city's timezone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contracts import durations
from services.runtime.work_calendar import resolve_timezone


@dataclass(frozen=True, slots=True)
class Policy:
    """The complaint rules' numbers; every field has the legal default."""

    # Acceptance (受理) decided within this many working days after the day of receipt.
    acceptance_working_days: int = 7
    # Mediation ends within this many working days after the day of acceptance.
    mediation_working_days: int = 45
    # A running clock is "nearing" its deadline when at most this many working days remain after
    # today (0 on the deadline's own day).
    nearing_working_days: int = 2
    # A complaint against the same merchant and category received at most this long after an
    # earlier one, with similar facts, is linked to it as a duplicate (the edge is included).
    duplicate_window: timedelta = timedelta(hours=48)
    # Character-bigram Jaccard similarity of the normalised facts at which facts are "similar".
    similarity_threshold: float = 0.5
    # Deadlines end at midnight of this timezone (the city's).
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in ("acceptance_working_days", "mediation_working_days", "nearing_working_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if not 1 <= self.acceptance_working_days <= 365:
            raise ValueError("acceptance_working_days must be between 1 and 365")
        if not 1 <= self.mediation_working_days <= 365:
            raise ValueError("mediation_working_days must be between 1 and 365")
        shortest = min(self.acceptance_working_days, self.mediation_working_days)
        if not 0 <= self.nearing_working_days < shortest:
            raise ValueError(
                f"nearing_working_days must be at least 0 and below the shortest clock "
                f"({shortest} working days), got {self.nearing_working_days}"
            )
        if not isinstance(self.duplicate_window, timedelta) or self.duplicate_window <= timedelta(
            0
        ):
            raise ValueError(f"duplicate_window must be positive, got {self.duplicate_window}")
        threshold = self.similarity_threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
            or not 0 < threshold <= 1
        ):
            raise ValueError(f"similarity_threshold must be in (0, 1], got {threshold!r}")
        object.__setattr__(self, "similarity_threshold", float(threshold))
        if not isinstance(self.timezone, str):
            raise ValueError(f"timezone must be an IANA name, got {self.timezone!r}")
        resolve_timezone(self.timezone)  # ValueError for an unknown zone

    # -- configuration -----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, overrides: Mapping[str, Any]) -> Policy:
        """Defaults with `overrides` applied, e.g. `{"duplicate_window": "72h"}`.

        `duplicate_window` takes a `timedelta`, seconds, or `"<number><s|m|h|d>"`. Unknown names
        and bad values raise ValueError naming the setting, so a typo in configuration fails at
        start-up instead of silently keeping a default.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown policy settings: {', '.join(unknown)}")
        changes = dict(overrides)
        if "duplicate_window" in changes:
            changes["duplicate_window"] = parse_duration(
                changes["duplicate_window"], "duplicate_window"
            )
        return cls(**changes)


DEFAULT_POLICY = Policy()


def parse_duration(value: object, name: str = "duration") -> timedelta:
    """A `timedelta`, a number of seconds, or `"48h"` / `"2d"` / `"90m"` / `"30s"`."""
    return durations.parse_duration(value, name, bare_seconds=True, example="'48h', '2d'")
