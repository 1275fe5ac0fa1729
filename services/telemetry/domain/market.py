"""Market-order rules: crowding from footfall, transaction anomalies from payment terminals.

Crowding compares the occupancy a footfall counter reports with its market's registered capacity.
The counter's `occupancy` is taken as the market's (the counting system's total); a market whose
gates each count only their own share gets a capacity share per terminal in its context.

Transactions compare a payment terminal's count per interval with a robust baseline: the median
and MAD (median absolute deviation, unscaled) of the same local hour-of-week in each of the last
`min_weeks` weeks when all of them have samples, else of the last 7 days, all hours mixed, once
that holds `min_recent_samples`; with neither, counts are not judged (warm-up). Refunds above
`refund_share` of the payments (and at least `refund_min` of them) are anomalous on their own.
"""

from __future__ import annotations

from typing import Any

from services.telemetry.domain.clock import local_seconds, week_and_slot
from services.telemetry.domain.config import HOUR, TerminalContext, named
from services.telemetry.domain.decisions import (
    CROWDING,
    MAJOR,
    MINOR,
    TRANSACTIONS,
    WARNING,
    Decision,
    Evidence,
)
from services.telemetry.domain.state import CrowdWindow, OpenRisk, TerminalState, TxWindow
from services.telemetry.domain.transitions import Emit

HOUR_OF_WEEK = "hour_of_week"
LAST_7_DAYS = "last_7_days"

# The thresholds a risk's evidence shows, in this order.
CROWDING_SHOWN = ("raise_ratio", "raise_after_s", "major_ratio", "clear_ratio", "clear_hold_s")
TRANSACTIONS_SHOWN = (
    "mad_multiplier",
    "mad_floor",
    "min_weeks",
    "recent_window_s",
    "min_recent_samples",
    "minor_after_intervals",
    "clear_after_intervals",
    "refund_share",
    "refund_min",
)

# -- crowding ------------------------------------------------------------------------------------


def evaluate_crowding(
    state: TerminalState,
    ts: float,
    occupancy: int,
    ctx: TerminalContext,
    seq: int,
    out: list[Decision],
) -> None:
    capacity = ctx.capacity
    if not capacity or capacity <= 0:
        return
    cfg = ctx.thresholds.crowding
    w = state.crowd
    if w is None:
        w = state.crowd = CrowdWindow()
    ratio = occupancy / capacity
    risk = state.risks.get(CROWDING)
    if ratio > cfg.raise_ratio:
        w.past(ts, occupancy)
        assert w.run is not None and w.first is not None and w.peak is not None  # set by past()
        severity = MAJOR if w.peak / capacity >= cfg.major_ratio else MINOR
        if risk is None:
            if ts - w.run >= cfg.raise_after_s:
                Emit(state, ctx, out, ts, seq).raise_(
                    CROWDING, severity, w.first, crowding_evidence
                )
        elif severity > risk.severity:
            Emit(state, ctx, out, ts, seq).escalate(CROWDING, risk, severity, crowding_evidence)
        return
    w.run = None
    if risk is None:
        if w.first is not None:
            w.end_episode()
        return
    if w.calm_held(ts, ratio <= cfg.clear_ratio, cfg.clear_hold_s):
        Emit(state, ctx, out, ts, seq).clear(CROWDING, risk, crowding_evidence)
        w.end_episode()


def crowding_evidence(
    state: TerminalState, risk: OpenRisk | None, at: float, ctx: TerminalContext
) -> Evidence:
    cfg = ctx.thresholds.crowding
    w = state.crowd
    assert w is not None and w.first is not None and w.last is not None and w.peak is not None
    capacity = ctx.capacity or 1
    return Evidence(
        rule=CROWDING,
        thresholds={
            "capacity": ctx.capacity,
            **named(cfg, *CROWDING_SHOWN),
        },
        first_ts=w.first,
        last_ts=at,
        peak=float(w.peak),
        duration_s=w.last - w.first,
        degree_minutes=None,
        readings_count=w.n,
        extra={"capacity": ctx.capacity, "peak_ratio": round(w.peak / capacity, 4)},
    )


# -- transactions --------------------------------------------------------------------------------


def median_and_mad(values: list[int]) -> tuple[float, float]:
    """Median and unscaled median absolute deviation; sorts `values` in place."""
    values.sort()
    n = len(values)
    mid = n // 2
    median = float(values[mid]) if n % 2 else (values[mid - 1] + values[mid]) / 2.0
    deviations = sorted([abs(v - median) for v in values])
    mad = deviations[mid] if n % 2 else (deviations[mid - 1] + deviations[mid]) / 2.0
    return median, mad


