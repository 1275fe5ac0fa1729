"""The temperature curve a cold-chain risk carries: downsampled, bounded, extremes kept."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.telemetry import EVIDENCE_READINGS_MAX, RiskEvidence
from services.telemetry.domain import CUMULATIVE, EXCURSION, TerminalContext, Thresholds
from services.telemetry.domain.trace import ColdTrace
from tests.unit.telemetry.series import MINUTE, Feed, cold

temps = st.lists(st.floats(min_value=-40, max_value=60, allow_nan=False), min_size=1, max_size=900)


@settings(max_examples=150, deadline=None)
@given(values=temps, max_points=st.integers(min_value=3, max_value=130))
def test_the_curve_is_bounded_in_time_order_and_keeps_the_extremes(
    values: list[float], max_points: int
) -> None:
    trace = ColdTrace()
    for i, v in enumerate(values):
        trace.add(1000.0 + 60 * i, v, max_points)
    points = list(trace.points())
    assert 1 <= len(points) <= max_points
    times = [t for t, _ in points]
    assert times == sorted(times) and len(set(times)) == len(times)
    kept = {v for _, v in points}
    assert max(values) in kept and min(values) in kept
    assert points[-1] == (1000.0 + 60 * (len(values) - 1), values[-1])  # where it is now
    assert trace.readings == len(values)
    # Every point is a real reading, at its own time.
    assert all(values[int((t - 1000.0) / 60)] == v for t, v in points)
    assert ColdTrace.from_dict(json.loads(json.dumps(trace.to_dict()))) == trace


def test_a_short_window_keeps_every_reading() -> None:
    trace = ColdTrace()
    for i in range(50):
        trace.add(float(i), float(i % 7))
    assert list(trace.points()) == [(float(i), float(i % 7)) for i in range(50)]
    assert trace.size == 1


def test_a_long_window_keeps_each_stretch_low_and_high() -> None:
    trace = ColdTrace()
    for i in range(1000):
        trace.add(float(i), 10.0 + (i % 4), max_points=20)
    points = list(trace.points())
    assert len(points) <= 20
    # Each bucket's low and high, nothing between; and the latest reading (999 % 4 = 3).
    assert {v for _, v in points[:-1]} == {10.0, 13.0}
    assert points[-1] == (999.0, 13.0)


def test_since_leads_with_the_point_before_the_window() -> None:
    trace = ColdTrace()
    for i in range(10):
        trace.add(float(i), float(i))
    assert trace.since(5.0) == [(4.0, 4.0), *[(float(i), float(i)) for i in range(5, 10)]]
    assert trace.since(0.0) == [(float(i), float(i)) for i in range(10)]


def test_the_bound_is_configurable_within_the_contract() -> None:
    assert Thresholds.from_dict({"cold_chain": {"trace_max_points": 40}})
    with pytest.raises(ValueError, match="trace_max_points"):
        Thresholds.from_dict({"cold_chain": {"trace_max_points": 2}})
    with pytest.raises(ValueError, match="trace_max_points"):
        Thresholds.from_dict({"cold_chain": {"trace_max_points": EVIDENCE_READINGS_MAX + 1}})


def test_an_excursion_carries_its_curve_from_raise_to_clear_then_the_state_forgets_it() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    assert feed.state.trace is None
    start = feed.t
    feed.hold(16, temp_c=10.0)
    feed.hold(40, temp_c=12.5)  # escalates with the degree-minutes
    feed.hold(15, temp_c=3.0)  # back in band: clears after 10 min
    events = [d for d in feed.decisions if d.rule == EXCURSION]
    assert [d.action for d in events] == ["raise", "escalate", "clear"]
    for d in events:
        wire = d.evidence.to_dict()
        curve = wire["readings"]
        RiskEvidence.model_validate(wire)  # the contract reads it
        assert len(curve) <= 120
        assert curve[0]["temp_c"] == 4.0  # the approach: the last reading in band
        assert curve[1]["ts"] == wire["first_ts"]
        assert curve[-1]["ts"] == wire["last_ts"]
        assert max(p["temp_c"] for p in curve) == wire["peak"]
    clear = events[-1].evidence.to_dict()["readings"]
    assert clear[-1]["temp_c"] == 3.0
    assert events[0].evidence.first_ts == start
    assert CUMULATIVE not in feed.state.risks  # 56 min above the limit in 24 h: not yet
    assert feed.state.trace is None


def test_the_curve_goes_on_while_a_cumulative_risk_is_open() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    for _ in range(6):
        feed.hold(12, temp_c=10.0)  # bursts under 15 min: no excursion risk
        feed.hold(10, temp_c=4.0)
    [raised] = [d for d in feed.decisions if d.rule == CUMULATIVE]
    wire = raised.evidence.to_dict()
    # The curve of the burst that tipped the total over the hour (earlier bursts, with nothing
    # open, kept none), led by the reading before it.
    curve = wire["readings"]
    assert curve[0]["temp_c"] == 4.0 and curve[-1]["ts"] == wire["last_ts"]
    assert max(p["temp_c"] for p in curve) == 10.0
    assert feed.state.trace is not None  # in band now, but the cumulative risk is open
    feed.hold(600, temp_c=4.0)
    assert len(list(feed.state.trace.points())) <= 120


def test_a_blip_that_raises_nothing_leaves_no_curve_behind() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    feed.hold(3, temp_c=9.0)
    assert feed.state.trace is not None
    feed.temp(4.0)
    assert feed.state.trace is None
    assert feed.decisions == []


def test_a_state_from_before_curves_loads_and_evidence_has_no_readings() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    feed.hold(16, temp_c=10.0)
    data = feed.state.to_dict()
    del data["trace"]
    reloaded = Feed(TerminalContext("cold_chain", profile="chilled", interval_s=60), t=feed.t)
    reloaded.state = type(feed.state).from_dict(data)
    reloaded.seq = feed.seq
    reloaded.step = MINUTE
    reloaded.hold(60, temp_c=12.0)
    escalated = [d for d in reloaded.decisions if d.action == "escalate"]
    assert escalated
    curve = escalated[0].evidence.to_dict()["readings"]
    # From the reload on, led by the reading before it.
    assert curve[0]["temp_c"] == 10.0 and all(p["temp_c"] == 12.0 for p in curve[1:])


def test_the_contract_bounds_the_curve() -> None:
    base = {
        "rule": "cold_chain_excursion",
        "thresholds": {},
        "first_ts": "2026-05-04T02:00:00Z",
        "last_ts": "2026-05-04T03:00:00Z",
        "peak": 10.0,
        "duration_s": 60.0,
        "degree_minutes": 1.0,
        "readings_count": 1,
    }
    point = {"ts": "2026-05-04T02:00:00Z", "temp_c": 10.0}
    assert RiskEvidence.model_validate(base).readings is None  # optional: older events
    RiskEvidence.model_validate(base | {"readings": [point] * EVIDENCE_READINGS_MAX})
    with pytest.raises(ValidationError):
        RiskEvidence.model_validate(base | {"readings": [point] * (EVIDENCE_READINGS_MAX + 1)})
    with pytest.raises(ValidationError):
        RiskEvidence.model_validate(base | {"readings": [{"ts": "x", "temp_c": 1.0}]})
