"""Per-terminal state: JSON round trip, continuing after it, and bounded size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.telemetry.domain import (
    EXCURSION,
    TRANSACTIONS,
    Decision,
    Sample,
    TerminalContext,
    TerminalState,
    check_silence,
    evaluate,
    open_risks,
)
from tests.unit.telemetry.series import MINUTE, WEEK, Feed, cold, shanghai

T0 = shanghai(4, 8, 0)


def through_json(state: TerminalState) -> TerminalState:
    # allow_nan=False: Postgres jsonb has no NaN or infinity.
    text = json.dumps(state.to_dict(), allow_nan=False)
    return TerminalState.from_dict(json.loads(text))


def wire(decisions: list[Decision]) -> list[tuple[Any, ...]]:
    return [
        (
            d.action,
            d.risk_id,
            d.rule,
            d.severity,
            d.previous_severity,
            d.raised_at,
            d.at,
            d.seq,
            d.evidence.to_dict(),
        )
        for d in decisions
    ]


Step = tuple[float, dict[str, Any], bool]


def replay(
    ctx: TerminalContext, steps: list[Step], split: int | None = None
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Feed `steps` (gap before the reading, its values, whether a silence check precedes it);
    with `split`, the state goes through JSON and back before step `split`."""
    state = TerminalState("trm_h")
    decisions: list[Decision] = []
    t = T0
    for index, (gap, values, check) in enumerate(steps):
        if index == split:
            state = through_json(state)
        if check:
            decisions += check_silence(state, t + gap / 2, ctx)
        t += gap
        decisions += evaluate(state, Sample(index + 1, t, ctx.kind, **values), ctx)
    return wire(decisions), state.to_dict()


def expand(runs: list[tuple[dict[str, Any], int, float, bool]]) -> list[Step]:
    return [(gap, values, check) for values, repeat, gap, check in runs for _ in range(repeat)]


TEMPERATURES = st.sampled_from([4.0, 6.5, 7.5, 7.9, 8.3, 10.0, 14.5, 21.0]) | st.floats(
    -10, 40, allow_nan=False
)
GAPS = st.sampled_from([15.0, 60.0, 61.5, 120.0, 600.0, 3600.0])
CHECKS = st.booleans()


def runs_of(values: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[Step]]:
    return st.lists(
        st.tuples(values, st.integers(1, 25), GAPS, CHECKS), min_size=1, max_size=14
    ).map(expand)


COLD = runs_of(TEMPERATURES.map(lambda v: {"temp_c": v}))
FOOTFALL = runs_of(st.integers(0, 1300).map(lambda n: {"entries": 3, "exits": 2, "occupancy": n}))
PAYMENT = runs_of(
    st.tuples(st.integers(0, 80), st.integers(0, 12)).map(
        lambda p: {"tx_count": p[0], "tx_amount": p[0] * 12.5, "refunds": p[1]}
    )
)
CONTEXTS = {
    "cold_chain": TerminalContext("cold_chain", profile="chilled", interval_s=60),
    "frozen": TerminalContext("cold_chain", profile="frozen", interval_s=60),
    "footfall": TerminalContext("footfall", capacity=1000, interval_s=60),
    "payment": TerminalContext("payment", interval_s=900),
}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), which=st.sampled_from(sorted(CONTEXTS)))
def test_a_json_round_trip_anywhere_changes_no_decision(which: str, data: st.DataObject) -> None:
    ctx = CONTEXTS[which]
    series = {"footfall": FOOTFALL, "payment": PAYMENT}.get(ctx.kind, COLD)
    steps = data.draw(series, label="steps")
    split = data.draw(st.integers(0, len(steps)), label="split")

    straight, final = replay(ctx, steps)
    resumed, final_resumed = replay(ctx, steps, split)

    assert resumed == straight
    assert final_resumed == final


def test_round_trip_in_the_middle_of_an_excursion_continues_it() -> None:
    whole = cold()
    whole.hold(10, temp_c=4.0)
    whole.hold(100, temp_c=10.0)
    whole.hold(15, temp_c=5.0)

    split = cold()
    split.hold(10, temp_c=4.0)
    split.hold(20, temp_c=10.0)  # raised at 15 min, degree-minutes growing
    assert split.actions(EXCURSION) == [("raise", "minor")]
    restored = through_json(split.state)
    assert restored == split.state
    split.state = restored
    split.hold(79, temp_c=10.0)
    split.hold(15, temp_c=5.0)

    assert wire(split.decisions) == wire(whole.decisions)
    assert [d.action for d in whole.decisions if d.rule == EXCURSION] == [
        "raise",
        "escalate",
        "clear",
    ]


