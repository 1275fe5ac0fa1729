"""Cold-chain excursion and cumulative rules on synthetic series (docs/rules.md, issue 3)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.telemetry.domain import (
    CUMULATIVE,
    EXCURSION,
    Sample,
    TerminalContext,
    Thresholds,
    evaluate,
    risk_id,
)
from services.telemetry.domain.cold_chain import segment_above
from tests.unit.telemetry.series import HOUR, MINUTE, cold


def test_14_minutes_above_the_limit_raise_nothing() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    assert feed.hold(14, temp_c=10.0) == []
    assert feed.hold(30, temp_c=4.0) == []
    assert feed.decisions == []


def test_16_minutes_above_the_limit_raise_exactly_one_risk_after_15() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    start = feed.t
    decided = feed.hold(16, temp_c=10.0)

    assert [(d.action, d.rule, d.severity) for d in decided] == [("raise", EXCURSION, "minor")]
    raised = decided[0]
    assert raised.at == start + 15 * MINUTE  # the first reading 15 min into the run
    assert raised.raised_at == raised.at
    assert raised.category == "food_safety"
    assert raised.event_type == "telemetry.risk.raised"
    evidence = raised.evidence
    assert evidence.first_ts == start
    assert evidence.last_ts == raised.at
    assert evidence.duration_s == 15 * MINUTE
    assert evidence.degree_minutes == pytest.approx(2.0 * 15)  # 2 °C over for 15 min
    assert evidence.peak == 10.0
    assert evidence.readings_count == 16
    assert evidence.thresholds["limit_c"] == 8.0
    assert evidence.thresholds["raise_after_s"] == 15 * MINUTE
    assert evidence.extra["profile"] == "chilled"
    # The curve: the last reading in band, then the 16 readings above the limit.
    curve = evidence.extra["readings"]
    assert [p["temp_c"] for p in curve] == [4.0] + [10.0] * 16
    assert curve[1]["ts"] == evidence.to_dict()["first_ts"]


def test_a_reading_6_degrees_beyond_the_limit_raises_major_at_once() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    assert feed.temp(13.9) == []  # 5.9 °C beyond: only the duration rule could trip
    feed.hold(5, temp_c=4.0)

    decided = feed.temp(14.0)

    assert [(d.action, d.severity) for d in decided] == [("raise", "major")]
    assert decided[0].evidence.readings_count == 1
    assert decided[0].evidence.duration_s == 0


def test_12_degrees_beyond_the_limit_is_critical_at_once() -> None:
    feed = cold()
    feed.hold(5, temp_c=4.0)
    assert [(d.action, d.severity) for d in feed.temp(20.0)] == [("raise", "critical")]


def test_severity_grows_minor_major_critical_with_degree_minutes() -> None:
    feed = cold()
    feed.hold(5, temp_c=4.0)
    start = feed.t
    feed.hold(150, temp_c=10.0)  # 2 °C over: 30 °C·min per 15 min

    excursion = [d for d in feed.decisions if d.rule == EXCURSION]
    assert [(d.action, d.severity, d.previous_severity) for d in excursion] == [
        ("raise", "minor", None),
        ("escalate", "major", "minor"),
        ("escalate", "critical", "major"),
    ]
    assert [d.at - start for d in excursion] == [15 * MINUTE, 30 * MINUTE, 120 * MINUTE]
    assert [d.evidence.degree_minutes for d in excursion] == pytest.approx([30, 60, 240])
    assert len({d.risk_id for d in excursion}) == 1
    assert all(d.raised_at == excursion[0].at for d in excursion)


def test_raise_takes_the_severity_already_earned() -> None:
    feed = cold()
    feed.hold(5, temp_c=4.0)
    decided = feed.hold(15, temp_c=13.5)  # 5.5 over for 15 min: 82.5 °C·min at the raise
    assert [(d.action, d.severity) for d in decided] == [("raise", "major")]


def test_an_instant_spike_escalates_an_open_minor_risk() -> None:
    feed = cold()
    feed.hold(16, temp_c=9.0)
    assert feed.actions(EXCURSION) == [("raise", "minor")]
    decided = feed.temp(14.5)
    assert [(d.action, d.severity, d.previous_severity) for d in decided] == [
        ("escalate", "major", "minor")
    ]


def test_oscillating_around_the_limit_for_an_hour_raises_nothing_and_never_flaps() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    feed.temps(8.3 if i % 2 else 7.7 for i in range(61))
    assert feed.decisions == []


def test_oscillating_around_the_limit_keeps_one_open_risk_without_clearing() -> None:
    feed = cold()
    feed.hold(16, temp_c=10.0)
    feed.temps(8.3 if i % 2 else 7.7 for i in range(60))
    feed.temps(8.3 if (i // 5) % 2 else 7.7 for i in range(60))  # slower swings too

    assert feed.actions(EXCURSION) == [("raise", "minor")]
    assert EXCURSION in feed.state.risks


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=7.05, max_value=11.0), min_size=1, max_size=120))
def test_an_open_excursion_never_clears_while_above_the_hysteresis_band(
    temps: list[float],
) -> None:
    feed = cold()
    feed.hold(16, temp_c=10.0)
    feed.temps(temps)
    excursion = [d.action for d in feed.decisions if d.rule == EXCURSION]
    assert excursion[0] == "raise"
    assert "clear" not in excursion
    assert excursion.count("raise") == 1


def test_recovery_inside_the_band_clears_only_after_the_hold_time() -> None:
    feed = cold()
    feed.hold(16, temp_c=10.0)
    risk = feed.state.risks[EXCURSION].risk_id

    assert feed.hold(60, temp_c=7.5) == []  # back under the limit, not under limit − 1
    assert feed.hold(5, temp_c=6.5) == []
    assert feed.temp(7.2) == []  # back into the band: the hold starts over
    start = feed.t
    assert feed.hold(9, temp_c=6.5) == []
    decided = feed.temp(6.5)

    assert [(d.action, d.rule) for d in decided] == [("clear", EXCURSION)]
    cleared = decided[0]
    assert cleared.at == start + 10 * MINUTE
    assert cleared.risk_id == risk
    assert cleared.severity == "minor"
    assert cleared.state == "cleared"
    assert EXCURSION not in feed.state.risks


def test_a_new_excursion_after_a_clear_is_a_new_risk() -> None:
    feed = cold()
    feed.hold(16, temp_c=10.0)
    feed.hold(10, temp_c=5.0)
    feed.hold(16, temp_c=10.0)
    excursion = [d for d in feed.decisions if d.rule == EXCURSION]
    assert [d.action for d in excursion] == ["raise", "clear", "raise"]
    assert excursion[0].risk_id != excursion[2].risk_id
    assert excursion[2].evidence.degree_minutes == pytest.approx(30)  # a fresh episode


def test_frozen_profile_thresholds() -> None:
    duration = cold("frozen")
    duration.hold(10, temp_c=-18.0)
    duration.hold(16, temp_c=-14.0)
    [raised] = duration.decisions
    assert (raised.action, raised.severity) == ("raise", "minor")
    assert raised.evidence.thresholds["limit_c"] == -15.0
    assert raised.evidence.thresholds["clear_below_c"] == -16.0
    assert raised.evidence.extra["profile"] == "frozen"
    assert duration.hold(30, temp_c=-15.5) == []  # under the limit, inside the band
    duration.hold(10, temp_c=-16.5)
    assert duration.actions(EXCURSION) == [("raise", "minor"), ("clear", "minor")]

    instant = cold("frozen")
    instant.hold(10, temp_c=-18.0)
    assert [(d.action, d.severity) for d in instant.temp(-9.0)] == [("raise", "major")]

    chilled_value = cold("frozen")
    assert [d.action for d in chilled_value.hold(16, temp_c=4.0)] == ["raise"]


def test_cumulative_61_minutes_in_short_bursts_raises_one_cumulative_risk() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    for _ in range(5):
        feed.hold(12, temp_c=10.0)  # each burst < 15 min: no excursion
        feed.hold(90, temp_c=4.0)

    assert feed.actions(EXCURSION) == []
    assert [(d.action, d.rule, d.severity) for d in feed.decisions] == [
        ("raise", CUMULATIVE, "minor")
    ]
    evidence = feed.decisions[0].evidence
    # Each burst is 12 min of readings plus the interpolated crossings (20 s each side).
    assert 60 * MINUTE < evidence.duration_s <= 61 * MINUTE
    assert evidence.readings_count >= 4 * 13
    assert evidence.thresholds["limit_s"] == 60 * MINUTE
    assert evidence.thresholds["window_s"] == 24 * HOUR


def test_cumulative_counts_only_the_last_24_hours() -> None:
    feed = cold()
    for _ in range(5):  # 5 × 12 min 40 s, but never more than 4 of them in 24 h
        feed.step = MINUTE
        feed.hold(1, temp_c=4.0)
        feed.hold(12, temp_c=10.0)
        feed.hold(1, temp_c=4.0)
        feed.step = 10 * MINUTE
        feed.hold(6 * 60, temp_c=4.0)
    assert feed.decisions == []
    cum = feed.state.cumulative
    assert cum is not None and len(cum.intervals) <= 4


def test_cumulative_clears_once_the_rolling_total_falls_below_the_margin() -> None:
    feed = cold()
    for _ in range(6):
        feed.hold(12, temp_c=10.0)
        feed.hold(30, temp_c=4.0)
    assert feed.actions(CUMULATIVE) == [("raise", "minor")]
    feed.step = 10 * MINUTE
    feed.hold(26 * 60, temp_c=4.0)
    assert feed.actions(CUMULATIVE) == [("raise", "minor"), ("clear", "minor")]
    assert CUMULATIVE not in feed.state.risks


def test_a_long_excursion_trips_both_rules_once_each() -> None:
    feed = cold()
    feed.hold(5, temp_c=4.0)
    feed.hold(90, temp_c=9.0)
    raises = [d.rule for d in feed.decisions if d.action == "raise"]
    assert raises == [EXCURSION, CUMULATIVE]


def test_segment_integration_is_a_trapezoid_with_exact_crossings() -> None:
    assert segment_above(0, 2.0, 60, 2.0) == (0, 60, 120.0)
    assert segment_above(0, 0.0, 60, 2.0) == (0, 60, 60.0)
    # From 2 over to 2 under: above for the first half, a triangle of 2 × 30 / 2.
    assert segment_above(0, 2.0, 60, -2.0) == (0, 30.0, 30.0)
    # From 4 under to 2 over: crosses at 2/3 of the minute.
    start, end, area = segment_above(0, -4.0, 60, 2.0)
    assert (start, end) == pytest.approx((40.0, 60.0))
    assert area == pytest.approx(20.0)


def test_degree_minutes_follow_the_trapezoid_between_readings() -> None:
    feed = cold()
    feed.temp(4.0)
    feed.temps([10.0, 12.0, 14.0])  # first above at 10 °C: the episode starts there
    w = feed.state.cold
    assert w is not None
    assert w.dm == pytest.approx((2 + 4) / 2 + (4 + 6) / 2)
    assert w.above_s == 2 * MINUTE


def test_a_replayed_reading_changes_nothing() -> None:
    feed = cold()
    feed.hold(16, temp_c=10.0)
    before = feed.state.to_dict()
    again = Sample(feed.seq, feed.t, "cold_chain", temp_c=30.0)
    older = Sample(1, feed.t, "cold_chain", temp_c=30.0)
    assert evaluate(feed.state, again, feed.ctx) == []
    assert evaluate(feed.state, older, feed.ctx) == []
    assert feed.state.to_dict() == before


def test_event_time_never_runs_backwards() -> None:
    feed = cold()
    feed.hold(10, temp_c=10.0)
    last = feed.state.last_ts
    assert last is not None
    feed.seq += 1
    evaluate(feed.state, Sample(feed.seq, last - HOUR, "cold_chain", temp_c=10.0), feed.ctx)
    assert feed.state.last_ts == last
    assert feed.state.cold is not None and feed.state.cold.run == last - 10 * MINUTE


def test_risk_ids_are_deterministic_per_terminal_rule_and_reading() -> None:
    first, second, other = cold(), cold(), cold()
    other.terminal_id = other.state.terminal_id = "trm_2"
    for feed in (first, second, other):
        feed.hold(16, temp_c=10.0)
    [a], [b], [c] = first.decisions, second.decisions, other.decisions
    assert a.risk_id == b.risk_id != c.risk_id
    assert uuid.UUID(a.risk_id).version == 5
    assert a.risk_id == risk_id("trm_1", EXCURSION, a.seq or 0)


def test_custom_thresholds_apply() -> None:
    thresholds = Thresholds.from_dict(
        {"cold_chain": {"raise_after_s": 600, "limits_c": {"chilled": 6.0}}}
    )
    feed = cold(thresholds=thresholds)
    feed.hold(5, temp_c=4.0)
    decided = feed.hold(10, temp_c=7.0)
    assert [(d.action, d.severity) for d in decided] == [("raise", "minor")]
    assert decided[0].evidence.thresholds["limit_c"] == 6.0
    assert decided[0].evidence.thresholds["raise_after_s"] == 600


def test_a_cold_chain_terminal_without_profile_is_chilled() -> None:
    ctx = TerminalContext("cold_chain")
    assert ctx.limit_c == 8.0
    assert ctx.effective_profile == "chilled"


def test_the_cumulative_limit_can_be_crossed_by_the_segment_back_into_range() -> None:
    feed = cold()
    feed.temp(4.0)
    for _ in range(4):
        feed.hold(14, temp_c=10.0)  # 14 min + 2 × 20 s of crossings = 14 min 40 s each
        feed.hold(30, temp_c=4.0)
    feed.hold(1, temp_c=10.0)  # 58 min 40 s + 20 s + 1 min = 60 min at the last reading above
    assert feed.decisions == []
    decided = feed.temp(4.0)  # the crossing back adds 20 s: 60 min 20 s
    assert [(d.action, d.rule) for d in decided] == [("raise", CUMULATIVE)]
    assert decided[0].evidence.duration_s == pytest.approx(60 * MINUTE + 20)
