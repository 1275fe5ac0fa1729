"""Joint enforcement cases (联合执法): pure rules.

A case is opened from an origin the campaign knows: a critical inspection finding (an inspection
task completed with outcome `critical`) or a complaint referred for a case (an accepted
complaint). It takes the district, market and merchant from its origin and names the departments
involved. One case per origin at a time: while a case for it is open or decided (not yet
closed), another cannot be opened.

    open ──decide──► decided ──close──► closed

A decision is a warning, a fine (an amount in fen, more than zero) or a suspension (days), with
the reasoning and the day decided (not in the future, not before the case was opened). Closing
records how it was carried out. Any other move is a `WrongState`.

No I/O: values in, values (or an `Invalid` naming the request's fields) out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from contracts.joint import CASE_SOURCES, SANCTIONS
from contracts.people import Actor
from services.campaign.domain.joint import (
    LONG_TEXT,
    AlreadyOpen,
    Departments,
    Invalid,
    Problems,
    WrongState,
    city_day,
)
from services.campaign.domain.money import decimal_yuan, whole_fen
from services.runtime.ids import new_id

CaseState = Literal["open", "decided", "closed"]
# The states in which a case still holds its origin.
ACTIVE_STATES: Final[tuple[CaseState, ...]] = ("open", "decided")
MAX_FINE_FEN: Final = 10**14  # one trillion yuan: more is a typing error
MAX_SUSPENSION_DAYS: Final = 365
# What makes an origin a ground for a case.
CRITICAL: Final = "critical"
ACCEPTED: Final = "accepted"
# A finding the district found wrong on the merchant's objection (信用异议 corrected): no ground.
FOUND_WRONG: Final = "found_wrong"


@dataclass(frozen=True)
class Origin:
    """A possible origin, as the campaign learned it from the inspection or complaint events.

    `status`: a finding's outcome (`pass` … `critical`), or a complaint's state (`accepted`).
    `event_id` and `correlation_id`: of the event it was learned from (a case's chain)."""

    kind: str
    origin_id: str
    district: str
    market_id: str
    merchant_id: str | None
    status: str
    event_id: str
    correlation_id: str
    occurred_at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)

    def refusal(self) -> str | None:
        """Why it cannot ground a case; None when it can."""
        if self.kind == "finding" and self.status == FOUND_WRONG:
            return (
                f"the finding of inspection task {self.origin_id} was found wrong on the "
                "merchant's objection (信用异议); a case is not opened from it"
            )
        if self.kind == "finding" and self.status != CRITICAL:
            return (
                f"inspection task {self.origin_id} completed with outcome {self.status!r}; "
                "a case is opened from a critical finding"
            )
        if self.kind == "complaint" and self.status != ACCEPTED:
            return (
                f"complaint {self.origin_id} is {self.status!r}; "
                "a case is opened from an accepted complaint"
            )
        return None


def found_wrong(origin: Origin, at: datetime) -> Origin:
    """The finding `origin` as it stands once found wrong at `at`: no ground for a case, the
    outcome it had kept beside (`detail.outcome`)."""
    return replace(
        origin,
        status=FOUND_WRONG,
        occurred_at=at,
        detail={**origin.detail, "outcome": origin.status, "found_wrong_at": at.isoformat()},
    )


@dataclass(frozen=True)
class Decision:
    sanction: str
    reasoning: str
    decided_on: date
    fine_fen: int | None = None
    suspension_days: int | None = None


@dataclass(frozen=True)
class Case:
    case_id: str
    version: int
    state: CaseState
    district: str
    market_id: str
    merchant_id: str | None
    origin_kind: str
    origin_id: str
    departments: tuple[str, ...]
    facts: str
    opened_at: datetime
    opened_actor: Actor | None = None
    decision: Decision | None = None
    decided_at: datetime | None = None
    decided_actor: Actor | None = None
    closing_note: str | None = None
    closed_at: datetime | None = None
    closed_actor: Actor | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def last_actor(self) -> Actor | None:
        """Who made the latest change."""
        return {
            "open": self.opened_actor,
            "decided": self.decided_actor,
            "closed": self.closed_actor,
        }[self.state]


