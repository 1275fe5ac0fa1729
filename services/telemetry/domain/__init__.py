"""Pure telemetry rules: per-terminal state, readings in, risk decisions out. No I/O.

ctx = TerminalContext(kind="cold_chain", profile="chilled", interval_s=60)
state = TerminalState("trm_1")              # or TerminalState.from_dict(row["state"])
for reading in batch:                       # verified, validated, in seq order
    decisions += evaluate(state, Sample.from_reading(reading), ctx)
decisions += check_silence(state, now, ctx) # on a timer, for cold-chain terminals
decisions += retire(state, now, ctx)        # on the timer too, once it is retired
row["state"] = state.to_dict()              # once per batch, with the decisions' events
"""

from services.telemetry.domain.config import (
    DEFAULT_THRESHOLDS,
    ColdChainThresholds,
    CrowdingThresholds,
    GapThresholds,
    TerminalContext,
    Thresholds,
    TransactionThresholds,
)
from services.telemetry.domain.decisions import (
    CROWDING,
    CUMULATIVE,
    EVENT_TYPES,
    EXCURSION,
    GAP,
    TRANSACTIONS,
    Action,
    Decision,
    Evidence,
    risk_event_data,
    risk_id,
)
from services.telemetry.domain.engine import (
    check_silence,
    evaluate,
    evaluate_into,
    open_risks,
    retire,
)
from services.telemetry.domain.state import STATE_VERSION, LastReport, Sample, TerminalState

__all__ = [
    "CROWDING",
    "CUMULATIVE",
    "DEFAULT_THRESHOLDS",
    "EVENT_TYPES",
    "EXCURSION",
    "GAP",
    "STATE_VERSION",
    "TRANSACTIONS",
    "Action",
    "ColdChainThresholds",
    "CrowdingThresholds",
    "Decision",
    "Evidence",
    "GapThresholds",
    "LastReport",
    "Sample",
    "TerminalContext",
    "TerminalState",
    "Thresholds",
    "TransactionThresholds",
    "check_silence",
    "evaluate",
    "evaluate_into",
    "open_risks",
    "retire",
    "risk_event_data",
    "risk_id",
]
