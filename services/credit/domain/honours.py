"""The monthly honour and warning list (红黑榜, 考核奖惩, 诚信激励、失信惩戒), as pure rules.

A month's list is drawn from what credit knows at the month's end, by the rules of the policy
version in force then (the `honours:` section of its file; a version without one draws nothing):

    month = Month.parse("2026-11")                      # or due_month(now, tz, latest_drawn)
    start, end = month.start(tz), month.end(tz)         # city time (Asia/Shanghai)
    rules = book.in_force(end).honours                  # None: this version draws no list
    entries = draw(month, rules, merchants, markets, tz)
    gone = delisted(previous_entries, entries)          # on the last list drawn, not on this one

Merchants (`MerchantRecord`: the grade at the month's end and the ledger facts of the months the
rules look back over) and markets (`MarketRecord`: the month's assessment and its rectifications
overdue in the month) are given; nothing here reads a clock or a table. An entity is on at most
one list: a warning rule met wins over the honour.

Each entry names the rules it met as `<rule>: <what was found>`, e.g. `grade: A`,
`no_findings: none in 2026-06..2026-11`, `critical_findings: 2 in 2026-06..2026-11`,
`overdue_rectifications: 1 in 2026-11`, `score: 92.5 at least 90`, `rank: 1 of 4 in the
district`. The part before the colon is the rule's name in the policy file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from contracts.inspection import GRADES
from services.runtime.clock import aware

ListKind = Literal["honour", "warning"]
Entity = Literal["market", "merchant"]
LIST_KINDS: Final[tuple[ListKind, ...]] = ("honour", "warning")
ENTITIES: Final[tuple[Entity, ...]] = ("market", "merchant")

FINDINGS: Final = (
    "inspection.finding.minor",
    "inspection.finding.major",
    "inspection.finding.critical",
)
CRITICAL: Final = "inspection.finding.critical"
INSPECTED: Final = ("inspection.pass", *FINDINGS)
OVERDUE: Final = "rectification.overdue"
# The ledger kinds the merchant rules read (the store loads only these).
LEDGER_KINDS: Final = (*INSPECTED, OVERDUE)

MIN_YEAR: Final = 2000
MAX_YEAR: Final = 9998
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# -- months ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month of the city; its moments are the city's midnights, in UTC."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1..12")
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"year {self.year} is not {MIN_YEAR}..{MAX_YEAR}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """`"2026-11"`; ValueError for anything else."""
        found = _MONTH.match(text.strip()) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"{text!r} is not a month YYYY-MM")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo) -> Month:
        """The month `moment` falls in, in the city's time."""
        local = aware(moment, "moment").astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def previous(self) -> Month:
        return self.shift(-1)

    def start(self, tz: tzinfo) -> datetime:
        """The first moment of the month (city midnight), in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=tz).astimezone(UTC)

    def end(self, tz: tzinfo) -> datetime:
        """The first moment after the month: the next month's start (excluded)."""
        index = self.year * 12 + self.month  # the next month, without its year bounds
        return datetime(index // 12, index % 12 + 1, 1, tzinfo=tz).astimezone(UTC)


def span(month: Month, months: int) -> tuple[Month, str]:
    """The first of the `months` months ending with `month`, and how reasons name them."""
    first = month.shift(-(months - 1))
    return first, str(month) if months == 1 else f"{first}..{month}"


def due_month(now: datetime, tz: tzinfo, latest: Month | None) -> Month | None:
    """The month the periodic drawing should draw at `now`: the city's previous month, unless
    that (or a later one) is drawn already."""
    month = Month.of(now, tz).previous()
    return month if latest is None or latest < month else None


# -- the rules -------------------------------------------------------------------------------

# The rules a threshold of None switches off.
_THRESHOLDS: Final = (
    "overdue_rectifications",
    "critical_findings",
    "market_overdue_rectifications",
)


@dataclass(frozen=True, slots=True)
class HonourRules:
    """The `honours:` section of a policy file. Defaults are issue 17's examples.

    Merchants — honour: grade in `merchant_honour_grades` at the month's end, no finding (minor
    or worse) in the month and the `clean_months - 1` before it, and inspected at least
    `min_inspections` times in them (a merchant nobody looked at is not honoured); warning, any
    of: grade in `merchant_warning_grades`, at least `overdue_rectifications` rectifications
    overdue in the month, at least `critical_findings` critical findings in the month and the
    `critical_months - 1` before it. A threshold of None switches its rule off.

    Markets (with at least `min_graded` merchants graded at the month's end: a market credit
    knows nothing about scores well on open risks alone, and is on no list) — honour: the
    month's assessment score at least `min_score` and rank `max_rank` or better in the
    district; warning, any of: score
    below `below_score`, at least `market_overdue_rectifications` rectifications of the market
    overdue in the month.
    """

    merchant_honour_grades: tuple[str, ...] = ("A",)
    clean_months: int = 6
    min_inspections: int = 1
    merchant_warning_grades: tuple[str, ...] = ("D",)
    overdue_rectifications: int | None = 1
    critical_findings: int | None = 2
    critical_months: int = 6
    min_graded: int = 1
    min_score: float = 90.0
    max_rank: int = 3
    below_score: float | None = 60.0
    market_overdue_rectifications: int | None = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "merchant_honour_grades", tuple(self.merchant_honour_grades))
        object.__setattr__(self, "merchant_warning_grades", tuple(self.merchant_warning_grades))
        for name in ("merchant_honour_grades", "merchant_warning_grades"):
            unknown = sorted(set(getattr(self, name)) - set(GRADES))
            if unknown:
                raise ValueError(f"{name}: unknown grades {', '.join(unknown)}")
        both = sorted(set(self.merchant_honour_grades) & set(self.merchant_warning_grades))
        if both:
            raise ValueError(f"grade {', '.join(both)} cannot be both honoured and warned")
        for name in ("clean_months", "critical_months", "max_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in _THRESHOLDS:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or null: the rule is off)")
        if self.min_inspections < 0 or self.min_graded < 0:
            raise ValueError("min_inspections and min_graded must not be negative")
        if not 0 <= self.min_score <= 100:
            raise ValueError("min_score must be within 0..100")
        if self.below_score is not None and not 0 <= self.below_score <= self.min_score:
            raise ValueError("below_score must be within 0..min_score")

    @property
    def lookback(self) -> int:
        """How many months (the drawn one included) the merchant rules read."""
        return max(self.clean_months, self.critical_months)

    def to_dict(self) -> dict[str, Any]:
        """The file's shape."""
        return {
            "merchants": {
                "honour": {
                    "grades": list(self.merchant_honour_grades),
                    "clean_months": self.clean_months,
                    "min_inspections": self.min_inspections,
                },
                "warning": {
                    "grades": list(self.merchant_warning_grades),
                    "overdue_rectifications": self.overdue_rectifications,
                    "critical_findings": self.critical_findings,
                    "critical_months": self.critical_months,
                },
            },
            "markets": {
                "min_graded": self.min_graded,
                "honour": {"min_score": self.min_score, "max_rank": self.max_rank},
                "warning": {
                    "below_score": self.below_score,
                    "overdue_rectifications": self.market_overdue_rectifications,
                },
            },
        }


