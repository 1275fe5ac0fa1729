"""A campaign and its deadline rules, and what every campaign domain shares: ids, the end of a
city's day and a value's next version.

Dates are calendar days in the city's time zone: a milestone is on time when it was done on or
before its deadline day, and late from the day after. The instant a deadline passes is the end
of that day in the city (`end_of_day`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar
from zoneinfo import ZoneInfo

from contracts.campaign import DISTRICT_MILESTONES, MARKET_MILESTONES
from services.campaign.domain.text import Problems
from services.runtime.failures import InvalidInput

if TYPE_CHECKING:  # `revised` serves the values of the modules that import this one
    from services.campaign.domain.disclosures import Disclosure
    from services.campaign.domain.milestones import Milestone
    from services.campaign.domain.renovations import RenovationProject

MILESTONE_KINDS: Final = (*DISTRICT_MILESTONES, *MARKET_MILESTONES)
# The years a campaign may have: those of `year` in registry.campaign.upserted.
CAMPAIGN_YEARS: Final[tuple[int, int]] = (2000, 2100)
NAME_MAX: Final = 200  # a campaign's name
SCOPE_OF: Final[Mapping[str, str]] = {
    **{k: "district" for k in DISTRICT_MILESTONES},
    **{k: "market" for k in MARKET_MILESTONES},
}


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The instant `day` ends in the city: midnight at the start of the next day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


Versioned = TypeVar("Versioned", "Milestone", "RenovationProject", "Disclosure")


def revised(value: Versioned, now: datetime, **changes: Any) -> Versioned:
    """The value's next version: `changes` made at `now`."""
    return replace(value, **changes, version=value.version + 1, updated_at=now)


# -- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRule:
    """Exactly one of: days after the mobilisation date, a month-day of the campaign's year, a
    fixed date."""

    days_after_mobilisation: int | None = None
    month_day: tuple[int, int] | None = None
    fixed_date: date | None = None

    def resolve(self, mobilisation: date, year: int) -> date:
        if self.days_after_mobilisation is not None:
            return mobilisation + timedelta(days=self.days_after_mobilisation)
        if self.month_day is not None:
            return date(year, *self.month_day)
        assert self.fixed_date is not None
        return self.fixed_date

    def to_dict(self) -> dict[str, Any]:
        if self.days_after_mobilisation is not None:
            return {"days_after_mobilisation": self.days_after_mobilisation}
        if self.month_day is not None:
            return {"month_day": f"{self.month_day[0]:02d}-{self.month_day[1]:02d}"}
        assert self.fixed_date is not None
        return {"fixed_date": self.fixed_date.isoformat()}

    @staticmethod
    def from_dict(value: Mapping[str, Any], field_name: str = "deadline") -> DeadlineRule:
        """Parse `{"days_after_mobilisation": 1}`, `{"month_day": "04-30"}` or
        `{"fixed_date": "2026-04-30"}`; InvalidInput naming the field otherwise."""
        known = {"days_after_mobilisation", "month_day", "fixed_date"}
        given = {k: v for k, v in value.items() if v is not None}
        if set(given) - known or len(given) != 1:
            raise InvalidInput(field_name, "give exactly one of " + ", ".join(sorted(known)))
        ((key, raw),) = given.items()
        try:
            if key == "days_after_mobilisation":
                days = int(raw)
                if isinstance(raw, bool) or days != raw or not 0 <= days <= 3650:
                    raise ValueError
                return DeadlineRule(days_after_mobilisation=days)
            if key == "month_day":
                month, day = (int(p) for p in str(raw).split("-"))
                date(2000, month, day)  # a leap year: 02-29 is a month-day
                return DeadlineRule(month_day=(month, day))
            day_value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            return DeadlineRule(fixed_date=day_value)
        except (ValueError, TypeError):
            reasons = {
                "days_after_mobilisation": "must be a whole number of days from 0 to 3650",
                "month_day": "must be a month-day MM-DD, e.g. 04-30",
                "fixed_date": "must be a date YYYY-MM-DD",
            }
            raise InvalidInput(f"{field_name}.{key}", reasons[key]) from None


