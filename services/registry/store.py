"""Postgres repository of the registry: rows in, domain values out. All SQL is parameterised."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.people import actor_dict, actor_from
from services.registry.domain.model import District, Market, Merchant, TaskForce, Terminal


def _market(r: asyncpg.Record) -> Market:
    tf = r["task_force"]
    return Market(
        id=r["id"],
        name=r["name"],
        district=r["district"],
        kind=r["kind"],
        operator=r["operator"],
        address=r["address"],
        capacity=r["capacity"],
        opens=r["opens"],
        closes=r["closes"],
        renovation_status=r["renovation_status"],
        task_force=TaskForce(tf["leader"], tuple(tf["members"])) if tf else None,
        version=r["version"],
        updated_at=r["updated_at"],
        registered_actor=actor_from(r["registered_actor"]),
        updated_actor=actor_from(r["updated_actor"]),
    )


def _merchant(r: asyncpg.Record) -> Merchant:
    return Merchant(
        id=r["id"],
        name=r["name"],
        market_id=r["market_id"],
        district=r["district"],
        stall_no=r["stall_no"],
        credit_code=r["credit_code"],
        food_licence=r["food_licence"],
        licence_valid_until=r["licence_valid_until"],
        categories=tuple(r["categories"]),
        status=r["status"],
        version=r["version"],
        updated_at=r["updated_at"],
        registered_actor=actor_from(r["registered_actor"]),
        updated_actor=actor_from(r["updated_actor"]),
    )


_ACTORS = ("registered_actor", "updated_actor")


def _terminal(r: asyncpg.Record) -> Terminal:
    fields = {k: r[k] for k in r.keys() if k not in _ACTORS}  # noqa: SIM118 - Record has no __iter__ of keys
    return Terminal(
        **fields,
        registered_actor=actor_from(r["registered_actor"]),
        updated_actor=actor_from(r["updated_actor"]),
    )


class RegistryStore:
    """Reads and writes on one connection, so callers decide the transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # districts
    async def add_district(self, d: District) -> bool:
        row = await self.conn.fetchval(
            "INSERT INTO districts (code, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            d.code,
            d.name,
        )
        return row is not None

    async def district(self, code: str) -> District | None:
        r = await self.conn.fetchrow("SELECT code, name FROM districts WHERE code = $1", code)
        return District(r["code"], r["name"]) if r else None

    async def districts(self) -> list[District]:
        rows = await self.conn.fetch("SELECT code, name FROM districts ORDER BY code")
        return [District(r["code"], r["name"]) for r in rows]

    # markets
    async def save_market(self, m: Market) -> None:
        tf: dict[str, Any] | None = (
            {"leader": m.task_force.leader, "members": list(m.task_force.members)}
            if m.task_force
            else None
        )
        await self.conn.execute(
            """INSERT INTO markets (id, district, name, kind, operator, address, capacity, opens,
                                   closes, renovation_status, task_force, version, updated_at,
                                   registered_actor, updated_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, kind = EXCLUDED.kind, operator = EXCLUDED.operator,
                   address = EXCLUDED.address, capacity = EXCLUDED.capacity,
                   opens = EXCLUDED.opens, closes = EXCLUDED.closes,
                   renovation_status = EXCLUDED.renovation_status,
                   task_force = EXCLUDED.task_force, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at, updated_actor = EXCLUDED.updated_actor""",
            m.id,
            m.district,
            m.name,
            m.kind,
            m.operator,
            m.address,
            m.capacity,
            m.opens,
            m.closes,
            m.renovation_status,
            tf,
            m.version,
            m.updated_at,
            actor_dict(m.registered_actor),
            actor_dict(m.updated_actor),
        )

    async def market(self, market_id: str, *, for_update: bool = False) -> Market | None:
        sql = "SELECT * FROM markets WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, market_id)
        return _market(r) if r else None

    async def markets(self, district: str | None) -> list[Market]:
        rows = await self.conn.fetch(
            "SELECT * FROM markets WHERE $1::text IS NULL OR district = $1 ORDER BY district, name",
            district,
        )
        return [_market(r) for r in rows]

    # merchants
    async def save_merchant(self, m: Merchant) -> None:
        await self.conn.execute(
            """INSERT INTO merchants (id, market_id, district, name, stall_no, credit_code,
                                     food_licence, licence_valid_until, categories, status,
                                     version, updated_at, registered_actor, updated_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, food_licence = EXCLUDED.food_licence,
                   licence_valid_until = EXCLUDED.licence_valid_until,
                   categories = EXCLUDED.categories, status = EXCLUDED.status,
                   version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
                   updated_actor = EXCLUDED.updated_actor""",
            m.id,
            m.market_id,
            m.district,
            m.name,
            m.stall_no,
            m.credit_code,
            m.food_licence,
            m.licence_valid_until,
            list(m.categories),
            m.status,
            m.version,
            m.updated_at,
            actor_dict(m.registered_actor),
            actor_dict(m.updated_actor),
        )

    async def merchant(self, merchant_id: str, *, for_update: bool = False) -> Merchant | None:
        sql = "SELECT * FROM merchants WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, merchant_id)
        return _merchant(r) if r else None

    async def merchant_at_stall(self, market_id: str, stall_no: str) -> Merchant | None:
        r = await self.conn.fetchrow(
            "SELECT * FROM merchants WHERE market_id = $1 AND stall_no = $2", market_id, stall_no
        )
        return _merchant(r) if r else None

    async def merchants(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
        """`expiring` (first, last day): only licences valid until a day in it, soonest first."""
        first, last = expiring if expiring is not None else (None, None)
        rows = await self.conn.fetch(
            """SELECT * FROM merchants
               WHERE ($1::text IS NULL OR market_id = $1) AND ($2::text IS NULL OR district = $2)
                 AND ($3::date IS NULL OR licence_valid_until BETWEEN $3 AND $4)
               ORDER BY CASE WHEN $3::date IS NULL THEN NULL ELSE licence_valid_until END,
                        market_id, stall_no""",
            market_id,
            district,
            first,
            last,
        )
        return [_merchant(r) for r in rows]

    async def lapsed_licences(self, today: Any, limit: int = 500) -> list[Merchant]:
        """Active merchants whose licence ran out, locked so two runs cannot both expire them."""
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE status = 'active' AND licence_valid_until < $1
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            today,
            limit,
        )
        return [_merchant(r) for r in rows]

    # terminals
    async def save_terminal(self, t: Terminal) -> None:
        await self.conn.execute(
            """INSERT INTO terminals (id, kind, market_id, district, merchant_id, stall_no, profile,
                                     interval_s, key_version, status, version, updated_at,
                                     registered_actor, updated_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
               ON CONFLICT (id) DO UPDATE SET
                   key_version = EXCLUDED.key_version, status = EXCLUDED.status,
                   interval_s = EXCLUDED.interval_s, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at, updated_actor = EXCLUDED.updated_actor""",
            t.id,
            t.kind,
            t.market_id,
            t.district,
            t.merchant_id,
            t.stall_no,
            t.profile,
            t.interval_s,
            t.key_version,
            t.status,
            t.version,
            t.updated_at,
            actor_dict(t.registered_actor),
            actor_dict(t.updated_actor),
        )

    async def terminals(self, market_id: str, district: str | None) -> list[Terminal]:
        """A market's terminals (of `district` only, when one is given), in the order added."""
        rows = await self.conn.fetch(
            "SELECT id, kind, market_id, district, interval_s, merchant_id, stall_no, profile,"
            " key_version, status, version, updated_at, registered_actor, updated_actor"
            " FROM terminals WHERE market_id = $1 AND ($2::text IS NULL OR district = $2)"
            " ORDER BY id",
            market_id,
            district,
        )
        return [_terminal(r) for r in rows]

    async def terminal(self, terminal_id: str, *, for_update: bool = False) -> Terminal | None:
        sql = (
            "SELECT id, kind, market_id, district, interval_s, merchant_id, stall_no, profile,"
            " key_version, status, version, updated_at, registered_actor, updated_actor"
            " FROM terminals WHERE id = $1"
        ) + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, terminal_id)
        return _terminal(r) if r else None

    # suspensions ordered by inspection
    async def add_suspension(
        self, rectification_id: str, merchant_id: str, task_id: str, at: datetime
    ) -> bool:
        """Record an order's suspension; False when it is already known."""
        inserted = await self.conn.fetchval(
            """INSERT INTO merchant_suspensions (rectification_id, merchant_id, task_id,
                                                suspended_at)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
            rectification_id,
            merchant_id,
            task_id,
            at,
        )
        return bool(inserted)

    async def lift_suspension(self, rectification_id: str, at: datetime) -> bool:
        """Lift an order's suspension; False when it was unknown or already lifted."""
        lifted = await self.conn.fetchval(
            """UPDATE merchant_suspensions SET lifted_at = $2
               WHERE rectification_id = $1 AND lifted_at IS NULL RETURNING true""",
            rectification_id,
            at,
        )
        return bool(lifted)

    async def active_suspensions(self, merchant_id: str) -> int:
        count: int = await self.conn.fetchval(
            "SELECT count(*) FROM merchant_suspensions"
            " WHERE merchant_id = $1 AND lifted_at IS NULL",
            merchant_id,
        )
        return count

    # renovation projects, as the campaign publishes them
    async def save_renovation(
        self, project_id: str, market_id: str, stage: str, version: int
    ) -> bool:
        """Keep a project's stage; False when a version as new or newer is already kept."""
        applied = await self.conn.fetchval(
            """INSERT INTO market_renovations (project_id, market_id, stage, version)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (project_id) DO UPDATE SET
                   market_id = EXCLUDED.market_id, stage = EXCLUDED.stage,
                   version = EXCLUDED.version
               WHERE market_renovations.version < EXCLUDED.version
               RETURNING true""",
            project_id,
            market_id,
            stage,
            version,
        )
        return bool(applied)

    async def renovation_stages(self, market_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT stage FROM market_renovations WHERE market_id = $1", market_id
        )
        return [r["stage"] for r in rows]

    # the public directory -------------------------------------------------------------------
    async def public_markets(
        self,
        *,
        q: str | None,
        district: str | None,
        kind: str | None,
        offset: int,
        limit: int,
        market_id: str | None = None,
    ) -> tuple[list[tuple[Market, str | None]], int]:
        """Markets matching the filters (name contains `q`, case-insensitive), by district and
        name, each with its district's name; and how many match in all."""
        pattern = None if q is None else "%" + like_escape(q) + "%"
        where = """($1::text IS NULL OR m.name ILIKE $1 ESCAPE '\\')
                   AND ($2::text IS NULL OR m.district = $2)
                   AND ($3::text IS NULL OR m.kind = $3)
                   AND ($4::text IS NULL OR m.id = $4)"""
        args = (pattern, district, kind, market_id)
        total: int = await self.conn.fetchval(
            f"SELECT count(*) FROM markets m WHERE {where}", *args
        )
        rows = await self.conn.fetch(
            f"""SELECT m.*, d.name AS district_name FROM markets m
                LEFT JOIN districts d ON d.code = m.district
                WHERE {where} ORDER BY m.district, m.name, m.id OFFSET $5 LIMIT $6""",
            *args, offset, limit,
        )  # fmt: skip
        return [(_market(r), r["district_name"]) for r in rows], total

    async def active_merchants(self, market_id: str) -> list[Merchant]:
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE market_id = $1 AND status = 'active'
               ORDER BY stall_no, id""",
            market_id,
        )
        return [_merchant(r) for r in rows]


def like_escape(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
