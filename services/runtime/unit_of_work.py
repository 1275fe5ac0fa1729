"""A unit of work: the stores of one transaction, the inbox claim of the delivery it handles and
the events it emits, written to the outbox just before the commit.

Use cases take a factory of units of work (and a clock), never a pool or a `Service`:

    async def close_task(uow: UowFactory[Stores], task_id: str, now: datetime) -> Task:
        async with uow() as work:
            task = await work.stores.tasks.get(task_id)
            ...
            work.emit(outgoing(...))
        return task

Leaving the block without an exception commits: the outbox rows first, in the same transaction
as the state they announce, so an event exists if and only if its change committed. An exception
rolls everything back, the inbox claim included, so a redelivered event is handled again. The
Postgres unit holds one connection for its life; the fake keeps what was committed in memory for
use-case tests (the way `cosmicpython/code` tests its service layer on a fake unit of work).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import asyncpg

from services.runtime import inbox
from services.runtime.messaging import Delivery
from services.runtime.outbox import Item, enqueue_many

S = TypeVar("S")


class UnitOfWork(Generic[S]):
    """What a use case sees: `stores`, `claim` and `emit`; the context manager commits."""

    stores: S

    def __init__(self) -> None:
        self._outgoing: list[Item] = []

    def emit(self, *items: Item) -> None:
        """Queue events for the outbox; they are written with the commit, or never."""
        self._outgoing.extend(items)

    async def claim(self, consumer: str, event_id: str, delivery: Delivery) -> bool:
        """True the first time `consumer` handles `event_id`; False for a redelivery."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._outgoing = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._finish(commit=exc_type is None)
        finally:
            self._outgoing = []

    async def _finish(self, *, commit: bool) -> None:
        """Commit (the block returned) or roll back (it raised)."""
        raise NotImplementedError


UowFactory = Callable[[], UnitOfWork[S]]


async def _claim(
    conn: asyncpg.Connection, consumer: str, event_id: str, delivery: Delivery
) -> bool:
    return await inbox.claim(
        conn,
        consumer,
        event_id,
        topic=delivery.topic,
        partition=delivery.partition,
        offset=delivery.offset,
    )


class PostgresUnitOfWork(UnitOfWork[S]):
    """One connection from `pool`, one transaction, the service's outbox in `schema`."""

    def __init__(
        self, pool: asyncpg.Pool, schema: str, stores: Callable[[asyncpg.Connection], S]
    ) -> None:
        super().__init__()
        self.pool, self.schema, self._make_stores = pool, schema, stores
        self.conn: asyncpg.Connection | None = None
        self._tx: Any = None

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.conn = await self.pool.acquire()
        try:
            self._tx = self.conn.transaction()
            await self._tx.start()
        except BaseException:
            await self.pool.release(self.conn)
            raise
        self.stores = self._make_stores(self.conn)
        return self

    async def claim(self, consumer: str, event_id: str, delivery: Delivery) -> bool:
        assert self.conn is not None, "claim outside the unit of work"
        return await _claim(self.conn, consumer, event_id, delivery)

    async def _finish(self, *, commit: bool) -> None:
        assert self.conn is not None and self._tx is not None
        ending = False
        try:
            if commit:
                if self._outgoing:
                    await enqueue_many(self.conn, self._outgoing, schema=self.schema)
                ending = True
                await self._tx.commit()
            else:
                ending = True
                await self._tx.rollback()
        except BaseException:
            # Failing while the outbox rows are written, the transaction is still open: roll it
            # back. A COMMIT or ROLLBACK that failed (or was cancelled, as a stopping service
            # cancels its periodic jobs) leaves asyncpg's transaction failed, where another
            # rollback only raises; the pool's release rolls back whatever is left open.
            if not ending:
                await self._tx.rollback()
            raise
        finally:
            conn, self.conn = self.conn, None
            await self.pool.release(conn)


def postgres_units(
    pool: Callable[[], asyncpg.Pool], schema: str, stores: Callable[[asyncpg.Connection], S]
) -> UowFactory[S]:
    """The factory a service hands its use cases; `pool` is read when a unit begins (the pool
    exists only once the service started)."""
    return lambda: PostgresUnitOfWork(pool(), schema, stores)


class JoinedUnitOfWork(UnitOfWork[S]):
    """A unit inside a transaction another part of the service holds: a registry view's, which
    takes a newer snapshot and runs the service's hooks on its connection
    (services/runtime/directory.py). What the unit writes and emits commits with the holder's
    change, or neither does; an exception leaves through the holder, which rolls all of it back."""

    def __init__(
        self, conn: asyncpg.Connection, schema: str, stores: Callable[[asyncpg.Connection], S]
    ) -> None:
        super().__init__()
        self.conn, self.schema = conn, schema
        self.stores = stores(conn)

    async def claim(self, consumer: str, event_id: str, delivery: Delivery) -> bool:
        return await _claim(self.conn, consumer, event_id, delivery)

    async def _finish(self, *, commit: bool) -> None:
        if commit and self._outgoing:
            await enqueue_many(self.conn, self._outgoing, schema=self.schema)


def joined_units(
    conn: asyncpg.Connection, schema: str, stores: Callable[[asyncpg.Connection], S]
) -> UowFactory[S]:
    """The factory a hook hands its use case, for units on the holder's connection."""
    return lambda: JoinedUnitOfWork(conn, schema, stores)


class FakeUnitOfWork(UnitOfWork[S]):
    """In memory, for use-case tests: the stores are fakes the test holds; `published` is what
    committed units emitted, `claimed` the inbox, `commits` and `rollbacks` what happened.

    The fake stores are shared by every unit the factory makes. A rollback undoes what they were
    told only when the fake is given a `snapshot`; without one, tests of failure paths assert on
    `published` and on what the use case returned or raised."""

    def __init__(self, stores: S, snapshot: Callable[[], Callable[[], None]] | None = None) -> None:
        """`snapshot`, when given, is called as each unit begins and returns what puts the fake
        stores back as they were; a rollback calls it, as Postgres would undo the writes."""
        super().__init__()
        self.stores = stores
        self._snapshot = snapshot
        self._restore: Callable[[], None] | None = None
        self.claimed: set[tuple[str, str]] = set()
        self.published: list[Item] = []
        self.commits = self.rollbacks = 0
        self._claims: list[tuple[str, str]] = []

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._claims = []
        self._restore = self._snapshot() if self._snapshot is not None else None
        return self

    async def claim(self, consumer: str, event_id: str, delivery: Delivery) -> bool:
        key = (consumer, event_id)
        if key in self.claimed or key in self._claims:
            return False
        self._claims.append(key)
        return True

    async def _finish(self, *, commit: bool) -> None:
        if commit:
            self.published.extend(self._outgoing)
            self.claimed.update(self._claims)
            self.commits += 1
        else:
            self.rollbacks += 1
            if self._restore is not None:
                self._restore()
        self._claims, self._restore = [], None

    def factory(self) -> UowFactory[S]:
        return lambda: self

    def event_types(self) -> Sequence[str]:
        """The types of the events committed so far, in order."""
        return [event.type for _, event, _ in self.published]
