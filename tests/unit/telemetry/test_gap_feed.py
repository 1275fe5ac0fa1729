"""Monitoring gap across a break in the readings' feed (docs/rules.md, "monitoring gap"): silence
counts from the later of the terminal's last reading and the instant the feed last started to
work, so readings that could not reach the service (a broker frozen for minutes) are no silence
of their terminals, and a terminal that stays silent once they can is still caught."""

from __future__ import annotations

import pytest

from services.telemetry.domain import GAP, TerminalContext, TerminalState, check_silence
from tests.unit.telemetry.series import HOUR, MINUTE, Feed, cold, shanghai

# The alert rehearsal's outage: the broker frozen from 10:01 to 10:07, the feed working again
# at 10:07. Default interval 60 s: a gap is 3 minutes of silence.
LAST_READING = shanghai(4, 10, 0)
BACK = shanghai(4, 10, 7)


def heard_at(ts: float) -> Feed:
    feed = cold()
    feed.t = ts
    feed.temp(4.0)
    return feed


def test_silence_while_the_feed_was_broken_raises_nothing() -> None:
    feed = heard_at(LAST_READING)
    # Without the feed's break, seven minutes of silence are a gap:
    assert [d.action for d in heard_at(LAST_READING).silence(BACK)] == ["raise"]
    # With it, none of those seven minutes count: the terminal has had no chance to be heard.
    assert feed.silence(BACK, feed_since=BACK) == []
    assert feed.silence(BACK + 2 * MINUTE + 59, feed_since=BACK) == []
    assert GAP not in feed.state.risks


def test_a_terminal_heard_within_the_window_after_the_feed_came_back_raises_nothing() -> None:
    feed = heard_at(LAST_READING)
    assert feed.silence(BACK + 2 * MINUTE, feed_since=BACK) == []
    feed.t = BACK + 2 * MINUTE + 30
    assert feed.temp(4.0) == []
    for minute in range(3, 6):
        assert feed.silence(BACK + minute * MINUTE, feed_since=BACK) == []
    assert feed.decisions == []


def test_a_terminal_still_silent_a_full_window_after_the_feed_came_back_raises_once() -> None:
    feed = heard_at(LAST_READING)
    raised = feed.silence(BACK + 3 * MINUTE, feed_since=BACK)
    assert [(d.action, d.severity) for d in raised] == [("raise", "minor")]
    assert feed.silence(BACK + 4 * MINUTE, feed_since=BACK) == []
    assert feed.silence(BACK + 30 * MINUTE, feed_since=BACK) == []
    # Its evidence still says when the terminal was last heard of: that is a fact.
    evidence = raised[0].evidence
    assert evidence.first_ts == LAST_READING
    assert evidence.last_ts == BACK + 3 * MINUTE
    assert raised[0].at == BACK + 3 * MINUTE


def test_an_open_gap_grows_to_major_only_over_silence_while_the_feed_worked() -> None:
    feed = heard_at(LAST_READING)
    [raised] = feed.silence(shanghai(4, 10, 3))  # no break known: raised after 3 minutes
    assert raised.severity == "minor"
    # The feed broke at 10:30 and worked again from 10:40: the hour counts from 10:40.
    since = shanghai(4, 10, 40)
    assert feed.silence(shanghai(4, 11, 0), feed_since=since) == []
    assert feed.silence(shanghai(4, 11, 39), feed_since=since) == []
    [escalated] = feed.silence(shanghai(4, 11, 40), feed_since=since)
    assert (escalated.action, escalated.severity, escalated.risk_id) == (
        "escalate",
        "major",
        raised.risk_id,
    )


@pytest.mark.parametrize("feed_since", [None, LAST_READING - HOUR, LAST_READING])
def test_a_feed_working_since_before_the_last_reading_changes_nothing(
    feed_since: float | None,
) -> None:
    feed = heard_at(LAST_READING)
    assert feed.silence(shanghai(4, 10, 2) + 59, feed_since) == []
    assert [d.severity for d in feed.silence(shanghai(4, 10, 3), feed_since)] == ["minor"]
    assert [d.severity for d in feed.silence(shanghai(4, 11, 0), feed_since)] == ["major"]


def test_the_window_after_the_feed_came_back_counts_opening_hours_only() -> None:
    # Heard at 18:00; the feed worked again at 05:00 the next morning, before the 06:00 opening.
    feed = heard_at(shanghai(4, 18, 0))
    since = shanghai(5, 5, 0)
    assert feed.silence(shanghai(5, 6, 2), feed_since=since) == []
    assert [d.severity for d in feed.silence(shanghai(5, 6, 3), feed_since=since)] == ["minor"]


def test_a_feed_that_came_back_after_the_check_counts_no_silence() -> None:
    state = TerminalState("trm_1", last_seq=1, last_ts=LAST_READING)
    ctx = TerminalContext("cold_chain")
    assert check_silence(state, BACK, ctx, feed_since=BACK + 1) == []
