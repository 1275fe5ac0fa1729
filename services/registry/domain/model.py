"""Registry entities as plain values, and the rules that change them.

Every entity records the people behind it: `registered_actor`, who registered it, and
`updated_actor`, who made its latest change by hand (a change the clock or an event made — a
licence expiring, a suspension — leaves it as it was). The use case passes the `Actor`; nothing
here knows about tokens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from contracts.people import Actor
from services.runtime.failures import Conflict, InvalidInput

RENOVATION_STATUSES = ("not_planned", "planned", "in_progress", "completed")
TERMINAL_KINDS = ("cold_chain", "footfall", "payment")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class District:
    code: str
    name: str


@dataclass(frozen=True)
class TaskForce:
    leader: str
    members: tuple[str, ...]


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

    def with_task_force(
        self, task_force: TaskForce, now: datetime, *, by: Actor | None = None
    ) -> Market:
        if not task_force.leader.strip():
            raise InvalidInput("leader", "must not be empty")
        return replace(
            self,
            task_force=task_force,
            version=self.version + 1,
            updated_at=now,
            updated_actor=by or self.updated_actor,
        )

    def with_renovation_status(self, status: str, now: datetime) -> Market:
        if status not in RENOVATION_STATUSES:
            raise InvalidInput(
                "renovation_status", f"must be one of {', '.join(RENOVATION_STATUSES)}"
            )
        return replace(self, renovation_status=status, version=self.version + 1, updated_at=now)


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


def validate_opening_hours(opens: str, closes: str) -> None:
    if time.fromisoformat(opens) >= time.fromisoformat(closes):
        raise InvalidInput("opening_hours.close", f"must be later than open ({opens})")


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

    def licence_lapsed(self, today: date) -> bool:
        return self.licence_valid_until < today

    def expire_licence(self, now: datetime) -> Merchant:
        return replace(self, status="licence_expired", version=self.version + 1, updated_at=now)

    def suspend(self, now: datetime) -> Merchant:
        """Trading suspended by a rectification order (critical finding) until re-inspection."""
        return replace(self, status="suspended", version=self.version + 1, updated_at=now)

    def lift_suspension(self, today: date, now: datetime) -> Merchant:
        """Back to trading; to `licence_expired` instead if the licence ran out meanwhile."""
        status = "licence_expired" if self.licence_lapsed(today) else "active"
        return replace(self, status=status, version=self.version + 1, updated_at=now)

    def renew_licence(
        self,
        food_licence: str,
        valid_until: date,
        today: date,
        now: datetime,
        *,
        by: Actor | None = None,
    ) -> Merchant:
        require_valid_licence(valid_until, today)
        status = "active" if self.status == "licence_expired" else self.status
        return replace(
            self,
            food_licence=food_licence,
            licence_valid_until=valid_until,
            status=status,
            version=self.version + 1,
            updated_at=now,
            updated_actor=by or self.updated_actor,
        )


def require_valid_licence(valid_until: date, today: date) -> None:
    """Market access (市场准入): only merchants holding a licence in force are admitted."""
    if valid_until < today:
        raise InvalidInput("licence_valid_until", f"licence expired on {valid_until.isoformat()}")


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
        return replace(
            self,
            key_version=self.key_version + 1,
            version=self.version + 1,
            updated_at=now,
            updated_actor=by or self.updated_actor,
        )

    def retire(self, now: datetime, *, by: Actor | None = None) -> Terminal:
        return replace(
            self,
            status="retired",
            version=self.version + 1,
            updated_at=now,
            updated_actor=by or self.updated_actor,
        )


def check_terminal_placement(
    kind: str, profile: str | None, market: Market, merchant: Merchant | None, stall_no: str | None
) -> None:
    """Cold-chain sensors sit in a stall's fridge and need a profile; others must not have one."""
    if kind == "cold_chain" and profile is None:
        raise InvalidInput("profile", "a cold_chain terminal needs a profile (chilled or frozen)")
    if kind != "cold_chain" and profile is not None:
        raise InvalidInput("profile", f"only cold_chain terminals have a profile, not {kind}")
    if merchant is not None:
        if merchant.market_id != market.id:
            raise InvalidInput(
                "merchant_id", f"merchant is in market {merchant.market_id}, not {market.id}"
            )
        if stall_no is not None and stall_no != merchant.stall_no:
            raise InvalidInput(
                "stall_no", f"merchant {merchant.id} trades at stall {merchant.stall_no}"
            )