DEFAULT_RULES: Final[Mapping[str, DeadlineRule]] = {
    # The day after the city's mobilisation meeting (动员会).
    "work_plan_submitted": DeadlineRule(days_after_mobilisation=1),
    "leadership_structure_submitted": DeadlineRule(days_after_mobilisation=1),
    # Deployment meetings with market operators by the end of April.
    "deployment_meeting_held": DeadlineRule(month_day=(4, 30)),
    # Per market: a task force (专班) within two weeks, a renovation plan approved within two
    # months of mobilisation.
    "task_force_set_up": DeadlineRule(days_after_mobilisation=14),
    "renovation_plan_approved": DeadlineRule(days_after_mobilisation=60),
}


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    mobilisation_date: date
    year: int
    districts: tuple[str, ...]
    rules: Mapping[str, DeadlineRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def rule(self, kind: str) -> DeadlineRule:
        return self.rules.get(kind) or DEFAULT_RULES[kind]

    def deadline(self, kind: str) -> date:
        return self.rule(kind).resolve(self.mobilisation_date, self.year)

    def deadlines(self) -> dict[str, date]:
        return {kind: self.deadline(kind) for kind in MILESTONE_KINDS}

    def reconfigure(
        self,
        now: datetime,
        *,
        name: str | None = None,
        mobilisation_date: date | None = None,
        year: int | None = None,
        rules: Mapping[str, DeadlineRule] | None = None,
        districts: Sequence[str] | None = None,
        known_districts: Collection[str] | None = None,
    ) -> Campaign:
        """The campaign with the given parts changed, validated like a new one (`districts`
        given against `known_districts`)."""
        moved = mobilisation_date is not None and mobilisation_date != self.mobilisation_date
        changed = plan_campaign(
            self.id,
            name if name is not None else self.name,
            mobilisation_date or self.mobilisation_date,
            districts if districts is not None else self.districts,
            {**self.rules, **(rules or {})},
            now,
            # A moved mobilisation date moves the year with it unless one is given.
            year=year if year is not None else (None if moved else self.year),
            known_districts=known_districts if districts is not None else None,
        )
        return replace(
            changed, version=self.version + 1, created_at=self.created_at, updated_at=now
        )


def plan_campaign(
    campaign_id: str,
    name: str,
    mobilisation_date: date,
    districts: Sequence[str],
    rules: Mapping[str, DeadlineRule],
    now: datetime,
    *,
    year: int | None = None,
    known_districts: Collection[str] | None = None,
) -> Campaign:
    """A new campaign, with every deadline derived and checked (none before mobilisation);
    every problem named at once (the deadlines once the dates they derive from are valid).
    `known_districts`: the districts the registry has (None: not checked)."""
    problems = Problems()
    cleaned = problems.text("name", name, limit=NAME_MAX)
    if known_districts is not None:
        for code in districts:
            if code not in known_districts:
                problems.add("districts", f"no district with code {code!r}")
    if not districts:
        problems.add("districts", "a campaign needs at least one district")
    elif len(set(districts)) != len(districts):
        problems.add("districts", "a district is listed twice")
    for kind in sorted(set(rules) - set(MILESTONE_KINDS)):
        problems.add(f"deadlines.{kind}", "not a milestone kind")
    # The event contract's years (and no deadline past the calendar's end).
    dated = CAMPAIGN_YEARS[0] <= mobilisation_date.year <= CAMPAIGN_YEARS[1]
    if not dated:
        problems.add(
            "mobilisation_date", f"must be in the years {CAMPAIGN_YEARS[0]} to {CAMPAIGN_YEARS[1]}"
        )
    year = year if year is not None else mobilisation_date.year
    if not CAMPAIGN_YEARS[0] <= year <= CAMPAIGN_YEARS[1]:
        problems.add("year", f"must be from {CAMPAIGN_YEARS[0]} to {CAMPAIGN_YEARS[1]}")
        dated = False
    campaign = Campaign(
        id=campaign_id,
        name=cleaned,
        mobilisation_date=mobilisation_date,
        year=year,
        districts=tuple(districts),
        rules={k: rules.get(k, DEFAULT_RULES[k]) for k in MILESTONE_KINDS},
        created_at=now,
        updated_at=now,
    )
    for kind in MILESTONE_KINDS if dated else ():
        try:
            deadline = campaign.deadline(kind)
        except ValueError:
            problems.add(f"deadlines.{kind}.month_day", f"there is no such day in {year}")
            continue
        if deadline < mobilisation_date:
            problems.add(
                f"deadlines.{kind}",
                f"{deadline.isoformat()} is before the mobilisation date "
                f"{mobilisation_date.isoformat()}",
            )
    problems.raise_any()
    return campaign
