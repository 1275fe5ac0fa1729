"""Registry entities as plain values, and the rules that change them.

Every entity records the people behind it: `registered_actor`, who registered it, and
`updated_actor`, who made its latest change by hand (a change the clock or an event made — a
licence expiring, a suspension — leaves it as it was). The use case passes the `Actor`; nothing
here knows about tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from typing import Any, TypeVar

from contracts.people import Actor
from contracts.registry import MARKET_CLOSED, MARKET_KINDS, MERCHANT_LEFT
from services.registry.domain.geo import Point, location_problems
from services.registry.domain.identifiers import validate_credit_code, validate_food_licence
from services.runtime.failures import Conflict, InvalidInput, InvalidInputs

# What is wrong with a request's field: (field, reason). The checks below name every problem of
# a request at once, so that a form shows each beside its field in one answer (the use case
# raises them together as InvalidInputs, services/runtime/failures.py).
Problem = tuple[str, str]

RENOVATION_STATUSES = ("not_planned", "planned", "in_progress", "completed")
TERMINAL_KINDS = ("cold_chain", "footfall", "payment")


@dataclass(frozen=True)
class District:
    code: str
    name: str


@dataclass(frozen=True)
class TaskForce:
    leader: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class MarketDetails:
    """What a clerk corrects of a registered market (更正市场信息): its district stays (another
    district's market is another registration), its location has a change of its own. `kind`
    (农贸 or 批发, picked wrong at registration): None keeps the one it has."""

    name: str
    operator: str
    address: str
    capacity: int
    opens: str
    closes: str
    kind: str | None = None


def market_details_problems(details: MarketDetails) -> list[Problem]:
    """Every problem of a market's details at once: words that are there, a kind the registry
    knows, a capacity of at least one person, hours that close after they open."""
    problems: list[Problem] = [
        (name, "must not be blank")
        for name in ("name", "operator", "address")
        if not getattr(details, name).strip()
    ]
    if details.kind is not None and details.kind not in MARKET_KINDS:
        problems.append(("kind", f"must be one of {', '.join(MARKET_KINDS)}"))
    if details.capacity < 1:
        problems.append(("capacity", "must be at least 1"))
    return problems + opening_hours_problems(details.opens, details.closes)


@dataclass(frozen=True)
class Market:
    id: str
    name: str
    district: str
    kind: str
    operator: str
    address: str
    capacity: int
    opens: str
    closes: str
    renovation_status: str = "not_planned"
    task_force: TaskForce | None = None
    version: int = 1
    updated_at: datetime | None = None
    registered_actor: Actor | None = None
    updated_actor: Actor | None = None
    # Where it stands (WGS-84 degrees, as a phone reports them): set by a clerk, for the
    # citizens' 附近的市场 (nearest first). None until then.
    latitude: float | None = None
    longitude: float | None = None
    # 停业: closed for good (status `closed`), the day and why; only once no merchant trades.
    status: str = "open"
    closed_on: date | None = None
    closed_reason: str | None = None

    @property
    def location(self) -> Point | None:
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)

    def with_location(
        self, latitude: float, longitude: float, now: datetime, *, by: Actor | None = None
    ) -> Market:
        self.still_open()
        InvalidInputs.raise_any(location_problems(latitude, longitude))
        return _changed(self, now, by, latitude=latitude, longitude=longitude)

    def with_details(
        self, details: MarketDetails, now: datetime, *, by: Actor | None = None
    ) -> Market:
        """The market with `details` corrected; itself, unchanged, when they are what it holds
        (a form saved again makes no new version)."""
        self.still_open()
        InvalidInputs.raise_any(market_details_problems(details))
        words = {f.name: getattr(details, f.name) for f in fields(details)}
        words |= {name: words[name].strip() for name in ("name", "operator", "address")}
        if details.kind is None:
            del words["kind"]
        if all(getattr(self, name) == value for name, value in words.items()):
            return self
        return _changed(self, now, by, **words)

    def with_task_force(
        self, task_force: TaskForce, now: datetime, *, by: Actor | None = None
    ) -> Market:
        self.still_open()
        if not task_force.leader.strip():
            raise InvalidInput("leader", "must not be empty")
        return _changed(self, now, by, task_force=task_force)

    def with_renovation_status(self, status: str, now: datetime) -> Market:
        if status not in RENOVATION_STATUSES:
            raise InvalidInput(
                "renovation_status", f"must be one of {', '.join(RENOVATION_STATUSES)}"
            )
        return _changed(self, now, None, renovation_status=status)

    def close(
        self, on: date, reason: str, today: date, now: datetime, *, by: Actor | None = None
    ) -> Market:
        """停业: the market closed for good on `on`. Final; its record stays (its assessments,
        its inspections), and nothing joins it from then on. That no merchant trades there any
        more is the registry's state, checked by the use case (`merchants_trading`)."""
        self.still_open()
        InvalidInputs.raise_any(ending_problems("closed_on", on, reason, today))
        return _changed(
            self, now, by, status=MARKET_CLOSED, closed_on=on, closed_reason=reason.strip()
        )

    def still_open(self, field: str | None = None) -> None:
        """A closed market changes no more and takes no merchant or terminal (`field`: the
        request's field naming it)."""
        if self.status == MARKET_CLOSED:
            raise Conflict(f"market {self.id} closed on {self.closed_on}", field=field)


def merchants_trading(market_id: str, count: int) -> Conflict:
    """A market closes only once every merchant has left it (退出经营 first: the stall, the
    terminals and inspection's open work follow each one)."""
    return Conflict(
        f"{count} merchant(s) still trade at market {market_id}; record their leaving first"
    )


def market_renovation_status(stages: Iterable[str]) -> str:
    """A market's `renovation_status` from the stages of its renovation projects (the campaign's
    `registry.renovation.upserted` events): none, all planned or approved, any being built or
    accepted, all accepted."""
    found = list(stages)
    if not found:
        return "not_planned"
    if all(s == "accepted" for s in found):
        return "completed"
    if any(s in ("under_construction", "accepted") for s in found):
        return "in_progress"
    return "planned"


def opening_hours_problems(opens: str, closes: str) -> list[Problem]:
    if time.fromisoformat(opens) >= time.fromisoformat(closes):
        return [("opening_hours.close", f"must be later than open ({opens})")]
    return []


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    market_id: str
    district: str
    stall_no: str
    credit_code: str
    food_licence: str
    licence_valid_until: date
    categories: tuple[str, ...] = field(default_factory=tuple)
    status: str = "active"
    version: int = 1
    updated_at: datetime | None = None
    registered_actor: Actor | None = None
    updated_actor: Actor | None = None
    # 退出经营: the day it stopped trading at its stall, and why (status `left`).
    left_on: date | None = None
    left_reason: str | None = None

    def licence_lapsed(self, today: date) -> bool:
        return self.licence_valid_until < today

    def expire_licence(self, now: datetime) -> Merchant:
        return _changed(self, now, None, status="licence_expired")

    def suspend(self, now: datetime) -> Merchant:
        """Trading suspended by a rectification order (critical finding) until re-inspection."""
        return _changed(self, now, None, status="suspended")

    def lift_suspension(self, today: date, now: datetime) -> Merchant:
        """Back to trading; to `licence_expired` instead if the licence ran out meanwhile."""
        status = "licence_expired" if self.licence_lapsed(today) else "active"
        return _changed(self, now, None, status=status)

    def renew_licence(
        self,
        food_licence: str,
        valid_until: date,
        today: date,
        now: datetime,
        *,
        by: Actor | None = None,
    ) -> Merchant:
        self._still_trading()
        require_valid_licence(valid_until, today)
        status = "active" if self.status == "licence_expired" else self.status
        return _changed(
            self, now, by, food_licence=food_licence, licence_valid_until=valid_until, status=status
        )

    def corrected(
        self, name: str, categories: tuple[str, ...], now: datetime, *, by: Actor | None = None
    ) -> Merchant:
        """更正商户信息: the name and categories as the clerk corrects them (its identifiers,
        market and stall stay: another stall or code is another registration); itself when
        nothing changes."""
        self._still_trading()
        if not name.strip():
            raise InvalidInputs([("name", "must not be blank")])
        if (name.strip(), categories) == (self.name, self.categories):
            return self
        return _changed(self, now, by, name=name.strip(), categories=categories)

    def moved(self, stall_no: str, now: datetime, *, by: Actor | None = None) -> Merchant:
        """换摊位: the merchant trades at another stall of its market from now on, with its
        record (its grade goes with it: moving is not a way to start afresh). Whether the stall
        is free is the registry's state, checked by the use case."""
        self._still_trading()
        stall = stall_no.strip()
        if not stall:
            raise InvalidInputs([("stall_no", "must not be blank")])
        if stall == self.stall_no:
            raise InvalidInputs([("stall_no", f"is the stall it trades at ({stall})")])
        return _changed(self, now, by, stall_no=stall)

    def leave(
        self, on: date, reason: str, today: date, now: datetime, *, by: Actor | None = None
    ) -> Merchant:
        """退出经营: the merchant stopped trading at its stall on `on`, which frees the stall
        for the next merchant. What it did stays on record (its grade, its inspections); it is
        no longer patrolled nor listed among the market's merchants. Final: a merchant who
        comes back is registered anew."""
        self._still_trading()
        InvalidInputs.raise_any(leaving_problems(on, reason, today))
        return _changed(self, now, by, status=LEFT, left_on=on, left_reason=reason.strip())

    def _still_trading(self) -> None:
        if self.status == LEFT:
            raise Conflict(f"merchant {self.id} left the market on {self.left_on}")


def stall_taken(market_id: str, stall_no: str) -> Conflict:
    """One merchant per stall among those trading there: another may not register at it, nor
    move to it."""
    return Conflict(f"stall {stall_no!r} of market {market_id} has a merchant", field="stall_no")


LEFT = MERCHANT_LEFT
LEAVING_REASON_MAX = 500


def leaving_problems(on: date | None, reason: str | None, today: date) -> list[Problem]:
    """Every problem of a merchant's leaving, among what is given: a day that has come, and a
    reason."""
    return ending_problems("left_on", on, reason, today)


def ending_problems(
    day_field: str, on: date | None, reason: str | None, today: date
) -> list[Problem]:
    """Every problem of a merchant's leaving or a market's closing, among what is given: a day
    (`day_field`) that has come, and a reason."""
    problems: list[Problem] = []
    if on is not None and on > today:
        problems.append((day_field, f"must not be after today ({today.isoformat()})"))
    if reason is not None:
        if not reason.strip():
            problems.append(("reason", "must not be blank"))
        elif len(reason.strip()) > LEAVING_REASON_MAX:
            problems.append(("reason", f"must be at most {LEAVING_REASON_MAX} characters"))
    return problems


def expired_licence(valid_until: date, today: date) -> Problem | None:
    """Market access (市场准入): only merchants holding a licence in force are admitted."""
    if valid_until < today:
        return ("licence_valid_until", f"licence expired on {valid_until.isoformat()}")
    return None


def require_valid_licence(valid_until: date, today: date) -> None:
    problem = expired_licence(valid_until, today)
    if problem is not None:
        raise InvalidInput(*problem)


def merchant_problems(
    today: date,
    *,
    credit_code: str | None = None,
    food_licence: str | None = None,
    licence_valid_until: date | None = None,
) -> list[Problem]:
    """Every problem of a merchant's identifiers and licence, among those given (a form checks
    the fields typed so far): the credit code, the licence number, the licence in force on
    `today`."""
    problems: list[Problem] = []
    checks = ((credit_code, validate_credit_code), (food_licence, validate_food_licence))
    for value, check in checks:
        if value is not None:
            try:
                check(value)
            except InvalidInput as exc:
                problems.append((exc.field, exc.reason))
    expired = None if licence_valid_until is None else expired_licence(licence_valid_until, today)
    return problems + ([expired] if expired else [])


@dataclass(frozen=True)
class Terminal:
    id: str
    kind: str
    market_id: str
    district: str
    interval_s: int
    merchant_id: str | None = None
    stall_no: str | None = None
    profile: str | None = None
    key_version: int = 1
    status: str = "active"
    version: int = 1
    updated_at: datetime | None = None
    registered_actor: Actor | None = None
    updated_actor: Actor | None = None

    def rotate_key(self, now: datetime, *, by: Actor | None = None) -> Terminal:
        if self.status != "active":
            raise Conflict(f"terminal is {self.status}; a retired terminal gets no new key")
        return _changed(self, now, by, key_version=self.key_version + 1)

    def at_stall(self, stall_no: str, now: datetime, *, by: Actor | None = None) -> Terminal:
        """The terminal moved with its merchant to `stall_no` (a fridge's sensor goes with
        the fridge)."""
        return _changed(self, now, by, stall_no=stall_no)

    def retire(self, now: datetime, *, by: Actor | None = None) -> Terminal:
        return _changed(self, now, by, status="retired")


def terminal_placement_problems(
    kind: str | None,
    profile: str | None,
    market: Market | None,
    merchant: Merchant | None,
    stall_no: str | None,
) -> list[Problem]:
    """Every problem of where a terminal goes. Cold-chain sensors sit in a stall's fridge and
    need a profile; others must not have one. A merchant's terminal is in the merchant's market
    and stall. What is not known (None: a kind or market the request got wrong) is not checked."""
    problems: list[Problem] = []
    if kind == "cold_chain" and profile is None:
        problems.append(("profile", "a cold_chain terminal needs a profile (chilled or frozen)"))
    if kind is not None and kind != "cold_chain" and profile is not None:
        problems.append(("profile", f"only cold_chain terminals have a profile, not {kind}"))
    if merchant is not None and market is not None:
        if merchant.market_id != market.id:
            problems.append(
                ("merchant_id", f"merchant is in market {merchant.market_id}, not {market.id}")
            )
        elif stall_no is not None and stall_no != merchant.stall_no:
            # Only a merchant of this market is told apart by its stall.
            problems.append(
                ("stall_no", f"merchant {merchant.id} trades at stall {merchant.stall_no}")
            )
    return problems


Registered = TypeVar("Registered", Market, Merchant, Terminal)


def _changed(entity: Registered, now: datetime, by: Actor | None, **changes: Any) -> Registered:
    """`entity` with `changes`, as its next version changed `now`; `by` the person who made the
    change (None: the clock or an event made it, and whoever last changed it by hand stays)."""
    return replace(
        entity,
        **changes,
        version=entity.version + 1,
        updated_at=now,
        updated_actor=by or entity.updated_actor,
    )
