"""Every number of the inspection rules (their defaults listed in docs/rules.md, "Inspection"),
in one immutable value.

The service builds one `Policy` at start-up (`Policy.from_dict` over its settings) and passes it
to every rule. Durations are `timedelta`s; `from_dict` also takes seconds or strings such as
`"4h"`, `"7d"`, `"90m"`, so configuration reads like the design.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts import durations
from contracts.inspection import DEPARTMENTS, FINDING_SEVERITIES, GRADES, outcome_rank
from contracts.telemetry import SEVERITIES

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _frozen(values: Mapping[str, timedelta]) -> Mapping[str, timedelta]:
    return MappingProxyType(dict(values))


def _risk_due() -> Mapping[str, timedelta]:
    # A severity absent here opens no task: `warning` and `minor` risks are left to telemetry.
    return _frozen({"major": 4 * HOUR, "critical": 2 * HOUR})


def _complaint_due() -> Mapping[str, timedelta]:
    return _frozen({"food_safety": 24 * HOUR})


def _patrol_interval() -> Mapping[str, timedelta]:
    # The A–D graded supervision scheme: the worse the credit, the more often a routine patrol.
    return _frozen({"A": 365 * DAY, "B": 180 * DAY, "C": 120 * DAY, "D": 90 * DAY})


def _deadline() -> Mapping[str, timedelta]:
    return _frozen({"minor": 7 * DAY, "major": 3 * DAY})


_MAPPINGS = ("risk_due", "complaint_due", "patrol_interval", "rectification_deadline")


@dataclass(frozen=True, slots=True)
class Policy:
    """The inspection rules' numbers. Every field has a default."""

    # Risk raised or escalated to one of these severities → a task due this long after it.
    risk_due: Mapping[str, timedelta] = field(default_factory=_risk_due)
    # Complaint accepted → a task due this long after acceptance, by complaint category.
    complaint_due: Mapping[str, timedelta] = field(default_factory=_complaint_due)
    complaint_due_default: timedelta = 72 * HOUR
    # Routine patrol every so long after the merchant's last inspection, by credit grade.
    patrol_interval: Mapping[str, timedelta] = field(default_factory=_patrol_interval)
    patrol_default_grade: str = "B"
    # Issue 17: a merchant on the credit service's monthly warning list (黑榜) is patrolled at
    # this grade's interval (when it is shorter than its own) until it leaves the list.
    warning_list_grade: str = "D"
    # A patrol comes due on its planned date; the task force then has this long.
    patrol_task_within: timedelta = 7 * DAY
    # Outcome → deadline of its rectification order; from `suspend_from` up, suspension instead.
    rectification_deadline: Mapping[str, timedelta] = field(default_factory=_deadline)
    suspend_from: str = "critical"
    # How soon the task force re-inspects a suspended merchant. Suspension costs
    # the merchant its trade, so the regulator owes a prompt visit.
    reinspection_within: timedelta = 3 * DAY
    # An order past its deadline escalates to a re-inspection due this soon.
    overdue_reinspection_within: timedelta = 1 * DAY
    # A risk below the task threshold still joins an open risk task as evidence
    # (it creates none); the inspector on the way wants to know.
    attach_below_threshold: bool = True
    # The outcome may not be milder than the catalogue's default severity of any
    # finding; an inspector may judge several findings worse than each alone, never lighter.
    outcome_at_least_findings: bool = True
    # Departments recorded when a completion names none: market regulation leads inspections.
    default_departments: tuple[str, ...] = ("market_regulation",)
    # Bounds on the evidence a task carries, so one merchant with hundreds of
    # risk events does not grow its task (row and every event) without limit. A task keeps the
    # trigger that created it and the latest others (`Task.triggers_dropped` counts the rest);
    # a trigger keeps its first event id and the latest others (`TriggerRef.event_count` counts
    # them all). Redeliveries are caught by the inbox and by the rules, not by these lists.
    max_triggers_per_task: int = 20
    max_event_ids_per_trigger: int = 8
    # The city's time zone: a date the campaign service gives (a failed renovation check's
    # `rectify_by`) is a calendar day there, as in contracts/README.md (Campaign).
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in _MAPPINGS:
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a mapping of names to durations")
            object.__setattr__(self, name, _frozen(value))
        self._check_scalars()
        object.__setattr__(self, "default_departments", tuple(self.default_departments))
        for name, value in self._durations():
            if value <= timedelta(0):
                raise ValueError(f"{name} must be positive, got {value}")
        unknown = sorted(set(self.risk_due) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"risk_due: unknown severities {', '.join(unknown)}")
        if set(self.patrol_interval) != set(GRADES):
            raise ValueError(f"patrol_interval needs exactly the grades {', '.join(GRADES)}")
        if self.patrol_default_grade not in GRADES:
            raise ValueError(f"patrol_default_grade must be one of {', '.join(GRADES)}")
        if self.warning_list_grade not in GRADES:
            raise ValueError(f"warning_list_grade must be one of {', '.join(GRADES)}")
        if self.suspend_from not in FINDING_SEVERITIES:
            raise ValueError(f"suspend_from must be one of {', '.join(FINDING_SEVERITIES)}")
        needed = {s for s in FINDING_SEVERITIES if not self.suspends(s)}
        if set(self.rectification_deadline) != needed:
            raise ValueError(
                f"rectification_deadline needs exactly {', '.join(sorted(needed)) or 'nothing'} "
                f"(outcomes from {self.suspend_from} up suspend instead)"
            )
        bad = sorted(set(self.default_departments) - set(DEPARTMENTS))
        if bad or not self.default_departments:
            raise ValueError(f"default_departments must be some of {', '.join(DEPARTMENTS)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from exc

    def _check_scalars(self) -> None:
        # Configuration arrives as JSON or YAML: a quoted number or a "yes" must not slip in.
        for name, kind in (
            ("attach_below_threshold", bool),
            ("outcome_at_least_findings", bool),
            ("patrol_default_grade", str),
            ("warning_list_grade", str),
            ("suspend_from", str),
            ("timezone", str),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be a {kind.__name__}")
        for name in ("max_triggers_per_task", "max_event_ids_per_trigger"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{name} must be a whole number of at least 2, got {value!r}")

    def _durations(self) -> list[tuple[str, timedelta]]:
        found: list[tuple[str, timedelta]] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                found.append((f.name, value))
            elif f.name in _MAPPINGS:
                found.extend((f"{f.name}.{key}", v) for key, v in value.items())
        return found

    # -- what the rules ask ----------------------------------------------------------------

    def risk_sla(self, severity: str) -> timedelta | None:
        """How long after a risk of `severity` its task is due, or None: no task for it."""
        return self.risk_due.get(severity)

    def complaint_sla(self, category: str) -> timedelta:
        return self.complaint_due.get(category, self.complaint_due_default)

    def reinspection_due(self, reason: str) -> timedelta:
        """How soon a re-inspection ordered for `reason` is due: a suspended merchant's
        (`suspension`) or an overdue order's (`overdue`)."""
        if reason == "overdue":
            return self.overdue_reinspection_within
        if reason == "suspension":
            return self.reinspection_within
        raise ValueError(f"no re-inspection reason {reason!r}")

    def renovation_due(self, rectify_by: date) -> datetime:
        """When the task of a failed renovation check is due: the end of its `rectify_by` day in
        the city, the last day the operator had to put it right (on or before it is in time)."""
        end = datetime.combine(rectify_by + DAY, time(0), tzinfo=ZoneInfo(self.timezone))
        return end.astimezone(UTC)

    def effective_grade(self, grade: str | None) -> str:
        """The grade that sets a merchant's patrol interval: its own, or the default (B)."""
        if grade is None:
            return self.patrol_default_grade
        if grade not in self.patrol_interval:
            raise ValueError(f"unknown credit grade {grade!r}")
        return grade

    def patrol_grade(self, grade: str | None, *, warned: bool = False) -> str:
        """The grade whose interval a merchant is patrolled at: its own (or the default), or the
        warning list's when it is on that list and that interval is shorter."""
        own = self.effective_grade(grade)
        listed = self.warning_list_grade
        if warned and self.patrol_interval[listed] < self.patrol_interval[own]:
            return listed
        return own

    def patrol_every(self, grade: str | None, *, warned: bool = False) -> timedelta:
        return self.patrol_interval[self.patrol_grade(grade, warned=warned)]

    def suspends(self, outcome: str) -> bool:
        """Whether this outcome suspends trading instead of setting a deadline."""
        return outcome != "pass" and outcome_rank(outcome) >= outcome_rank(self.suspend_from)

    def deadline_after(self, outcome: str) -> timedelta | None:
        """How long a rectification ordered for `outcome` has; None under suspension."""
        if outcome == "pass":
            raise ValueError("a pass orders no rectification")
        if self.suspends(outcome):
            return None
        return self.rectification_deadline[outcome]

    # -- configuration -----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, overrides: Mapping[str, Any]) -> Policy:
        """Defaults with `overrides` applied, e.g. `{"risk_due": {"critical": "1h"}}`.

        A mapping field is merged over its default (name only the entries you change); durations
        take a `timedelta`, seconds, or `"<number><s|m|h|d>"`. Unknown names raise ValueError, so
        a typo in configuration fails at start-up instead of silently keeping a default.
        """
        if not isinstance(overrides, Mapping):
            raise ValueError("a policy is a mapping of setting names to values")
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown policy settings: {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            current = getattr(defaults, name)
            if name in _MAPPINGS:
                if not isinstance(value, Mapping):
                    raise ValueError(f"{name} must be a mapping of names to durations")
                merged = {
                    **current,
                    **{k: parse_duration(v, f"{name}.{k}") for k, v in value.items()},
                }
                changes[name] = merged
            elif isinstance(current, timedelta):
                changes[name] = parse_duration(value, name)
            elif isinstance(current, tuple):
                if isinstance(value, str) or not isinstance(value, list | tuple):
                    raise ValueError(f"{name} must be a list")
                changes[name] = tuple(value)
            else:
                changes[name] = value
        return dataclasses.replace(defaults, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (durations as seconds), for logs and `/readyz`-style introspection."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                value = value.total_seconds()
            elif f.name in _MAPPINGS:
                value = {k: v.total_seconds() for k, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


DEFAULT_POLICY = Policy()


def parse_duration(value: object, name: str = "duration") -> timedelta:
    """A `timedelta`, a number of seconds, or `"4h"` / `"7d"` / `"90m"` / `"30s"`."""
    return durations.parse_duration(value, name, bare_seconds=True, example="'4h', '7d'")