def _baseline(
    w: TxWindow, ts: float, week: int, slot: int, ctx: TerminalContext
) -> tuple[str, list[int]] | None:
    cfg = ctx.thresholds.transactions
    groups = w.slots.get(slot)
    if groups:
        oldest = week - cfg.min_weeks
        past = [g for g in groups if oldest <= g[0] < week]
        if len(past) >= cfg.min_weeks:
            return HOUR_OF_WEEK, [v for g in past for v in g[1:]]
    recent = w.recent
    cutoff = ts - cfg.recent_window_s
    while recent and recent[0][0] < cutoff:
        recent.popleft()
    if recent and len(recent) >= cfg.min_recent_samples:
        return LAST_7_DAYS, [v for _, v in recent]
    return None


def _admit(
    w: TxWindow, ts: float, local: float, week: int, slot: int, count: int, ctx: TerminalContext
) -> None:
    cfg = ctx.thresholds.transactions
    slot_bucket = int(local // (HOUR / cfg.samples_per_slot_hour))
    if slot_bucket != w.slot_bucket:
        w.slot_bucket = slot_bucket
        groups = w.slots.get(slot)
        if groups is None:
            w.slots[slot] = [[week, count]]
        elif groups[-1][0] == week:
            if len(groups[-1]) <= cfg.samples_per_slot_hour:
                groups[-1].append(count)
        else:
            oldest = week - cfg.min_weeks
            groups[:] = [g for g in groups if g[0] >= oldest]
            groups.append([week, count])
    recent_bucket = int(ts // (HOUR / cfg.recent_samples_per_hour))
    if recent_bucket != w.recent_bucket:
        w.recent_bucket = recent_bucket
        w.recent.append((ts, count))
        bound = int(cfg.recent_window_s / HOUR * cfg.recent_samples_per_hour) + 1
        while len(w.recent) > bound:
            w.recent.popleft()


def evaluate_transactions(
    state: TerminalState,
    ts: float,
    count: int,
    refunds: int,
    interval_s: float,
    ctx: TerminalContext,
    seq: int,
    out: list[Decision],
) -> None:
    cfg = ctx.thresholds.transactions
    w = state.tx
    if w is None:
        w = state.tx = TxWindow()
    local = local_seconds(ts, ctx.timezone)
    week, slot = week_and_slot(local)

    signals: list[str] = []
    baseline: list[Any] | None = None
    found = _baseline(w, ts, week, slot, ctx)
    if found is not None:
        source, values = found
        median, mad = median_and_mad(values)
        allowed = cfg.mad_multiplier * max(mad, cfg.mad_floor)
        if count > median + allowed:
            signals.append("count_high")
        elif cfg.detect_low and count < median - allowed:
            signals.append("count_low")
        baseline = [source, median, mad, len(values)]
    if refunds >= cfg.refund_min and refunds > cfg.refund_share * count:
        signals.append("refund_share")
    # Judged first, then admitted: a reading is never part of the baseline it is judged by.
    _admit(w, ts, local, week, slot, count, ctx)

    risk = state.risks.get(TRANSACTIONS)
    if signals:
        w.streak += 1
        w.calm = 0
        w.note(ts, count)
        assert w.first is not None  # set by note()
        for signal in signals:
            if signal not in w.signals:
                w.signals.append(signal)
        if count and "refund_share" in signals:
            share = refunds / count
            if w.share is None or share > w.share:
                w.share = share
        if baseline is not None:
            w.baseline = baseline
        w.interval_s = interval_s
        severity = MINOR if w.streak >= cfg.minor_after_intervals else WARNING
        if risk is None:
            emit = Emit(state, ctx, out, ts, seq)
            emit.raise_(TRANSACTIONS, severity, w.first, transactions_evidence)
        elif severity > risk.severity:
            emit = Emit(state, ctx, out, ts, seq)
            emit.escalate(TRANSACTIONS, risk, severity, transactions_evidence)
        return
    w.streak = 0
    if risk is None:
        if w.first is not None:
            w.end_episode()
        return
    w.calm += 1
    if w.calm >= cfg.clear_after_intervals:
        Emit(state, ctx, out, ts, seq).clear(TRANSACTIONS, risk, transactions_evidence)
        w.end_episode()


def transactions_evidence(
    state: TerminalState, risk: OpenRisk | None, at: float, ctx: TerminalContext
) -> Evidence:
    cfg = ctx.thresholds.transactions
    w = state.tx
    assert w is not None and w.first is not None and w.last is not None
    extra: dict[str, Any] = {"signals": list(w.signals)}
    if w.baseline is not None:
        source, median, mad, samples = w.baseline
        extra["baseline"] = {"source": source, "median": median, "mad": mad, "samples": samples}
    if w.share is not None:
        extra["refund_share"] = round(w.share, 4)
    return Evidence(
        rule=TRANSACTIONS,
        thresholds=named(cfg, *TRANSACTIONS_SHOWN),
        first_ts=w.first,
        last_ts=at,
        peak=None if w.peak is None else float(w.peak),
        # Each reading covers the interval that ends at its ts.
        duration_s=w.last - w.first + w.interval_s,
        degree_minutes=None,
        readings_count=w.n,
        extra=extra,
    )
