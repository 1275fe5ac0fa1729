"""The entry points: `evaluate` per reading, `check_silence` per clock tick, `open_risks`.

All three change the `TerminalState` they are given in place and return the decisions taken, in
order (`evaluate_into`, the batch's `evaluate`, appends them to a list it is given). The caller
persists the state with the decisions' events in one transaction (per batch): if that
transaction fails, it reloads the last persisted state and replays the batch, which gives the
same decisions with the same risk ids. Calls for one terminal must not interleave (the service
owns a terminal through its Kafka partition and runs its silence checks there too).
"""

from __future__ import annotations

from services.telemetry.domain import cold_chain, gap, market
from services.telemetry.domain.config import TerminalContext
from services.telemetry.domain.decisions import (
    CROWDING,
    CUMULATIVE,
    EXCURSION,
    GAP,
    TRANSACTIONS,
    Decision,
    severity_name,
)
from services.telemetry.domain.state import Sample, TerminalState
from services.telemetry.domain.transitions import Emit, EvidenceOf

_EVIDENCE: dict[str, EvidenceOf] = {
    EXCURSION: cold_chain.excursion_evidence,
    CUMULATIVE: cold_chain.cumulative_evidence,
    GAP: gap.gap_evidence,
    CROWDING: market.crowding_evidence,
    TRANSACTIONS: market.transactions_evidence,
}


def evaluate(state: TerminalState, sample: Sample, ctx: TerminalContext) -> list[Decision]:
    """Run the rules of the reading's kind on event time; mutates `state`.

    A reading whose seq is not above the last one seen is a replay and changes nothing (the
    service rejects those before, but a redelivered batch must be harmless here too). Event time
    never runs backwards for a terminal: a reading stamped before its predecessor counts at its
    predecessor's time.
    """
    out: list[Decision] = []
    evaluate_into(state, sample, ctx, out)
    return out


def evaluate_into(
    state: TerminalState, sample: Sample, ctx: TerminalContext, out: list[Decision]
) -> None:
    """`evaluate`, appending the decisions to `out`: a batch passes one list for all its
    readings, where a list per reading was a measurable share of the rules' time
    (bench/README.md, issue 20, point 2)."""
    seq = sample.seq
    if seq <= state.last_seq:
        return
    last_ts = state.last_ts
    ts = sample.ts if last_ts is None or sample.ts >= last_ts else last_ts

    heard_at = sample.received_at if sample.received_at is not None else ts
    if state.risks:
        open_gap = state.risks.get(GAP)
        if open_gap is not None:
            gap.resume(state, open_gap, heard_at, ts, seq, ctx, out)

    kind = sample.kind
    if kind == "cold_chain" and sample.temp_c is not None:
        cold_chain.evaluate_cold_chain(state, ts, sample.temp_c, ctx, seq, out)
    elif kind == "footfall" and sample.occupancy is not None:
        market.evaluate_crowding(state, ts, sample.occupancy, ctx, seq, out)
    elif kind == "payment" and sample.tx_count is not None:
        interval = sample.interval_s or ctx.reporting_interval_s
        refunds = sample.refunds or 0
        market.evaluate_transactions(state, ts, sample.tx_count, refunds, interval, ctx, seq, out)

    state.last_seq = seq
    state.last_ts = ts
    if state.last_seen is None or heard_at > state.last_seen:
        state.last_seen = heard_at


def check_silence(
    state: TerminalState, now: float, ctx: TerminalContext, feed_since: float | None = None
) -> list[Decision]:
    """The monitoring-gap rule, against the clock `now` (epoch seconds); mutates `state`.

    `feed_since`: since when the readings' feed has worked without a break; silence before it
    does not count (`gap`'s docstring). None: no break known, silence counts from the last
    reading. Cheap when the terminal reported recently, so it can run for every terminal every
    few seconds. Decisions carry `seq=None` and `at=now`.
    """
    out: list[Decision] = []
    gap.check_gap(state, now, ctx, out, feed_since)
    return out


def retire(state: TerminalState, now: float, ctx: TerminalContext) -> list[Decision]:
    """The terminal was retired (its merchant left its stall, or a clerk retired it): nothing it
    sends is judged any more, so a risk still open on it would never clear. Each one is cleared
    now, its evidence running to the terminal's last reading (a gap's to `now`); mutates
    `state`. Decisions carry `seq=None` and `at=now`."""
    out: list[Decision] = []
    emit = Emit(state, ctx, out, now, None, state.last_seq)
    for rule, risk in list(state.risks.items()):
        emit.clear(rule, risk, _EVIDENCE[rule])  # type: ignore[arg-type]
    return out


def open_risks(
    state: TerminalState, ctx: TerminalContext, now: float | None = None
) -> list[Decision]:
    """The open risks with their evidence as of now, as `update` decisions (no event).

    For the service to refresh what `GET /risks` shows once per batch, without an event per
    reading. Evidence runs to the last reading (to `now` for a monitoring gap, if given).
    """
    out: list[Decision] = []
    last = state.last_ts
    for rule, risk in state.risks.items():
        at = now if rule == GAP and now is not None else (last if last is not None else risk.since)
        out.append(
            Decision(
                "update",
                risk.risk_id,
                rule,  # type: ignore[arg-type]
                severity_name(risk.severity),
                None,
                risk.raised_at,
                at,
                None,
                _EVIDENCE[rule](state, risk, at, ctx),
            )
        )
    return out
