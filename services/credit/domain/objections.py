"""Objections to a merchant's credit record (信用异议): the merchant disputes one adjustment of its
ledger, a clerk of the district records it, and another clerk of the district — never the one
who recorded it — decides it: `corrected` (the record was wrong; the adjustment is reversed
once the decision comes back from `credit.objections.v1`, see `facts.facts_from_objection`) or
`upheld` (the record stands). A decision is final.

Only an adjustment that cost the merchant credit and still counts can be disputed, once on each
ground: an objection decided stays the answer for that entry on its ground, and a correction or
a repair is never disputed itself.

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

信用修复 (`ground="repaired"`) goes the same way with other conditions: the record is right, the
merchant has put it right and committed in writing (信用承诺) not to repeat it, and asks that the
entry stop counting before it fades. Only an entry that cost at most `REPAIR_MAX_COST` points,
once `repair_wait` has passed since it happened, with nothing since that cost credit and no
rectification order still open (`repair_refusal`); decided `repaired` (reversed, as a correction
is) or `upheld`. An entry may be disputed as an error and, that upheld, repaired. An error is
disputed once; a repair refused (不予修复) may be asked for again once `REPAIR_RETRY_WAIT` has
passed since the refusal, every condition checked anew (`refusal`, `repair_retry_from`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from contracts.objections import (
    CORRECTION_KIND,
    DECISIONS_OF,
    GROUNDS,
    REPAIR_KIND,
    STATEMENT_MAX_CHARS,
    Decision,
    Ground,
)
from contracts.people import Actor
from services.credit.domain.follow_ons import FOLLOW_ON_KIND
from services.credit.domain.ledger import Adjustment
from services.runtime import serial
from services.runtime.clock import aware
from services.runtime.failures import Conflict, Forbidden, InvalidInputs
from services.runtime.work_calendar import WorkCalendar

ObjectionState = Literal["open", "corrected", "repaired", "upheld", "withdrawn"]
STATES: Final[tuple[ObjectionState, ...]] = ("open", "corrected", "repaired", "upheld", "withdrawn")
# The decisions that reverse the entry: what leaves nothing to dispute or repair after them.
REVERSING: Final[frozenset[str]] = frozenset({"corrected", "repaired"})
# 异议处理期限: received → decided within this many working days (CREDIT_OBJECTION_WORKING_DAYS).
DECISION_WORKING_DAYS: Final = 10
# The longest deadline a city may set: a bound that keeps a typo from meaning a year.
MAX_DECISION_WORKING_DAYS: Final = 60
# An open objection with at most this many working days left after today is 临期.
NEARING_WORKING_DAYS: Final = 2
# 信用修复: an entry that cost more than this (a critical finding, an expired licence, a
# suspension) is a serious one and counts its whole year.
REPAIR_MAX_COST: Final = 15
# How long after the entry happened a repair may be asked for, by what it cost (at most the
# first figure: the second): the shortest period a record is shown before it can be repaired.
REPAIR_WAITS: Final[tuple[tuple[int, timedelta], ...]] = (
    (5, timedelta(days=90)),
    (REPAIR_MAX_COST, timedelta(days=180)),
)
# A repair refused (不予修复) may be asked for again this long after the refusal: time for the
# merchant to put right what the refusal named, and a clerk is not asked the same twice a week.
REPAIR_RETRY_WAIT: Final = timedelta(days=30)


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
    # error: the record is wrong (信用异议); repaired: it is right and was put right (信用修复).
    ground: Ground = "error"
    # A repair's written commitment (信用承诺) was received.
    commitment: bool = False
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
        if self.ground not in GROUNDS:
            raise ValueError(f"unknown objection ground {self.ground!r}")

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


def repair_wait(entry: Adjustment) -> timedelta | None:
    """How long after `entry` happened a repair may be asked for; None when it cost too much to
    be repaired before it fades."""
    cost = -entry.delta
    return next((wait for most, wait in REPAIR_WAITS if cost <= most), None)


def repairable_from(entry: Adjustment) -> datetime | None:
    """The moment `entry`'s wait for a repair ends; None when it cannot be repaired."""
    wait = repair_wait(entry)
    return None if wait is None or entry.delta >= 0 else entry.occurred_at + wait