# -- what the rules read ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MerchantRecord:
    """A merchant at the month's end: its grade then (None: not graded yet) and its ledger facts
    (kind, occurred_at) of the months the rules look back over."""

    merchant_id: str
    name: str
    market_id: str
    district: str
    grade: str | None
    facts: tuple[tuple[str, datetime], ...] = ()

    def count(self, kinds: Iterable[str], start: datetime, end: datetime) -> int:
        wanted = set(kinds)
        return sum(1 for kind, at in self.facts if kind in wanted and start <= at < end)


@dataclass(frozen=True, slots=True)
class MarketRecord:
    """A market's assessment for the month (`graded`: its merchants graded at the month's end),
    and its rectifications overdue in the month."""

    market_id: str
    name: str
    district: str
    graded: int
    score: float
    rank: int | None
    ranked: int | None
    overdue_rectifications: int = 0


@dataclass(frozen=True, slots=True)
class Entry:
    """One entity on one list of a month, with the rules it met (stored and shown with its
    kind under `list`)."""

    kind: Annotated[ListKind, Field(alias="list")]
    entity: Entity
    entity_id: str
    name: str
    market_id: str
    district: str
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in LIST_KINDS or self.entity not in ENTITIES:
            raise ValueError(f"unknown list {self.kind!r} or entity {self.entity!r}")
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.entity, self.entity_id, self.kind)


