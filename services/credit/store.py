"""The credit tables. Every method runs on the connection (and transaction) the caller holds, so
an adjustment, the score it moves and the event announcing it commit together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.credit.domain import Adjustment, MerchantCredit


@dataclass(frozen=True, slots=True)
class StoredCredit:
    credit: MerchantCredit
    market_id: str
    district: str
    version: int


class CreditStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, merchant_id: str) -> None:
        """One writer per merchant at a time, whichever topic the event came from."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('credit:' || $1))", merchant_id
        )

    # -- ledger and scores -----------------------------------------------------------------------
    async def add(self, a: Adjustment) -> bool:
        done = await self.conn.execute(
            """INSERT INTO adjustments (event_id, kind, merchant_id, delta, occurred_at, fades_at,
                                        policy_version, correlation_id, entry)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
            a.event_id, a.kind, a.merchant_id, a.delta, a.occurred_at, a.fades_at,
            a.policy_version, a.correlation_id, a.to_dict(),
        )  # fmt: skip
        return bool(done == "INSERT 0 1")

    async def ledger(self, merchant_id: str) -> list[Adjustment]:
        rows = await self.conn.fetch(
            "SELECT entry FROM adjustments WHERE merchant_id = $1 ORDER BY occurred_at, event_id",
            merchant_id,
        )
        return [Adjustment.from_dict(r["entry"]) for r in rows]

    async def credit(self, merchant_id: str) -> StoredCredit | None:
        row = await self.conn.fetchrow(
            "SELECT credit, market_id, district, version FROM credits WHERE merchant_id = $1",
            merchant_id,
        )
        if row is None:
            return None
        return StoredCredit(
            MerchantCredit.from_dict(row["credit"]),
            row["market_id"],
            row["district"],
            row["version"],
        )

    async def save(self, stored: StoredCredit) -> None:
        c = stored.credit
        await self.conn.execute(
            """INSERT INTO credits (merchant_id, market_id, district, score, grade, policy_version,
                                    next_fade_at, version, credit)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (merchant_id) DO UPDATE SET
                   market_id = EXCLUDED.market_id, district = EXCLUDED.district,
                   score = EXCLUDED.score, grade = EXCLUDED.grade,
                   policy_version = EXCLUDED.policy_version, next_fade_at = EXCLUDED.next_fade_at,
                   version = EXCLUDED.version, credit = EXCLUDED.credit, updated_at = now()""",
            c.merchant_id, stored.market_id, stored.district, c.score, c.grade, c.policy_version,
            c.next_fade_at, stored.version, c.to_dict(),
        )  # fmt: skip

    async def due_for_refade(self, now: datetime, current_version: str, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT merchant_id FROM credits
               WHERE next_fade_at <= $1 OR policy_version <> $2
               ORDER BY merchant_id LIMIT $3""",
            now, current_version, limit,
        )  # fmt: skip
        return [r["merchant_id"] for r in rows]

    async def scores(self) -> dict[str, tuple[int, str]]:
        rows = await self.conn.fetch("SELECT merchant_id, score, grade FROM credits")
        return {r["merchant_id"]: (r["score"], r["grade"]) for r in rows}

    async def adjustment_keys(self) -> set[tuple[str, str, int, str]]:
        rows = await self.conn.fetch(
            "SELECT event_id, kind, delta, policy_version FROM adjustments"
        )
        return {(r["event_id"], r["kind"], r["delta"], r["policy_version"]) for r in rows}

    async def grade_counts(self) -> dict[str, int]:
        rows = await self.conn.fetch("SELECT grade, count(*) AS n FROM credits GROUP BY grade")
        return {r["grade"]: r["n"] for r in rows}

    # -- registry status -------------------------------------------------------------------------
    async def status(self, merchant_id: str) -> tuple[str, int] | None:
        row = await self.conn.fetchrow(
            "SELECT status, version FROM merchant_status WHERE merchant_id = $1", merchant_id
        )
        return None if row is None else (row["status"], row["version"])

    async def set_status(self, merchant_id: str, status: str, version: int) -> None:
        await self.conn.execute(
            """INSERT INTO merchant_status (merchant_id, status, version) VALUES ($1, $2, $3)
               ON CONFLICT (merchant_id) DO UPDATE SET status = $2, version = $3""",
            merchant_id, status, version,
        )  # fmt: skip

    # -- context ---------------------------------------------------------------------------------
    async def observe(
        self,
        event_id: str,
        kind: str,
        *,
        market_id: str,
        district: str,
        merchant_id: str | None,
        at: datetime,
        good: bool,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO observations (event_id, kind, market_id, district, merchant_id, at, good)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            event_id, kind, market_id, district, merchant_id, at, good,
        )  # fmt: skip

    async def risk_open(
        self,
        risk_id: str,
        *,
        rule: str,
        category: str,
        severity: str,
        market_id: str,
        merchant_id: str | None,
        raised_at: datetime,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO risks (risk_id, rule, category, severity, market_id, merchant_id,
                                  raised_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (risk_id) DO UPDATE SET severity = EXCLUDED.severity""",
            risk_id, rule, category, severity, market_id, merchant_id, raised_at,
        )  # fmt: skip

    async def risk_cleared(self, risk_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE risks SET cleared_at = $2 WHERE risk_id = $1 AND cleared_at IS NULL",
            risk_id, at,
        )  # fmt: skip

    async def complaint_seen(
        self,
        complaint_id: str,
        *,
        category: str,
        state: str,
        merchant_id: str | None,
        received_at: datetime,
        version: int,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO complaints (complaint_id, category, state, merchant_id, received_at,
                                       version)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (complaint_id) DO UPDATE SET state = EXCLUDED.state,
                   version = EXCLUDED.version WHERE complaints.version < EXCLUDED.version""",
            complaint_id, category, state, merchant_id, received_at, version,
        )  # fmt: skip

    async def roots(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """What started each chain: a risk or a complaint this service has seen, by its id."""
        found: dict[str, dict[str, Any]] = {}
        for r in await self.conn.fetch(
            "SELECT risk_id, rule, category, severity, raised_at FROM risks "
            "WHERE risk_id = ANY($1::text[])",
            ids,
        ):
            found[r["risk_id"]] = {
                "kind": "risk",
                "id": r["risk_id"],
                "rule": r["rule"],
                "category": r["category"],
                "severity": r["severity"],
                "at": r["raised_at"].isoformat(),
            }
        for r in await self.conn.fetch(
            "SELECT complaint_id, category, state, received_at FROM complaints "
            "WHERE complaint_id = ANY($1::text[])",
            ids,
        ):
            found[r["complaint_id"]] = {
                "kind": "complaint",
                "id": r["complaint_id"],
                "category": r["category"],
                "state": r["state"],
                "at": r["received_at"].isoformat(),
            }
        return found

    async def last_inspection(self, merchant_id: str) -> datetime | None:
        at: datetime | None = await self.conn.fetchval(
            "SELECT max(at) FROM observations WHERE merchant_id = $1 AND kind = 'inspection'",
            merchant_id,
        )
        return at

    # -- assessment ------------------------------------------------------------------------------
    async def grades_by_market(self) -> dict[str, dict[str, int]]:
        rows = await self.conn.fetch(
            "SELECT market_id, grade, count(*) AS n FROM credits GROUP BY market_id, grade"
        )
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["market_id"], {})[r["grade"]] = r["n"]
        return out

    async def observed(
        self, start: datetime, end: datetime
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(market, kind) → (count, good count) of what happened in [start, end)."""
        rows = await self.conn.fetch(
            """SELECT market_id, kind, count(*) AS n, count(*) FILTER (WHERE good) AS good
               FROM observations WHERE at >= $1 AND at < $2 GROUP BY market_id, kind""",
            start, end,
        )  # fmt: skip
        return {(r["market_id"], r["kind"]): (r["n"], r["good"]) for r in rows}

    async def open_food_safety_risks(self, at: datetime) -> dict[str, int]:
        rows = await self.conn.fetch(
            """SELECT market_id, count(*) AS n FROM risks
               WHERE category = 'food_safety' AND raised_at < $1
                 AND (cleared_at IS NULL OR cleared_at >= $1)
               GROUP BY market_id""",
            at,
        )
        return {r["market_id"]: r["n"] for r in rows}

    async def save_assessment(
        self, assessment_id: str, data: dict[str, Any], computed_at: datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO assessments (assessment_id, scope, market_id, district, period_from,
                                        period_to, assessment, computed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
            assessment_id, data["scope"], data["market_id"], data["district"],
            datetime.fromisoformat(data["period_from"]), datetime.fromisoformat(data["period_to"]),
            data, computed_at,
        )  # fmt: skip

    async def last_published(self) -> datetime | None:
        at: datetime | None = await self.conn.fetchval("SELECT max(computed_at) FROM assessments")
        return at

    async def latest_assessment(self, market_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(
            """SELECT assessment FROM assessments WHERE market_id = $1
               ORDER BY computed_at DESC LIMIT 1""",
            market_id,
        )
        return None if row is None else dict(row["assessment"])
