"""Objections to a merchant's credit record (信用异议): the merchant disputes one adjustment of its
ledger, a clerk of the district records it, and another clerk of the district — never the one
who recorded it — decides it: `corrected` (the record was wrong; the adjustment is reversed
once the decision comes back from `credit.objections.v1`, see `facts.facts_from_objection`) or
`upheld` (the record stands). A decision is final.

Only an adjustment that cost the merchant credit and still counts can be disputed, once: an
objection decided stays the answer for that entry, and a correction is never disputed itself.

The district decides within `DECISION_WORKING_DAYS` working days of receiving the objection
(异议处理期限, the city's working-day calendar): the deadline is set when it is filed and kept,
so a change of the setting moves only the objections filed after it.

    rule = DecisionDeadline(10, calendar, "Asia/Shanghai")
    objection = file(entry, earlier, statement, who, now, new_id, rule)   # refused: ServiceError
    rule.clock(objection, now)    # {"working_days_left": 3, "nearing": False, "overdue": False}
    decided = decide(objection, "corrected", reasoning, who, now)
    closed = withdraw(objection, "商户撤回异议", who, now)   # or, before a decision

An objection the merchant withdraws (撤回), or one recorded in error, is closed without a decision
by any clerk of the district: it changes no score and leaves the entry free to be disputed again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal

from contracts.objections import CORRECTION_KIND, DECISIONS, STATEMENT_MAX_CHARS, Decision
from contracts.people import Actor
from services.credit.domain.ledger import Adjustment
from services.runtime import serial
from services.runtime.clock import aware
from services.runtime.failures import Conflict, Forbidden, InvalidInputs
from services.runtime.work_calendar import WorkCalendar

ObjectionState = Literal["open", "corrected", "upheld", "withdrawn"]
STATES: Final[tuple[ObjectionState, ...]] = ("open", "corrected", "upheld", "withdrawn")
# 异议处理期限: received → decided within this many working days (CREDIT_OBJECTION_WORKING_DAYS).
DECISION_WORKING_DAYS: Final = 10
# The longest deadline a city may set: a bound that keeps a typo from meaning a year.
MAX_DECISION_WORKING_DAYS: Final = 60
# An open objection with at most this many working days left after today is 临期.
NEARING_WORKING_DAYS: Final = 2


@dataclass(frozen=True, slots=True)
class Objection:
    """One objection: the entry it disputes (its key, `event_id` and `kind`, and what it was
    worth), the merchant's statement, who recorded it, and the decision once made."""

    objection_id: str
    merchant_id: str
    market_id: str
    district: str
    event_id: str
    kind: str
    delta: int
    occurred_at: datetime
    fades_at: datetime
    correlation_id: str  # the disputed entry's chain
    statement: str
    filed_at: datetime
    filed_by: Actor
    due_at: datetime  # the end of the day the district must decide by (异议处理期限)
    # The working days `due_at` was set by: the rule as it stood at the filing.
    working_days: int = DECISION_WORKING_DAYS
    state: ObjectionState = "open"
    # How it was closed: the decision's reasoning, or the withdrawal's reason; when and by whom.
    reasoning: str | None = None
    decided_at: datetime | None = None
    decided_by: Actor | None = None

    def __post_init__(self) -> None:
        for name in ("occurred_at", "fades_at", "filed_at", "due_at"):
            object.__setattr__(self, name, aware(getattr(self, name), name))
        if self.decided_at is not None:
            object.__setattr__(self, "decided_at", aware(self.decided_at, "decided_at"))
        if self.state not in STATES:
            raise ValueError(f"unknown objection state {self.state!r}")

    @property
    def key(self) -> tuple[str, str]:
        """The disputed entry's key in the ledger."""
        return (self.event_id, self.kind)

    def is_overdue(self, now: datetime) -> bool:
        """Still open after its deadline."""
        return self.state == "open" and aware(now, "now") > self.due_at

    @property
    def decided_late(self) -> bool:
        return (
            self.state != "withdrawn"
            and self.decided_at is not None
            and self.decided_at > self.due_at
        )


