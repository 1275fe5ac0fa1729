"""Objections to a merchant's credit record (信用异议), since 1.8.0: the merchant disputes one
adjustment of its ledger — an inspection's finding, a complaint held substantiated — a clerk of
the district records the objection, and another clerk of the district decides it after checking
with the source (leaders read it: they change nothing).

`credit.objections.v1`, key = subject = the **merchant id** (a merchant's objections in order):

- `credit.objection.filed`: the objection, the adjustment it disputes and the merchant's
  statement, as the district recorded it;
- `credit.objection.decided`: `corrected` — the record was wrong: the adjustment is reversed
  (credit adds `objection.corrected`, the disputed delta with its sign turned, until the disputed
  adjustment would have faded) — or `upheld`, the record stands; with the reasoning. Final.
- `credit.objection.withdrawn`: the merchant withdrew it (撤回), or the district recorded it in
  error, before a decision; with the reason. Final, and changes no score; the entry may be
  disputed again.

Every objection has a `ground`. `error` (信用异议, the default): the record is wrong. `repaired`
(信用修复): the record is right, the merchant has put the matter right and committed in writing
not to repeat it, and asks that the entry stop counting before it fades; decided `repaired`
(准予修复: the entry is reversed as a correction is, as `objection.repaired`) or `upheld`
(不予修复).

The credit service produces the topic and also consumes it: a correction reaches the ledger from
the topic, so rebuilding the scores from the topics gives the corrected score. The envelope's
`correlationid` is the disputed adjustment's chain.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.credit import Instant
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
OBJECTION_FILED: Final = "credit.objection.filed"
OBJECTION_DECIDED: Final = "credit.objection.decided"
OBJECTION_WITHDRAWN: Final = "credit.objection.withdrawn"

Ground = Literal["error", "repaired"]
GROUNDS: Final[tuple[Ground, ...]] = ("error", "repaired")
Decision = Literal["corrected", "repaired", "upheld"]
DECISIONS: Final[tuple[Decision, ...]] = ("corrected", "repaired", "upheld")
# What each ground may be decided: the record corrected, or the entry repaired; or it stands.
DECISIONS_OF: Final[dict[Ground, tuple[Decision, ...]]] = {
    "error": ("corrected", "upheld"),
    "repaired": ("repaired", "upheld"),
}
# The adjustment a correction adds to the ledger, and the one a repair adds.
CORRECTION_KIND: Final = "objection.corrected"
REPAIR_KIND: Final = "objection.repaired"
STATEMENT_MAX_CHARS: Final = 2000
# The kinds of the entries an inspection's finding makes (the credit policy's names,
# `inspection.finding.<outcome>`): an objection to one of them decided `corrected` found the
# inspection wrong, and inspection lets the rectification orders it made lapse.
FINDING_KINDS: Final[tuple[str, ...]] = (
    "inspection.finding.minor",
    "inspection.finding.major",
    "inspection.finding.critical",
)


class Disputed(BaseModel):
    """The ledger entry an objection disputes: its key (the causing event and the kind) and what
    it was worth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, description="the event that caused the adjustment")
    kind: str = Field(
        min_length=1, description="the adjustment's kind, e.g. inspection.finding.major"
    )
    delta: int = Field(description="what the adjustment was worth; never 0")
    occurred_at: Instant
    fades_at: Instant = Field(description="when it stops counting; a correction fades with it")


class _Objection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    objection_id: str = Field(min_length=1)
    merchant_id: str = Field(min_length=1)
    market_id: str
    district: str
    disputed: Disputed
    ground: Ground = Field(
        default="error",
        description="error: the record is wrong (信用异议); repaired: the record is right and "
        "the merchant has put it right, asking that it stop counting early (信用修复)",
    )
    due_at: Instant | None = Field(
        default=None,
        description="the end of the working day the district must decide by (异议处理期限: "
        "received + 10 working days by default, the city's calendar); set when filed, kept",
    )


class ObjectionFiled(_Objection):
    """`credit.objection.filed` on `credit.objections.v1`, key = subject = merchant_id."""

    statement: str = Field(
        min_length=1,
        max_length=STATEMENT_MAX_CHARS,
        description="what the merchant says is wrong with the record, as the district took it",
    )
    filed_at: Instant
    commitment: bool = Field(
        default=False,
        description="a repair: the merchant's written commitment (信用承诺) was received; "
        "always true on a repair, false on an objection to an error",
    )
    actor: Actor | None = Field(default=None, description="who recorded the objection")


class ObjectionDecided(_Objection):
    """`credit.objection.decided` on `credit.objections.v1`, key = subject = merchant_id."""

    decision: Decision
    reasoning: str = Field(
        min_length=1,
        max_length=STATEMENT_MAX_CHARS,
        description="why, as the deciding clerk wrote it",
    )
    decided_at: Instant
    actor: Actor | None = Field(default=None, description="who decided it")


class ObjectionWithdrawn(_Objection):
    """`credit.objection.withdrawn` on `credit.objections.v1`, key = subject = merchant_id."""

    reason: str = Field(
        min_length=1,
        max_length=STATEMENT_MAX_CHARS,
        description="why, as the clerk recorded it: the merchant's withdrawal, or an error",
    )
    withdrawn_at: Instant
    actor: Actor | None = Field(default=None, description="who recorded the withdrawal")
