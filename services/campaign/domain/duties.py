"""A market's standing on its duties, as the market assessment (考核) reads it.

Over a window of `window_days` days up to yesterday (city time; today is not over yet):

- self-inspections: the opening days in the window since the duty applied to the market, how many
  of them have a self-inspection, and the rate;
- reports: the reporting periods whose due day fell in the window, how many were not filed on time
  (filed late, or not filed at all), and the on-time rate;
- training: the market's managers and how many hold a certificate valid today.

A rate with nothing to rate is None. The fields are those of `campaign.duties.updated`
(contracts/duties.py DutiesUpdated). No I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from services.campaign.domain.reports import Report, Schedule
from services.campaign.domain.self_inspection import OpeningDays
from services.campaign.domain.training import Certificate, Trainee, certified

# What `changed` ignores: the day and instant of the computation, not the standing itself.
_STAMPS: Final = ("as_of", "updated_at")


@dataclass(frozen=True, slots=True)
class Standing:
    market_id: str
    district: str
    as_of: date
    window_days: int
    opening_days: int
    self_inspected_days: int
    self_inspection_rate: float | None
    open_follow_ups: int
    reports_due: int
    reports_late: int
    report_on_time_rate: float | None
    managers: int
    managers_certified: int
    certified_share: float | None
    updated_at: datetime

    def measures(self) -> dict[str, Any]:
        """The standing without when it was computed: what `changed` compares (and what is
        stored to compare with next time: numbers, strings and None only)."""
        return {k: v for k, v in asdict(self).items() if k not in _STAMPS}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def window(today: date, window_days: int) -> tuple[date, date]:
    """The first and last day of the window: `window_days` days ending yesterday."""
    if window_days < 1:
        raise ValueError("a window is at least one day")
    return today - timedelta(days=window_days), today - timedelta(days=1)


def standing(
    *,
    market_id: str,
    district: str,
    today: date,
    now: datetime,
    window_days: int,
    opening: OpeningDays,
    duties_since: date,
    self_inspected: Collection[date],
    open_follow_ups: int,
    schedule: Schedule | None,
    reports: Mapping[date, Report],
    trainees: Iterable[Trainee],
    certificates: Iterable[Certificate],
) -> Standing:
    """The market's standing on `today`. `duties_since` is the first day self-inspection was due
    (days before it are not counted); `reports` are the market's periods by their first day."""
    first, last = window(today, window_days)
    days = opening.between(max(first, duties_since), last)  # empty when the duty began later
    inspected = sum(1 for d in days if d in self_inspected)
    due = schedule.ended_between(first, last) if schedule is not None else []
    late = 0
    for period in due:
        held = reports.get(period.start)
        if held is None or not held.filed or not held.on_time:
            late += 1
    managers = list(trainees)
    holders = certified(managers, certificates, today)
    return Standing(
        market_id=market_id,
        district=district,
        as_of=today,
        window_days=window_days,
        opening_days=len(days),
        self_inspected_days=inspected,
        self_inspection_rate=_rate(inspected, len(days)),
        open_follow_ups=open_follow_ups,
        reports_due=len(due),
        reports_late=late,
        report_on_time_rate=_rate(len(due) - late, len(due)),
        managers=len(managers),
        managers_certified=holders,
        certified_share=_rate(holders, len(managers)),
        updated_at=now,
    )


def changed(previous: Mapping[str, Any] | None, current: Standing) -> bool:
    """Whether `current` differs from the standing last published (`measures()` of it)."""
    return previous is None or dict(previous) != current.measures()
