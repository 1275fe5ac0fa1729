"""Telemetry's local view of the registry: terminals and markets, from the compacted topics.

The tables are the durable copy (a restart reloads them); the dictionaries are what the hot
path reads, so verifying a reading never waits on the database. A snapshot replaces what we
hold only when its version is newer, so a compacted topic replayed from the beginning, or a
redelivery, leaves the view as it was; the memory takes a newer snapshot even when another
replica stored it first (services/runtime/projection.py).

Terminals are also indexed by market, for the staff's list of a market's terminals (api.py): a
terminal is taken into the view only through `keep_terminal`, which moves it in the index when a
newer snapshot names another market. The registry never deletes a terminal: it retires it, a
newer snapshot with status `retired` that stays in the view and in its market's list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import asyncpg

from contracts.registry import MarketUpserted, TerminalUpserted
from services.runtime.messaging import Delivery
from services.runtime.projection import keep_newer
from services.runtime.terminal_keys import derive_key
from services.telemetry.signing import Signer


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    id: str
    kind: str
    market_id: str
    district: str
    merchant_id: str | None
    stall_no: str | None
    profile: str | None
    interval_s: int
    key_version: int
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class MarketInfo:
    id: str
    district: str
    name: str
    capacity: int
    opens: str
    closes: str
    version: int


class Directory:
    def __init__(self, master_secret: bytes) -> None:
        self.master_secret = master_secret
        self.terminals: dict[str, TerminalInfo] = {}
        self.markets: dict[str, MarketInfo] = {}
        # Market id to the ids of its terminals in `terminals`, so that listing a market's
        # terminals reads that market's only; kept by `keep_terminal`.
        self._by_market: dict[str, set[str]] = {}
        self._keys: dict[tuple[str, int], bytes] = {}
        self._signers: dict[tuple[str, int], Signer] = {}

    def key(self, terminal: TerminalInfo) -> bytes:
        """The terminal's current signing key, derived once per key version."""
        cache_key = (terminal.id, terminal.key_version)
        key = self._keys.get(cache_key)
        if key is None:
            key = derive_key(self.master_secret, terminal.id, terminal.key_version)
            self._keys[cache_key] = key
        return key

    def signer(self, terminal: TerminalInfo) -> Signer:
        """HMAC under the terminal's current key, its pads prepared once per key version."""
        cache_key = (terminal.id, terminal.key_version)
        signer = self._signers.get(cache_key)
        if signer is None:
            signer = Signer(self.key(terminal))
            self._signers[cache_key] = signer
        return signer

    def keep_terminal(self, info: TerminalInfo) -> bool:
        """Hold `info` unless the view holds the terminal at its version or a newer one
        (`keep_newer`), and list it under its market, no longer under the one it left. True when
        the view changed."""
        held = self.terminals.get(info.id)
        if not keep_newer(self.terminals, info.id, info):
            return False
        if held is not None and held.market_id != info.market_id:
            left = self._by_market[held.market_id]
            left.discard(info.id)
            if not left:
                del self._by_market[held.market_id]
        self._by_market.setdefault(info.market_id, set()).add(info.id)
        return True

    def market_terminals(self, market_id: str) -> list[TerminalInfo]:
        """The terminals the view holds in the market, in no particular order."""
        return [self.terminals[tid] for tid in self._by_market.get(market_id, ())]

    async def load(self, pool: asyncpg.Pool) -> None:
        for r in await pool.fetch("SELECT * FROM terminals"):
            self.keep_terminal(TerminalInfo(**dict(r)))
        for r in await pool.fetch("SELECT * FROM markets"):
            self.markets[r["id"]] = MarketInfo(**dict(r))

    async def on_terminals(self, pool: asyncpg.Pool, deliveries: Sequence[Delivery]) -> None:
        """A batch of terminal snapshots in one statement: a new replica reads them all before
        it is ready (services/runtime/projection.py)."""
        infos = []
        for delivery in deliveries:
            data = delivery.envelope(TerminalUpserted).data
            infos.append(TerminalInfo(**_view(data, TerminalInfo, id=data.terminal_id)))
        await _upsert(pool, "terminals", infos)
        for info in infos:
            self.keep_terminal(info)

    async def on_markets(self, pool: asyncpg.Pool, deliveries: Sequence[Delivery]) -> None:
        """A batch of market snapshots in one statement, as terminals."""
        infos = []
        for delivery in deliveries:
            data = delivery.envelope(MarketUpserted).data
            hours = data.opening_hours
            infos.append(
                MarketInfo(
                    **_view(
                        data, MarketInfo, id=data.market_id, opens=hours.open, closes=hours.close
                    )
                )
            )
        await _upsert(pool, "markets", infos)
        for info in infos:
            keep_newer(self.markets, info.id, info)


def _view(data: object, view: type, **renamed: Any) -> dict[str, Any]:
    """A view's fields from an event's data: those the data names alike, and `renamed`."""
    return {
        f.name: renamed[f.name] if f.name in renamed else getattr(data, f.name)
        for f in fields(view)
    }


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    """Insert a row, or replace the stored one when this one's version is newer. The columns are
    the view's fields, the same names as its table's (migrations/0001_telemetry.sql)."""
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
        f" ON CONFLICT (id) DO UPDATE SET {updates} WHERE {table}.version < EXCLUDED.version"
    )


_COLUMNS = {
    "terminals": tuple(f.name for f in fields(TerminalInfo)),
    "markets": tuple(f.name for f in fields(MarketInfo)),
}
_UPSERTS = {table: _upsert_sql(table, columns) for table, columns in _COLUMNS.items()}


async def _upsert(
    pool: asyncpg.Pool, table: str, infos: Sequence[TerminalInfo] | Sequence[MarketInfo]
) -> None:
    """The rows in one statement; executemany runs in a transaction of its own."""
    columns = _COLUMNS[table]
    await pool.executemany(_UPSERTS[table], [[getattr(i, c) for c in columns] for i in infos])
