"""Inspection's local view of the registry: markets (district, task force) and merchants.

The tables are the durable copy (a restart reloads them); the dictionaries are what the use cases
read. A snapshot replaces what we hold only when its version is newer, so a compacted topic
replayed from the beginning, or a redelivery, leaves the view as it was. Every replica reads the
topics whole and takes each newer snapshot into memory; the replica that stores it first starts
the merchant's patrol plan (services/runtime/projection.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from contracts.registry import MARKET_CLOSED, MERCHANT_LEFT, MarketUpserted, MerchantUpserted
from services.inspection.domain import TaskForce
from services.inspection.store import MarketInfo, MerchantInfo, Stores
from services.runtime import serial
from services.runtime.projection import keep_newer
from services.runtime.unit_of_work import UnitOfWork, UowFactory

# Runs in the unit of work that stores a batch of merchant snapshots, with some of them: their
# first snapshots (patrol plans start), or those that left their stalls (their tasks withdrawn).
OnMerchants = Callable[[UnitOfWork[Stores], Sequence[MerchantInfo]], Awaitable[None]]
OnMarketClosed = Callable[[UnitOfWork[Stores], str], Awaitable[None]]


class Directory:
    def __init__(self, uow: UowFactory[Stores] | None = None) -> None:
        self.uow = uow
        self.markets: dict[str, MarketInfo] = {}
        self.merchants: dict[str, MerchantInfo] = {}

    def task_force(self, market_id: str) -> TaskForce | None:
        market = self.markets.get(market_id)
        return market.task_force if market else None

    def _units(self) -> UowFactory[Stores]:
        assert self.uow is not None, "a directory without a unit of work holds memory only"
        return self.uow

    async def load(self) -> None:
        async with self._units()() as work:
            markets = await work.stores.registry.markets()
            merchants = await work.stores.registry.merchants()
        self.markets.update((m.id, m) for m in markets)
        self.merchants.update((m.id, m) for m in merchants)

    async def on_market(
        self, data: MarketUpserted, on_closed: OnMarketClosed | None = None
    ) -> None:
        """Take a market's snapshot; `on_closed` runs in the same unit of work when it says the
        market closed (停业) — every time one is read, as `on_left` for merchants."""
        tf = data.task_force
        task_force = TaskForce(tf.leader, tuple(tf.members)) if tf else None
        info = serial.into(MarketInfo, data, id=data.market_id, task_force=task_force)
        async with self._units()() as work:
            await work.stores.registry.put_market(info)
            if on_closed is not None and data.status == MARKET_CLOSED:
                await on_closed(work, data.market_id)
        keep_newer(self.markets, info.id, info)

    async def on_merchants(
        self,
        snapshots: Sequence[MerchantUpserted],
        on_new: OnMerchants | None = None,
        on_left: OnMerchants | None = None,
    ) -> None:
        """Apply a batch of merchant snapshots in one unit of work; `on_new` runs in it with the
        merchants the view did not know before (their first snapshots), if any, and `on_left`
        with those of the batch whose newest snapshot says they left their stalls — every time
        one is read, since a replica that read it before may have stopped short of acting."""
        newest: dict[str, MerchantInfo] = {}  # a merchant twice in a batch: its newer snapshot
        for data in snapshots:
            info = serial.into(MerchantInfo, data, id=data.merchant_id)
            keep_newer(newest, info.id, info)
        async with self._units()() as work:
            new = await work.stores.registry.put_merchants(list(newest.values()))
            if on_new is not None and new:
                await on_new(work, new)
            left = [m for m in newest.values() if m.status == MERCHANT_LEFT]
            if on_left is not None and left:
                await on_left(work, left)
        # Another replica may have stored them first: the memory takes them all the same.
        for info in newest.values():
            keep_newer(self.merchants, info.id, info)
