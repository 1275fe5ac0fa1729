"""What followed from an inspection's finding found wrong (信用异议 decided `corrected`), undone
with it.

A finding ordered rectification; a deadline the merchant missed cost `rectification.overdue`, and
a critical finding's suspension cost `merchant.suspended` (the registry's snapshot joins the
order's chain). Once the district finds the finding wrong, those entries followed from nothing:
each is reversed by an `objection.follow_on` adjustment worth its delta with the sign turned,
until it would have faded.

An entry follows from the finding when it is the same merchant's, of a following kind, in the
finding's chain (`correlation_id`, the risk or complaint at its root) and happened at or after
the inspection. The reversal is made whichever comes first — the entry, or the correction
(`CorrectedFinding`, recorded when credit reads the decision from `credit.objections.v1`) — and
is the same either way: keyed by the reversed entry's event, happening at the later of the entry
and the decision. So a rebuild, which reads the objection and inspection topics in another
interleaving than the live service did, makes the same ledger.

    found = CorrectedFinding("mer_1", "cmp_1", completed_at, decided_at, "obj_1")
    follows(found, entry)           # True for the chain's overdue entry after the inspection
    reversal(found, entry)          # the Fact that undoes it, or None once it faded
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from contracts.objections import FINDING_KINDS, ObjectionDecided
from services.credit.domain.facts import Fact, FactKind
from services.credit.domain.ledger import Adjustment
from services.runtime.clock import aware

FOLLOW_ON_KIND: Final = "objection.follow_on"
# The kinds of entry a finding's order makes happen.
FOLLOWING_KINDS: Final[tuple[FactKind, ...]] = ("rectification.overdue", "merchant.suspended")
# What an entry and the fact that reverses it share: whose, where, and the causing event.
_WHERE: Final = (
    "merchant_id", "market_id", "district", "event_id", "event_type", "topic", "partition",
    "offset", "correlation_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CorrectedFinding:
    """An inspection's finding found wrong: whose, its chain, when the inspection was completed
    (the disputed entry's `occurred_at`), when the district decided, and by which objection."""

    merchant_id: str
    chain: str
    found_at: datetime
    decided_at: datetime
    objection_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "found_at", aware(self.found_at, "found_at"))
        object.__setattr__(self, "decided_at", aware(self.decided_at, "decided_at"))


def follows(finding: CorrectedFinding, entry: Adjustment) -> bool:
    """Whether `entry` came of the finding's order: the merchant's, of a following kind, in its
    chain, at or after the inspection."""
    return (
        entry.kind in FOLLOWING_KINDS
        and entry.merchant_id == finding.merchant_id
        and entry.correlation_id == finding.chain
        and entry.occurred_at >= finding.found_at
    )


def reversal(finding: CorrectedFinding, entry: Adjustment) -> Fact | None:
    """The `objection.follow_on` that undoes `entry`, or None when it does not follow from the
    finding or has faded by the time both are known."""
    if not follows(finding, entry):
        return None
    at = max(entry.occurred_at, finding.decided_at)
    if at >= entry.fades_at:
        return None
    # The reversal stands where its entry does, and is caused by the same event.
    where = {name: getattr(entry, name) for name in _WHERE}
    detail = (
        f"objection {finding.objection_id} found the finding wrong: {entry.kind} of event "
        f"{entry.event_id} reversed"
    )
    return Fact(
        kind="objection.follow_on",
        occurred_at=at,
        detail=detail,
        delta=-entry.delta,
        fades_at=entry.fades_at,
        **where,
    )


def reversals(findings: Iterable[CorrectedFinding], entries: Iterable[Adjustment]) -> list[Fact]:
    """Every reversal the `findings` make of the `entries` (each entry at most once)."""
    found = list(findings)
    out: dict[str, Fact] = {}
    for entry in entries:
        for finding in found:
            fact = reversal(finding, entry)
            if fact is not None and entry.event_id not in out:
                out[entry.event_id] = fact
    return list(out.values())


def reversed_keys(
    entries: Iterable[Adjustment], before: datetime | None = None
) -> frozenset[tuple[str, str]]:
    """The keys of the entries undone (before `before`, if given: what did not happen, for the
    rules that count what did): an `objection.follow_on` names its entry by event, and an event
    makes at most one entry of the following kinds."""
    end = None if before is None else aware(before, "before")
    listed = list(entries)
    undone = {
        a.event_id
        for a in listed
        if a.kind == FOLLOW_ON_KIND and (end is None or a.occurred_at < end)
    }
    return frozenset(a.key for a in listed if a.kind in FOLLOWING_KINDS and a.event_id in undone)


def corrected_finding(data: ObjectionDecided, chain: str) -> CorrectedFinding | None:
    """The finding a decision found wrong: an objection to an inspection's finding
    (`FINDING_KINDS`) decided `corrected`, in the disputed entry's `chain`; else None."""
    if data.decision != "corrected" or data.disputed.kind not in FINDING_KINDS:
        return None
    disputed = data.disputed
    return CorrectedFinding(
        data.merchant_id, chain, disputed.occurred_at, data.decided_at, data.objection_id
    )
