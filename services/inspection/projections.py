"""Inspection's local view of the registry: markets (district, task force) and merchants.

The tables are the durable copy (a restart reloads them); the dictionaries are what handlers
read. A snapshot replaces what we hold only when its version is newer, so a compacted topic
replayed from the beginning, or a redelivery, leaves the view as it was. Every replica reads the
topics whole and takes each newer snapshot into memory; the replica that stores it first starts
the merchant's patrol plan (services/runtime/projection.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.registry import MarketUpserted, MerchantUpserted
from services.inspection.domain import TaskForce
from services.runtime.messaging import Delivery
from services.runtime.projection import keep_newer


@dataclass(frozen=True, slots=True)
class MarketInfo:
    id: str
    district: str
    name: str
    task_force: TaskForce | None
    version: int


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    id: str
    market_id: str
    district: str
    stall_no: str
    status: str
    version: int


def _task_force(data: Any) -> TaskForce | None:
    return None if data is None else TaskForce(data["leader"], tuple(data["members"]))


class Directory:
    def __init__(self) -> None:
        self.markets: dict[str, MarketInfo] = {}
        self.merchants: dict[str, MerchantInfo] = {}

    def task_force(self, market_id: str) -> TaskForce | None:
        market = self.markets.get(market_id)
        return market.task_force if market else None

    async def load(self, pool: asyncpg.Pool) -> None:
        for r in await pool.fetch("SELECT * FROM markets"):
            self.markets[r["id"]] = MarketInfo(
                r["id"], r["district"], r["name"], _task_force(r["task_force"]), r["version"]
            )
        for r in await pool.fetch("SELECT * FROM merchants"):
            self.merchants[r["id"]] = MerchantInfo(**dict(r))

    async def on_market(self, pool: asyncpg.Pool, delivery: Delivery) -> None:
        data = delivery.envelope(MarketUpserted).data
        tf = data.task_force
        info = MarketInfo(
            id=data.market_id,
            district=data.district,
            name=data.name,
            task_force=TaskForce(tf.leader, tuple(tf.members)) if tf else None,
            version=data.version,
        )
        stored = None if tf is None else {"leader": tf.leader, "members": list(tf.members)}
        await pool.execute(
            """INSERT INTO markets (id, district, name, task_force, version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (id) DO UPDATE SET
                   district = EXCLUDED.district, name = EXCLUDED.name,
                   task_force = EXCLUDED.task_force, version = EXCLUDED.version
               WHERE markets.version < EXCLUDED.version""",
            info.id, info.district, info.name, stored, info.version,
        )  # fmt: skip
        keep_newer(self.markets, info.id, info)

    async def on_merchant(
        self,
        pool: asyncpg.Pool,
        delivery: Delivery,
        on_new: Callable[[asyncpg.Connection, MerchantInfo], Awaitable[None]] | None = None,
    ) -> None:
        """Apply a merchant snapshot; `on_new` runs in the same transaction when it is the first
        snapshot of that merchant (its patrol plan starts with it)."""
        data = delivery.envelope(MerchantUpserted).data
        info = MerchantInfo(
            id=data.merchant_id,
            market_id=data.market_id,
            district=data.district,
            stall_no=data.stall_no,
            status=data.status,
            version=data.version,
        )
        async with pool.acquire() as conn, conn.transaction():
            # xmax = 0: the row was inserted by this statement, not updated.
            inserted = await conn.fetchval(
                """INSERT INTO merchants (id, market_id, district, stall_no, status, version)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (id) DO UPDATE SET
                       market_id = EXCLUDED.market_id, district = EXCLUDED.district,
                       stall_no = EXCLUDED.stall_no, status = EXCLUDED.status,
                       version = EXCLUDED.version
                   WHERE merchants.version < EXCLUDED.version
                   RETURNING xmax = 0""",
                info.id, info.market_id, info.district, info.stall_no, info.status,
                info.version,
            )  # fmt: skip
            if inserted and on_new is not None:
                await on_new(conn, info)
        # Another replica may have stored it first: the memory takes it all the same.
        keep_newer(self.merchants, info.id, info)
