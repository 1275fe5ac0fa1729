"""The registry's stores: what the use cases call (one protocol per store), and their Postgres
implementation (rows in, domain values out; SQL only, every statement parameterised).

The in-memory fakes of the same protocols are in `fakes.py`; one suite
(tests/integration/registry/test_store_suite.py) holds both to the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from contracts.people import Actor, actor_dict
from services.registry.domain.geo import EARTH_RADIUS_M, Point
from services.registry.domain.model import (
    District,
    Market,
    Merchant,
    TaskForce,
    Terminal,
    stall_taken,
)
from services.runtime import serial
from services.runtime.collation import name_order, stall_order
from services.runtime.db import OnConnection

E = TypeVar("E", Market, Merchant, Terminal)


@dataclass(frozen=True)
class DirectoryQuery:
    """A page of the public directory: markets whose name contains `q` (case-insensitive, taken
    literally), of `district`, of `kind`, or the one `market_id`; by district and name, or the
    nearest to `near` first."""

    q: str | None = None
    district: str | None = None
    kind: str | None = None
    offset: int = 0
    limit: int = 20
    market_id: str | None = None
    # (latitude, longitude): only the markets with a location, the nearest first.
    near: Point | None = None


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
        and how many match in all. A closed market (停业) is found by its id only: citizens
        searching the directory are not sent to it, an old sticker's link still tells it closed."""
        ...