VALUES: dict[str, dict[str, Any]] = {
    "cold_chain": {"temp_c": 11.0},
    "frozen": {"temp_c": -10.0},
    "footfall": {"entries": 1, "exits": 0, "occupancy": 990},
    "payment": {"tx_count": 5, "tx_amount": 60.0, "refunds": 4},
}


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_to_dict_is_plain_json_and_round_trips_equal(kind: str) -> None:
    ctx = CONTEXTS[kind]
    feed = Feed(ctx, t=T0)
    values: dict[str, Any] = VALUES["frozen" if kind == "frozen" else ctx.kind]
    feed.hold(30, **values)
    check_silence(feed.state, feed.t + 3600, ctx)
    assert feed.state.risks  # something is open
    assert through_json(feed.state) == feed.state


def test_unknown_state_versions_are_refused() -> None:
    data = TerminalState("trm_1").to_dict()
    with pytest.raises(ValueError, match="version"):
        TerminalState.from_dict({**data, "v": 99})


def test_cumulative_intervals_stay_bounded_under_a_day_of_flapping() -> None:
    feed = cold()
    feed.temps(8.2 if i % 2 else 7.8 for i in range(24 * 60))
    cum = feed.state.cumulative
    assert cum is not None
    assert len(cum.intervals) <= feed.ctx.thresholds.cold_chain.cumulative_max_intervals
    assert len(json.dumps(feed.state.to_dict())) < 8_000


def test_a_cold_chain_state_is_small() -> None:
    feed = cold()
    feed.hold(60, temp_c=4.0)
    assert len(json.dumps(feed.state.to_dict())) < 1_000
    assert feed.state.trace is None  # in band, nothing open: no curve kept
    feed.hold(20, temp_c=10.0)
    data = feed.state.to_dict()
    assert "trace" in data  # the curve of the open risk's window
    del data["trace"]
    assert len(json.dumps(data)) < 1_000


def test_the_curve_of_an_open_risk_stays_bounded_and_goes_with_the_risk() -> None:
    feed = cold()
    feed.hold(10, temp_c=4.0)
    feed.temps(9.0 + (i % 10) * 0.3 for i in range(24 * 60))  # a day above the limit
    trace = feed.state.trace
    assert trace is not None
    assert len(list(trace.points())) <= feed.ctx.thresholds.cold_chain.trace_max_points
    assert len(json.dumps(feed.state.to_dict())) < 8_000
    assert TerminalState.from_dict(feed.state.to_dict()) == feed.state
    feed.hold(30, temp_c=3.0)  # back in band for 30 min: the excursion clears
    assert "cold_chain_excursion" not in feed.state.risks
    if "cold_chain_cumulative" not in feed.state.risks:
        assert feed.state.trace is None


def test_a_payment_state_is_bounded_after_weeks_of_minute_readings() -> None:
    feed = Feed(TerminalContext("payment", interval_s=60), t=T0)
    end = T0 + 6 * WEEK
    while feed.t < end:
        feed.send(tx_count=int(feed.t // MINUTE) % 7, tx_amount=10.0, refunds=0)
    size = len(json.dumps(feed.state.to_dict()))
    # 168 slots × 5 weeks × 4 samples, plus 7 days × 48 recent samples, as compact JSON.
    assert size < 40_000


def test_open_risks_reports_current_evidence_without_events() -> None:
    feed = cold()
    feed.hold(40, temp_c=10.0)
    [update] = open_risks(feed.state, feed.ctx)
    assert update.action == "update"
    assert update.event_type is None
    assert update.rule == EXCURSION
    assert update.severity == "major"
    assert update.evidence.degree_minutes == pytest.approx(80)
    assert update.at == feed.state.last_ts
    assert open_risks(TerminalState("trm_2"), feed.ctx) == []


def test_a_transaction_risk_calming_down_keeps_its_count_of_calm_intervals() -> None:
    """A refund anomaly that has begun to calm clears after the same readings whether or not its
    state went through JSON halfway: the calm intervals already counted are kept, not restarted."""
    ctx = CONTEXTS["payment"]
    refunds = {"tx_count": 10, "tx_amount": 120.0, "refunds": 6}
    calm = {"tx_count": 10, "tx_amount": 120.0, "refunds": 0}

    def anomaly_then_calm(round_trip_after: int | None) -> Feed:
        feed = Feed(ctx, t=T0, step=15 * MINUTE)
        for _ in range(3):
            feed.send(**refunds)
        for index in range(ctx.thresholds.transactions.clear_after_intervals):
            if index == round_trip_after:
                assert feed.state.tx is not None and feed.state.tx.calm == index
                feed.state = through_json(feed.state)
            feed.send(**calm)
        return feed

    straight = anomaly_then_calm(None)
    resumed = anomaly_then_calm(2)

    assert straight.actions(TRANSACTIONS)[0] == ("raise", "warning")
    assert straight.actions(TRANSACTIONS)[-1][0] == "clear"
    assert wire(resumed.decisions) == wire(straight.decisions)
