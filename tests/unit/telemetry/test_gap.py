"""Monitoring gap: clock-based silence during the market's opening hours, cleared by a reading."""

from __future__ import annotations

from typing import Any

import pytest

from services.telemetry.domain import (
    EXCURSION,
    GAP,
    Sample,
    TerminalContext,
    TerminalState,
    check_silence,
    evaluate,
    evaluate_into,
)
from services.telemetry.domain.clock import open_seconds
from tests.unit.telemetry.series import HOUR, MINUTE, Feed, cold, shanghai


def last_reading_at(ts: float, **ctx: Any) -> Feed:
    feed = cold(**ctx)
    feed.t = ts
    feed.temp(4.0)
    return feed


def test_silence_inside_opening_hours_raises_minor_then_major_after_an_hour() -> None:
    feed = last_reading_at(shanghai(4, 10, 0))

    assert feed.silence(shanghai(4, 10, 2) + 59) == []
    raised = feed.silence(shanghai(4, 10, 3))
    assert [(d.action, d.severity) for d in raised] == [("raise", "minor")]
    assert feed.silence(shanghai(4, 10, 30)) == []  # still open, nothing new
    escalated = feed.silence(shanghai(4, 11, 0))
    assert [(d.action, d.severity, d.previous_severity) for d in escalated] == [
        ("escalate", "major", "minor")
    ]
    assert feed.silence(shanghai(4, 15, 0)) == []

    evidence = escalated[0].evidence
    assert evidence.first_ts == shanghai(4, 10, 0)
    assert evidence.last_ts == shanghai(4, 11, 0)
    assert evidence.duration_s == HOUR
    assert evidence.peak is None and evidence.degree_minutes is None
    assert evidence.readings_count == 0
    assert evidence.thresholds["gap_after_s"] == 3 * MINUTE
    assert evidence.thresholds["timezone"] == "Asia/Shanghai"
    d = raised[0]
    assert (d.seq, d.at, d.raised_at, d.category) == (
        None,
        shanghai(4, 10, 3),
        shanghai(4, 10, 3),
        "food_safety",
    )


def test_a_reading_clears_the_gap() -> None:
    feed = last_reading_at(shanghai(4, 10, 0))
    [raised] = feed.silence(shanghai(4, 10, 5))
    feed.t = shanghai(4, 10, 20)
    decided = feed.temp(4.0)
    assert [(d.action, d.rule) for d in decided] == [("clear", GAP)]
    cleared = decided[0]
    assert cleared.risk_id == raised.risk_id
    assert cleared.evidence.duration_s == 20 * MINUTE
    assert cleared.evidence.extra == {"silence_s": 20 * MINUTE}
    assert GAP not in feed.state.risks
    assert feed.silence(shanghai(4, 10, 22)) == []


def test_one_reading_that_ends_a_gap_and_raises_an_excursion_decides_both_in_order() -> None:
    feed = last_reading_at(shanghai(4, 10, 0))
    twin = last_reading_at(shanghai(4, 10, 0))
    [gap_risk] = feed.silence(shanghai(4, 10, 5))
    twin.silence(shanghai(4, 10, 5))
    feed.t = twin.t = shanghai(4, 10, 20)

    decided = feed.temp(20.0)
    assert [(d.action, d.rule) for d in decided] == [("clear", GAP), ("raise", EXCURSION)]
    assert [(d.seq, d.at) for d in decided] == [(2, shanghai(4, 10, 20))] * 2
    assert decided[0].risk_id == gap_risk.risk_id
    assert decided[1].risk_id not in (gap_risk.risk_id, decided[0].risk_id)

    # What a batch calls: the same decisions, appended after those of earlier readings.
    out = [gap_risk]
    evaluate_into(twin.state, twin.sample(temp_c=20.0), twin.ctx, out)
    assert out == [gap_risk, *decided]
    assert twin.state == feed.state


def test_silence_outside_opening_hours_is_not_a_gap() -> None:
    feed = last_reading_at(shanghai(4, 19, 30))  # after closing (19:00)
    assert feed.silence(shanghai(4, 23, 0)) == []
    assert feed.silence(shanghai(5, 5, 59)) == []
    assert feed.silence(shanghai(5, 6, 2)) == []
    assert [d.severity for d in feed.silence(shanghai(5, 6, 3))] == ["minor"]


