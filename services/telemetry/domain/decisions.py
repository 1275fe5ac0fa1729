"""What the rules decide: raise, escalate or clear a risk (or report an open one), with evidence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from contracts.telemetry import (
    CATEGORY_OF_RULE,
    RISK_CLEARED,
    RISK_ESCALATED,
    RISK_RAISED,
    SEVERITIES,
    RiskCleared,
    RiskEscalated,
    RiskRaised,
    RiskRule,
)
from services.telemetry.domain.clock import rfc3339

EXCURSION: Final = "cold_chain_excursion"
CUMULATIVE: Final = "cold_chain_cumulative"
GAP: Final = "monitoring_gap"
CROWDING: Final = "crowding"
TRANSACTIONS: Final = "transaction_anomaly"

# Severities as ranks inside the domain (cheap to compare); names only on the way out.
WARNING, MINOR, MAJOR, CRITICAL = range(4)

Action = Literal["raise", "escalate", "clear", "update"]
EVENT_TYPES: Final[dict[str, str]] = {
    "raise": RISK_RAISED,
    "escalate": RISK_ESCALATED,
    "clear": RISK_CLEARED,
}

# Fixed namespace: risk ids must come out the same on every replica and every replay.
RISK_NAMESPACE: Final = uuid.UUID("5b0e0c43-6a57-4d0e-9a55-1c1b7f1d2a90")


def risk_id(terminal_id: str, rule: str, seq: int) -> str:
    """The id of the risk `rule` raised on `terminal_id` at reading `seq`.

    Seq grows per terminal and a rule holds at most one open risk per terminal, so this names a
    risk uniquely, and a redelivered or replayed batch raises the same risk under the same id.
    """
    return str(uuid.uuid5(RISK_NAMESPACE, f"{terminal_id}|{rule}|{seq}"))


@dataclass(frozen=True, slots=True)
class Evidence:
    """The contract's `RiskEvidence` with times as epoch seconds; `to_dict()` is the wire form.

    Not a field dump (services/runtime/serial.py): the wire form writes the times as RFC 3339,
    rounds the measures and lifts `extra` to the top, and the domain's own `risk_event_data`
    needs it, where the shared serialisation may not be imported."""

    rule: str
    thresholds: dict[str, Any]
    first_ts: float
    last_ts: float
    peak: float | None
    duration_s: float
    degree_minutes: float | None
    readings_count: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, shaped as `contracts.telemetry.RiskEvidence`."""
        return {
            "rule": self.rule,
            "thresholds": dict(self.thresholds),
            "first_ts": rfc3339(self.first_ts),
            "last_ts": rfc3339(self.last_ts),
            "peak": None if self.peak is None else round(self.peak, 3),
            "duration_s": round(self.duration_s, 3),
            "degree_minutes": None
            if self.degree_minutes is None
            else round(self.degree_minutes, 3),
            "readings_count": self.readings_count,
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """One change of a risk's lifecycle (or, with action `update`, its current state).

    `at` is when it happened: the event time of the reading behind it, or the clock time of a
    silence check. `seq` is that reading's (None for a silence check). `raised_at` is the `at` of
    the risk's raise, so escalate and clear events need no lookup.
    """

    action: Action
    risk_id: str
    rule: RiskRule
    severity: str
    previous_severity: str | None
    raised_at: float
    at: float
    seq: int | None
    evidence: Evidence

    @property
    def category(self) -> str:
        return CATEGORY_OF_RULE[self.rule]

    @property
    def event_type(self) -> str | None:
        """The event to publish, or None for `update` (nothing happened, evidence grew)."""
        return EVENT_TYPES.get(self.action)

    @property
    def state(self) -> str:
        return "cleared" if self.action == "clear" else "open"


def severity_name(rank: int) -> str:
    return SEVERITIES[rank]


class Placement(Protocol):
    """A terminal where the registry places it: its market, merchant, stall and district."""

    @property
    def id(self) -> str: ...
    @property
    def market_id(self) -> str: ...
    @property
    def merchant_id(self) -> str | None: ...
    @property
    def stall_no(self) -> str | None: ...
    @property
    def district(self) -> str: ...


def risk_event_data(
    decision: Decision, terminal: Placement
) -> RiskRaised | RiskEscalated | RiskCleared:
    """The `data` of the event a raise, escalate or clear decision publishes.

    The placement comes from the registry projection; the envelope's subject and correlation id
    should be `decision.risk_id`, its key the terminal id.
    """
    common = {
        "risk_id": decision.risk_id,
        "rule": decision.rule,
        "category": decision.category,
        "severity": decision.severity,
        "terminal_id": terminal.id,
        "market_id": terminal.market_id,
        "merchant_id": terminal.merchant_id,
        "stall_no": terminal.stall_no,
        "district": terminal.district,
        "raised_at": rfc3339(decision.raised_at),
        "evidence": decision.evidence.to_dict(),
    }
    if decision.action == "raise":
        return RiskRaised.model_validate({**common, "state": "open"})
    if decision.action == "escalate":
        return RiskEscalated.model_validate(
            {**common, "state": "open", "previous_severity": decision.previous_severity}
        )
    if decision.action == "clear":
        return RiskCleared.model_validate(
            {**common, "state": "cleared", "cleared_at": rfc3339(decision.at)}
        )
    raise ValueError(f"an {decision.action!r} decision publishes no event")
