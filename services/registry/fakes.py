"""In-memory fakes of the registry's stores (store.py), for use-case tests: they pass the same
suite as the Postgres stores (tests/integration/registry/test_store_suite.py).

The fakes of one `Tables` share its rows, as the Postgres stores of one connection share the
schema. `FakeRegistryUnits` is the runtime's fake unit of work that also puts the rows back when
a unit rolls back, so a failure-path test sees the state unchanged, as it would be in Postgres.
Locks (`for_update`, SKIP LOCKED) have no meaning in one task's memory and are not modelled.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from contracts.registry import MARKET_CLOSED
from services.registry.domain.geo import distance_m
from services.registry.domain.model import (
    LEFT,
    District,
    Market,
    Merchant,
    Terminal,
    stall_taken,
)
from services.registry.store import (
    MARKET_KEPT,
    MERCHANT_KEPT,
    TERMINAL_KEPT,
    DirectoryQuery,
    Stores,
)
from services.runtime.collation import name_key, stall_key
from services.runtime.unit_of_work import FakeUnitOfWork


@dataclass
class Suspension:
    merchant_id: str
    task_id: str
    suspended_at: datetime
    lifted_at: datetime | None = None


@dataclass
class Renovation:
    market_id: str
    stage: str
    version: int


@dataclass
class Tables:
    districts: dict[str, District] = field(default_factory=dict)
    markets: dict[str, Market] = field(default_factory=dict)
    merchants: dict[str, Merchant] = field(default_factory=dict)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    renovations: dict[str, Renovation] = field(default_factory=dict)

    def copy(self) -> Tables:
        return copy.deepcopy(self)

    def restore(self, earlier: Tables) -> None:
        self.__dict__.update(copy.deepcopy(earlier).__dict__)


class _OnTables:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables


E = TypeVar("E", Market, Merchant, Terminal)


def _upsert(table: dict[str, E], entity: E, kept: tuple[str, ...]) -> None:
    """Insert, or replace a held row but for the `kept` fields, as the Postgres upsert does."""
    held = table.get(entity.id)
    if held is not None:
        entity = replace(entity, **{name: getattr(held, name) for name in kept})
    table[entity.id] = entity


class FakeDistricts(_OnTables):
    async def add(self, district: District) -> bool:
        if district.code in self.tables.districts:
            return False
        self.tables.districts[district.code] = district
        return True

    async def get(self, code: str) -> District | None:
        return self.tables.districts.get(code)

    async def all(self) -> list[District]:
        return sorted(self.tables.districts.values(), key=lambda d: d.code)


class FakeMarkets(_OnTables):
    async def save(self, market: Market) -> None:
        _upsert(self.tables.markets, market, MARKET_KEPT)

    async def get(self, market_id: str, *, for_update: bool = False) -> Market | None:
        return self.tables.markets.get(market_id)

    async def all(self, district: str | None) -> list[Market]:
        found = [m for m in self.tables.markets.values() if district in (None, m.district)]
        return sorted(found, key=lambda m: (m.district, name_key(m.name), m.id))

    async def directory(self, query: DirectoryQuery) -> tuple[list[tuple[Market, str | None]], int]:
        q, district, kind, market_id = query.q, query.district, query.kind, query.market_id
        needle = None if q is None else q.casefold()
        found = sorted(
            (
                m
                for m in self.tables.markets.values()
                if (needle is None or needle in m.name.casefold())
                and district in (None, m.district)
                and kind in (None, m.kind)
                and market_id in (None, m.id)
                and (market_id is not None or m.status != MARKET_CLOSED)
            ),
            key=lambda m: (m.district, name_key(m.name), m.id),
        )
        if query.near is not None:
            near = query.near
            located = [(distance_m(p, near), m) for m in found if (p := m.location) is not None]
            found = [
                m for _, m in sorted(located, key=lambda d: (d[0], name_key(d[1].name), d[1].id))
            ]
        page = found[query.offset : query.offset + query.limit]
        districts = self.tables.districts
        named = [(m, d.name if (d := districts.get(m.district)) else None) for m in page]
        return named, len(found)


class FakeMerchants(_OnTables):
    async def save(self, merchant: Merchant) -> None:
        there = await self.at_stall(merchant.market_id, merchant.stall_no)
        if merchant.status != LEFT and there is not None and there.id != merchant.id:
            raise stall_taken(merchant.market_id, merchant.stall_no)
        _upsert(self.tables.merchants, merchant, MERCHANT_KEPT)

    async def get(self, merchant_id: str, *, for_update: bool = False) -> Merchant | None:
        return self.tables.merchants.get(merchant_id)

    async def at_stall(self, market_id: str, stall_no: str) -> Merchant | None:
        return next(
            (
                m
                for m in self.tables.merchants.values()
                if (m.market_id, m.stall_no) == (market_id, stall_no) and m.status != LEFT
            ),
            None,
        )

    async def with_credit_code(self, credit_code: str) -> list[Merchant]:
        found = [m for m in self.tables.merchants.values() if m.credit_code == credit_code]
        return sorted(found, key=lambda m: (m.status != LEFT, m.left_on or date.max, m.id))

    async def all(
        self,
        market_id: str | None,
        district: str | None,
        expiring: tuple[date, date] | None = None,
    ) -> list[Merchant]:
        found = [
            m
            for m in self.tables.merchants.values()
            if market_id in (None, m.market_id)
            and district in (None, m.district)
            and (
                expiring is None
                or (m.status != LEFT and expiring[0] <= m.licence_valid_until <= expiring[1])
            )
        ]
        if expiring is not None:
            return sorted(
                found,
                key=lambda m: (m.licence_valid_until, m.market_id, stall_key(m.stall_no), m.id),
            )
        return sorted(found, key=lambda m: (m.market_id, stall_key(m.stall_no), m.id))

    async def lapsed(self, today: date, limit: int = 500) -> list[Merchant]:
        found = [
            m
            for m in self.tables.merchants.values()
            if m.status == "active" and m.licence_valid_until < today
        ]
        return sorted(found, key=lambda m: m.id)[:limit]

    async def active(self, market_id: str) -> list[Merchant]:
        found = [
            m
            for m in self.tables.merchants.values()
            if m.market_id == market_id and m.status == "active"
        ]
        return sorted(found, key=lambda m: (stall_key(m.stall_no), m.id))


class FakeTerminals(_OnTables):
    async def save(self, terminal: Terminal) -> None:
        _upsert(self.tables.terminals, terminal, TERMINAL_KEPT)

    async def get(self, terminal_id: str, *, for_update: bool = False) -> Terminal | None:
        return self.tables.terminals.get(terminal_id)

    async def all(self, market_id: str | None, district: str | None) -> list[Terminal]:
        found = [
            t
            for t in self.tables.terminals.values()
            if market_id in (None, t.market_id) and district in (None, t.district)
        ]
        return sorted(found, key=lambda t: (t.market_id, t.id))


class FakeSuspensions(_OnTables):
    async def add(
        self, rectification_id: str, merchant_id: str, task_id: str, at: datetime
    ) -> bool:
        if rectification_id in self.tables.suspensions:
            return False
        self.tables.suspensions[rectification_id] = Suspension(merchant_id, task_id, at)
        return True

    async def lift(self, rectification_id: str, at: datetime) -> bool:
        held = self.tables.suspensions.get(rectification_id)
        if held is None or held.lifted_at is not None:
            return False
        held.lifted_at = at
        return True

    async def active(self, merchant_id: str) -> int:
        return sum(
            1
            for s in self.tables.suspensions.values()
            if s.merchant_id == merchant_id and s.lifted_at is None
        )


class FakeRenovations(_OnTables):
    async def save(self, project_id: str, market_id: str, stage: str, version: int) -> bool:
        held = self.tables.renovations.get(project_id)
        if held is not None and held.version >= version:
            return False
        self.tables.renovations[project_id] = Renovation(market_id, stage, version)
        return True

    async def stages(self, market_id: str) -> list[str]:
        return [r.stage for r in self.tables.renovations.values() if r.market_id == market_id]


def fake_stores(tables: Tables) -> Stores:
    return Stores(
        districts=FakeDistricts(tables),
        markets=FakeMarkets(tables),
        merchants=FakeMerchants(tables),
        terminals=FakeTerminals(tables),
        suspensions=FakeSuspensions(tables),
        renovations=FakeRenovations(tables),
    )


class FakeRegistryUnits(FakeUnitOfWork[Stores]):
    """The runtime's fake unit of work over fake stores, whose rows a rollback puts back."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables if tables is not None else Tables()
        super().__init__(fake_stores(self.tables), snapshot=self._keep_tables)

    def _keep_tables(self) -> Callable[[], None]:
        before = self.tables.copy()
        return lambda: self.tables.restore(before)
