"""The ledger and the score: facts become adjustments, adjustments become a score and a grade.

    book = default_book()                         # services/credit/policy_files.py
    for fact in facts_from_inspection(envelope.type, envelope.data, meta):
        entry = adjust(fact, book)                 # None: this policy version does not score it
        if entry is None:
            continue
        credit = store.credit(entry.merchant_id)   # None: never scored
        if credit is not None and credit.due(now, book):
            credit, faded = refade(credit, store.ledger(entry.merchant_id), now, book)
            # publish `faded` (reason "fade") if not None
        credit, change = apply(credit, entry, now, book)
        # store entry + credit, publish `change` if not None, all in one transaction

A merchant's credit is its credit subject's (信用主体, the 统一社会信用代码): every registration of
one code — a merchant who left and came back, or one business at two stalls — counts the
entries of all of them, each entry staying with the registration (and market) it happened at.
`regrade` recomputes one registration from its subject's ledger; the store gives the ledger of
a subject (`services/credit/store.py`, `Ledger.ledger`).

The score is `start + the sum of the deltas that have not faded`, clamped to the bounds, all
of the policy in force when it is computed; only the final sum is clamped, so the order in
which adjustments arrive never matters and rebuilding from the ledger gives the score the live
service reached. `MerchantCredit.balance` keeps that unclamped sum so an adjustment can be
applied without reading the ledger; fading (and a new policy version coming into force) needs
the ledger: `refade`.

An adjustment is recorded whenever the policy names its kind, delta 0 included
(`merchant.registered`: the ledger shows where the score started); a kind the policy leaves out
gives no adjustment. `key` (event id, kind) identifies an adjustment: the store makes it unique,
and `score` / `rebuild` count each key once, so a redelivered event never counts twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal

from contracts.inspection import Grade
from services.credit.domain.errors import StaleCredit
from services.credit.domain.facts import Fact
from services.credit.domain.policy import Policy, PolicyBook
from services.runtime.clock import aware

ChangeReason = Literal["adjustment", "fade"]

LABELS: Final[Mapping[str, str]] = {
    "merchant.registered": "registered",
    "inspection.pass": "inspection passed",
    "inspection.finding.minor": "inspection found minor problems",
    "inspection.finding.major": "inspection found major problems",
    "inspection.finding.critical": "inspection found critical problems",
    "rectification.on_time": "rectified by the deadline",
    "rectification.overdue": "rectification overdue",
    "complaint.substantiated": "substantiated complaint",
    "food_safety_risk.confirmed": "food-safety risk confirmed by inspection",
    "licence.expired": "licence expired",
    "merchant.suspended": "suspended",
    "enforcement.warning": "joint enforcement: warning",
    "enforcement.fine": "joint enforcement: fine",
    "enforcement.suspension": "joint enforcement: suspension",
    "objection.corrected": "record corrected on objection",
    "objection.repaired": "entry repaired (信用修复)",
    "objection.follow_on": "followed from a finding corrected on objection",
    "merchant.credit_code": "credit code corrected: the credit of its credit subject",
}


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One ledger entry: what a fact was worth under the policy in force when it happened."""

    merchant_id: str
    market_id: str
    district: str
    kind: str
    delta: int
    reason: str
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    correlation_id: str
    policy_version: str
    occurred_at: datetime
    fades_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", aware(self.occurred_at, "occurred_at"))
        object.__setattr__(self, "fades_at", aware(self.fades_at, "fades_at"))
        if self.fades_at <= self.occurred_at:
            raise ValueError("fades_at must come after occurred_at")

    @property
    def key(self) -> tuple[str, str]:
        """(event id, kind): one event gives at most one adjustment of each kind."""
        return (self.event_id, self.kind)

    def counts_at(self, at: datetime) -> bool:
        """Whether it still counts at `at`: until, not including, `fades_at`."""
        return self.fades_at > at


def adjust(fact: Fact, book: PolicyBook) -> Adjustment | None:
    """The adjustment a fact earns under the policy in force at the fact's `occurred_at`, or
    what the fact itself says it is worth (a correction).

    None when that version does not score the kind. Delta 0 is recorded (see the module).
    """
    policy = book.in_force(fact.occurred_at)
    delta = policy.delta(fact.kind) if fact.delta is None else fact.delta
    if delta is None:
        return None
    label = LABELS.get(fact.kind, fact.kind)
    about = f" ({fact.detail})" if fact.detail else ""
    return Adjustment(
        merchant_id=fact.merchant_id,
        market_id=fact.market_id,
        district=fact.district,
        kind=fact.kind,
        delta=delta,
        reason=f"{label}{about}: {delta:+d} under policy {policy.version}",
        event_id=fact.event_id,
        event_type=fact.event_type,
        topic=fact.topic,
        partition=fact.partition,
        offset=fact.offset,
        correlation_id=fact.correlation_id,
        policy_version=policy.version,
        occurred_at=fact.occurred_at,
        fades_at=fact.fades_at or fact.occurred_at + policy.fade_after,
    )


