"""Market assessment (考核): a market's figures for a period become rates and one score, ranked
within its district, and rolled up per district; the districts are ranked across the city.

    period = Period(start, end)
    results = [assess(store.figures(market, period), period, book.in_force(period.end))
               for market in markets]
    ranked = rank_within_district(results)          # rank 1 = best, per district
    districts = rank_districts(roll_up(ranked))     # one per district, merchant-weighted

Rates are between 0 and 1, or None when there was nothing to rate (no denominator). The score
(0–100) is `AssessmentPolicy`'s weighted mean of the components that exist: a None rate is
neutral — left out, the other weights scaled up to fill its place. If no weighted component
exists at all the score is 50, the middle: nothing to reward, nothing to punish.

Beside the rates credit counts, the operators' duties come from the campaign service
(`campaign.duties.v1`, issue 17): the self-inspection rate, the task force's reports on time and
the share of managers with a valid certificate, as its latest figures for the market gave them
(None: the campaign had nothing to rate, or sent nothing). They count under a policy version
whose weights name them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, Final, Literal

from pydantic import PlainSerializer

from contracts.inspection import GRADES
from services.credit.domain.policy import COMPONENTS, DUTY_COMPONENTS, AssessmentPolicy, Policy
from services.runtime.clock import aware

Scope = Literal["market", "district"]
NEUTRAL_SCORE: Final = 50.0
SCORE_DECIMALS: Final = 2


@dataclass(frozen=True, slots=True)
class Period:
    """The assessed period, from `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", aware(self.start, "period start"))
        object.__setattr__(self, "end", aware(self.end, "period end"))
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")


def _grades(values: Mapping[str, int]) -> Mapping[str, int]:
    unknown = sorted(set(values) - set(GRADES))
    if unknown:
        raise ValueError(f"grades: unknown grades {', '.join(unknown)}")
    return MappingProxyType({g: values.get(g, 0) for g in GRADES})


@dataclass(frozen=True, slots=True)
class MarketFigures:
    """What the store counted for one market in the period.

    `merchants`: merchants registered in the market; `grades`: of them, how many hold each
    grade (ungraded merchants are in no grade). Inspections completed and passed (re-inspections
    excluded, as in credit); rectifications whose deadline fell in the period (`due`), of them
    verified by the deadline (`on_time`) and missed (`overdue`); complaints closed within their
    limits, and complaints that passed a limit (closed late or still open); open risks at the
    period's end (the service counts food-safety ones).
    """

    market_id: str
    district: str
    merchants: int
    grades: Mapping[str, int] = field(default_factory=dict)
    inspections_completed: int = 0
    inspections_passed: int = 0
    rectifications_due: int = 0
    rectifications_on_time: int = 0
    rectifications_overdue: int = 0
    complaints_within_limit: int = 0
    complaints_overdue: int = 0
    open_risks: int = 0
    market_name: str | None = None
    # The operators' duties, from the campaign service (None: nothing to rate).
    self_inspection_rate: float | None = None
    report_on_time_rate: float | None = None
    certified_share: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "grades", _grades(self.grades))
        for name in DUTY_COMPONENTS:
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{self.market_id}: {name} must be within 0..1")
        counts = {
            "merchants": self.merchants,
            "inspections_completed": self.inspections_completed,
            "inspections_passed": self.inspections_passed,
            "rectifications_due": self.rectifications_due,
            "rectifications_on_time": self.rectifications_on_time,
            "rectifications_overdue": self.rectifications_overdue,
            "complaints_within_limit": self.complaints_within_limit,
            "complaints_overdue": self.complaints_overdue,
            "open_risks": self.open_risks,
            **{f"grades.{g}": n for g, n in self.grades.items()},
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"{self.market_id}: {name} must not be negative")
        if sum(self.grades.values()) > self.merchants:
            raise ValueError(f"{self.market_id}: more merchants graded than registered")
        if self.inspections_passed > self.inspections_completed:
            raise ValueError(f"{self.market_id}: more inspections passed than completed")
        if self.rectifications_on_time + self.rectifications_overdue > self.rectifications_due:
            raise ValueError(f"{self.market_id}: more rectifications on time or overdue than due")

    @property
    def graded(self) -> int:
        return sum(self.grades.values())


@dataclass(frozen=True, slots=True)
class Assessment:
    """One market's (or one district's) assessment for a period; a market is `rank` of the
    `ranked` markets of its district, a district `city_rank` of the city's `city_ranked`."""

    scope: Scope
    market_id: str | None
    market_name: str | None
    district: str
    period: Period
    merchants: int
    # Held read-only; written as a plain mapping (pydantic knows no `mappingproxy`).
    grades: Annotated[Mapping[str, int], PlainSerializer(dict)]
    share_ab: float | None
    inspection_pass_rate: float | None
    rectification_on_time_rate: float | None
    complaints_within_limit_rate: float | None
    open_risks: int
    score: float
    policy_version: str
    rank: int | None = None
    ranked: int | None = None
    self_inspection_rate: float | None = None
    report_on_time_rate: float | None = None
    certified_share: float | None = None
    city_rank: int | None = None
    city_ranked: int | None = None

    @property
    def key(self) -> str:
        """The Kafka key: the market id, or `district:<code>` for a roll-up."""
        return self.market_id if self.market_id is not None else f"district:{self.district}"


def rate(part: int, whole: int) -> float | None:
    """`part / whole`, or None when there is nothing to rate."""
    return None if whole == 0 else part / whole


def risk_component(open_risks: int, merchants: int, policy: AssessmentPolicy) -> float | None:
    """1 with no open risk, falling to 0 at `open_risks_zero_at` open risks per merchant. A
    market with no merchant and no open risk has nothing to rate (None): its quiet is no merit,
    and full marks for it ranked an empty market first; a market-level risk (crowding) still
    counts, as one per merchant."""
    if merchants == 0 and open_risks == 0:
        return None
    per_merchant = open_risks / max(merchants, 1)
    return max(0.0, 1.0 - per_merchant / policy.open_risks_zero_at)


def composite(components: Mapping[str, float | None], policy: AssessmentPolicy) -> float:
    """100 × the weighted mean of the components that exist (None is neutral: left out); a
    component the policy does not weigh counts for nothing."""
    total = weight = 0.0
    for name in COMPONENTS:
        value = components.get(name)
        given = policy.weights.get(name)
        if value is None or given is None:
            continue
        total += given * value
        weight += given
    if weight == 0:
        return NEUTRAL_SCORE
    return round(100 * total / weight, SCORE_DECIMALS)


def assess(figures: MarketFigures, period: Period, policy: Policy) -> Assessment:
    """One market's rates and score (unranked), under the policy in force at the period's end."""
    rates: dict[str, float | None] = {
        "share_ab": rate(figures.grades["A"] + figures.grades["B"], figures.graded),
        "inspection_pass_rate": rate(figures.inspections_passed, figures.inspections_completed),
        "rectification_on_time_rate": rate(
            figures.rectifications_on_time, figures.rectifications_due
        ),
        "complaints_within_limit_rate": rate(
            figures.complaints_within_limit,
            figures.complaints_within_limit + figures.complaints_overdue,
        ),
        "self_inspection_rate": figures.self_inspection_rate,
        "report_on_time_rate": figures.report_on_time_rate,
        "certified_share": figures.certified_share,
    }
    risks = risk_component(figures.open_risks, figures.merchants, policy.assessment)
    return Assessment(
        scope="market",
        market_id=figures.market_id,
        market_name=figures.market_name,
        district=figures.district,
        period=period,
        merchants=figures.merchants,
        grades=figures.grades,
        share_ab=rates["share_ab"],
        inspection_pass_rate=rates["inspection_pass_rate"],
        rectification_on_time_rate=rates["rectification_on_time_rate"],
        complaints_within_limit_rate=rates["complaints_within_limit_rate"],
        open_risks=figures.open_risks,
        score=composite({**rates, "open_risks": risks}, policy.assessment),
        policy_version=policy.version,
        self_inspection_rate=rates["self_inspection_rate"],
        report_on_time_rate=rates["report_on_time_rate"],
        certified_share=rates["certified_share"],
    )


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One weighed component of a market's score: its value as `composite` took it (0..1; open
    risks as `risk_component` scores them; None when there was nothing to rate, left out of the
    score) and its weight."""

    part: str
    value: float | None
    weight: float


def score_parts(a: Assessment, policy: AssessmentPolicy) -> list[ScorePart]:
    """What `a.score` is made of, in report order: each component `policy` weighs. The console
    shows them as the score's explanation (docs/console.md, a staff market page)."""
    return [
        ScorePart(
            name,
            risk_component(a.open_risks, a.merchants, policy)
            if name == "open_risks"
            else getattr(a, name),
            weight,
        )
        for name in COMPONENTS
        if (weight := policy.weights.get(name)) is not None
    ]


def _by_district(assessments: Iterable[Assessment]) -> dict[str, list[Assessment]]:
    groups: dict[str, list[Assessment]] = {}
    for a in assessments:
        if a.scope != "market" or a.market_id is None:
            raise ValueError("only market assessments are ranked and rolled up")
        groups.setdefault(a.district, []).append(a)
    for district, group in groups.items():
        ids = [a.market_id for a in group]
        if len(set(ids)) != len(ids):
            raise ValueError(f"district {district}: a market is listed twice")
    return dict(sorted(groups.items()))


def rank_within_district(assessments: Iterable[Assessment]) -> list[Assessment]:
    """Markets ranked per district, highest score first, `ranked` = n. Markets of equal score
    share a rank and the next score's rank counts them all (1, 1, 3): a rank decides the 红榜
    and is read against the other markets', and a market id must not put one of two equal
    markets behind the other. Ordered by district, then rank, then market id."""
    ranked: list[Assessment] = []
    for group in _by_district(assessments).values():
        ordered = sorted(group, key=lambda a: (-a.score, a.market_id or ""))
        ranked.extend(
            replace(a, rank=rank, ranked=len(ordered)) for a, rank in _shared_ranks(ordered)
        )
    return ranked


def rank_districts(districts: Iterable[Assessment]) -> list[Assessment]:
    """The districts' roll-ups ranked across the city, highest score first, `city_ranked` = n;
    equal scores share a rank as markets do (1, 1, 3). Ordered by rank, then district code."""
    ordered = sorted(districts, key=lambda a: (-a.score, a.district))
    codes = [a.district for a in ordered]
    if any(a.scope != "district" for a in ordered) or len(set(codes)) != len(codes):
        raise ValueError("only districts' roll-ups, one per district, are ranked across the city")
    return [
        replace(a, city_rank=rank, city_ranked=len(ordered)) for a, rank in _shared_ranks(ordered)
    ]


def _shared_ranks(ordered: Sequence[Assessment]) -> Iterable[tuple[Assessment, int]]:
    """Each of `ordered` (best first) with its rank: equal scores share one, and the next score's
    counts them all."""
    rank, above = 0, None
    for i, a in enumerate(ordered, start=1):
        if a.score != above:
            rank, above = i, a.score
        yield a, rank


def _weighted(values: Sequence[tuple[float | None, int]]) -> float | None:
    """Merchant-weighted mean of the values that exist; a plain mean if they weigh nothing."""
    present = [(v, w) for v, w in values if v is not None]
    if not present:
        return None
    weight = sum(w for _, w in present)
    if weight == 0:
        return sum(v for v, _ in present) / len(present)
    return sum(v * w for v, w in present) / weight


def roll_up(assessments: Iterable[Assessment]) -> list[Assessment]:
    """One assessment per district from its markets' (same period, same policy version).

    Counts (merchants, grades, open risks) add up; each rate and the score are the means of
    the markets' values weighted by their merchants (a market without the rate is left out).
    """
    out: list[Assessment] = []
    for district, group in _by_district(assessments).items():
        periods = {a.period for a in group}
        versions = {a.policy_version for a in group}
        if len(periods) > 1 or len(versions) > 1:
            raise ValueError(
                f"district {district}: markets assessed for different periods or policy versions"
            )
        first = group[0]

        def mean(name: str, group: list[Assessment] = group) -> float | None:
            return _weighted([(getattr(a, name), a.merchants) for a in group])

        score = mean("score")
        out.append(
            Assessment(
                scope="district",
                market_id=None,
                market_name=None,
                district=district,
                period=first.period,
                merchants=sum(a.merchants for a in group),
                grades=MappingProxyType({g: sum(a.grades[g] for a in group) for g in GRADES}),
                share_ab=mean("share_ab"),
                inspection_pass_rate=mean("inspection_pass_rate"),
                rectification_on_time_rate=mean("rectification_on_time_rate"),
                complaints_within_limit_rate=mean("complaints_within_limit_rate"),
                open_risks=sum(a.open_risks for a in group),
                score=NEUTRAL_SCORE if score is None else round(score, SCORE_DECIMALS),
                policy_version=first.policy_version,
                ranked=len(group),
                self_inspection_rate=mean("self_inspection_rate"),
                report_on_time_rate=mean("report_on_time_rate"),
                certified_share=mean("certified_share"),
            )
        )
    return out
