"""Cold-chain rules: excursion (duration, instant hard limit, degree-minutes) and cumulative time.

Both integrate the temperature between consecutive readings as a straight line (trapezoid), and
where a segment crosses the limit they take the crossing point on that line: degree-minutes are
∫ max(0, temp − limit) dt in °C·min, time out of range is the time that line spends above the
limit. The 15-minute rule is counted from the first *reading* above the limit, which an
inspector can find in the data, not from an interpolated crossing.
"""

from __future__ import annotations

from typing import Any

from services.telemetry.domain.clock import rfc3339
from services.telemetry.domain.config import TerminalContext
from services.telemetry.domain.decisions import (
    CRITICAL,
    CUMULATIVE,
    EXCURSION,
    MAJOR,
    MINOR,
    Decision,
    Evidence,
)
from services.telemetry.domain.state import (
    ColdWindow,
    CumulativeWindow,
    OpenRisk,
    TerminalState,
)
from services.telemetry.domain.trace import ColdTrace
from services.telemetry.domain.transitions import Emit


def segment_above(t0: float, a: float, t1: float, b: float) -> tuple[float, float, float]:
    """`(start, end, area)` of the part of the line from (t0, a) to (t1, b) above zero, where
    a and b are excesses over the limit and at least one is positive; area in °C·s."""
    dt = t1 - t0
    if a >= 0 and b >= 0:
        return t0, t1, (a + b) * 0.5 * dt
    if a > 0:  # crossing down at the fraction a / (a - b) of the segment
        cross = t0 + dt * a / (a - b)
        return t0, cross, a * 0.5 * (cross - t0)
    cross = t1 - dt * b / (b - a)  # crossing up
    return cross, t1, b * 0.5 * (t1 - cross)


def excursion_severity(ctx: TerminalContext, w: ColdWindow, excess: float) -> int:
    cfg = ctx.thresholds.cold_chain
    peak_excess = excess if w.peak is None else max(excess, w.peak - ctx.limit_c)
    if w.dm >= cfg.critical_degree_minutes or peak_excess >= cfg.critical_excess_c:
        return CRITICAL
    if w.dm >= cfg.major_degree_minutes or peak_excess >= cfg.instant_excess_c:
        return MAJOR
    return MINOR


def evaluate_cold_chain(
    state: TerminalState,
    ts: float,
    temp: float,
    ctx: TerminalContext,
    seq: int,
    out: list[Decision],
) -> None:
    cfg = ctx.thresholds.cold_chain
    limit = ctx.limit_c
    w = state.cold
    if w is None:
        w = state.cold = ColdWindow()
    excess = temp - limit
    prev_ts = state.last_ts
    prev_temp = state.last_temp
    state.last_temp = temp

    # The curve of the window: kept from the reading before the first one above the limit while
    # an episode runs or a cold-chain risk is open; in band with nothing open, no work at all.
    trace = state.trace
    if trace is None and excess > 0:
        trace = state.trace = ColdTrace()
        if prev_temp is not None and prev_ts is not None and prev_ts < ts:
            trace.add(prev_ts, prev_temp, cfg.trace_max_points)
    if trace is not None:
        trace.add(ts, temp, cfg.trace_max_points)

    # The segment from the previous reading: degree-minutes and time out of range.
    cum = state.cumulative
    grew = excess > 0
    if prev_temp is not None and prev_ts is not None and ts > prev_ts:
        before = prev_temp - limit
        if before > 0 or excess > 0:
            grew = True
            start, end, area = segment_above(prev_ts, before, ts, excess)
            if w.first is not None:
                w.dm += area / 60.0
                w.above_s += end - start
            if cum is None:
                cum = state.cumulative = CumulativeWindow()
            cum.add(start, end, area / 60.0, max(prev_temp, temp), cfg.cumulative_max_intervals)

    risk = state.risks.get(EXCURSION)
    if excess > 0:
        w.past(ts, temp)
        assert w.run is not None and w.first is not None  # set by past()
        if cum is None:
            cum = state.cumulative = CumulativeWindow()
        cum.count(ts, temp, cfg.cumulative_max_intervals)
        if risk is None:
            if excess >= cfg.instant_excess_c or ts - w.run >= cfg.raise_after_s:
                Emit(state, ctx, out, ts, seq).raise_(
                    EXCURSION, excursion_severity(ctx, w, excess), w.first, excursion_evidence
                )
        else:
            severity = excursion_severity(ctx, w, excess)
            if severity > risk.severity:
                Emit(state, ctx, out, ts, seq).escalate(
                    EXCURSION, risk, severity, excursion_evidence
                )
    else:
        w.run = None
        if risk is None:
            if w.first is not None:
                w.end_episode()
        else:
            # The dip's own segment may still have added degree-minutes.
            severity = excursion_severity(ctx, w, excess)
            if severity > risk.severity:
                Emit(state, ctx, out, ts, seq).escalate(
                    EXCURSION, risk, severity, excursion_evidence
                )
            if w.calm_held(ts, excess <= -cfg.clear_hysteresis_c, cfg.clear_hold_s):
                Emit(state, ctx, out, ts, seq).clear(EXCURSION, risk, excursion_evidence)
                w.end_episode()

    if cum is not None:
        _cumulative(state, cum, ts, grew, ctx, seq, out)
    if trace is not None and w.first is None:
        risks = state.risks
        if EXCURSION not in risks and CUMULATIVE not in risks:
            state.trace = None


