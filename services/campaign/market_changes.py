"""How the campaign and its duties follow the markets of the registry view: each newer snapshot
handed to a use case with units of work on the view's own transaction, so what the use case
stores commits with the snapshot or not at all (services/runtime/directory.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from contracts.registry import MarketUpserted
from services.runtime.app import Service
from services.runtime.directory import RegistryDirectory
from services.runtime.unit_of_work import UowFactory, joined_units

S = TypeVar("S")


def follow_markets(
    service: Service,
    directory: RegistryDirectory,
    stores: Callable[[asyncpg.Connection], S],
    use_case: Callable[[MarketUpserted | None, MarketUpserted, UowFactory[S]], Awaitable[None]],
) -> None:
    """Run `use_case(previous, market, units)` for every market change the view takes in."""

    async def on_market(
        conn: asyncpg.Connection, previous: MarketUpserted | None, market: MarketUpserted
    ) -> None:
        await use_case(previous, market, joined_units(conn, service.schema, stores))

    directory.on_market_change(on_market)
