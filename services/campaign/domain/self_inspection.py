"""Market operators' daily self-inspections (主办方主体责任, 巡查制度).

The operator's staff walk the market each opening day and answer every item of the checklist
(a data file, handed in as a `Checklist`): passed, or failed with a note of what was seen. Each
failed item opens a follow-up (整改跟进) that the operator closes with a note on what was done.
An opening day that ends with no self-inspection is flagged missed, once.

Opening days are every day except the configured closed weekdays (`OpeningDays`). Days are
calendar days in the city's time zone: the caller passes `today`, the city's date now.

No I/O: values in, values (or an error naming the field) out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal

from contracts.people import Actor
from services.runtime.failures import Conflict, InvalidInput, InvalidInputs

FollowUpState = Literal["open", "closed"]
NOTE_MAX_CHARS: Final = 1000
WEEKDAYS: Final = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# -- the checklist ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    code: str
    label_zh: str
    label_en: str


@dataclass(frozen=True, slots=True)
class Checklist:
    version: str
    items: tuple[ChecklistItem, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    def item(self, code: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.code == code), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checklist:
        """Validate the parsed data file; ValueError names the first problem."""
        version = data.get("version")
        if not isinstance(version, str | int) or not str(version).strip():
            raise ValueError("checklist: version must be a non-empty string, e.g. 2026-01")
        raw = data.get("items")
        if not isinstance(raw, list) or not raw:
            raise ValueError("checklist: items must be a non-empty list")
        items: list[ChecklistItem] = []
        for index, entry in enumerate(raw):
            where = f"checklist: items[{index}]"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where}: must be a mapping with code, zh and en")
            code, zh, en = entry.get("code"), entry.get("zh"), entry.get("en")
            if not isinstance(code, str) or not _CODE.match(code):
                raise ValueError(f"{where}: code must be lower-case letters, digits and _")
            if any(i.code == code for i in items):
                raise ValueError(f"{where}: code {code} is listed twice")
            if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
                raise ValueError(f"{where}: needs a Chinese (zh) and an English (en) label")
            items.append(ChecklistItem(code, zh.strip(), en.strip()))
        return cls(str(version).strip(), tuple(items))


# -- opening days ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpeningDays:
    """Which days a market opens: every day but `closed_weekdays` (ISO: 1 = Monday .. 7)."""

    closed_weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if any(not 1 <= d <= 7 for d in self.closed_weekdays):
            raise ValueError("closed weekdays are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        if len(self.closed_weekdays) == 7:
            raise ValueError("a market cannot be closed on every weekday")

    def is_open(self, day: date) -> bool:
        return day.isoweekday() not in self.closed_weekdays

    def between(self, first: date, last: date) -> list[date]:
        """The opening days from `first` to `last`, both included."""
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return [d for d in days if self.is_open(d)]


# -- a self-inspection -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    passed: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    follow_up_id: str
    self_inspection_id: str
    market_id: str
    district: str
    item: str
    opened_note: str
    opened_at: datetime
    state: FollowUpState = "open"
    closed_note: str | None = None
    closed_at: datetime | None = None
    closed_by: Actor | None = None


@dataclass(frozen=True, slots=True)
class SelfInspection:
    self_inspection_id: str
    market_id: str
    district: str
    day: date
    checklist_version: str
    answers: tuple[Answer, ...]
    recorded_at: datetime
    actor: Actor | None = None

    @property
    def failed(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if not a.passed)


@dataclass(frozen=True, slots=True)
class Recorded:
    inspection: SelfInspection
    follow_ups: tuple[FollowUp, ...]


class InvalidSelfInspection(InvalidInputs):
    """A self-inspection breaks the checklist's rules: every problem, each naming its field."""


