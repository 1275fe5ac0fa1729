"""The monthly honour and warning list (红黑榜) of markets and merchants, drawn by the credit
service from the market assessments and the merchants' grades by the rules of a versioned policy
file (考核奖惩, 诚信激励、失信惩戒).

`credit.honours.v1`, key = subject = the **market or merchant id**:

- `credit.honour.listed`: the entity is on the month's honour or warning list, with the rules
  that put it there;
- `credit.honour.delisted`: the entity was on the previous month's list and is not on this one.
  A merchant stays on the warning list — and is patrolled at the D grade's interval by the
  inspection service — until a `credit.honour.delisted` for it.

Envelope: each month's drawing starts one chain (`correlationid` is shared by every entry of the
month's list: the drawing's id).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.credit import Instant
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
HONOUR_LISTED: Final = "credit.honour.listed"
HONOUR_DELISTED: Final = "credit.honour.delisted"

ListKind = Literal["honour", "warning"]
LIST_KINDS: Final[tuple[ListKind, ...]] = ("honour", "warning")
Entity = Literal["market", "merchant"]
MONTH_PATTERN: Final = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    drawing_id: str = Field(description="one month's drawing; shared by its entries")
    month: str = Field(pattern=MONTH_PATTERN, description="the month listed, YYYY-MM")
    list: ListKind
    entity: Entity
    entity_id: str = Field(min_length=1, description="the market id or merchant id")
    name: str = Field(description="the market's or merchant's registered name")
    market_id: str
    district: str
    policy_version: str
    drawn_at: Instant
    actor: Actor | None = Field(
        default=None,
        description="who drew the month by hand (an admin's POST /honours/draw); null when the "
        "monthly schedule drew it",
    )


class HonourListed(_Entry):
    """`credit.honour.listed` on `credit.honours.v1`, key = subject = entity_id."""

    reasons: list[str] = Field(min_length=1, description="the policy rules the entity met")


class HonourDelisted(_Entry):
    """`credit.honour.delisted` on `credit.honours.v1`, key = subject = entity_id.

    `month` is the month it is no longer listed in; `list` the list it left."""