def reversed_keys(objections: Iterable[Objection]) -> frozenset[tuple[str, str]]:
    """The entries `objections` reversed: corrected, or repaired."""
    return frozenset(o.key for o in objections if o.state in REVERSING)


def corrected_before(
    objections: Iterable[Objection], moment: datetime
) -> frozenset[tuple[str, str]]:
    """The entries found wrong (decided `corrected`) before `moment`: what did not happen, for
    the rules that count what did (the honour and warning list, a market's inspection pass
    rate). A repaired entry did happen."""
    moment = aware(moment, "moment")
    return frozenset(
        o.key
        for o in objections
        if o.state == "corrected" and o.decided_at is not None and o.decided_at < moment
    )


def refusal(
    entry: Adjustment,
    earlier: Iterable[Objection],
    now: datetime,
    ground: Ground = "error",
) -> Conflict | None:
    """Why `entry` cannot be disputed on `ground` at `now` — a correction or a repair, an entry
    that cost nothing or no longer counts, an `earlier` objection to it (not withdrawn) still
    open, reversing it already, or of the same ground (but a repair refused, once
    `REPAIR_RETRY_WAIT` has passed) — or None when it can."""
    if entry.kind in (CORRECTION_KIND, REPAIR_KIND, FOLLOW_ON_KIND):
        return Conflict(
            f"entry {entry.event_id} reverses another entry: it is not disputed",
            field="kind",
        )
    if entry.delta >= 0:
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) cost no credit: there is nothing to correct",
            field="kind",
        )
    now = aware(now, "now")
    if not entry.counts_at(now):
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) faded on {entry.fades_at.isoformat()}: "
            "it no longer counts",
            field="event_id",
        )
    earlier = [o for o in earlier if o.state != "withdrawn"]
    for o in earlier:
        if (
            o.state == "open"
            or o.state in REVERSING
            or (o.ground == ground and not refused_repair(o))
        ):
            return Conflict(
                f"entry {entry.event_id} ({entry.kind}) is already disputed by objection "
                f"{o.objection_id} ({o.state})",
                field="event_id",
            )
    again = repair_retry_from(earlier) if ground == "repaired" else None
    if again is not None and now < again:
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) was refused a repair on "
            f"{(again - REPAIR_RETRY_WAIT).isoformat()}: it may be asked again "
            f"{REPAIR_RETRY_WAIT.days} days after, from {again.isoformat()}",
            field="event_id",
        )
    return None


def refused_repair(objection: Objection) -> bool:
    """A repair decided 不予修复."""
    return objection.ground == "repaired" and objection.state == "upheld"


def repair_retry_from(earlier: Iterable[Objection]) -> datetime | None:
    """The moment a repair may be asked for again after the latest refusal (不予修复) among
    `earlier`; None when none was refused."""
    refused = [o.decided_at for o in earlier if refused_repair(o) and o.decided_at is not None]
    return max(refused) + REPAIR_RETRY_WAIT if refused else None


def filing_refusal(
    entry: Adjustment,
    earlier: Iterable[Objection],
    now: datetime,
    ground: Ground,
    repair_refused: Conflict | None,
) -> Conflict | None:
    """Why a filing on `ground` about `entry` is refused at `now`: `refusal`, and for a repair
    then `repair_refused` (`repair_refusal`, which needs the merchant's ledger and orders)."""
    refused = refusal(entry, earlier, now, ground)
    return repair_refused if refused is None and ground == "repaired" else refused


def repair_opens_at(
    entry: Adjustment,
    earlier: Iterable[Objection],
    ledger: Iterable[Adjustment],
    undone: Collection[tuple[str, str]],
    now: datetime,
) -> datetime | None:
    """When a repair of `entry` may be asked for: the end of its wait, or of the wait after a
    refusal (不予修复), while that is still to come and nothing but the wait, or a rectification
    order the merchant has yet to put right, refuses it now; else None (a serious entry, a
    later offence, a filing open or granted)."""
    since = repairable_from(entry)
    if since is None:
        return None
    earlier = list(earlier)
    again = repair_retry_from(earlier)
    opens = since if again is None else max(since, again)
    if opens <= aware(now, "now"):
        return None
    # An open order is the merchant's to put right before then; a later offence stays.
    then = repair_refusal(entry, ledger, undone, 0, opens)
    return opens if filing_refusal(entry, earlier, opens, "repaired", then) is None else None