class MerchantStore(Protocol):
    async def save(self, merchant: Merchant) -> None:
        """Insert, or replace the changeable fields (market, district, credit code stay).
        Raises the taken stall's Conflict when another merchant trades at its stall."""
        ...

    async def get(self, merchant_id: str, *, for_update: bool = False) -> Merchant | None: ...

    async def at_stall(self, market_id: str, stall_no: str) -> Merchant | None:
        """The merchant trading at the stall (one who left it is not)."""
        ...

    async def with_credit_code(self, credit_code: str) -> list[Merchant]:
        """Every registration of the 统一社会信用代码: those who left first, by the day they
        left, then those still trading."""
        ...

    async def all(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
        """By market and stall, those who left included; with `expiring` (first, last day),
        only the licences of merchants still there valid until a day in it, soonest first."""
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

    async def all(self, market_id: str | None, district: str | None) -> list[Terminal]:
        """A market's terminals (every market's when `market_id` is None; of `district` only,
        when given), by market and id."""
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


def _locked(sql: str, for_update: bool) -> str:
    return sql + (" FOR UPDATE" if for_update else "")


# What a later save of a market, merchant or terminal leaves as first inserted (and its id): the
# rest of the row is replaced. The fakes keep the same.
MARKET_KEPT = ("district", "registered_actor")
# A merchant's stall and its terminals' change by a move (换摊位) only.
MERCHANT_KEPT = ("market_id", "district", "credit_code", "registered_actor")
TERMINAL_KEPT = ("kind", "market_id", "district", "merchant_id", "profile", "registered_actor")


class _Registered(OnConnection, Generic[E]):
    """The table of one kind of registered entity, a column per field of the same name: inserted
    whole, replaced by a later save but for the `kept` columns, read back by id."""

    table: str
    entity: type[E]
    kept: tuple[str, ...]

    @property
    def select(self) -> str:
        return f"SELECT {', '.join(f.name for f in fields(self.entity))} FROM {self.table}"

    def load(self, r: asyncpg.Record) -> E:
        return serial.load(self.entity, dict(r))

    async def save(self, entity: E) -> None:
        row = {f.name: _column(getattr(entity, f.name)) for f in fields(entity)}
        values = ", ".join(f"${n}" for n in range(1, len(row) + 1))
        changes = [name for name in row if name != "id" and name not in self.kept]
        update = ", ".join(f"{name} = EXCLUDED.{name}" for name in changes)
        await self.conn.execute(
            f"INSERT INTO {self.table} ({', '.join(row)}) VALUES ({values})"
            f" ON CONFLICT (id) DO UPDATE SET {update}",
            *row.values(),
        )

    async def get(self, entity_id: str, *, for_update: bool = False) -> E | None:
        r = await self.conn.fetchrow(_locked(f"{self.select} WHERE id = $1", for_update), entity_id)
        return self.load(r) if r else None


def _column(value: Any) -> Any:
    """A field's value as its column takes it: an actor or a task force as jsonb, a tuple as an
    array."""
    if isinstance(value, Actor):
        return actor_dict(value)
    if isinstance(value, TaskForce):
        return serial.dump(value)
    if isinstance(value, tuple):
        return list(value)
    return value


class PostgresDistricts(OnConnection):
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


# domain/geo.py's distance_m in SQL, from the market to ($5, $6): the great circle on the
# mean-radius sphere; least() keeps rounding from pushing asin past its domain.
HAVERSINE_M = f"""(2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
    power(sin(radians(m.latitude - $5) / 2), 2)
    + cos(radians($5)) * cos(radians(m.latitude)) * power(sin(radians(m.longitude - $6) / 2), 2)
))))"""


class PostgresMarkets(_Registered[Market]):
    table, entity, kept = "markets", Market, MARKET_KEPT

    async def all(self, district: str | None) -> list[Market]:
        rows = await self.conn.fetch(
            "SELECT * FROM markets WHERE $1::text IS NULL OR district = $1"
            f" ORDER BY district, {name_order('name')}, id",
            district,
        )
        return [self.load(r) for r in rows]

    async def directory(self, query: DirectoryQuery) -> tuple[list[tuple[Market, str | None]], int]:
        q = query.q
        pattern = None if q is None else "%" + like_escape(q) + "%"
        where = """($1::text IS NULL OR m.name ILIKE $1 ESCAPE '\\')
                   AND ($2::text IS NULL OR m.district = $2)
                   AND ($3::text IS NULL OR m.kind = $3)
                   AND ($4::text IS NULL OR m.id = $4)
                   AND ($4::text IS NOT NULL OR m.status <> 'closed')"""
        filters = (pattern, query.district, query.kind, query.market_id)
        point: tuple[float, ...]
        if query.near is None:
            order, point = f"m.district, {name_order('m.name')}, m.id", ()
        else:
            where += " AND m.latitude IS NOT NULL"
            order, point = f"{HAVERSINE_M}, {name_order('m.name')}, m.id", query.near
        total: int = await self.conn.fetchval(
            f"SELECT count(*) FROM markets m WHERE {where}", *filters
        )
        args = (*filters, *point)
        at = len(args)
        rows = await self.conn.fetch(
            f"""SELECT m.*, d.name AS district_name FROM markets m
                LEFT JOIN districts d ON d.code = m.district
                WHERE {where} ORDER BY {order}
                OFFSET ${at + 1} LIMIT ${at + 2}""",
            *args, query.offset, query.limit,
        )  # fmt: skip
        return [(self.load(r), r["district_name"]) for r in rows], total


class PostgresMerchants(_Registered[Merchant]):
    table, entity, kept = "merchants", Merchant, MERCHANT_KEPT

    async def save(self, merchant: Merchant) -> None:
        # Two clerks putting merchants at one free stall at once both find it free; the index
        # refuses the second, which is told as the use case tells a taken stall.
        try:
            async with self.conn.transaction():
                await super().save(merchant)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != "merchants_trading_stall":
                raise
            raise stall_taken(merchant.market_id, merchant.stall_no) from None

    async def at_stall(self, market_id: str, stall_no: str) -> Merchant | None:
        r = await self.conn.fetchrow(
            "SELECT * FROM merchants WHERE market_id = $1 AND stall_no = $2 AND status <> 'left'",
            market_id,
            stall_no,
        )
        return self.load(r) if r else None

    async def with_credit_code(self, credit_code: str) -> list[Merchant]:
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE credit_code = $1
               ORDER BY status <> 'left', left_on, id""",
            credit_code,
        )
        return [self.load(r) for r in rows]

    async def all(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
        first, last = expiring if expiring is not None else (None, None)
        rows = await self.conn.fetch(
            f"""SELECT * FROM merchants
               WHERE ($1::text IS NULL OR market_id = $1) AND ($2::text IS NULL OR district = $2)
                 AND ($3::date IS NULL
                      OR (licence_valid_until BETWEEN $3 AND $4 AND status <> 'left'))
               ORDER BY CASE WHEN $3::date IS NULL THEN NULL ELSE licence_valid_until END,
                        market_id, {stall_order("stall_no")}, id""",
            market_id,
            district,
            first,
            last,
        )
        return [self.load(r) for r in rows]

    async def lapsed(self, today: date, limit: int = 500) -> list[Merchant]:
        rows = await self.conn.fetch(
            """SELECT * FROM merchants WHERE status = 'active' AND licence_valid_until < $1
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            today,
            limit,
        )
        return [self.load(r) for r in rows]

    async def active(self, market_id: str) -> list[Merchant]:
        rows = await self.conn.fetch(
            f"""SELECT * FROM merchants WHERE market_id = $1 AND status = 'active'
               ORDER BY {stall_order("stall_no")}, id""",
            market_id,
        )
        return [self.load(r) for r in rows]


class PostgresTerminals(_Registered[Terminal]):
    table, entity, kept = "terminals", Terminal, TERMINAL_KEPT

    async def all(self, market_id: str | None, district: str | None) -> list[Terminal]:
        rows = await self.conn.fetch(
            f"{self.select} WHERE ($1::text IS NULL OR market_id = $1)"
            " AND ($2::text IS NULL OR district = $2) ORDER BY market_id, id",
            market_id,
            district,
        )
        return [self.load(r) for r in rows]


class PostgresSuspensions(OnConnection):
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


class PostgresRenovations(OnConnection):
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
