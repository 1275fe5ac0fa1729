"""A service's local view of the registry: markets and merchants from the compacted topics.

Complaints place a complaint in its market and resolve a stall to its merchant; credit names
merchants and markets in its public views and assessments; the campaign expects milestones of
the markets and districts it knows. Each reads the registry's compacted topics from the
beginning into its own tables (durable across restarts) and keeps the latest snapshots in memory
for handlers. A snapshot replaces what is held only when its version is newer, so a replay of
the topic or a redelivery leaves the view as it was.

Districts are known through their markets: a market's snapshot names its district's code and
(since the field exists) its name.

    directory = RegistryDirectory()
    directory.attach(service)        # migrations, two views, loading on start
    directory.markets[market_id]     # MarketUpserted
    directory.district_names         # {code: name}, of the districts that have markets
    directory.on_market_change(hook) # hook(conn, previous, market): once per newer snapshot
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import asyncpg

from contracts import topics
from contracts.registry import MARKET_CLOSED, MERCHANT_LEFT, MarketUpserted, MerchantUpserted
from services.runtime.app import Service
from services.runtime.collation import name_key
from services.runtime.messaging import Delivery
from services.runtime.projection import keep_newer

MIGRATIONS = Path(__file__).parent / "directory_migrations"
# Called with the connection of the transaction that takes a newer market snapshot into the view,
# the snapshot held before (None for a market new to the view) and the new one. What the hook
# writes commits with the view's change, or neither does: a redelivered snapshot is not newer
# and calls no hook, so its effect happens once.
MarketHook = Callable[[asyncpg.Connection, MarketUpserted | None, MarketUpserted], Awaitable[None]]


class RegistryView(Protocol):
    """What use cases read of the view: they take this, so that their tests hand them a plain
    object instead of a consuming directory."""

    @property
    def markets(self) -> Mapping[str, MarketUpserted]: ...

    @property
    def merchants(self) -> Mapping[str, MerchantUpserted]: ...

    @property
    def district_names(self) -> Mapping[str, str]: ...

    @property
    def caught_up(self) -> asyncio.Event: ...

    def districts(self) -> set[str]: ...

    def markets_in(
        self, district: str | None = None, *, closed: bool = True
    ) -> list[MarketUpserted]: ...

    def merchant_at(self, market_id: str, stall_no: str) -> MerchantUpserted | None: ...


class RegistryMemory:
    """The snapshots held in memory, the newest version of each: what use cases read. The
    directory below fills it from the topics; a use case's test fills it with `keep`."""

    def __init__(self, *snapshots: MarketUpserted | MerchantUpserted) -> None:
        self.markets: dict[str, MarketUpserted] = {}
        self.merchants: dict[str, MerchantUpserted] = {}
        self._stalls: dict[tuple[str, str], str] = {}
        # District code to name, from the markets' snapshots (older snapshots carry no name).
        self.district_names: dict[str, str] = {}
        # Set once both topics were read to the end they had at start: only then does the view
        # know every market and merchant (a check or a report before that would miss some).
        self.caught_up = asyncio.Event()
        self.keep(*snapshots)

    def keep(self, *snapshots: MarketUpserted | MerchantUpserted) -> None:
        """Take each snapshot that is newer than the one held."""
        for snapshot in snapshots:
            if isinstance(snapshot, MarketUpserted):
                self._keep_market(snapshot)
            else:
                self._keep_merchant(snapshot)

    def districts(self) -> set[str]:
        """The codes of the districts the view knows: those that have a market."""
        return {m.district for m in self.markets.values()}

    def markets_in(
        self, district: str | None = None, *, closed: bool = True
    ) -> list[MarketUpserted]:
        """The markets (of `district`, when given), by district and name (in pinyin order);
        `closed=False`: only those still open (a market closed for good, 停业, owes nothing)."""
        found = [
            m
            for m in self.markets.values()
            if (district is None or m.district == district)
            and (closed or m.status != MARKET_CLOSED)
        ]
        return sorted(found, key=lambda m: (m.district, name_key(m.name), m.market_id))

    def _keep_market(self, market: MarketUpserted) -> None:
        if not keep_newer(self.markets, market.market_id, market):
            return
        if market.district_name:
            self.district_names[market.district] = market.district_name

    def merchant_at(self, market_id: str, stall_no: str) -> MerchantUpserted | None:
        merchant_id = self._stalls.get((market_id, stall_no))
        return self.merchants.get(merchant_id) if merchant_id else None

    def _keep_merchant(self, merchant: MerchantUpserted) -> None:
        old = self.merchants.get(merchant.merchant_id)
        if old is not None and old.version >= merchant.version:
            return
        if old is not None and self._stalls.get((old.market_id, old.stall_no)) == old.merchant_id:
            del self._stalls[(old.market_id, old.stall_no)]
        self.merchants[merchant.merchant_id] = merchant
        if merchant.status != MERCHANT_LEFT:
            # One who left frees its stall: a complaint about the stall names the next merchant.
            self._stalls[(merchant.market_id, merchant.stall_no)] = merchant.merchant_id