def _cumulative(
    state: TerminalState,
    cum: CumulativeWindow,
    ts: float,
    grew: bool,
    ctx: TerminalContext,
    seq: int,
    out: list[Decision],
) -> None:
    cfg = ctx.thresholds.cold_chain
    cutoff = ts - cfg.cumulative_window_s
    intervals = cum.intervals
    risk = state.risks.get(CUMULATIVE)
    if not intervals:
        if risk is not None:
            Emit(state, ctx, out, ts, seq).clear(CUMULATIVE, risk, cumulative_evidence)
        return
    if intervals[0][1] <= cutoff:
        cum.expire(cutoff)
    if not grew and risk is None:
        return  # no time out of range added and nothing open: the total can only have fallen
    total = cum.total(cutoff)
    if risk is None:
        if total > cfg.cumulative_limit_s:
            since = max(intervals[0][0], cutoff)
            Emit(state, ctx, out, ts, seq).raise_(CUMULATIVE, MINOR, since, cumulative_evidence)
    elif total <= cfg.cumulative_limit_s - cfg.cumulative_clear_margin_s:
        Emit(state, ctx, out, ts, seq).clear(CUMULATIVE, risk, cumulative_evidence)


# -- evidence ------------------------------------------------------------------------------------


def _cold_thresholds(ctx: TerminalContext) -> dict[str, Any]:
    cfg = ctx.thresholds.cold_chain
    return {
        "profile": ctx.effective_profile,
        "limit_c": ctx.limit_c,
        "raise_after_s": cfg.raise_after_s,
        "instant_excess_c": cfg.instant_excess_c,
        "major_degree_minutes": cfg.major_degree_minutes,
        "critical_degree_minutes": cfg.critical_degree_minutes,
        "critical_excess_c": cfg.critical_excess_c,
        "clear_below_c": ctx.limit_c - cfg.clear_hysteresis_c,
        "clear_hold_s": cfg.clear_hold_s,
    }


def _readings(state: TerminalState, since: float) -> dict[str, Any]:
    """`{"readings": [{"ts", "temp_c"}...]}`: the curve from `since` (led by the reading before
    it), at most `trace_max_points`; empty when no trace is kept (a state from before traces)."""
    trace = state.trace
    if trace is None:
        return {}
    return {"readings": [{"ts": rfc3339(t), "temp_c": round(v, 3)} for t, v in trace.since(since)]}


def excursion_evidence(
    state: TerminalState, risk: OpenRisk | None, at: float, ctx: TerminalContext
) -> Evidence:
    w = state.cold
    assert w is not None and w.first is not None
    return Evidence(
        rule=EXCURSION,
        thresholds=_cold_thresholds(ctx),
        first_ts=w.first,
        last_ts=at,
        peak=w.peak,
        duration_s=w.above_s,
        degree_minutes=w.dm,
        readings_count=w.n,
        extra={"profile": ctx.effective_profile, **_readings(state, w.first)},
    )


def cumulative_evidence(
    state: TerminalState, risk: OpenRisk | None, at: float, ctx: TerminalContext
) -> Evidence:
    cfg = ctx.thresholds.cold_chain
    cum = state.cumulative
    intervals = cum.intervals if cum is not None else []
    cutoff = at - cfg.cumulative_window_s
    first = max(intervals[0][0], cutoff) if intervals else (risk.since if risk else at)
    peaks = [iv[2] for iv in intervals]
    return Evidence(
        rule=CUMULATIVE,
        thresholds={
            "profile": ctx.effective_profile,
            "limit_c": ctx.limit_c,
            "window_s": cfg.cumulative_window_s,
            "limit_s": cfg.cumulative_limit_s,
            "clear_at_or_below_s": cfg.cumulative_limit_s - cfg.cumulative_clear_margin_s,
        },
        first_ts=first,
        last_ts=at,
        peak=max(peaks) if peaks else None,
        duration_s=cum.total(cutoff) if cum is not None else 0.0,
        degree_minutes=sum(iv[3] for iv in intervals),
        readings_count=sum(iv[4] for iv in intervals),
        extra={"profile": ctx.effective_profile, **_readings(state, first)},
    )