def unique(adjustments: Iterable[Adjustment]) -> list[Adjustment]:
    """Each key once, in a fixed order; ValueError if one key holds two different entries."""
    seen: dict[tuple[str, str], Adjustment] = {}
    for entry in adjustments:
        earlier = seen.setdefault(entry.key, entry)
        if earlier != entry:
            raise ValueError(f"two different adjustments for event {entry.event_id} {entry.kind}")
    return sorted(seen.values(), key=lambda a: (a.occurred_at, a.key))


def score(adjustments: Iterable[Adjustment], at: datetime, policy: Policy) -> int:
    """`policy.start` + the deltas still counting at `at` (each key once), clamped to bounds."""
    at = aware(at, "at")
    return policy.clamp(policy.start + sum(a.delta for a in unique(adjustments) if a.counts_at(at)))


def grade(value: int, policy: Policy) -> Grade:
    """A ≥ 90, B 75–89, C 60–74, D below (or the policy's bands)."""
    return policy.grade(value)


# -- a merchant's credit -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MerchantCredit:
    """A merchant's score and grade as of a moment, under the policy in force then.

    `balance` is the sum of the deltas counting at `as_of` (unclamped); `next_fade_at` the
    earliest moment one of them (a non-zero one) stops counting: the scheduler's cue.
    """

    merchant_id: str
    score: int
    grade: Grade
    policy_version: str
    as_of: datetime
    balance: int = 0
    next_fade_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", aware(self.as_of, "as_of"))
        if self.next_fade_at is not None:
            object.__setattr__(self, "next_fade_at", aware(self.next_fade_at, "next_fade_at"))

    def due(self, now: datetime, book: PolicyBook) -> bool:
        """Whether `refade` would change anything: an adjustment faded, or a new policy is in
        force since `as_of`."""
        now = aware(now)
        faded = self.next_fade_at is not None and self.next_fade_at <= now
        return faded or book.in_force(max(now, self.as_of)).version != self.policy_version


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """A move of score or grade, to publish as `credit.score.changed`.

    `previous_*` are None the first time a merchant is scored. Reason `adjustment` carries the
    adjustment; reason `fade` counts the adjustments that stopped counting (`faded`), and also
    covers a new policy version coming into force (its bands may regrade the same score).
    """

    merchant_id: str
    previous_score: int | None
    previous_grade: Grade | None
    score: int
    grade: Grade
    policy_version: str
    reason: ChangeReason
    at: datetime
    adjustment: Adjustment | None = None
    faded: int = 0


def _credit(
    merchant_id: str, balance: int, next_fade_at: datetime | None, at: datetime, book: PolicyBook
) -> MerchantCredit:
    policy = book.in_force(at)
    value = policy.clamp(policy.start + balance)
    return MerchantCredit(
        merchant_id, value, policy.grade(value), policy.version, at, balance, next_fade_at
    )


def _compute(
    merchant_id: str, adjustments: Iterable[Adjustment], at: datetime, book: PolicyBook
) -> MerchantCredit:
    # The entries of the merchant's credit subject: its own and its other registrations'.
    entries = unique(adjustments)
    counting = [a for a in entries if a.counts_at(at)]
    fading = [a.fades_at for a in counting if a.delta != 0]
    return _credit(merchant_id, sum(a.delta for a in counting), min(fading, default=None), at, book)


def _moved(before: MerchantCredit | None, after: MerchantCredit) -> bool:
    return before is None or (before.score, before.grade) != (after.score, after.grade)


def _change(
    before: MerchantCredit | None, after: MerchantCredit, reason: ChangeReason, at: datetime
) -> ScoreChange:
    """The move from `before` to `after` (the caller adds what caused it)."""
    return ScoreChange(
        merchant_id=after.merchant_id,
        previous_score=None if before is None else before.score,
        previous_grade=None if before is None else before.grade,
        score=after.score,
        grade=after.grade,
        policy_version=after.policy_version,
        reason=reason,
        at=at,
    )


