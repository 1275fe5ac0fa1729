"""Telemetry's stores: what the use cases ask of storage (the protocols), and the Postgres
implementation (parameterised SQL only; the rules are in `domain`).

Terminal states are written with the readings' offsets (every batch that changes a risk or
emits an event, else every few batches: services/telemetry/service.py), the risks table follows
the decisions. Every method runs on the connection (and transaction) of the
caller's unit of work. The in-memory fakes (`fakes.py`) pass the same store suite
(tests/integration/telemetry/test_store_suite.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from contracts.people import Actor
from services.runtime.db import OnConnection
from services.runtime.messaging import Delivery
from services.runtime.offsets import Offsets
from services.telemetry.domain import Decision, LastReport, TerminalState
from services.telemetry.projections import TerminalInfo


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(slots=True)
class Held:
    """A terminal's state as this process holds it, with the rev it was read or written at."""

    rev: int
    state: TerminalState


@dataclass(frozen=True, slots=True)
class RiskQuery:
    """Which risks to list: each filter given narrows the list (None: any)."""

    state: str | None = None
    market_id: str | None = None
    terminal_id: str | None = None
    district: str | None = None
    limit: int = 200


class TelemetryStore(Protocol):
    async def open_risk_counts(self) -> list[tuple[str, str, int]]:
        """(rule, severity, count) of the open risks."""

    async def lock_states(
        self, terminal_ids: Sequence[str], cached: dict[str, Held]
    ) -> dict[str, Held]:
        """Lock the terminals' states for this transaction and return them: a cached one whose
        rev still matches as it is, others loaded, a terminal never seen fresh at rev 0."""

    async def save_states(self, held: Iterable[Held]) -> None:
        """Write each state with rev + 1 (the states are locked by `lock_states`)."""

    async def silent_cold_chain(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        """Active cold-chain terminals unheard of for 3 intervals, by id, locked (those another
        transaction holds are skipped): of those whose last reading came through one of
        `partitions` (None: any), and with `unplaced` those whose state has no partition."""

    async def retired_with_risks(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        """Retired terminals whose state still holds an open risk, by id, locked (those another
        transaction holds are skipped), of the partitions asked for as `silent_cold_chain`."""

    async def apply(
        self, decisions: Sequence[tuple[Decision, TerminalInfo]], now: datetime
    ) -> None:
        """Reflect decisions in the risks the API reads, as of `now`."""

    async def risks(self, query: RiskQuery) -> list[dict[str, Any]]:
        """The risks the query picks, newest raised first."""

    async def risk(self, risk_id: str, *, for_update: bool = False) -> dict[str, Any] | None: ...

    async def acknowledge(self, risk_id: str, who: Actor, at: datetime) -> None: ...

    async def last_seqs(self, terminal_ids: Sequence[str]) -> dict[str, int]:
        """The last accepted seq of each terminal that has a state."""

    async def last_reports(self, terminal_ids: Sequence[str]) -> dict[str, LastReport]:
        """What each terminal that has a state last reported, as of its stored state."""


Partition = tuple[str, int]


class OffsetStore(Protocol):
    """The readings consumer's offsets (services/runtime/offsets.py)."""

    async def positions(self, starts: Mapping[Partition, int]) -> dict[Partition, int]:
        """Lock the partitions' stored next offsets for this transaction and return them; a
        partition never stored starts at the offset `starts` gives it (the first record this
        consumer was given, not 0: a group placed at a topic's end does not replay it)."""

    async def unseen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """The deliveries at or past the stored offset of their partition."""

    async def advance(self, deliveries: Sequence[Delivery]) -> None:
        """Store the offset after the last of `deliveries`, per partition (never moving back)."""


class PostgresTelemetryStore(OnConnection):
    async def open_risk_counts(self) -> list[tuple[str, str, int]]:
        rows = await self.conn.fetch(
            "SELECT rule, severity, count(*) AS n FROM risks WHERE state = 'open' GROUP BY 1, 2"
        )
        return [(r["rule"], r["severity"], r["n"]) for r in rows]

    async def lock_states(
        self, terminal_ids: Sequence[str], cached: dict[str, Held]
    ) -> dict[str, Held]:
        """Lock the terminals' rows for this transaction and return their current states.

        A cached state whose rev still matches is reused (no jsonb read); others are loaded.
        Terminals never seen get a fresh state at rev 0.
        """
        rows = await self.conn.fetch(
            "SELECT terminal_id, rev FROM terminal_state WHERE terminal_id = ANY($1::text[])"
            " ORDER BY terminal_id FOR UPDATE",
            list(terminal_ids),
        )
        revs = {r["terminal_id"]: r["rev"] for r in rows}
        held: dict[str, Held] = {}
        stale = []
        for tid in terminal_ids:
            mine = cached.get(tid)
            rev = revs.get(tid, 0)
            if mine is not None and mine.rev == rev:
                held[tid] = mine
            elif rev == 0:
                held[tid] = Held(0, TerminalState(tid))
            else:
                stale.append(tid)
        if stale:
            for r in await self.conn.fetch(
                "SELECT terminal_id, rev, state FROM terminal_state"
                " WHERE terminal_id = ANY($1::text[])",
                stale,
            ):
                held[r["terminal_id"]] = Held(r["rev"], TerminalState.from_dict(r["state"]))
        return held

    async def save_states(self, held: Iterable[Held]) -> None:
        """Write each state with rev + 1 (the rows are locked by `lock_states`)."""
        rows = []
        for h in held:
            h.rev += 1
            s = h.state
            rows.append((s.terminal_id, h.rev, s.last_seq, _at(s.last_seen), s.to_dict()))
        await self.conn.executemany(
            """INSERT INTO terminal_state (terminal_id, rev, last_seq, last_seen, state)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (terminal_id) DO UPDATE SET
                   rev = EXCLUDED.rev, last_seq = EXCLUDED.last_seq,
                   last_seen = EXCLUDED.last_seen, state = EXCLUDED.state, updated_at = now()""",
            rows,
        )

    async def silent_cold_chain(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        """Active cold-chain terminals unheard of for 3 intervals, locked (others skipped), of
        the partitions asked for. Only those are locked: a terminal another process judges is
        never skipped there for being locked here."""
        return await self._states_where(
            """t.kind = 'cold_chain' AND t.status = 'active'
               AND s.last_seen < now() - make_interval(secs => 3 * t.interval_s)""",
            partitions,
            unplaced,
            limit,
        )

    async def retired_with_risks(
        self, partitions: Sequence[int] | None = None, *, unplaced: bool = True, limit: int = 1000
    ) -> list[tuple[str, int, TerminalState]]:
        return await self._states_where(
            "t.status = 'retired' AND s.state ? 'risks'", partitions, unplaced, limit
        )

    async def _states_where(
        self, condition: str, partitions: Sequence[int] | None, unplaced: bool, limit: int
    ) -> list[tuple[str, int, TerminalState]]:
        """The states of the terminals `condition` picks (`s` the state, `t` the terminal), of
        the partitions asked for, by id, locked."""
        rows = await self.conn.fetch(
            f"""SELECT s.terminal_id, s.rev, s.state FROM terminal_state s
               JOIN terminals t ON t.id = s.terminal_id
               WHERE {condition}
                 AND ($2::int[] IS NULL OR CASE WHEN s.state ? 'part'
                      THEN (s.state ->> 'part')::int = ANY($2::int[]) ELSE $3 END)
               ORDER BY s.terminal_id LIMIT $1 FOR UPDATE OF s SKIP LOCKED""",
            limit,
            None if partitions is None else list(partitions),
            unplaced,
        )
        return [(r["terminal_id"], r["rev"], TerminalState.from_dict(r["state"])) for r in rows]

    async def apply(
        self, decisions: Sequence[tuple[Decision, TerminalInfo]], now: datetime
    ) -> None:
        """Reflect decisions in the risks table the API reads, as of `now`."""
        for d, t in decisions:
            evidence = d.evidence.to_dict()
            if d.action == "raise":
                await self.conn.execute(
                    """INSERT INTO risks (id, terminal_id, rule, category, severity, state,
                                          market_id, district, merchant_id, stall_no, evidence,
                                          raised_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12)
                       ON CONFLICT (id) DO NOTHING""",
                    d.risk_id, t.id, d.rule, d.category, d.severity, t.market_id, t.district,
                    t.merchant_id, t.stall_no, evidence, _at(d.raised_at), now,
                )  # fmt: skip
            elif d.action == "clear":
                await self.conn.execute(
                    "UPDATE risks SET state = 'cleared', cleared_at = $2, evidence = $3,"
                    " updated_at = $4 WHERE id = $1",
                    d.risk_id, _at(d.at), evidence, now,
                )  # fmt: skip
            else:  # escalate or update: the risk stays open with fresher evidence
                await self.conn.execute(
                    "UPDATE risks SET severity = $2, evidence = $3, updated_at = $4"
                    " WHERE id = $1 AND state = 'open'",
                    d.risk_id, d.severity, evidence, now,
                )  # fmt: skip

    async def risks(self, query: RiskQuery) -> list[dict[str, Any]]:
        q = query
        rows = await self.conn.fetch(
            """SELECT * FROM risks
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR terminal_id = $3) AND ($4::text IS NULL OR district = $4)
               ORDER BY raised_at DESC LIMIT $5""",
            q.state, q.market_id, q.terminal_id, q.district, q.limit,
        )  # fmt: skip
        return [dict(r) for r in rows]

    async def risk(self, risk_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        sql = "SELECT * FROM risks WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        row = await self.conn.fetchrow(sql, risk_id)
        return dict(row) if row else None

    async def acknowledge(self, risk_id: str, who: Actor, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE risks SET acknowledged_by = $2, acknowledged_at = $3, updated_at = $3,"
            " acknowledged_actor = $4 WHERE id = $1",
            risk_id, who.subject, at, who.to_dict(),
        )  # fmt: skip

    async def last_seqs(self, terminal_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT terminal_id, last_seq FROM terminal_state WHERE terminal_id = ANY($1::text[])",
            list(terminal_ids),
        )
        return {r["terminal_id"]: r["last_seq"] for r in rows}

    async def last_reports(self, terminal_ids: Sequence[str]) -> dict[str, LastReport]:
        # Only the parts of the state a report reads leave the database, in the state's own
        # form: a payment terminal's baselines are most of its row and nothing of its report.
        rows = await self.conn.fetch(
            """SELECT terminal_id, jsonb_build_object(
                   'v', state->'v', 'terminal_id', terminal_id, 'seq', state->'seq',
                   'ts', state->'ts', 'seen', state->'seen', 'temp', state->'temp',
                   'risks', coalesce(state->'risks', '{}'::jsonb)) AS report
               FROM terminal_state WHERE terminal_id = ANY($1::text[])""",
            list(terminal_ids),
        )
        return {r["terminal_id"]: LastReport.of(TerminalState.from_dict(r["report"])) for r in rows}


# The consumer whose offsets commit with the states (services/runtime/offsets.py).
CONSUMER = "telemetry-readings"


class ReadingOffsets(Offsets):
    """The readings' offsets, with the locked read of their positions the batches start with."""

    async def positions(self, starts: Mapping[Partition, int]) -> dict[Partition, int]:
        keys = sorted(starts)
        if not keys:
            return {}
        await self.conn.executemany(
            "INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [(self.consumer, t, p, starts[(t, p)]) for t, p in keys],
        )
        rows = await self.conn.fetch(
            """SELECT topic, partition, next_offset FROM consumer_offsets
               WHERE consumer = $1 AND (topic, partition) IN
                     (SELECT * FROM unnest($2::text[], $3::int[]))
               ORDER BY topic, partition FOR UPDATE""",
            self.consumer,
            [t for t, _ in keys],
            [p for _, p in keys],
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


@dataclass(frozen=True, slots=True)
class Stores:
    """What one unit of work holds: the states and risks, and the readings' offsets."""

    telemetry: TelemetryStore
    offsets: OffsetStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(PostgresTelemetryStore(conn), ReadingOffsets(conn, CONSUMER))