class RegistryDirectory(RegistryMemory):
    """The memory kept from the registry's compacted topics, through this service's tables."""

    def __init__(self) -> None:
        super().__init__()
        self._market_hooks: list[MarketHook] = []
        self.loaded = False

    def attach(self, service: Service) -> None:
        """Wire the view into `service`: its tables, its consumers and loading at start.

        The view consumes in groups of this replica's own (services/runtime/projection.py): it
        always reads the compacted topics whole, whatever the service's other consumers do."""
        service.add_migrations("directory", MIGRATIONS)

        markets, merchants = topics.REGISTRY_MARKETS.name, topics.REGISTRY_MERCHANTS.name
        service.project(markets, service.with_pool(self.on_market), view="markets")
        service.project_batches(merchants, service.with_pool(self.on_merchants), view="merchants")
        service.on_start(lambda: self.load(service.pool))
        self.caught_up = service.projections.ready

    def on_market_change(self, hook: MarketHook) -> None:
        """Run `hook` in the transaction that takes a newer market snapshot into the view."""
        self._market_hooks.append(hook)

    async def load(self, pool: asyncpg.Pool) -> None:
        for row in await pool.fetch("SELECT snapshot FROM directory_markets ORDER BY version"):
            self._keep_market(MarketUpserted.model_validate(row["snapshot"]))
        for row in await pool.fetch("SELECT snapshot FROM directory_merchants ORDER BY version"):
            self._keep_merchant(MerchantUpserted.model_validate(row["snapshot"]))
        self.loaded = True

    async def on_market(self, pool: asyncpg.Pool, delivery: Delivery) -> None:
        market = delivery.envelope(MarketUpserted).data
        async with pool.acquire() as conn, conn.transaction():
            held = await conn.fetchval(
                "SELECT snapshot FROM directory_markets WHERE id = $1 FOR UPDATE",
                market.market_id,
            )
            applied = await conn.fetchval(
                """INSERT INTO directory_markets (id, district, version, snapshot)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (id) DO UPDATE SET
                       district = EXCLUDED.district, version = EXCLUDED.version,
                       snapshot = EXCLUDED.snapshot
                   WHERE directory_markets.version < EXCLUDED.version
                   RETURNING true""",
                market.market_id, market.district, market.version,
                market.model_dump(mode="json"),
            )  # fmt: skip
            if applied:
                previous = MarketUpserted.model_validate(held) if held is not None else None
                for hook in self._market_hooks:
                    await hook(conn, previous, market)
        # Another replica may have stored it first: the memory takes it all the same.
        self._keep_market(market)

    async def on_merchants(self, pool: asyncpg.Pool, deliveries: Sequence[Delivery]) -> None:
        """A batch of merchant snapshots in one statement (executemany is one transaction): a
        city's tens of thousands of merchants, read by a new replica before it is ready."""
        merchants = [d.envelope(MerchantUpserted).data for d in deliveries]
        await pool.executemany(
            """INSERT INTO directory_merchants
                   (id, market_id, district, stall_no, status, version, snapshot)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (id) DO UPDATE SET
                   market_id = EXCLUDED.market_id, district = EXCLUDED.district,
                   stall_no = EXCLUDED.stall_no, status = EXCLUDED.status,
                   version = EXCLUDED.version, snapshot = EXCLUDED.snapshot
               WHERE directory_merchants.version < EXCLUDED.version""",
            [
                (
                    m.merchant_id, m.market_id, m.district, m.stall_no, m.status, m.version,
                    m.model_dump(mode="json"),
                )
                for m in merchants
            ],
        )  # fmt: skip
        for merchant in merchants:
            self._keep_merchant(merchant)