def apply(
    credit: MerchantCredit | None, adjustment: Adjustment, at: datetime, book: PolicyBook
) -> tuple[MerchantCredit, ScoreChange | None]:
    """The credit after one more adjustment, and the change to publish (None if score and grade
    stayed; always one the first time a merchant is scored). The adjustment is the merchant's
    own or another registration's of its credit subject: the credit stays the merchant's.

    Time never runs back for a credit: `at` earlier than `credit.as_of` counts as `as_of`.
    Raises `StaleCredit` if an adjustment has faded since `as_of`: refade first.
    """
    at = aware(at, "at")
    balance, next_fade = 0, None
    merchant_id = adjustment.merchant_id
    if credit is not None:
        merchant_id = credit.merchant_id
        at = max(at, credit.as_of)
        if credit.next_fade_at is not None and credit.next_fade_at <= at:
            raise StaleCredit(credit.merchant_id, credit.next_fade_at, at)
        balance, next_fade = credit.balance, credit.next_fade_at
    if adjustment.counts_at(at):
        balance += adjustment.delta
        if adjustment.delta != 0:
            fades = adjustment.fades_at
            next_fade = fades if next_fade is None else min(next_fade, fades)
    after = _credit(merchant_id, balance, next_fade, at, book)
    if not _moved(credit, after):
        return after, None
    return after, replace(_change(credit, after, "adjustment", at), adjustment=adjustment)


def regrade(
    credit: MerchantCredit | None,
    merchant_id: str,
    ledger: Iterable[Adjustment],
    adjustment: Adjustment,
    at: datetime,
    book: PolicyBook,
) -> tuple[MerchantCredit, ScoreChange | None]:
    """The merchant's credit recomputed at `at` from its credit subject's whole `ledger`, which
    holds `adjustment` (the entry that moved it, of this registration or another), and the
    change to publish for it (None if score and grade stayed; always one the first time)."""
    at = aware(at, "at") if credit is None else max(aware(at, "at"), credit.as_of)
    after = _compute(merchant_id, ledger, at, book)
    if not _moved(credit, after):
        return after, None
    return after, replace(_change(credit, after, "adjustment", at), adjustment=adjustment)


def rebuild(
    adjustments: Iterable[Adjustment], at: datetime, book: PolicyBook
) -> MerchantCredit | None:
    """One merchant's credit at `at` from its whole ledger (None for an empty ledger): the same
    value as applying the entries one by one, in any order, and refading when due."""
    entries = unique(adjustments)
    if not entries:
        return None
    return _compute(entries[0].merchant_id, entries, aware(at, "at"), book)


def rebuild_all(
    adjustments: Iterable[Adjustment],
    at: datetime,
    book: PolicyBook,
    subjects: Mapping[str, str] | None = None,
) -> dict[str, MerchantCredit]:
    """Every merchant's credit at `at` from a mixed ledger, by merchant id: each over the
    entries of its credit subject (`subjects`: merchant id → 统一社会信用代码; a merchant left
    out is a subject of its own)."""
    subjects = subjects or {}
    by_subject: dict[str, list[Adjustment]] = {}
    merchants: set[str] = set()
    for entry in adjustments:
        merchants.add(entry.merchant_id)
        by_subject.setdefault(_subject(entry.merchant_id, subjects), []).append(entry)
    at = aware(at, "at")
    return {m: _compute(m, by_subject[_subject(m, subjects)], at, book) for m in sorted(merchants)}


def _subject(merchant_id: str, subjects: Mapping[str, str]) -> str:
    code = subjects.get(merchant_id)
    return f"merchant:{merchant_id}" if code is None else f"code:{code}"


def refade(
    credit: MerchantCredit, adjustments: Iterable[Adjustment], now: datetime, book: PolicyBook
) -> tuple[MerchantCredit, ScoreChange | None]:
    """The credit recomputed from the merchant's ledger at `now`, and a `fade` change when the
    score or the grade moved (adjustments faded, or a new policy version came into force)."""
    at = max(aware(now), credit.as_of)
    entries = unique(adjustments)
    after = _compute(credit.merchant_id, entries, at, book)
    if not _moved(credit, after):
        return after, None
    faded = sum(1 for a in entries if a.delta != 0 and credit.as_of < a.fades_at <= at)
    return after, replace(_change(credit, after, "fade", at), faded=faded)
