"""Market assessment (考核): rates, the neutral rate, the composite, ranking and roll-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.credit import events
from services.credit.domain import (
    NEUTRAL_SCORE,
    Assessment,
    AssessmentPolicy,
    MarketFigures,
    Period,
    assess,
    composite,
    rank_districts,
    rank_within_district,
    risk_component,
    roll_up,
    score_parts,
)
from services.credit.policy_files import default_book
from services.runtime import serial

POLICY = default_book().get("2026-01")  # docs/rules.md's weights; 2026-12 adds the duties
WEIGHTS = POLICY.assessment.weights
PERIOD = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def figures(market_id: str = "mkt_1", district: str = "zhifu", **changes: object) -> MarketFigures:
    base = MarketFigures(
        market_id=market_id,
        district=district,
        merchants=40,
        grades={"A": 20, "B": 10, "C": 6, "D": 4},
        inspections_completed=20,
        inspections_passed=15,
        rectifications_due=10,
        rectifications_on_time=8,
        rectifications_overdue=2,
        complaints_within_limit=9,
        complaints_overdue=1,
        open_risks=2,
        market_name="只楚农贸市场",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_rates_and_the_weighted_score() -> None:
    result = assess(figures(), PERIOD, POLICY)
    assert (result.scope, result.market_id, result.key) == ("market", "mkt_1", "mkt_1")
    assert (result.period.start, result.period.end) == (PERIOD.start, PERIOD.end)
    assert result.share_ab == 30 / 40
    assert result.inspection_pass_rate == 15 / 20
    assert result.rectification_on_time_rate == 8 / 10
    assert result.complaints_within_limit_rate == 9 / 10
    assert result.open_risks == 2
    risks = 1 - (2 / 40) / 0.1  # 0.5: half-way to one open risk per ten merchants
    expected = (
        100
        * (0.30 * 0.75 + 0.25 * 0.75 + 0.20 * 0.8 + 0.15 * 0.9 + 0.10 * risks)
        / sum(WEIGHTS.values())
    )
    assert result.score == round(expected, 2)
    assert result.policy_version == "2026-01"
    assert (result.rank, result.ranked) == (None, None)
    assert serial.load(Assessment, serial.dump(result)) == result
    assert events.assessment_data(result, PERIOD.end).period_from.isoformat() == (
        "2026-04-01T00:00:00+00:00"
    )


def test_a_rate_with_nothing_to_rate_is_neutral() -> None:
    quiet = figures(
        inspections_completed=0,
        inspections_passed=0,
        complaints_within_limit=0,
        complaints_overdue=0,
    )
    result = assess(quiet, PERIOD, POLICY)
    assert result.inspection_pass_rate is None and result.complaints_within_limit_rate is None
    # Left out, the other weights fill its place: neither a reward nor a punishment.
    present = {"share_ab": 0.75, "rectification_on_time_rate": 0.8, "open_risks": 0.5}
    expected = sum(WEIGHTS[k] * v for k, v in present.items()) / sum(WEIGHTS[k] for k in present)
    assert result.score == round(100 * expected, 2)
    # A perfect market that had no complaints scores as high as one that handled all in time.
    perfect = figures(
        grades={"A": 40},
        inspections_passed=20,
        rectifications_on_time=10,
        rectifications_overdue=0,
        complaints_within_limit=5,
        complaints_overdue=0,
        open_risks=0,
    )
    no_complaints = replace(perfect, complaints_within_limit=0)
    assert (
        assess(perfect, PERIOD, POLICY).score == assess(no_complaints, PERIOD, POLICY).score == 100
    )


def test_the_score_parts_are_what_the_score_is_made_of() -> None:
    quiet = figures(complaints_within_limit=0, complaints_overdue=0)
    result = assess(quiet, PERIOD, POLICY)
    parts = score_parts(result, POLICY.assessment)
    assert [p.part for p in parts] == list(WEIGHTS)
    assert {p.part: p.weight for p in parts} == dict(WEIGHTS)
    values = {p.part: p.value for p in parts}
    assert values["complaints_within_limit_rate"] is None  # left out of the score
    assert values["open_risks"] == pytest.approx(0.5)  # as scored, not the count
    counted = {k: float(v) for k, v in values.items() if v is not None}
    score = 100 * sum(WEIGHTS[k] * v for k, v in counted.items()) / sum(WEIGHTS[k] for k in counted)
    assert result.score == round(score, 2)
    # A version weighing the operators' duties names them too, after the base five.
    duties = default_book().get("2026-12").assessment
    assert [p.part for p in score_parts(result, duties)][5:] == [
        "self_inspection_rate",
        "report_on_time_rate",
        "certified_share",
    ]


def test_nothing_at_all_to_rate_is_the_middle() -> None:
    weights = {**WEIGHTS, "open_risks": 0.0}
    policy = replace(POLICY, assessment=AssessmentPolicy(weights=weights))
    empty = MarketFigures("mkt_9", "zhifu", merchants=0)
    assert assess(empty, PERIOD, policy).score == NEUTRAL_SCORE == 50.0
    # With the default weights too: no merchant and no open risk is nothing to rate, not 100
    # (an empty market ranked first, above every market with results).
    assert assess(empty, PERIOD, POLICY).score == NEUTRAL_SCORE


def test_a_market_with_nothing_registered_ranks_below_one_with_results() -> None:
    empty = assess(MarketFigures("mkt_0", "zhifu", merchants=0), PERIOD, POLICY)
    working = assess(figures("mkt_1"), PERIOD, POLICY)
    ranked = rank_within_district([empty, working])
    assert [(a.market_id, a.rank) for a in ranked] == [("mkt_1", 1), ("mkt_0", 2)]


def test_open_risks_per_merchant() -> None:
    policy = POLICY.assessment
    assert risk_component(0, 40, policy) == 1
    assert risk_component(2, 40, policy) == pytest.approx(0.5)
    assert risk_component(4, 40, policy) == 0
    assert risk_component(40, 40, policy) == 0  # floored
    assert risk_component(1, 0, policy) == pytest.approx(0)  # a market without merchants: 1 each
    assert risk_component(0, 0, policy) is None  # no merchant, no risk: nothing to rate


def test_composite_weights_only_what_exists() -> None:
    policy = POLICY.assessment
    all_one = dict.fromkeys(WEIGHTS, 1.0)
    assert composite(all_one, policy) == 100
    assert composite({**all_one, "share_ab": None}, policy) == 100
    assert composite({**dict.fromkeys(WEIGHTS, None), "open_risks": 0.25}, policy) == 25


def test_figures_that_cannot_be_are_refused() -> None:
    with pytest.raises(ValueError, match="more inspections passed than completed"):
        figures(inspections_passed=21)
    with pytest.raises(ValueError, match="more merchants graded than registered"):
        figures(merchants=10)
    with pytest.raises(ValueError, match="more rectifications on time or overdue than due"):
        figures(rectifications_overdue=3)
    with pytest.raises(ValueError, match="open_risks must not be negative"):
        figures(open_risks=-1)
    with pytest.raises(ValueError, match="unknown grades E"):
        figures(grades={"E": 1})
    with pytest.raises(ValueError, match="end after it starts"):
        Period(PERIOD.end, PERIOD.start)
    with pytest.raises(ValueError, match="timezone"):
        Period(datetime(2026, 4, 1), PERIOD.end)


def test_missing_grades_count_as_none() -> None:
    result = assess(figures(grades={"A": 3}), PERIOD, POLICY)
    assert dict(result.grades) == {"A": 3, "B": 0, "C": 0, "D": 0}
    assert result.share_ab == 1


# -- ranking and roll-up -----------------------------------------------------------------------


def test_ranked_within_each_district_equal_scores_share_a_rank() -> None:
    """A leader read 第 1 名 and 第 2 名 for two markets of 100.0 on the demo: the market id
    had decided it. Equal markets share the rank, the next counts both (listed by id)."""
    good = figures(open_risks=0)
    markets = [
        assess(figures("mkt_c"), PERIOD, POLICY),
        assess(replace(good, market_id="mkt_b"), PERIOD, POLICY),
        assess(replace(good, market_id="mkt_a"), PERIOD, POLICY),  # the same score as mkt_b
        assess(figures("mkt_x", "laishan", open_risks=4), PERIOD, POLICY),
    ]
    ranked = rank_within_district(markets)
    assert [(a.district, a.market_id, a.rank, a.ranked) for a in ranked] == [
        ("laishan", "mkt_x", 1, 1),
        ("zhifu", "mkt_a", 1, 3),
        ("zhifu", "mkt_b", 1, 3),
        ("zhifu", "mkt_c", 3, 3),
    ]
    # The input order does not matter.
    assert rank_within_district(markets[::-1]) == ranked


def test_only_markets_are_ranked_once_each() -> None:
    one = assess(figures(), PERIOD, POLICY)
    with pytest.raises(ValueError, match="listed twice"):
        rank_within_district([one, one])
    [district] = roll_up([one])
    with pytest.raises(ValueError, match="only market assessments"):
        rank_within_district([district])


def test_districts_are_ranked_across_the_city_equal_scores_sharing_a_rank() -> None:
    """A city leader read two districts' 区县得分 on 总览 with neither's standing: the roll-ups
    carried no rank among the city's districts. Ranked as markets are (1, 1, 3)."""
    good = figures(open_risks=0)
    markets = [
        assess(replace(good, market_id="mkt_a", district="zhifu"), PERIOD, POLICY),
        assess(replace(good, market_id="mkt_b", district="laishan"), PERIOD, POLICY),
        assess(figures("mkt_c", "fushan", open_risks=4), PERIOD, POLICY),
    ]
    districts = rank_districts(roll_up(rank_within_district(markets)))
    assert [(d.district, d.city_rank, d.city_ranked) for d in districts] == [
        ("laishan", 1, 3),
        ("zhifu", 1, 3),
        ("fushan", 3, 3),
    ]
    assert districts[0].score == districts[1].score > districts[2].score
    # A district's own `rank`/`ranked` (of its markets) stay as the roll-up made them.
    assert [(d.rank, d.ranked) for d in districts] == [(None, 1)] * 3
    assert rank_districts(roll_up(rank_within_district(markets[::-1]))) == districts
    # Markets carry no city rank.
    assert {(m.city_rank, m.city_ranked) for m in rank_within_district(markets)} == {(None, None)}