def check_answers(checklist: Checklist, answers: Sequence[Answer]) -> list[tuple[str, str]]:
    """Every problem of `answers` against `checklist`, as (field, reason): an unknown or repeated
    item, a failed item without a note, an item not answered."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, answer in enumerate(answers):
        item = checklist.item(answer.code)
        if item is None:
            problems.append(
                (
                    f"items.{index}.code",
                    f"{answer.code!r} is not an item of checklist {checklist.version} "
                    f"({', '.join(checklist.codes)})",
                )
            )
            continue
        if answer.code in seen:
            problems.append((f"items.{index}.code", f"{answer.code} is answered twice"))
            continue
        seen.add(answer.code)
        note = (answer.note or "").strip()
        if not answer.passed and not note:
            problems.append(
                (
                    f"items.{index}.note",
                    f"{answer.code} ({item.label_zh}) failed: a note of what was seen is required",
                )
            )
        if len(note) > NOTE_MAX_CHARS:
            problems.append((f"items.{index}.note", f"at most {NOTE_MAX_CHARS} characters"))
    problems.extend(
        ("items", f"{item.code} ({item.label_zh}) is not answered")
        for item in checklist.items
        if item.code not in seen
    )
    return problems


def check_day(
    day: date, *, today: date, opening: OpeningDays, backfill_days: int
) -> tuple[str, str] | None:
    """Why a self-inspection cannot be recorded for `day`, or None."""
    if day > today:
        return ("day", f"{day.isoformat()} is in the future (today is {today.isoformat()})")
    if day < today - timedelta(days=backfill_days):
        earliest = today - timedelta(days=backfill_days)
        return ("day", f"can be recorded back to {earliest.isoformat()}, not {day.isoformat()}")
    if not opening.is_open(day):
        return ("day", f"{day.isoformat()} ({WEEKDAYS[day.weekday()]}) is not an opening day")
    return None


def record(
    checklist: Checklist,
    answers: Sequence[Answer],
    *,
    self_inspection_id: str,
    new_follow_up_id: Callable[[], str],
    market_id: str,
    district: str,
    day: date,
    recorded_days: Collection[date],
    missed_days: Collection[date],
    opening: OpeningDays,
    backfill_days: int,
    actor: Actor | None,
    today: date,
    now: datetime,
) -> Recorded:
    """A self-inspection of `day`, checked against the checklist, with a follow-up opened for
    every failed item. `recorded_days` and `missed_days` are the market's days already recorded
    and already flagged missed (a day is recorded once, and a missed day stays missed)."""
    problems = check_answers(checklist, answers)
    day_problem = check_day(day, today=today, opening=opening, backfill_days=backfill_days)
    if day_problem:
        problems.insert(0, day_problem)
    InvalidSelfInspection.raise_any(problems)
    if day in recorded_days:
        reason = f"a self-inspection of {day.isoformat()} is already recorded"
        raise Conflict(reason, field="day")
    if day in missed_days:
        reason = f"{day.isoformat()} was flagged missed; it cannot be recorded afterwards"
        raise Conflict(reason, field="day")
    cleaned = tuple(
        Answer(a.code, a.passed, (a.note or "").strip() or None)
        for a in sorted(answers, key=lambda a: checklist.codes.index(a.code))
    )
    inspection = SelfInspection(
        self_inspection_id, market_id, district, day, checklist.version, cleaned, now, actor
    )
    follow_ups = tuple(
        FollowUp(
            new_follow_up_id(),
            self_inspection_id,
            market_id,
            district,
            a.code,
            a.note or "",
            now,
        )
        for a in inspection.failed
    )
    return Recorded(inspection, follow_ups)


def close_follow_up(
    follow_up: FollowUp, note: str, *, actor: Actor | None, now: datetime
) -> FollowUp:
    """Close an open follow-up with a note on what was done."""
    text = note.strip()
    if not text:
        raise InvalidInput("note", "closing a follow-up needs a note of what was done")
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput("note", f"at most {NOTE_MAX_CHARS} characters")
    if follow_up.state != "open":
        reason = f"follow-up {follow_up.follow_up_id} is {follow_up.state}; cannot close"
        raise Conflict(reason, field="state")
    return replace(follow_up, state="closed", closed_note=text, closed_at=now, closed_by=actor)


# -- missed days -----------------------------------------------------------------------------


def days_to_flag(
    opening: OpeningDays,
    *,
    since: date,
    today: date,
    recorded_days: Iterable[date],
    missed_days: Iterable[date],
    lookback_days: int,
) -> list[date]:
    """The opening days that ended without a self-inspection and were not flagged yet: from
    `since` (the first day the duty applies), at most `lookback_days` back, up to yesterday."""
    first = max(since, today - timedelta(days=lookback_days))
    last = today - timedelta(days=1)
    if first > last:
        return []
    done = set(recorded_days) | set(missed_days)
    return [d for d in opening.between(first, last) if d not in done]