def test_only_opening_hours_count_towards_the_silence() -> None:
    feed = last_reading_at(shanghai(4, 18, 59))
    assert feed.silence(shanghai(4, 19, 30)) == []  # 1 min of opening hours
    assert feed.silence(shanghai(5, 6, 1)) == []  # 1 + 1
    assert [d.severity for d in feed.silence(shanghai(5, 6, 2))] == ["minor"]

    overnight = last_reading_at(shanghai(4, 18, 30))
    assert [d.severity for d in overnight.silence(shanghai(4, 19, 0))] == ["minor"]
    assert overnight.silence(shanghai(5, 6, 29)) == []  # 30 + 29 min
    assert [d.action for d in overnight.silence(shanghai(5, 6, 30))] == ["escalate"]


def test_a_late_check_raises_straight_at_major() -> None:
    feed = last_reading_at(shanghai(4, 8, 0))
    assert [(d.action, d.severity) for d in feed.silence(shanghai(4, 12, 0))] == [
        ("raise", "major")
    ]


def test_the_gap_scales_with_the_reporting_interval() -> None:
    feed = Feed(TerminalContext("cold_chain", profile="chilled", interval_s=300))
    feed.t = shanghai(4, 10, 0)
    feed.temp(4.0)
    assert feed.silence(shanghai(4, 10, 14)) == []
    assert [d.severity for d in feed.silence(shanghai(4, 10, 15))] == ["minor"]


def test_checks_are_idempotent_and_ids_derive_from_the_last_reading() -> None:
    one = last_reading_at(shanghai(4, 10, 0))
    two = last_reading_at(shanghai(4, 10, 0))
    [a] = one.silence(shanghai(4, 10, 5))
    assert one.silence(shanghai(4, 10, 5)) == []
    [b] = two.silence(shanghai(4, 10, 7))  # another replica, a bit later
    assert a.risk_id == b.risk_id


def test_footfall_and_payment_terminals_are_not_checked() -> None:
    for kind in ("footfall", "payment"):
        state = TerminalState("trm_x", last_seq=1, last_ts=shanghai(4, 10, 0))
        assert check_silence(state, shanghai(4, 12, 0), TerminalContext(kind)) == []


def test_a_terminal_never_heard_of_is_not_checked() -> None:
    state = TerminalState("trm_new")
    assert check_silence(state, shanghai(4, 12, 0), TerminalContext("cold_chain")) == []


def test_a_replayed_history_is_not_silent_while_it_arrives() -> None:
    feed = cold()
    feed.seq += 1
    old = shanghai(1, 10, 0)  # event time days ago, received just now
    now = shanghai(4, 10, 0)
    sample = Sample(feed.seq, old, "cold_chain", temp_c=4.0, received_at=now)
    evaluate(feed.state, sample, feed.ctx)
    assert feed.silence(now + MINUTE) == []
    assert [d.severity for d in feed.silence(now + 3 * MINUTE)] == ["minor"]


def test_a_night_market_counts_silence_across_midnight() -> None:
    feed = last_reading_at(shanghai(4, 23, 50), opens="22:00", closes="06:00")
    assert [d.severity for d in feed.silence(shanghai(5, 0, 50))] == ["major"]
    day = last_reading_at(shanghai(5, 12, 0), opens="22:00", closes="06:00")
    assert day.silence(shanghai(5, 21, 59)) == []


def test_opening_hours_follow_the_markets_timezone() -> None:
    ctx = TerminalContext("cold_chain", timezone="Europe/Berlin", opens="08:00", closes="18:00")
    # 2026-05-04 06:00–07:00 UTC is 08:00–09:00 in Berlin (CEST, UTC+2).
    start = shanghai(4, 13, 0)  # 05:00 UTC
    assert open_seconds(start, start + 2 * HOUR, ctx) == pytest.approx(HOUR)
    always = TerminalContext("cold_chain", opens="00:00", closes="00:00")
    assert open_seconds(start, start + 30 * HOUR, always) == 30 * HOUR


def test_open_seconds_look_back_a_bounded_span() -> None:
    ctx = TerminalContext("cold_chain")
    end = shanghai(4, 19, 0)
    week = open_seconds(end - 7 * 86_400, end, ctx)
    assert week == 7 * 13 * HOUR
    assert open_seconds(end - 365 * 86_400, end, ctx) == 8 * 13 * HOUR
