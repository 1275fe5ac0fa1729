"""Events of the registry: compacted snapshots of markets, merchants and terminals.

Each event's data is the whole entity as it is now, so a consumer that reads a compacted topic
from the beginning has the current state of every entity. `version` grows with every change of
the entity; consumers keep the highest they have seen and ignore older snapshots.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
MARKET_UPSERTED: Final = "registry.market.upserted"
MERCHANT_UPSERTED: Final = "registry.merchant.upserted"
TERMINAL_UPSERTED: Final = "registry.terminal.upserted"

MarketKind = Literal["farmers", "wholesale"]
MARKET_KINDS: Final = get_args(MarketKind)
RenovationStatus = Literal["not_planned", "planned", "in_progress", "completed"]
MerchantStatus = Literal["active", "suspended", "licence_expired", "left"]
# 停业: a market closed for good once no merchant trades there; final (contracts/README.md).
MarketStatus = Literal["open", "closed"]
MARKET_CLOSED: Final = "closed"
# 退出经营: final; the stall is free for the next merchant, and the merchant is no longer listed,
# patrolled or counted among its market's merchants (contracts/README.md).
MERCHANT_LEFT: Final = "left"
TerminalKind = Literal["cold_chain", "footfall", "payment"]
ColdChainProfile = Literal["chilled", "frozen"]
TerminalStatus = Literal["active", "retired"]


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    version: int = Field(ge=1, description="grows by one with every change of the entity")
    updated_at: datetime
    actor: Actor | None = Field(
        default=None,
        description="the person who made this change (registered it, or changed it through the "
        "API); null when the clock or another event changed it",
    )


class OpeningHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    open: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["06:00"])
    close: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["19:00"])


class TaskForce(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    leader: str
    members: list[str]


class MarketUpserted(Snapshot):
    """`registry.market.upserted` on `registry.markets.v1`, key = market_id."""

    market_id: str
    name: str
    district: str = Field(description="district code")
    district_name: str | None = Field(
        default=None, description="the district's name, e.g. 芝罘区 (absent in older snapshots)"
    )
    kind: MarketKind
    operator: str
    address: str
    capacity: int = Field(gt=0, description="registered capacity (people on site)")
    opening_hours: OpeningHours
    renovation_status: RenovationStatus
    task_force: TaskForce | None = None
    status: MarketStatus = Field(
        "open", description="closed (停业, since 1.8.0): for good; no merchant trades there"
    )
    closed_on: date | None = Field(None, description="status closed: the day the market closed")


class MerchantUpserted(Snapshot):
    """`registry.merchant.upserted` on `registry.merchants.v1`, key = merchant_id."""

    merchant_id: str
    name: str
    market_id: str
    district: str
    stall_no: str
    credit_code: str = Field(description="统一社会信用代码 (GB 32100-2015)")
    food_licence: str = Field(description="食品经营许可证编号, JY + 14 digits")
    licence_valid_until: date
    categories: list[str]
    status: MerchantStatus
    left_on: date | None = Field(
        None, description="status left: the day the merchant stopped trading at its stall"
    )


class TerminalUpserted(Snapshot):
    """`registry.terminal.upserted` on `registry.terminals.v1`, key = terminal_id. Never the key."""

    terminal_id: str
    kind: TerminalKind
    market_id: str
    district: str
    merchant_id: str | None = None
    stall_no: str | None = None
    profile: ColdChainProfile | None = None
    interval_s: int = Field(gt=0)
    key_version: int = Field(ge=1, description="which derived key signs this terminal's readings")
    status: TerminalStatus
