"""Crowding: occupancy above 90 % of capacity for 5 min → minor; at 100 % → major."""

from __future__ import annotations

from services.telemetry.domain import CROWDING, TerminalContext
from tests.unit.telemetry.series import MINUTE, Feed


def gate(capacity: int | None = 1000) -> Feed:
    return Feed(TerminalContext("footfall", capacity=capacity, interval_s=60))


def people(feed: Feed, minutes: float, occupancy: int) -> list[tuple[str, str]]:
    return [
        (d.action, d.severity) for d in feed.hold(minutes, entries=5, exits=5, occupancy=occupancy)
    ]


def test_above_90_percent_for_5_minutes_raises_minor() -> None:
    feed = gate()
    people(feed, 30, 600)
    start = feed.t
    assert people(feed, 4, 950) == []
    decided = feed.send(entries=5, exits=5, occupancy=950)
    assert [(d.action, d.severity) for d in decided] == [("raise", "minor")]
    evidence = decided[0].evidence
    assert decided[0].category == "market_order"
    assert evidence.first_ts == start
    assert evidence.duration_s == 5 * MINUTE
    assert evidence.peak == 950
    assert evidence.readings_count == 6
    assert evidence.extra == {"capacity": 1000, "peak_ratio": 0.95}
    assert evidence.thresholds["raise_ratio"] == 0.9


def test_exactly_90_percent_is_not_above() -> None:
    feed = gate()
    assert people(feed, 30, 900) == []


def test_full_capacity_escalates_to_major_and_clears_after_calm() -> None:
    feed = gate()
    people(feed, 5, 950)
    assert people(feed, 1, 1000) == [("escalate", "major")]
    assert people(feed, 20, 850) == []  # under 90 %, not yet under 80 %
    assert people(feed, 4, 700) == []
    assert people(feed, 1, 700) == [("clear", "major")]
    assert CROWDING not in feed.state.risks


def test_full_capacity_during_the_first_5_minutes_raises_major() -> None:
    feed = gate()
    people(feed, 2, 920)
    people(feed, 1, 1010)
    assert people(feed, 2, 930) == [("raise", "major")]


def test_short_surges_never_raise() -> None:
    feed = gate()
    for _ in range(10):
        people(feed, 4, 980)
        people(feed, 1, 800)
    assert feed.decisions == []


def test_one_open_risk_while_the_crowd_hovers() -> None:
    feed = gate()
    people(feed, 5, 950)
    for _ in range(10):
        people(feed, 3, 850)
        people(feed, 3, 960)
    assert feed.actions() == [("raise", "minor")]


def test_without_a_capacity_crowding_is_not_judged() -> None:
    feed = gate(capacity=None)
    assert people(feed, 60, 10_000) == []