# -- drawing ---------------------------------------------------------------------------------


def merchant_entry(
    record: MerchantRecord, month: Month, rules: HonourRules, tz: tzinfo
) -> Entry | None:
    """The list a merchant is on for `month`, if any (a warning wins over the honour)."""
    start, end = month.start(tz), month.end(tz)
    warned: list[str] = []
    if record.grade is not None and record.grade in rules.merchant_warning_grades:
        warned.append(f"grade: {record.grade}")
    if rules.overdue_rectifications is not None:
        overdue = record.count([OVERDUE], start, end)
        if overdue >= rules.overdue_rectifications:
            warned.append(f"overdue_rectifications: {overdue} in {month}")
    if rules.critical_findings is not None:
        first, label = span(month, rules.critical_months)
        critical = record.count([CRITICAL], first.start(tz), end)
        if critical >= rules.critical_findings:
            warned.append(f"critical_findings: {critical} in {label}")
    if warned:
        return _merchant(record, "warning", warned)
    if record.grade is None or record.grade not in rules.merchant_honour_grades:
        return None
    first, label = span(month, rules.clean_months)
    since = first.start(tz)
    if record.count(FINDINGS, since, end) > 0:
        return None
    inspected = record.count(INSPECTED, since, end)
    if inspected < rules.min_inspections:
        return None
    reasons = [f"grade: {record.grade}", f"no_findings: none in {label}"]
    if rules.min_inspections > 0:
        reasons.append(f"inspections: {inspected} in {label}")
    return _merchant(record, "honour", reasons)


def _merchant(record: MerchantRecord, kind: ListKind, reasons: list[str]) -> Entry:
    return Entry(
        kind, "merchant", record.merchant_id, record.name, record.market_id, record.district,
        tuple(reasons),
    )  # fmt: skip


def _score(value: float) -> str:
    return f"{value:g}"


def market_entry(record: MarketRecord, month: Month, rules: HonourRules) -> Entry | None:
    """The list a market is on for `month`, if any (a warning wins over the honour)."""
    if record.graded < rules.min_graded:
        return None
    warned: list[str] = []
    if rules.below_score is not None and record.score < rules.below_score:
        warned.append(f"score: {_score(record.score)} below {_score(rules.below_score)}")
    threshold = rules.market_overdue_rectifications
    if threshold is not None and record.overdue_rectifications >= threshold:
        warned.append(f"overdue_rectifications: {record.overdue_rectifications} in {month}")
    kind: ListKind
    if warned:
        kind, reasons = "warning", warned
    elif (
        record.score >= rules.min_score
        and record.rank is not None
        and record.rank <= rules.max_rank
    ):
        kind = "honour"
        reasons = [
            f"score: {_score(record.score)} at least {_score(rules.min_score)}",
            f"rank: {record.rank} of {record.ranked} in the district",
        ]
    else:
        return None
    return Entry(
        kind, "market", record.market_id, record.name, record.market_id, record.district,
        tuple(reasons),
    )  # fmt: skip


def _order(entry: Entry) -> tuple[int, int, str, str]:
    return (
        LIST_KINDS.index(entry.kind),
        ENTITIES.index(entry.entity),
        entry.district,
        entry.entity_id,
    )


def draw(
    month: Month,
    rules: HonourRules,
    merchants: Iterable[MerchantRecord],
    markets: Iterable[MarketRecord],
    tz: tzinfo,
) -> list[Entry]:
    """The month's lists: honour first, markets before merchants, by district and id."""
    found = [e for m in markets if (e := market_entry(m, month, rules)) is not None]
    found += [e for m in merchants if (e := merchant_entry(m, month, rules, tz)) is not None]
    ids = [(e.entity, e.entity_id) for e in found]
    if len(set(ids)) != len(ids):
        raise ValueError("an entity is listed twice")
    return sorted(found, key=_order)


def delisted(previous: Iterable[Entry], current: Iterable[Entry]) -> list[Entry]:
    """The entries of the previous list whose entity is not on the same list now (it left the
    list, or moved to the other one)."""
    now = {e.key for e in current}
    return sorted((e for e in previous if e.key not in now), key=_order)
