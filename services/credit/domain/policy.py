"""The credit policy as data: versioned files that turn facts into adjustments and scores into
grades, and the book of versions that says which one was in force when.

One YAML file per version in `policies/` beside this module, read by
services/credit/policy_files.py and handed here parsed (`2026-01.yaml` holds the base rules of
docs/rules.md). A file names every number itself — `from_dict` fills in nothing — so a
later change of a code default can never change what an old version meant:

    version: "2026-01"            # recorded with every adjustment made under it
    effective_from: 2026-01-01    # a date (00:00 UTC) or a date-time with an offset
    start: 100                    # a merchant's score before any adjustment
    bounds: {min: 0, max: 100}    # the score is clamped to these (within 0–100)
    fade_after: 365d              # an adjustment stops counting this long after its event
    bands: {A: 90, B: 75, C: 60}  # lowest score of each grade; below C is D
    adjustments:                  # fact kind → delta; a kind left out is not scored
      inspection.pass: 2
      ...
    assessment:
      weights: {share_ab: 0.30, ...}   # see `AssessmentPolicy`
      open_risks_zero_at: 0.1

An event is adjusted by the version in force at the event's `occurred_at`; a score is computed
(start, bounds, bands) by the version in force at the moment of computing. A new version thus
applies from its effective date and never rewrites the ledger of the past. An event older than
the first version is adjusted by the first version: there is no older rule to apply.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Final

from contracts import durations
from contracts.durations import format_duration as format_duration
from contracts.inspection import GRADES, Grade
from services.credit.domain.errors import UnknownPolicyVersion
from services.credit.domain.facts import FACT_KINDS
from services.credit.domain.honours import HonourRules
from services.runtime.clock import aware

DAY: Final = timedelta(days=1)

# The assessment's components, in the order they are reported. Every version weighs the first
# five; the operators' duties (issue 17: self-inspections, task-force reports, certified
# managers) are weighed only by a version that names them (2026-12 on): an older version did
# not know them, so they count for nothing under it.
BASE_COMPONENTS: Final = (
    "share_ab",
    "inspection_pass_rate",
    "rectification_on_time_rate",
    "complaints_within_limit_rate",
    "open_risks",
)
DUTY_COMPONENTS: Final = (
    "self_inspection_rate",
    "report_on_time_rate",
    "certified_share",
)
COMPONENTS: Final = (*BASE_COMPONENTS, *DUTY_COMPONENTS)


def _design_adjustments() -> Mapping[str, int]:
    return MappingProxyType(
        {
            "merchant.registered": 0,
            "inspection.pass": 2,
            "inspection.finding.minor": -5,
            "inspection.finding.major": -15,
            "inspection.finding.critical": -30,
            "rectification.on_time": 3,
            "rectification.overdue": -10,
            "complaint.substantiated": -5,
            "food_safety_risk.confirmed": -10,
            "licence.expired": -20,
            # A suspension mostly follows misconduct already scored (a critical
            # finding −30, an expired licence −20): a big delta would punish it twice; −10, like
            # a missed rectification deadline, still marks it on the record.
            "merchant.suspended": -10,
        }
    )


def _design_bands() -> Mapping[str, int]:
    return MappingProxyType({"A": 90, "B": 75, "C": 60})


def _design_weights() -> Mapping[str, float]:
    return MappingProxyType(
        {
            "share_ab": 0.30,
            "inspection_pass_rate": 0.25,
            "rectification_on_time_rate": 0.20,
            "complaints_within_limit_rate": 0.15,
            "open_risks": 0.10,
        }
    )


@dataclass(frozen=True, slots=True)
class AssessmentPolicy:
    """How a market's figures become one score from 0 to 100.

    Each component is a number from 0 to 1: the four rates as they are, and for open risks
    `1 − (open risks per merchant) / open_risks_zero_at`, floored at 0 (no open risk: 1; one
    open risk per ten merchants, by default: 0). The score is 100 × the weighted mean of the
    components that can be computed: a rate with nothing to rate (no inspection completed, no
    rectification due, no complaint closed, no merchant graded) is neutral — it is left out and
    the weights of the others are scaled up to fill its place, so it neither helps nor hurts.

    The operators' duties (`DUTY_COMPONENTS`: self-inspection rate, task-force reports on
    time, share of managers certified) count only under a version whose weights name them; a
    market the campaign has no figure for (null) is not rated on it, like any other rate.

    Default weights: A/B share 0.30 (the grades already sum up twelve months of every
    merchant's record), inspection pass rate 0.25 (what the regulator saw), rectifications on
    time 0.20 (whether problems get fixed), complaints within limits 0.15 (the market's own
    handling), open risks 0.10 (a snapshot, volatile, hence light).
    """

    weights: Mapping[str, float] = field(default_factory=_design_weights)
    open_risks_zero_at: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        if not set(BASE_COMPONENTS) <= set(self.weights) <= set(COMPONENTS):
            raise ValueError(
                f"assessment.weights needs {', '.join(BASE_COMPONENTS)} and may weigh "
                f"{', '.join(DUTY_COMPONENTS)}"
            )
        for name, weight in self.weights.items():
            if weight < 0:
                raise ValueError(f"assessment.weights.{name} must not be negative")
        if sum(self.weights.values()) <= 0:
            raise ValueError("assessment.weights must not all be 0")
        if self.open_risks_zero_at <= 0:
            raise ValueError("assessment.open_risks_zero_at must be positive")


@dataclass(frozen=True, slots=True)
class Policy:
    """One version of the credit rules. Defaults are docs/rules.md's (files must name them all)."""

    version: str
    effective_from: datetime
    adjustments: Mapping[str, int] = field(default_factory=_design_adjustments)
    start: int = 100
    lower: int = 0
    upper: int = 100
    fade_after: timedelta = 365 * DAY
    bands: Mapping[str, int] = field(default_factory=_design_bands)
    assessment: AssessmentPolicy = field(default_factory=AssessmentPolicy)

    # The monthly honour and warning list (红黑榜); None: this version draws none.
    honours: HonourRules | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise ValueError("version must be a non-empty string")
        object.__setattr__(self, "effective_from", aware(self.effective_from, "effective_from"))
        object.__setattr__(self, "adjustments", MappingProxyType(dict(self.adjustments)))
        object.__setattr__(self, "bands", MappingProxyType(dict(self.bands)))
        unknown = sorted(set(self.adjustments) - set(FACT_KINDS))
        if unknown:
            raise ValueError(f"adjustments: unknown fact kinds {', '.join(unknown)}")
        if not 0 <= self.lower < self.upper <= 100:
            raise ValueError("bounds must satisfy 0 <= min < max <= 100")
        if not self.lower <= self.start <= self.upper:
            raise ValueError(f"start {self.start} is outside bounds {self.lower}..{self.upper}")
        if self.fade_after <= timedelta(0):
            raise ValueError("fade_after must be positive")
        graded = GRADES[:-1]
        if set(self.bands) != set(graded):
            raise ValueError(f"bands needs exactly {', '.join(graded)} (below the last is D)")
        floors = [self.bands[g] for g in graded]
        if any(high <= low for high, low in pairwise(floors)):
            raise ValueError("bands must fall strictly from A to C")
        if not (self.lower < floors[-1] and floors[0] <= self.upper):
            raise ValueError(f"bands must lie within bounds {self.lower}..{self.upper}")

    def delta(self, kind: str) -> int | None:
        """The adjustment for a fact kind, or None: this version does not score it."""
        return self.adjustments.get(kind)

    def clamp(self, value: int) -> int:
        return max(self.lower, min(self.upper, value))

    def grade(self, score: int) -> Grade:
        for g in GRADES[:-1]:
            if score >= self.bands[g]:
                return g
        return GRADES[-1]

    # -- configuration -----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, source: str = "policy") -> Policy:
        """Validate a parsed policy file; ValueError names `source` and the offending key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: must be a mapping of policy keys")
        keys = {
            "version",
            "effective_from",
            "start",
            "bounds",
            "fade_after",
            "bands",
            "adjustments",
            "assessment",
        }
        # Optional: a version without it draws no honour and warning list.
        optional = {"honours"}
        unknown = sorted(str(k) for k in set(data) - keys - optional)
        if unknown:
            raise ValueError(f"{source}: unknown keys {', '.join(unknown)}")
        missing = sorted(keys - set(data))
        if missing:
            raise ValueError(f"{source}: missing keys {', '.join(missing)}")
        where = _Where(source)
        version = data["version"]
        if not isinstance(version, str) or not version.strip():
            raise where.error("version", "must be a non-empty string (quote it)")
        bounds = where.mapping(data["bounds"], "bounds", {"min", "max"})
        bands = where.mapping(data["bands"], "bands", set(GRADES[:-1]))
        raw_adjustments = where.mapping(data["adjustments"], "adjustments")
        for kind in raw_adjustments:
            if kind not in FACT_KINDS:
                raise where.error(f"adjustments.{kind}", "not a fact kind")
        assessment = where.mapping(
            data["assessment"], "assessment", {"weights", "open_risks_zero_at"}
        )
        known_assessment = {"weights", "open_risks_zero_at"}
        for key in assessment:
            if key not in known_assessment:
                raise where.error(f"assessment.{key}", "unknown key")
        weights = where.mapping(assessment["weights"], "assessment.weights", set(BASE_COMPONENTS))
        for key in weights:
            if key not in COMPONENTS:
                raise where.error(f"assessment.weights.{key}", "unknown component")
        try:
            return cls(
                version=version.strip(),
                effective_from=where.moment(data["effective_from"], "effective_from"),
                adjustments={
                    str(k): where.integer(v, f"adjustments.{k}") for k, v in raw_adjustments.items()
                },
                start=where.integer(data["start"], "start"),
                lower=where.integer(bounds["min"], "bounds.min"),
                upper=where.integer(bounds["max"], "bounds.max"),
                fade_after=where.duration(data["fade_after"], "fade_after"),
                bands={str(g): where.integer(v, f"bands.{g}") for g, v in bands.items()},
                assessment=AssessmentPolicy(
                    weights={
                        str(k): where.number(v, f"assessment.weights.{k}")
                        for k, v in weights.items()
                    },
                    open_risks_zero_at=where.number(
                        assessment["open_risks_zero_at"], "assessment.open_risks_zero_at"
                    ),
                ),
                honours=None if data.get("honours") is None else where.honours(data["honours"]),
            )
        except ValueError as exc:
            if str(exc).startswith(f"{source}:"):
                raise
            raise ValueError(f"{source}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the shape of the file (for logs and introspection)."""
        honours = {} if self.honours is None else {"honours": self.honours.to_dict()}
        return {
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "start": self.start,
            "bounds": {"min": self.lower, "max": self.upper},
            "fade_after": format_duration(self.fade_after),
            "bands": dict(self.bands),
            "adjustments": dict(self.adjustments),
            "assessment": {
                "weights": dict(self.assessment.weights),
                "open_risks_zero_at": self.assessment.open_risks_zero_at,
            },
        } | honours


class _Where:
    """Field checks that name the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, reason: str) -> ValueError:
        return ValueError(f"{self.source}: {key}: {reason}")

    def mapping(self, value: Any, key: str, needs: set[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, "must be a mapping")
        missing = sorted((needs or set()) - {str(k) for k in value})
        if missing:
            raise self.error(key, f"missing {', '.join(missing)}")
        return value

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {value!r}")
        return float(value)

    def moment(self, value: Any, key: str) -> datetime:
        if isinstance(value, str):
            try:
                text = value.strip()
                value = (
                    date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
                )
            except ValueError:
                raise self.error(key, f"not a date or date-time: {value!r}") from None
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise self.error(key, "a date-time needs an offset, e.g. +08:00 or Z")
            return value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(0), tzinfo=UTC)
        raise self.error(key, f"must be a date or a date-time, got {value!r}")

    def duration(self, value: Any, key: str) -> timedelta:
        return parse_duration(value, f"{self.source}: {key}")

    def strict(self, value: Any, key: str, keys: set[str]) -> Mapping[str, Any]:
        """A mapping with exactly `keys`."""
        found = self.mapping(value, key, keys)
        unknown = sorted(str(k) for k in set(found) - keys)
        if unknown:
            raise self.error(f"{key}.{unknown[0]}", "unknown key")
        return found

    def count(self, value: Any, key: str) -> int:
        """A whole number of at least 1."""
        if self.integer(value, key) < 1:
            raise self.error(key, f"must be at least 1, got {value!r}")
        return int(value)

    def threshold(self, value: Any, key: str) -> int | None:
        """A whole number of at least 1, or null: the rule is switched off."""
        return None if value is None else self.count(value, key)

    def grades(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or any(g not in GRADES for g in value):
            raise self.error(key, f"must be a list of grades ({', '.join(GRADES)})")
        return tuple(value)

    def honours(self, value: Any) -> HonourRules:
        """The `honours:` section (see `honours.HonourRules`)."""
        h = self.strict(value, "honours", {"merchants", "markets"})
        m = self.strict(h["merchants"], "honours.merchants", {"honour", "warning"})
        mh = self.strict(
            m["honour"],
            "honours.merchants.honour",
            {"grades", "clean_months", "min_inspections"},
        )
        mw = self.strict(
            m["warning"],
            "honours.merchants.warning",
            {"grades", "overdue_rectifications", "critical_findings", "critical_months"},
        )
        k = self.strict(h["markets"], "honours.markets", {"min_graded", "honour", "warning"})
        kh = self.strict(k["honour"], "honours.markets.honour", {"min_score", "max_rank"})
        kw = self.strict(
            k["warning"], "honours.markets.warning", {"below_score", "overdue_rectifications"}
        )
        p = "honours.merchants"
        q = "honours.markets"
        inspections = self.integer(mh["min_inspections"], f"{p}.honour.min_inspections")
        if inspections < 0:
            raise self.error(f"{p}.honour.min_inspections", "must not be negative")
        below = kw["below_score"]
        try:
            return HonourRules(
                merchant_honour_grades=self.grades(mh["grades"], f"{p}.honour.grades"),
                clean_months=self.count(mh["clean_months"], f"{p}.honour.clean_months"),
                min_inspections=inspections,
                merchant_warning_grades=self.grades(mw["grades"], f"{p}.warning.grades"),
                overdue_rectifications=self.threshold(
                    mw["overdue_rectifications"], f"{p}.warning.overdue_rectifications"
                ),
                critical_findings=self.threshold(
                    mw["critical_findings"], f"{p}.warning.critical_findings"
                ),
                critical_months=self.count(mw["critical_months"], f"{p}.warning.critical_months"),
                min_graded=self.integer(k["min_graded"], f"{q}.min_graded"),
                min_score=self.number(kh["min_score"], f"{q}.honour.min_score"),
                max_rank=self.count(kh["max_rank"], f"{q}.honour.max_rank"),
                below_score=None
                if below is None
                else self.number(below, f"{q}.warning.below_score"),
                market_overdue_rectifications=self.threshold(
                    kw["overdue_rectifications"], f"{q}.warning.overdue_rectifications"
                ),
            )
        except ValueError as exc:
            raise self.error("honours", str(exc)) from exc


def parse_duration(value: object, name: str = "duration") -> timedelta:
    """A `timedelta`, or `"365d"` / `"12h"` / `"90m"` / `"30s"` (a bare number is ambiguous)."""
    return durations.parse_duration(value, name, bare_seconds=False, example="'365d'")


# -- the book of versions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every policy version, by effective date: which one was in force at a given moment."""

    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.policies, key=lambda p: p.effective_from))
        if not ordered:
            raise ValueError("a policy book needs at least one policy")
        versions = [p.version for p in ordered]
        twice = sorted({v for v in versions if versions.count(v) > 1})
        if twice:
            raise ValueError(f"policy versions listed twice: {', '.join(twice)}")
        for earlier, later in pairwise(ordered):
            if earlier.effective_from == later.effective_from:
                raise ValueError(
                    f"policies {earlier.version} and {later.version} take effect at the same "
                    f"moment {later.effective_from.isoformat()}"
                )
        object.__setattr__(self, "policies", ordered)

    @classmethod
    def of(cls, *policies: Policy) -> PolicyBook:
        return cls(tuple(policies))

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    @property
    def latest(self) -> Policy:
        return self.policies[-1]

    def in_force(self, at: datetime) -> Policy:
        """The version in force at `at`: the last whose `effective_from` is not after it.

        Before the first version's effective date the first version applies.
        """
        starts = [p.effective_from for p in self.policies]
        index = bisect.bisect_right(starts, aware(at, "at")) - 1
        return self.policies[max(index, 0)]

    def get(self, version: str) -> Policy:
        for policy in self.policies:
            if policy.version == version:
                return policy
        raise UnknownPolicyVersion(version)
