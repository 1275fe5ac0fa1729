"""In-memory stores for use-case tests: the same answers as the Postgres ones (the store suite,
tests/integration/telemetry/test_store_suite.py, runs against both).

States and risks are kept as Postgres keeps them, JSON in and out: a loaded state is a new
object, never the one a caller still holds, so a batch that changed states in place and then
failed leaves the stored ones as they were. Locks have nothing to guard in one process. A row
is replaced, never changed in place, so the runtime's `fake_tables.snapshot` undoes a rolled-back
unit's writes.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from contracts.people import Actor
from services.runtime.clock import EpochClock
from services.runtime.messaging import Delivery
from services.telemetry.domain import Decision, LastReport, TerminalState
from services.telemetry.projections import TerminalInfo
from services.telemetry.store import Held, RiskQuery, Stores


def _json(value: Any) -> Any:
    """What a jsonb column gives back for `value`."""
    return orjson.loads(orjson.dumps(value))


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass
class _StateRow:
    rev: int
    last_seq: int
    last_seen: float | None
    state: dict[str, Any]


class FakeTelemetryStore:
    """`terminals` stands for the registry view's table (`silent_cold_chain` reads it); `now`
    for the database's clock."""

    def __init__(
        self, terminals: Mapping[str, TerminalInfo] | None = None, now: EpochClock = time.time
    ) -> None:
        self.terminals: dict[str, TerminalInfo] = dict(terminals or {})
        self.now = now
        self.states: dict[str, _StateRow] = {}
        self.rows: dict[str, dict[str, Any]] = {}

    async def open_risk_counts(self) -> list[tuple[str, str, int]]:
        tally: dict[tuple[str, str], int] = {}
        for r in self.rows.values():
            if r["state"] == "open":
                tally[(r["rule"], r["severity"])] = tally.get((r["rule"], r["severity"]), 0) + 1
        return [(rule, severity, n) for (rule, severity), n in tally.items()]

    async def lock_states(
        self, terminal_ids: Sequence[str], cached: dict[str, Held]
    ) -> dict[str, Held]:
        held: dict[str, Held] = {}
        for tid in terminal_ids:
            mine, row = cached.get(tid), self.states.get(tid)
            rev = 0 if row is None else row.rev
            if mine is not None and mine.rev == rev:
                held[tid] = mine
            elif row is None:
                held[tid] = Held(0, TerminalState(tid))
            else:
                held[tid] = Held(row.rev, TerminalState.from_dict(_json(row.state)))
        return held

    async def save_states(self, held: Iterable[Held]) -> None:
        for h in held:
            h.rev += 1
            s = h.state
            self.states[s.terminal_id] = _StateRow(
                h.rev, s.last_seq, s.last_seen, _json(s.to_dict())
            )

    async def silent_cold_chain(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        now = self.now()

        def silent(t: TerminalInfo, row: _StateRow) -> bool:
            if t.kind != "cold_chain" or t.status != "active" or row.last_seen is None:
                return False
            return row.last_seen < now - 3 * t.interval_s

        return self._states_where(silent, partitions, unplaced, limit)

    async def retired_with_risks(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        def retired(t: TerminalInfo, row: _StateRow) -> bool:
            return t.status == "retired" and "risks" in row.state

        return self._states_where(retired, partitions, unplaced, limit)

    def _states_where(
        self,
        condition: Callable[[TerminalInfo, _StateRow], bool],
        partitions: Sequence[int] | None,
        unplaced: bool,
        limit: int,
    ) -> list[tuple[str, int, TerminalState]]:
        found = []
        for tid in sorted(self.states):
            row, t = self.states[tid], self.terminals.get(tid)
            if t is None or not condition(t, row):
                continue
            if partitions is not None:
                part = row.state.get("part")
                if not (unplaced if part is None else part in partitions):
                    continue
            found.append((tid, row.rev, TerminalState.from_dict(_json(row.state))))
        return found[:limit]

    async def apply(
        self, decisions: Sequence[tuple[Decision, TerminalInfo]], now: datetime
    ) -> None:
        for d, t in decisions:
            evidence = _json(d.evidence.to_dict())
            row = self.rows.get(d.risk_id)
            if d.action == "raise":
                if row is None:
                    _one_open(self.rows.values(), t.id, d.rule)
                    self.rows[d.risk_id] = _risk_row(d, t, evidence, now)
            elif row is None:
                continue
            elif d.action == "clear":
                self.rows[d.risk_id] = row | {
                    "state": "cleared",
                    "cleared_at": _at(d.at),
                    "evidence": evidence,
                    "updated_at": now,
                }
            elif row["state"] == "open":
                self.rows[d.risk_id] = row | {
                    "severity": d.severity,
                    "evidence": evidence,
                    "updated_at": now,
                }

    async def risks(self, query: RiskQuery) -> list[dict[str, Any]]:
        q = query
        wanted = {
            "state": q.state,
            "market_id": q.market_id,
            "terminal_id": q.terminal_id,
            "district": q.district,
        }
        found = [
            r
            for r in self.rows.values()
            if all(value is None or r[key] == value for key, value in wanted.items())
        ]
        found.sort(key=lambda r: r["raised_at"], reverse=True)
        return [copy.deepcopy(r) for r in found[: q.limit]]

    async def risk(self, risk_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(risk_id)
        return None if row is None else copy.deepcopy(row)

    async def acknowledge(self, risk_id: str, who: Actor, at: datetime) -> None:
        row = self.rows.get(risk_id)
        if row is not None:
            self.rows[risk_id] = row | {
                "acknowledged_by": who.subject,
                "acknowledged_at": at,
                "updated_at": at,
                "acknowledged_actor": _json(who.to_dict()),
            }

    async def last_seqs(self, terminal_ids: Sequence[str]) -> dict[str, int]:
        return {tid: self.states[tid].last_seq for tid in terminal_ids if tid in self.states}

    async def last_reports(self, terminal_ids: Sequence[str]) -> dict[str, LastReport]:
        return {
            tid: LastReport.of(TerminalState.from_dict(_json(self.states[tid].state)))
            for tid in terminal_ids
            if tid in self.states
        }


def _one_open(rows: Iterable[dict[str, Any]], terminal_id: str, rule: str) -> None:
    """Postgres's `risks_one_open`: one open risk per terminal and rule."""
    for r in rows:
        if r["state"] == "open" and r["terminal_id"] == terminal_id and r["rule"] == rule:
            raise ValueError(f"{terminal_id} already has an open {rule} risk")


def _risk_row(d: Decision, t: TerminalInfo, evidence: Any, now: datetime) -> dict[str, Any]:
    """A row as `SELECT * FROM risks` gives it (services/telemetry/migrations/)."""
    return {
        "id": d.risk_id,
        "terminal_id": t.id,
        "rule": d.rule,
        "category": d.category,
        "severity": d.severity,
        "state": "open",
        "market_id": t.market_id,
        "district": t.district,
        "merchant_id": t.merchant_id,
        "stall_no": t.stall_no,
        "evidence": evidence,
        "raised_at": _at(d.raised_at),
        "updated_at": now,
        "cleared_at": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "acknowledged_actor": None,
    }


class FakeOffsets:
    def __init__(self) -> None:
        self.next: dict[tuple[str, int], int] = {}

    async def positions(self, starts: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        for key, start in starts.items():
            self.next.setdefault(key, start)
        return {key: self.next[key] for key in starts}

    async def unseen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        return [d for d in deliveries if d.offset >= self.next.get((d.topic, d.partition), 0)]

    async def advance(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            key = (d.topic, d.partition)
            self.next[key] = max(self.next.get(key, 0), d.offset + 1)


def fake_stores(
    terminals: Mapping[str, TerminalInfo] | None = None, now: EpochClock = time.time
) -> Stores:
    return Stores(FakeTelemetryStore(terminals, now), FakeOffsets())
