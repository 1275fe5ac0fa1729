"""The registry's stores: what the use cases call (one protocol per store), and their Postgres
implementation (rows in, domain values out; SQL only, every statement parameterised).

The in-memory fakes of the same protocols are in `fakes.py`; one suite
(tests/integration/registry/test_store_suite.py) holds both to the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import asyncpg

from contracts.people import actor_dict
from services.registry.domain.model import District, Market, Merchant, Terminal
from services.runtime import serial


@dataclass(frozen=True)
class DirectoryQuery:
    """A page of the public directory: markets whose name contains `q` (case-insensitive, taken
    literally), of `district`, of `kind`, or the one `market_id`."""

    q: str | None = None
    district: str | None = None
    kind: str | None = None
    offset: int = 0
    limit: int = 20
    market_id: str | None = None


class DistrictStore(Protocol):
    async def add(self, district: District) -> bool:
        """Keep a new district; False when its code is taken."""
        ...

    async def get(self, code: str) -> District | None: ...

    async def all(self) -> list[District]:
        """Every district, by code."""
        ...


class MarketStore(Protocol):
    async def save(self, market: Market) -> None:
        """Insert, or replace the changeable fields (its district and id stay)."""
        ...

    async def get(self, market_id: str, *, for_update: bool = False) -> Market | None: ...

    async def all(self, district: str | None) -> list[Market]:
        """The markets (of `district` only, when given), by district and name."""
        ...

    async def directory(self, query: DirectoryQuery) -> tuple[list[tuple[Market, str | None]], int]:
        """Markets matching the query, by district, name and id, each with its district's name;
        and how many match in all."""
        ...


class MerchantStore(Protocol):
    async def save(self, merchant: Merchant) -> None:
        """Insert, or replace the changeable fields (market, district, stall, credit code stay)."""
        ...

    async def get(self, merchant_id: str, *, for_update: bool = False) -> Merchant | None: ...

    async def at_stall(self, market_id: str, stall_no: str) -> Merchant | None: ...

    async def all(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
        """By market and stall; with `expiring` (first, last day), only licences valid until a
        day in it, soonest first."""
        ...

    async def lapsed(self, today: date, limit: int = 500) -> list[Merchant]:
        """Active merchants whose licence ran out before `today`, by id, locked so two runs
        cannot both expire them (rows another transaction holds are skipped)."""
        ...

    async def active(self, market_id: str) -> list[Merchant]:
        """The market's active merchants, by stall and id."""
        ...


class TerminalStore(Protocol):
    async def save(self, terminal: Terminal) -> None:
        """Insert, or replace the changeable fields (key version, status, interval)."""
        ...

    async def get(self, terminal_id: str, *, for_update: bool = False) -> Terminal | None: ...

    async def all(self, market_id: str, district: str | None) -> list[Terminal]:
        """A market's terminals (of `district` only, when given), by id."""
        ...


class SuspensionStore(Protocol):
    """Suspensions ordered by inspection, one per rectification order."""

    async def add(
        self, rectification_id: str, merchant_id: str, task_id: str, at: datetime
    ) -> bool:
        """Record an order's suspension; False when it is already known."""
        ...

    async def lift(self, rectification_id: str, at: datetime) -> bool:
        """Lift an order's suspension; False when it was unknown or already lifted."""
        ...

    async def active(self, merchant_id: str) -> int:
        """How many of the merchant's suspensions are not lifted."""
        ...


class RenovationStore(Protocol):
    """Each renovation project's latest stage, as the campaign publishes them."""

    async def save(self, project_id: str, market_id: str, stage: str, version: int) -> bool:
        """Keep a project's stage; False when a version as new or newer is already kept."""
        ...

    async def stages(self, market_id: str) -> list[str]: ...


@dataclass(frozen=True)
class Stores:
    """The stores of one unit of work (one connection, one transaction)."""

    districts: DistrictStore
    markets: MarketStore
    merchants: MerchantStore
    terminals: TerminalStore
    suspensions: SuspensionStore
    renovations: RenovationStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(
        districts=PostgresDistricts(conn),
        markets=PostgresMarkets(conn),
        merchants=PostgresMerchants(conn),
        terminals=PostgresTerminals(conn),
        suspensions=PostgresSuspensions(conn),
        renovations=PostgresRenovations(conn),
    )


def _market(r: asyncpg.Record) -> Market:
    return serial.load(Market, dict(r))


def _merchant(r: asyncpg.Record) -> Merchant:
    return serial.load(Merchant, dict(r))


def _terminal(r: asyncpg.Record) -> Terminal:
    return serial.load(Terminal, dict(r))


def _locked(sql: str, for_update: bool) -> str:
    return sql + (" FOR UPDATE" if for_update else "")


class _OnConnection:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


class PostgresDistricts(_OnConnection):
    async def add(self, district: District) -> bool:
        row = await self.conn.fetchval(
            "INSERT INTO districts (code, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            district.code,
            district.name,
        )
        return row is not None

    async def get(self, code: str) -> District | None:
        r = await self.conn.fetchrow("SELECT code, name FROM districts WHERE code = $1", code)
        return District(r["code"], r["name"]) if r else None

    async def all(self) -> list[District]:
        rows = await self.conn.fetch("SELECT code, name FROM districts ORDER BY code")
        return [District(r["code"], r["name"]) for r in rows]


