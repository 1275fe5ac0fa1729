"""A unit of work inside a transaction another part of the service holds: the registry view's,
which takes a newer market snapshot and runs the campaign's hooks on its connection
(services/runtime/directory.py). What the hook writes and emits commits with the view's change,
or neither does; an exception leaves through the view, which rolls all of it back."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

import asyncpg

from services.runtime.outbox import enqueue_many
from services.runtime.unit_of_work import UnitOfWork, UowFactory

S = TypeVar("S")


class JoinedUnit(UnitOfWork[S]):
    def __init__(
        self, conn: asyncpg.Connection, schema: str, stores: Callable[[asyncpg.Connection], S]
    ) -> None:
        super().__init__()
        self.conn, self.schema = conn, schema
        self.stores = stores(conn)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._outgoing:
            await enqueue_many(self.conn, self._outgoing, schema=self.schema)
        self._outgoing = []


def joined(
    conn: asyncpg.Connection, schema: str, stores: Callable[[asyncpg.Connection], S]
) -> UowFactory[S]:
    """The factory a hook hands its use case, for units on the holder's connection."""
    return lambda: JoinedUnit(conn, schema, stores)
