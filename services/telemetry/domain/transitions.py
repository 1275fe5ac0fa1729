"""The one place a risk's lifecycle changes: raise, escalate, clear, each recorded as a Decision.

Rules decide *whether*; `Emit` keeps the invariants: at most one open risk per rule in the state,
severity only grows while open, evidence taken before the window it describes is reset.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.telemetry import RiskRule
from services.telemetry.domain.config import TerminalContext
from services.telemetry.domain.decisions import (
    Action,
    Decision,
    Evidence,
    risk_id,
    severity_name,
)
from services.telemetry.domain.state import OpenRisk, TerminalState

EvidenceOf = Callable[[TerminalState, OpenRisk | None, float, TerminalContext], Evidence]


class Emit:
    """Appends the decisions of one `evaluate` or `check_silence` call to `out`.

    `at` is the time of the call's reading (or clock check); `seq` the reading's seq (None for a
    check); `id_seq` the seq a new risk's id derives from — the reading's (the default), or for a
    silence check the last reading heard. A rule makes one only where it decides: most readings
    decide nothing, and an object per reading was a measurable share of `evaluate`
    (bench/README.md, issue 20, point 2).
    """

    __slots__ = ("at", "ctx", "id_seq", "out", "seq", "state")

    def __init__(
        self,
        state: TerminalState,
        ctx: TerminalContext,
        out: list[Decision],
        at: float,
        seq: int | None,
        id_seq: int | None = None,
    ) -> None:
        self.state = state
        self.ctx = ctx
        self.out = out
        self.at = at
        self.seq = seq
        id_seq = seq if id_seq is None else id_seq
        assert id_seq is not None, "a silence check names the last reading heard"
        self.id_seq: int = id_seq

    def raise_(self, rule: RiskRule, severity: int, since: float, evidence: EvidenceOf) -> OpenRisk:
        state = self.state
        assert rule not in state.risks, f"{rule} already has an open risk"
        risk = OpenRisk(risk_id(state.terminal_id, rule, self.id_seq), severity, self.at, since)
        state.risks[rule] = risk
        self._record("raise", rule, risk, None, evidence)
        return risk

    def escalate(self, rule: RiskRule, risk: OpenRisk, severity: int, evidence: EvidenceOf) -> None:
        assert severity > risk.severity
        previous = risk.severity
        risk.severity = severity
        self._record("escalate", rule, risk, previous, evidence)

    def clear(self, rule: RiskRule, risk: OpenRisk, evidence: EvidenceOf) -> None:
        self._record("clear", rule, risk, None, evidence)
        del self.state.risks[rule]

    def _record(
        self,
        action: Action,
        rule: RiskRule,
        risk: OpenRisk,
        previous: int | None,
        evidence: EvidenceOf,
    ) -> None:
        """The decision about `risk` as it now stands; its evidence is taken here, before the
        rule resets the window it describes."""
        self.out.append(
            Decision(
                action,
                risk.risk_id,
                rule,
                severity_name(risk.severity),
                None if previous is None else severity_name(previous),
                risk.raised_at,
                self.at,
                self.seq,
                evidence(self.state, risk, self.at, self.ctx),
            )
        )