class PostgresMarkets(_OnConnection):
    async def save(self, market: Market) -> None:
        m = market
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
            m.id, m.district, m.name, m.kind, m.operator, m.address, m.capacity, m.opens,
            m.closes, m.renovation_status, serial.dump(m.task_force), m.version, m.updated_at,
            actor_dict(m.registered_actor), actor_dict(m.updated_actor),
        )  # fmt: skip

    async def get(self, market_id: str, *, for_update: bool = False) -> Market | None:
        sql = _locked("SELECT * FROM markets WHERE id = $1", for_update)
        r = await self.conn.fetchrow(sql, market_id)
        return _market(r) if r else None

    async def all(self, district: str | None) -> list[Market]:
        rows = await self.conn.fetch(
            "SELECT * FROM markets WHERE $1::text IS NULL OR district = $1 ORDER BY district, name",
            district,
        )
        return [_market(r) for r in rows]

    async def directory(self, query: DirectoryQuery) -> tuple[list[tuple[Market, str | None]], int]:
        q = query.q
        pattern = None if q is None else "%" + like_escape(q) + "%"
        where = """($1::text IS NULL OR m.name ILIKE $1 ESCAPE '\\')
                   AND ($2::text IS NULL OR m.district = $2)
                   AND ($3::text IS NULL OR m.kind = $3)
                   AND ($4::text IS NULL OR m.id = $4)"""
        args = (pattern, query.district, query.kind, query.market_id)
        total: int = await self.conn.fetchval(
            f"SELECT count(*) FROM markets m WHERE {where}", *args
        )
        rows = await self.conn.fetch(
            f"""SELECT m.*, d.name AS district_name FROM markets m
                LEFT JOIN districts d ON d.code = m.district
                WHERE {where} ORDER BY m.district, m.name, m.id OFFSET $5 LIMIT $6""",
            *args, query.offset, query.limit,
        )  # fmt: skip
        return [(_market(r), r["district_name"]) for r in rows], total


class PostgresMerchants(_OnConnection):
    async def save(self, merchant: Merchant) -> None:
        m = merchant
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
            m.id, m.market_id, m.district, m.name, m.stall_no, m.credit_code, m.food_licence,
            m.licence_valid_until, list(m.categories), m.status, m.version, m.updated_at,
            actor_dict(m.registered_actor), actor_dict(m.updated_actor),
        )  # fmt: skip

    async def get(self, merchant_id: str, *, for_update: bool = False) -> Merchant | None:
        sql = _locked("SELECT * FROM merchants WHERE id = $1", for_update)
        r = await self.conn.fetchrow(sql, merchant_id)
        return _merchant(r) if r else None

    async def at_stall(self, market_id: str, stall_no: str) -> Merchant | None:
        r = await self.conn.fetchrow(
            "SELECT * FROM merchants WHERE market_id = $1 AND stall_no = $2", market_id, stall_no
        )
        return _merchant(r) if r else None

    async def all(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
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

    async def lapsed(self, today: date, limit: int = 500) -> list[Merchant]:
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE status = 'active' AND licence_valid_until < $1
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            today,
            limit,
        )
        return [_merchant(r) for r in rows]

    async def active(self, market_id: str) -> list[Merchant]:
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE market_id = $1 AND status = 'active'
               ORDER BY stall_no, id""",
            market_id,
        )
        return [_merchant(r) for r in rows]


_TERMINAL_COLUMNS = (
    "SELECT id, kind, market_id, district, interval_s, merchant_id, stall_no, profile,"
    " key_version, status, version, updated_at, registered_actor, updated_actor FROM terminals"
)


class PostgresTerminals(_OnConnection):
    async def save(self, terminal: Terminal) -> None:
        t = terminal
        await self.conn.execute(
            """INSERT INTO terminals (id, kind, market_id, district, merchant_id, stall_no, profile,
                                     interval_s, key_version, status, version, updated_at,
                                     registered_actor, updated_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
               ON CONFLICT (id) DO UPDATE SET
                   key_version = EXCLUDED.key_version, status = EXCLUDED.status,
                   interval_s = EXCLUDED.interval_s, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at, updated_actor = EXCLUDED.updated_actor""",
            t.id, t.kind, t.market_id, t.district, t.merchant_id, t.stall_no, t.profile,
            t.interval_s, t.key_version, t.status, t.version, t.updated_at,
            actor_dict(t.registered_actor), actor_dict(t.updated_actor),
        )  # fmt: skip

    async def get(self, terminal_id: str, *, for_update: bool = False) -> Terminal | None:
        sql = _locked(f"{_TERMINAL_COLUMNS} WHERE id = $1", for_update)
        r = await self.conn.fetchrow(sql, terminal_id)
        return _terminal(r) if r else None

    async def all(self, market_id: str, district: str | None) -> list[Terminal]:
        rows = await self.conn.fetch(
            f"{_TERMINAL_COLUMNS} WHERE market_id = $1 AND ($2::text IS NULL OR district = $2)"
            " ORDER BY id",
            market_id,
            district,
        )
        return [_terminal(r) for r in rows]


class PostgresSuspensions(_OnConnection):
    async def add(
        self, rectification_id: str, merchant_id: str, task_id: str, at: datetime
    ) -> bool:
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

    async def lift(self, rectification_id: str, at: datetime) -> bool:
        lifted = await self.conn.fetchval(
            """UPDATE merchant_suspensions SET lifted_at = $2
               WHERE rectification_id = $1 AND lifted_at IS NULL RETURNING true""",
            rectification_id,
            at,
        )
        return bool(lifted)

    async def active(self, merchant_id: str) -> int:
        count: int = await self.conn.fetchval(
            "SELECT count(*) FROM merchant_suspensions"
            " WHERE merchant_id = $1 AND lifted_at IS NULL",
            merchant_id,
        )
        return count


class PostgresRenovations(_OnConnection):
    async def save(self, project_id: str, market_id: str, stage: str, version: int) -> bool:
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

    async def stages(self, market_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT stage FROM market_renovations WHERE market_id = $1", market_id
        )
        return [r["stage"] for r in rows]


def like_escape(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
