"""Issue 17 in credit's rules: a decided joint enforcement case is an adjustment through the
policy (2026-12), and the operators' duties weigh in the market assessment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.duties import DutiesUpdated
from contracts.joint import EnforcementClosed, EnforcementOpened
from services.credit.domain import (
    DUTY_COMPONENTS,
    AssessmentPolicy,
    EventMeta,
    MarketFigures,
    Period,
    adjust,
    apply,
    assess,
    facts_from_enforcement,
    rank_within_district,
    roll_up,
)
from services.credit.policy_files import default_book
from services.runtime import serial
from tests.support.credit_events import DECEMBER, case, decided

BOOK = default_book()
META = EventMeta("ev_case", "campaign.enforcement.v1", 1, 7, "cmp_root")


# -- joint enforcement -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sanction", "delta", "shown"),
    [
        ("warning", -5, "warning"),
        ("fine", -15, "fine ¥5,000.00"),
        ("suspension", -30, "suspension of 15 days"),
    ],
)
def test_a_decided_case_is_an_adjustment_with_the_case_as_cause(
    sanction: str, delta: int, shown: str
) -> None:
    [fact] = facts_from_enforcement("campaign.enforcement.decided", decided(sanction), META)
    assert fact.kind == f"enforcement.{sanction}"
    assert (fact.merchant_id, fact.market_id, fact.district) == ("mer_1", "mkt_1", "zhifu")
    assert fact.occurred_at == DECEMBER
    assert (fact.event_id, fact.event_type, fact.topic, fact.partition, fact.offset) == (
        "ev_case",
        "campaign.enforcement.decided",
        "campaign.enforcement.v1",
        1,
        7,
    )
    assert fact.correlation_id == "cmp_root"
    entry = adjust(fact, BOOK)
    assert entry is not None
    assert (entry.delta, entry.policy_version) == (delta, "2026-12")
    assert entry.reason == (
        f"joint enforcement: {sanction} (case case_1 from complaint cmp_9: {shown}): "
        f"{delta:+d} under policy 2026-12"
    )
    credit, change = apply(None, entry, DECEMBER, BOOK)
    assert credit.score == 100 + delta
    assert change is not None and change.adjustment == entry


def test_a_case_from_a_finding_names_the_task() -> None:
    [fact] = facts_from_enforcement(
        "campaign.enforcement.decided", decided("warning", origin="finding"), META
    )
    assert fact.detail == "case case_1 from task tsk_9: warning"


def test_a_case_against_the_operator_or_not_yet_decided_adjusts_nothing() -> None:
    operator = decided("fine", merchant_id=None)
    assert facts_from_enforcement("campaign.enforcement.decided", operator, META) == []
    opened = EnforcementOpened.model_validate(case(state="open"))
    closed = EnforcementClosed.model_validate(case(state="closed"))
    assert facts_from_enforcement("campaign.enforcement.opened", opened, META) == []
    assert facts_from_enforcement("campaign.enforcement.closed", closed, META) == []
    with pytest.raises(ValueError, match="carries EnforcementDecided, got EnforcementClosed"):
        facts_from_enforcement("campaign.enforcement.decided", closed, META)


def test_a_case_decided_before_2026_12_is_not_scored() -> None:
    # 2026-01 did not know joint enforcement: replaying an old case gives what it gave then.
    early = decided("fine", decided_at=datetime(2026, 11, 30, 15, 59, tzinfo=UTC))
    [fact] = facts_from_enforcement("campaign.enforcement.decided", early, META)
    assert adjust(fact, BOOK) is None
    # 2026-12 is in force from city midnight, 1 December (16:00 UTC the day before).
    on_time = decided("fine", decided_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    [fact] = facts_from_enforcement("campaign.enforcement.decided", on_time, META)
    entry = adjust(fact, BOOK)
    assert entry is not None and entry.delta == -15


def test_the_2026_12_policy_keeps_2026_01_and_adds_issue_17() -> None:
    old, new = BOOK.get("2026-01"), BOOK.get("2026-12")
    assert new.effective_from == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    added = {k: v for k, v in new.adjustments.items() if k not in old.adjustments}
    assert added == {
        "enforcement.warning": -5,
        "enforcement.fine": -15,
        "enforcement.suspension": -30,
    }
    assert {k: new.adjustments[k] for k in old.adjustments} == dict(old.adjustments)
    assert (new.start, new.bands, new.fade_after) == (old.start, old.bands, old.fade_after)
    weights = new.assessment.weights
    assert set(DUTY_COMPONENTS) <= set(weights)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert not set(DUTY_COMPONENTS) & set(old.assessment.weights)


# -- the duties in the assessment --------------------------------------------------------------

POLICY = BOOK.get("2026-12")
PERIOD = Period(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))


def figures(market_id: str = "mkt_1", **changes: Any) -> MarketFigures:
    base = MarketFigures(
        market_id=market_id,
        district="zhifu",
        merchants=20,
        grades={"A": 12, "B": 6, "C": 2},
        inspections_completed=10,
        inspections_passed=9,
        rectifications_due=2,
        rectifications_on_time=2,
        complaints_within_limit=3,
        self_inspection_rate=1.0,
        report_on_time_rate=1.0,
        certified_share=1.0,
    )
    return replace(base, **changes)


def test_duties_count_with_their_weights() -> None:
    good = assess(figures(), PERIOD, POLICY)
    assert (good.self_inspection_rate, good.report_on_time_rate, good.certified_share) == (
        1.0,
        1.0,
        1.0,
    )
    lax = assess(
        figures(self_inspection_rate=0.5, report_on_time_rate=0.0, certified_share=0.25),
        PERIOD,
        POLICY,
    )
    w = POLICY.assessment.weights
    lost = w["self_inspection_rate"] * 0.5 + w["report_on_time_rate"] * 1 + w["certified_share"]
    lost -= w["certified_share"] * 0.25
    assert lax.score == pytest.approx(good.score - 100 * lost / sum(w.values()), abs=0.01)
    data = serial.dump(lax)
    assert (data["self_inspection_rate"], data["report_on_time_rate"]) == (0.5, 0.0)
    assert data["certified_share"] == 0.25


def test_a_market_that_neglects_its_duties_ranks_below_an_identical_one() -> None:
    diligent = assess(figures("mkt_b"), PERIOD, POLICY)
    neglectful = assess(
        figures("mkt_a", self_inspection_rate=0.4, report_on_time_rate=0.5, certified_share=0.3),
        PERIOD,
        POLICY,
    )
    ranked = rank_within_district([neglectful, diligent])
    assert [(a.market_id, a.rank) for a in ranked] == [("mkt_b", 1), ("mkt_a", 2)]
    assert neglectful.score < diligent.score
    # Without any duties figure (null), it is not rated on them: the others fill their place.
    unknown = assess(
        figures("mkt_c", self_inspection_rate=None, report_on_time_rate=None, certified_share=None),
        PERIOD,
        POLICY,
    )
    assert neglectful.score < unknown.score


def test_null_duties_are_not_rated_and_the_weights_renormalise() -> None:
    none = figures(self_inspection_rate=None, report_on_time_rate=None, certified_share=None)
    result = assess(none, PERIOD, POLICY)
    base = {k: v for k, v in POLICY.assessment.weights.items() if k not in DUTY_COMPONENTS}
    only_base = replace(POLICY, assessment=AssessmentPolicy(weights=base))
    assert result.score == assess(none, PERIOD, only_base).score
    assert result.self_inspection_rate is None


def test_an_older_version_does_not_weigh_the_duties() -> None:
    old = BOOK.get("2026-01")
    lax = figures(self_inspection_rate=0.0, report_on_time_rate=0.0, certified_share=0.0)
    assert assess(lax, PERIOD, old).score == assess(figures(), PERIOD, old).score


def test_duties_roll_up_merchant_weighted_and_refuse_nonsense() -> None:
    a = assess(figures("mkt_a", merchants=30, self_inspection_rate=0.5), PERIOD, POLICY)
    few = {"A": 8, "B": 2}
    b = assess(figures("mkt_b", merchants=10, grades=few, self_inspection_rate=1.0), PERIOD, POLICY)
    [district] = roll_up(rank_within_district([a, b]))
    assert district.self_inspection_rate == pytest.approx(0.75 * 0.5 + 0.25 * 1.0)
    with pytest.raises(ValueError, match=r"self_inspection_rate must be within 0\.\.1"):
        figures(self_inspection_rate=1.5)


def test_a_policy_file_may_leave_the_duties_out_but_not_the_base() -> None:
    base = {k: 0.2 for k in ("share_ab", "inspection_pass_rate", "rectification_on_time_rate")}
    with pytest.raises(ValueError, match="needs share_ab"):
        AssessmentPolicy(weights=base)
    AssessmentPolicy(weights={**dict(BOOK.get("2026-01").assessment.weights)})
    with pytest.raises(ValueError, match="may weigh self_inspection_rate"):
        AssessmentPolicy(weights={**dict(POLICY.assessment.weights), "luck": 0.1})


def test_the_duties_contract_carries_the_rates_the_assessment_reads() -> None:
    duties = DutiesUpdated(
        market_id="mkt_1",
        district="zhifu",
        as_of=date(2026, 12, 3),
        window_days=30,
        opening_days=20,
        self_inspected_days=15,
        self_inspection_rate=0.75,
        open_follow_ups=1,
        reports_due=2,
        reports_late=1,
        report_on_time_rate=0.5,
        managers=4,
        managers_certified=1,
        certified_share=0.25,
        updated_at=datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
    )
    result = assess(
        figures(
            self_inspection_rate=duties.self_inspection_rate,
            report_on_time_rate=duties.report_on_time_rate,
            certified_share=duties.certified_share,
        ),
        PERIOD,
        POLICY,
    )
    assert result.score < assess(figures(), PERIOD, POLICY).score