@dataclass(frozen=True, slots=True)
class DecisionDeadline:
    """The rule that sets an objection's deadline: `working_days` working days of `calendar`
    after the day it was received, to the end of that day in the city's `timezone`."""

    working_days: int
    calendar: WorkCalendar
    timezone: str

    def __post_init__(self) -> None:
        if isinstance(self.working_days, bool) or not (
            1 <= self.working_days <= MAX_DECISION_WORKING_DAYS
        ):
            raise ValueError(
                "objection working days must be a whole number from 1 to "
                f"{MAX_DECISION_WORKING_DAYS}, "
                f"got {self.working_days!r}"
            )

    def due(self, filed_at: datetime) -> datetime:
        return self.calendar.deadline_at(
            aware(filed_at, "filed_at"), self.working_days, self.timezone
        )

    def working_days_left(self, objection: Objection, now: datetime) -> int:
        """Working days after today (city time) up to the deadline's day: 0 on that day,
        negative once past it."""
        today = self.calendar.local_date(aware(now, "now"), self.timezone)
        due_day = self.calendar.local_date(objection.due_at, self.timezone)
        return self.calendar.working_days_between(today, due_day)

    def clock(self, objection: Objection, now: datetime) -> dict[str, int | bool | None]:
        """How the deadline stands at `now`, for the lists and the record: working days left and
        临期 / 逾期 while it is open (None and False once decided), and whether it was decided
        after its deadline."""
        if objection.state != "open":
            return {
                "working_days_left": None,
                "nearing": False,
                "overdue": False,
                "decided_late": objection.decided_late,
            }
        left = self.working_days_left(objection, now)
        overdue = objection.is_overdue(now)
        return {
            "working_days_left": left,
            "nearing": not overdue and left <= NEARING_WORKING_DAYS,
            "overdue": overdue,
            "decided_late": False,
        }


def _text_problems(field: str, value: str) -> list[tuple[str, str]]:
    text = value.strip()
    if not text:
        return [(field, "must not be blank")]
    if len(text) > STATEMENT_MAX_CHARS:
        return [(field, f"must be at most {STATEMENT_MAX_CHARS} characters")]
    return []


def refusal(entry: Adjustment, earlier: Objection | None, now: datetime) -> Conflict | None:
    """Why `entry` cannot be disputed at `now` — a correction, an entry that cost nothing or
    no longer counts, one `earlier` (not withdrawn) already disputes — or None when it can."""
    if entry.kind == CORRECTION_KIND:
        return Conflict(
            f"entry {entry.event_id} is the correction of an objection: it is not disputed",
            field="kind",
        )
    if entry.delta >= 0:
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) cost no credit: there is nothing to correct",
            field="kind",
        )
    if not entry.counts_at(aware(now, "now")):
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) faded on {entry.fades_at.isoformat()}: "
            "it no longer counts",
            field="event_id",
        )
    if earlier is not None and earlier.state != "withdrawn":
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) is already disputed by objection "
            f"{earlier.objection_id} ({earlier.state})",
            field="event_id",
        )
    return None


def file(
    entry: Adjustment,
    earlier: Objection | None,
    statement: str,
    who: Actor,
    now: datetime,
    objection_id: str,
    deadline: DecisionDeadline,
) -> Objection:
    """The objection to `entry`, due by `deadline`; refused when the statement is blank or too
    long, and for each `refusal`."""
    InvalidInputs.raise_any(_text_problems("statement", statement))
    refused = refusal(entry, earlier, now)
    if refused is not None:
        raise refused
    # The entry's key, worth, place and chain, under the same names.
    return serial.into(
        Objection,
        entry,
        objection_id=objection_id,
        statement=statement.strip(),
        filed_at=aware(now, "now"),
        filed_by=who,
        due_at=deadline.due(now),
        working_days=deadline.working_days,
    )


_CLOSED: Final = {
    "corrected": "decided corrected",
    "upheld": "decided upheld",
    "withdrawn": "withdrawn",
}


def _still_open(objection: Objection) -> None:
    if objection.state != "open":
        closed_on = objection.decided_at.isoformat() if objection.decided_at else "before"
        raise Conflict(
            f"objection {objection.objection_id} was {_CLOSED[objection.state]} on {closed_on}",
            field="state",
        )


def withdraw(objection: Objection, reason: str, who: Actor, now: datetime) -> Objection:
    """The open objection withdrawn, for `reason` (the merchant's, or an error in recording it),
    by any clerk of the district; refused when it is closed already or the reason is blank."""
    _still_open(objection)
    InvalidInputs.raise_any(_text_problems("reason", reason))
    return replace(
        objection,
        state="withdrawn",
        reasoning=reason.strip(),
        decided_at=aware(now, "now"),
        decided_by=who,
    )


def decide(
    objection: Objection, decision: str, reasoning: str, who: Actor, now: datetime
) -> Objection:
    """The objection decided; refused when already decided, when the decision is not one of
    `DECISIONS` or the reasoning is blank (both at once), and when `who` recorded it (four
    eyes)."""
    _still_open(objection)
    problems = (
        [] if decision in DECISIONS else [("decision", f"must be one of {', '.join(DECISIONS)}")]
    )
    InvalidInputs.raise_any(problems + _text_problems("reasoning", reasoning))
    if who.subject == objection.filed_by.subject:
        raise Forbidden(
            f"objection {objection.objection_id} was recorded by this person: another clerk "
            "of the district decides it"
        )
    chosen: Decision = "corrected" if decision == "corrected" else "upheld"
    return replace(
        objection,
        state=chosen,
        reasoning=reasoning.strip(),
        decided_at=aware(now, "now"),
        decided_by=who,
    )