def repair_refusal(
    entry: Adjustment,
    ledger: Iterable[Adjustment],
    undone: Collection[tuple[str, str]],
    open_orders: int,
    now: datetime,
) -> Conflict | None:
    """Why `entry` cannot be repaired at `now`, beyond `refusal`: it cost too much, its wait has
    not passed, an entry of `ledger` that happened after it cost credit and still counts (one
    `undone` — corrected or repaired, `reversed_keys` — does not), or one of the merchant's
    rectification orders is still open (`open_orders`) — or None when it can."""
    now = aware(now, "now")
    since = repairable_from(entry)
    if since is None:
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) cost {-entry.delta} points, more than "
            f"{REPAIR_MAX_COST}: it is not repaired before it fades",
            field="kind",
        )
    if now < since:
        return Conflict(
            f"entry {entry.event_id} ({entry.kind}) may be repaired from {since.isoformat()}",
            field="event_id",
        )
    later = next(
        (
            a
            for a in ledger
            if a.delta < 0
            and a.occurred_at > entry.occurred_at
            and a.counts_at(now)
            and a.key not in undone
        ),
        None,
    )
    if later is not None:
        return Conflict(
            f"entry {later.event_id} ({later.kind}) of {later.occurred_at.isoformat()} cost "
            "credit since: a merchant who offended again is not repaired",
            field="event_id",
        )
    if open_orders:
        return Conflict(
            f"the merchant has {open_orders} rectification order(s) still open: "
            "it is repaired once they are put right",
            field="event_id",
        )
    return None


def file(
    entry: Adjustment,
    earlier: Iterable[Objection],
    statement: str,
    who: Actor,
    now: datetime,
    objection_id: str,
    deadline: DecisionDeadline,
    *,
    ground: str = "error",
    commitment: bool = False,
    repair_refused: Conflict | None = None,
) -> Objection:
    """The objection to `entry` on `ground`, due by `deadline`; refused when the statement is
    blank or too long, the ground unknown or a repair comes without the merchant's commitment
    (all at once), for each `refusal`, and for a repair for `repair_refused`
    (`repair_refusal`)."""
    problems = _text_problems("statement", statement)
    if ground not in GROUNDS:
        problems.append(("ground", f"must be one of {', '.join(GROUNDS)}"))
    elif ground == "repaired" and not commitment:
        problems.append(
            ("commitment", "a repair needs the merchant's written commitment (信用承诺)")
        )
    InvalidInputs.raise_any(problems)
    chosen: Ground = "repaired" if ground == "repaired" else "error"
    refused = filing_refusal(entry, earlier, now, chosen, repair_refused)
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
        ground=chosen,
        commitment=chosen == "repaired",
    )


_CLOSED: Final = {
    "corrected": "decided corrected",
    "repaired": "decided repaired",
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
    objection: Objection,
    decision: str,
    reasoning: str,
    who: Actor,
    now: datetime,
    repair_refused: Conflict | None = None,
) -> Objection:
    """The objection decided; refused when already decided, when the decision is not one of
    its ground's (`DECISIONS_OF`) or the reasoning is blank (both at once), and when `who`
    recorded it (four eyes); a repair granted for `repair_refused` (`repair_refusal` as the
    ledger stands at the decision: the merchant may have offended again since the filing)."""
    _still_open(objection)
    allowed = DECISIONS_OF[objection.ground]
    problems = [] if decision in allowed else [("decision", f"must be one of {', '.join(allowed)}")]
    InvalidInputs.raise_any(problems + _text_problems("reasoning", reasoning))
    if who.subject == objection.filed_by.subject:
        raise Forbidden(
            f"objection {objection.objection_id} was recorded by this person: another clerk "
            "of the district decides it"
        )
    chosen: Decision = next(d for d in allowed if d == decision)
    if chosen == "repaired" and repair_refused is not None:
        raise repair_refused
    return replace(
        objection,
        state=chosen,
        reasoning=reasoning.strip(),
        decided_at=aware(now, "now"),
        decided_by=who,
    )
