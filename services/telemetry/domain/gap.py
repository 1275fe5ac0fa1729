"""Monitoring gap: a cold-chain sensor silent for 3 × its interval of the market's opening hours.

Silence is the one rule on the clock, not on event time: `check_silence(state, now, ctx)` runs on
a timer. It counts only seconds inside the opening hours (in the market's timezone) since the
terminal was last heard of, so a sensor that went quiet at 18:59 is not a gap at 19:05 after
closing, but is one a few minutes after opening the next morning; `major` after an hour of
opening-hours silence. The next reading clears the risk (in `evaluate`). A terminal never heard
of is not checked: it has no silence to measure from.

Silence counts only while the service's feed of the terminal's readings works: the caller hands
in `feed_since`, the instant since which its consumer has fetched the partition the terminal's
readings come through (`TerminalState.partition`) and kept up without a break
(services/runtime/feed_health.py), and silence is measured from the later of that and the last
time the terminal was heard of. A terminal's readings cannot reach the service while the broker
is away or their partition is stopped, so afterwards every terminal behind it gets a full window
to be heard from again, and an open gap does not grow towards `major` over time in which nothing
could have been heard. The caller does not check a terminal at all while that feed is broken, nor
one whose partition another process holds (docs/rules.md, "monitoring gap").
"""

from __future__ import annotations

from services.telemetry.domain.clock import open_seconds
from services.telemetry.domain.config import TerminalContext
from services.telemetry.domain.decisions import GAP, MAJOR, MINOR, Decision, Evidence
from services.telemetry.domain.state import OpenRisk, TerminalState
from services.telemetry.domain.transitions import Emit


def gap_after_s(ctx: TerminalContext) -> float:
    return ctx.thresholds.gap.silent_intervals * ctx.reporting_interval_s


def check_gap(
    state: TerminalState,
    now: float,
    ctx: TerminalContext,
    out: list[Decision],
    feed_since: float | None = None,
) -> None:
    cfg = ctx.thresholds.gap
    since = state.silent_since
    if since is None or ctx.kind not in cfg.kinds:
        return
    risk = state.risks.get(GAP)
    threshold = gap_after_s(ctx)
    # The silence that counts: none of it before the feed last came back (module docstring).
    counted = since if feed_since is None else max(since, feed_since)
    # Opening-hours silence never exceeds wall-clock silence: most checks end here, cheaply.
    if risk is None and now - counted < threshold:
        return
    if risk is not None and risk.severity >= MAJOR:
        return
    silent = open_seconds(counted, now, ctx)
    if silent >= cfg.major_after_s:
        severity = MAJOR
    elif silent >= threshold:
        severity = MINOR
    else:
        return
    # A risk raised on the clock takes its id from the last reading heard, and its evidence
    # the silence since then: what the terminal last said is a fact, the outage aside.
    emit = Emit(state, ctx, out, now, None, state.last_seq)
    if risk is None:
        emit.raise_(GAP, severity, since, gap_evidence)
    elif severity > risk.severity:
        emit.escalate(GAP, risk, severity, gap_evidence)


def resume(
    state: TerminalState,
    risk: OpenRisk,
    heard_at: float,
    ts: float,
    seq: int,
    ctx: TerminalContext,
    out: list[Decision],
) -> None:
    """Reading `seq` at event time `ts` arrived (heard at `heard_at` on the clock): the gap is
    over."""

    def evidence(
        state: TerminalState, risk: OpenRisk | None, at: float, ctx: TerminalContext
    ) -> Evidence:
        return gap_evidence(state, risk, at, ctx, until=heard_at)

    Emit(state, ctx, out, ts, seq).clear(GAP, risk, evidence)


def gap_evidence(
    state: TerminalState,
    risk: OpenRisk | None,
    at: float,
    ctx: TerminalContext,
    until: float | None = None,
) -> Evidence:
    cfg = ctx.thresholds.gap
    assert risk is not None
    end = at if until is None else until
    return Evidence(
        rule=GAP,
        thresholds={
            "interval_s": ctx.reporting_interval_s,
            "silent_intervals": cfg.silent_intervals,
            "gap_after_s": gap_after_s(ctx),
            "major_after_s": cfg.major_after_s,
            "opens": ctx.opens,
            "closes": ctx.closes,
            "timezone": ctx.timezone,
        },
        first_ts=risk.since,
        last_ts=max(end, risk.since),
        peak=None,
        duration_s=open_seconds(risk.since, end, ctx),
        degree_minutes=None,
        readings_count=0,
        extra={"silence_s": max(0.0, end - risk.since)},
    )
