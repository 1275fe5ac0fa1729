"""Telemetry's local view of the registry: terminals and markets, from the compacted topics.

The tables are the durable copy (a restart reloads them); the dictionaries are what the hot
path reads, so verifying a reading never waits on the database. A snapshot replaces what we
hold only when its version is newer, so a compacted topic replayed from the beginning, or a
redelivery, leaves the view as it was; the memory takes a newer snapshot even when another
replica stored it first (services/runtime/projection.py).
"""

from __future__ import annotations

from dataclasses import dataclass

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

    async def load(self, pool: asyncpg.Pool) -> None:
        for r in await pool.fetch("SELECT * FROM terminals"):
            self.terminals[r["id"]] = TerminalInfo(**dict(r))
        for r in await pool.fetch("SELECT * FROM markets"):
            self.markets[r["id"]] = MarketInfo(**dict(r))

    async def on_terminal(self, pool: asyncpg.Pool, delivery: Delivery) -> None:
        data = delivery.envelope(TerminalUpserted).data
        info = TerminalInfo(
            id=data.terminal_id,
            kind=data.kind,
            market_id=data.market_id,
            district=data.district,
            merchant_id=data.merchant_id,
            stall_no=data.stall_no,
            profile=data.profile,
            interval_s=data.interval_s,
            key_version=data.key_version,
            status=data.status,
            version=data.version,
        )
        await pool.execute(
            """INSERT INTO terminals (id, kind, market_id, district, merchant_id, stall_no,
                                      profile, interval_s, key_version, status, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (id) DO UPDATE SET
                   kind = EXCLUDED.kind, market_id = EXCLUDED.market_id,
                   district = EXCLUDED.district, merchant_id = EXCLUDED.merchant_id,
                   stall_no = EXCLUDED.stall_no, profile = EXCLUDED.profile,
                   interval_s = EXCLUDED.interval_s, key_version = EXCLUDED.key_version,
                   status = EXCLUDED.status, version = EXCLUDED.version
               WHERE terminals.version < EXCLUDED.version""",
            info.id,
            info.kind,
            info.market_id,
            info.district,
            info.merchant_id,
            info.stall_no,
            info.profile,
            info.interval_s,
            info.key_version,
            info.status,
            info.version,
        )
        keep_newer(self.terminals, info.id, info)

    async def on_market(self, pool: asyncpg.Pool, delivery: Delivery) -> None:
        data = delivery.envelope(MarketUpserted).data
        info = MarketInfo(
            id=data.market_id,
            district=data.district,
            name=data.name,
            capacity=data.capacity,
            opens=data.opening_hours.open,
            closes=data.opening_hours.close,
            version=data.version,
        )
        await pool.execute(
            """INSERT INTO markets (id, district, name, capacity, opens, closes, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (id) DO UPDATE SET
                   district = EXCLUDED.district, name = EXCLUDED.name,
                   capacity = EXCLUDED.capacity, opens = EXCLUDED.opens,
                   closes = EXCLUDED.closes, version = EXCLUDED.version
               WHERE markets.version < EXCLUDED.version""",
            info.id,
            info.district,
            info.name,
            info.capacity,
            info.opens,
            info.closes,
            info.version,
        )
        keep_newer(self.markets, info.id, info)