def test_only_districts_are_ranked_across_the_city_once_each() -> None:
    one = assess(figures(), PERIOD, POLICY)
    with pytest.raises(ValueError, match="one per district"):
        rank_districts([one])
    [district] = roll_up([one])
    with pytest.raises(ValueError, match="one per district"):
        rank_districts([district, district])
    assert rank_districts([]) == []


def test_district_roll_up_is_merchant_weighted() -> None:
    big = assess(figures("mkt_a", merchants=90, grades={"A": 90}, open_risks=0), PERIOD, POLICY)
    small = assess(
        figures(
            "mkt_b", merchants=10, grades={"D": 10}, inspections_completed=0, inspections_passed=0
        ),
        PERIOD,
        POLICY,
    )
    [district] = roll_up(rank_within_district([small, big]))
    assert (district.scope, district.market_id, district.key) == (
        "district",
        None,
        "district:zhifu",
    )
    assert (district.merchants, district.ranked, district.rank) == (100, 2, None)
    assert dict(district.grades) == {"A": 90, "B": 0, "C": 0, "D": 10}
    assert district.open_risks == big.open_risks + small.open_risks
    assert district.share_ab == pytest.approx(0.9 * 1 + 0.1 * 0)
    # The small market had no inspection: the district's rate is the big one's alone.
    assert district.inspection_pass_rate == big.inspection_pass_rate
    assert district.score == round(0.9 * big.score + 0.1 * small.score, 2)
    assert (district.period, district.policy_version) == (PERIOD, "2026-01")


def test_roll_up_per_district_and_without_merchants() -> None:
    a = assess(MarketFigures("mkt_a", "zhifu", merchants=0), PERIOD, POLICY)
    b = assess(MarketFigures("mkt_b", "zhifu", merchants=0, open_risks=1), PERIOD, POLICY)
    c = assess(figures("mkt_c", "laishan"), PERIOD, POLICY)
    rolled = roll_up([a, b, c])
    assert [r.district for r in rolled] == ["laishan", "zhifu"]
    # Markets without merchants weigh nothing; among themselves they count alike.
    assert rolled[1].score == round((a.score + b.score) / 2, 2)
    assert rolled[1].share_ab is None


def test_roll_up_refuses_mixed_periods() -> None:
    a = assess(figures("mkt_a"), PERIOD, POLICY)
    other = Period(PERIOD.start - timedelta(days=30), PERIOD.start)
    b = assess(figures("mkt_b"), other, POLICY)
    with pytest.raises(ValueError, match="different periods"):
        roll_up([a, b])