def open_case(
    *,
    kind: str,
    origin_id: str,
    origin: Origin | None,
    departments: Sequence[str],
    facts: str,
    active: Case | None,
    catalogue: Departments,
    now: datetime,
    actor: Actor | None = None,
    make_id: Callable[[str], str] = new_id,
) -> Case:
    """A case opened from `origin` (None: the campaign knows no such origin).

    `active`: the origin's case that is not closed, if any (`AlreadyOpen`)."""
    problems = Problems()
    origin_id = origin_id.strip()
    if kind not in CASE_SOURCES:
        problems.add("origin.kind", f"must be one of {', '.join(CASE_SOURCES)}")
    elif not origin_id:
        problems.add("origin.id", "must not be blank")
    elif origin is None or origin.kind != kind or origin.origin_id != origin_id:
        what = "completed inspection task" if kind == "finding" else "accepted complaint"
        problems.add("origin.id", f"no {what} {origin_id!r} is known")
    elif (refusal := origin.refusal()) is not None:
        problems.add("origin.id", refusal)
    involved = catalogue.check(departments, "departments", problems)
    facts = problems.text("facts", facts, limit=LONG_TEXT)
    problems.raise_any()
    assert origin is not None
    if active is not None and active.active:
        raise AlreadyOpen(kind, origin_id, active.case_id)
    return Case(
        case_id=make_id("case"),
        version=1,
        state="open",
        district=origin.district,
        market_id=origin.market_id,
        merchant_id=origin.merchant_id,
        origin_kind=origin.kind,
        origin_id=origin.origin_id,
        departments=involved,
        facts=facts,
        opened_at=now,
        opened_actor=actor,
    )


def yuan_to_fen(value: object, field_name: str, problems: Problems) -> int | None:
    """A fine in yuan (a number, or a string such as "2000.50") as fen; None and a problem of
    `field_name` when it is not one. The amount is read as the renovations' budgets read theirs
    (money.py); a fine's own bounds are more than 0 and at most MAX_FINE_FEN."""
    malformed = "must be an amount in yuan with at most two decimals, e.g. 2000.50"
    amount = decimal_yuan(value)
    if amount is None or not amount.is_finite():
        problems.add(field_name, malformed)
        return None
    if amount <= 0:
        problems.add(field_name, "a fine must be more than 0 yuan")
        return None
    if amount > Decimal(MAX_FINE_FEN) / 100:
        problems.add(field_name, f"must be at most {MAX_FINE_FEN // 100} yuan")
        return None
    fen = whole_fen(amount)
    if fen is None:
        problems.add(field_name, malformed)
    return fen


def decide(
    case: Case,
    *,
    sanction: str,
    fine_yuan: object = None,
    suspension_days: object = None,
    reasoning: str,
    decided_on: date | None,
    now: datetime,
    tz: ZoneInfo,
    actor: Actor | None = None,
) -> Case:
    """The departments' decision on an open case."""
    if case.state != "open":
        raise WrongState("case", case.case_id, case.state, "decide it")
    problems = Problems()
    fine_fen: int | None = None
    days: int | None = None
    if sanction not in SANCTIONS:
        problems.add("sanction", f"must be one of {', '.join(SANCTIONS)}")
    if sanction == "fine":
        if fine_yuan is None:
            problems.add("fine_yuan", "a fine needs its amount in yuan")
        else:
            fine_fen = yuan_to_fen(fine_yuan, "fine_yuan", problems)
    elif fine_yuan is not None:
        problems.add("fine_yuan", "only a fine has an amount")
    if sanction == "suspension":
        if suspension_days is None:
            problems.add("suspension_days", "a suspension needs its number of days")
        elif (
            isinstance(suspension_days, bool)
            or not isinstance(suspension_days, int)
            or not 1 <= suspension_days <= MAX_SUSPENSION_DAYS
        ):
            problems.add(
                "suspension_days", f"must be a whole number of days, 1 to {MAX_SUSPENSION_DAYS}"
            )
        else:
            days = suspension_days
    elif suspension_days is not None:
        problems.add("suspension_days", "only a suspension has days")
    reasoning = problems.text("reasoning", reasoning, limit=LONG_TEXT)
    today = city_day(now, tz)
    day = decided_on or today
    if day > today:
        problems.add("decided_on", f"must not be after today ({today})")
    elif day < (opened := city_day(case.opened_at, tz)):
        problems.add("decided_on", f"must not be before the case was opened ({opened})")
    problems.raise_any()
    decision = Decision(sanction, reasoning, day, fine_fen=fine_fen, suspension_days=days)
    return _moved(case, "decided", decision=decision, decided_at=now, decided_actor=actor)


def close(case: Case, *, note: str, now: datetime, actor: Actor | None = None) -> Case:
    """The decision was carried out: the case closes with a note."""
    if case.state != "decided":
        action = "close it before it is decided" if case.state == "open" else "close it again"
        raise WrongState("case", case.case_id, case.state, action)
    problems = Problems()
    cleaned = problems.text("note", note, limit=LONG_TEXT)
    problems.raise_any()
    return _moved(case, "closed", closing_note=cleaned, closed_at=now, closed_actor=actor)


def _moved(case: Case, state: CaseState, **changes: Any) -> Case:
    """The case's next version, in `state` with `changes`."""
    return replace(case, version=case.version + 1, state=state, **changes)


__all__ = [
    "ACTIVE_STATES",
    "AlreadyOpen",
    "Case",
    "Decision",
    "Invalid",
    "Origin",
    "WrongState",
    "close",
    "decide",
    "open_case",
    "yuan_to_fen",
]
