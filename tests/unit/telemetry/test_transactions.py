"""Transaction anomaly against a median/MAD baseline per hour-of-week, and the refund-share rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.telemetry.domain import TRANSACTIONS, TerminalContext
from services.telemetry.domain.clock import local_seconds, week_and_slot
from services.telemetry.domain.market import median_and_mad
from tests.unit.telemetry.series import HOUR, MINUTE, WEEK, Feed, shanghai

QUARTER = 15 * MINUTE
MONDAY_MIDNIGHT = shanghai(4, 0, 0)  # 2026-05-04 is a Monday


def usual(t: float) -> int:
    """A stall's ordinary payments per quarter hour: busier around midday, ±1 of noise."""
    hour = int(local_seconds(t, "Asia/Shanghai") // HOUR) % 24
    noise = int(t // QUARTER) % 3 - 1
    return 10 + min(hour, 24 - hour) // 2 + noise


def till(start: float = MONDAY_MIDNIGHT) -> Feed:
    feed = Feed(TerminalContext("payment", interval_s=900), step=QUARTER)
    feed.t = start
    return feed


def pay(feed: Feed, count: int, refunds: int = 0) -> list[tuple[str, str]]:
    decided = feed.send(tx_count=count, tx_amount=count * 23.5, refunds=refunds)
    return [(d.action, d.severity) for d in decided]


def history(feed: Feed, until: float, count: Callable[[float], int] = usual) -> None:
    while feed.t < until:
        pay(feed, count(feed.t))


@pytest.fixture(scope="module")
def four_weeks() -> Feed:
    feed = till()
    history(feed, MONDAY_MIDNIGHT + 4 * WEEK + 10 * HOUR)
    return feed


def copy(feed: Feed) -> Feed:
    clone = till(feed.t)
    clone.seq = feed.seq
    clone.state = type(feed.state).from_dict(feed.state.to_dict())
    return clone


def test_an_ordinary_history_raises_nothing(four_weeks: Feed) -> None:
    assert four_weeks.decisions == []


def test_a_spike_against_four_weeks_of_history_is_a_warning(four_weeks: Feed) -> None:
    feed = copy(four_weeks)
    assert pay(feed, usual(feed.t)) == []
    decided = feed.send(tx_count=60, tx_amount=1400.0, refunds=0)

    assert [(d.action, d.rule, d.severity) for d in decided] == [("raise", TRANSACTIONS, "warning")]
    evidence = decided[0].evidence
    assert evidence.extra["signals"] == ["count_high"]
    baseline = evidence.extra["baseline"]
    assert baseline["source"] == "hour_of_week"
    assert baseline["samples"] == 4 * 4  # four weeks, four quarter hours each
    assert baseline["median"] == pytest.approx(15, abs=1)
    assert evidence.peak == 60
    assert evidence.duration_s == QUARTER
    assert decided[0].category == "market_order"


def test_three_anomalous_intervals_make_it_minor_then_calm_clears(four_weeks: Feed) -> None:
    feed = copy(four_weeks)
    assert pay(feed, 60) == [("raise", "warning")]
    assert pay(feed, 55) == []
    assert pay(feed, 58) == [("escalate", "minor")]
    assert pay(feed, 70) == []
    assert pay(feed, usual(feed.t)) == []
    assert pay(feed, usual(feed.t)) == []
    assert pay(feed, usual(feed.t)) == [("clear", "minor")]
    assert TRANSACTIONS not in feed.state.risks


def test_an_interrupted_spike_stays_a_warning(four_weeks: Feed) -> None:
    feed = copy(four_weeks)
    for _ in range(3):
        pay(feed, 60)
        pay(feed, usual(feed.t))
    assert feed.actions() == [("raise", "warning")]


def test_a_collapse_of_a_busy_slot_is_an_anomaly_too(four_weeks: Feed) -> None:
    feed = copy(four_weeks)
    decided = feed.send(tx_count=0, tx_amount=0.0, refunds=0)
    assert [d.evidence.extra["signals"] for d in decided] == [["count_low"]]


def test_with_less_than_four_weeks_the_last_7_days_are_the_baseline() -> None:
    feed = till()
    history(feed, MONDAY_MIDNIGHT + 3 * 24 * HOUR + 10 * HOUR)
    assert feed.decisions == []
    decided = feed.send(tx_count=60, tx_amount=1400.0, refunds=0)
    assert [(d.action, d.severity) for d in decided] == [("raise", "warning")]
    baseline = decided[0].evidence.extra["baseline"]
    assert baseline["source"] == "last_7_days"
    assert baseline["samples"] == 2 * (3 * 24 + 10)  # two samples an hour


def test_without_any_baseline_counts_are_not_judged() -> None:
    feed = till()
    assert pay(feed, 500) == []
    for _ in range(10):
        assert pay(feed, 0) == []
    assert pay(feed, 900) == []


def test_refunds_above_30_percent_are_anomalous_on_their_own() -> None:
    feed = till()
    assert pay(feed, 10, refunds=3) == []  # 30 %: not above
    assert pay(feed, 4, refunds=2) == []  # 50 %, but two refunds are no spree
    decided = feed.send(tx_count=10, tx_amount=230.0, refunds=4)
    assert [(d.action, d.severity) for d in decided] == [("raise", "warning")]
    assert decided[0].evidence.extra == {"signals": ["refund_share"], "refund_share": 0.4}
    assert pay(feed, 10, refunds=5) == []
    assert pay(feed, 0, refunds=3) == [("escalate", "minor")]  # refunds without sales
    assert feed.state.tx is not None and feed.state.tx.share == 0.5


def test_median_and_mad() -> None:
    assert median_and_mad([3, 1, 2]) == (2.0, 1.0)
    assert median_and_mad([1, 2, 3, 4]) == (2.5, 1.0)
    assert median_and_mad([5, 5, 5, 5, 90]) == (5.0, 0.0)


def test_hour_of_week_is_the_markets_local_hour() -> None:
    week, slot = week_and_slot(local_seconds(MONDAY_MIDNIGHT, "Asia/Shanghai"))
    assert slot == 0
    assert week_and_slot(local_seconds(MONDAY_MIDNIGHT + WEEK - 1, "Asia/Shanghai")) == (
        week,
        167,
    )
    assert week_and_slot(local_seconds(MONDAY_MIDNIGHT, "UTC")) == (week - 1, 167 - 7)


def test_baselines_stay_bounded(four_weeks: Feed) -> None:
    feed = copy(four_weeks)
    history(feed, feed.t + 3 * WEEK)
    tx = feed.state.tx
    assert tx is not None
    cfg = feed.ctx.thresholds.transactions
    assert len(tx.slots) == 168
    for groups in tx.slots.values():
        assert len(groups) <= cfg.min_weeks + 1
        assert all(len(g) <= cfg.samples_per_slot_hour + 1 for g in groups)
    assert len(tx.recent) <= 7 * 24 * cfg.recent_samples_per_hour + 1
