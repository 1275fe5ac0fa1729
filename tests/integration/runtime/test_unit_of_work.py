"""The Postgres unit of work on a real database: a block that returns commits its state, its
inbox claim and its outbox rows together; a block that raises leaves none of them, and neither
does one cancelled inside its COMMIT."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from services.runtime.db import create_pool
from services.runtime.messaging import Delivery
from services.runtime.outbox import outgoing
from services.runtime.unit_of_work import joined_units, postgres_units
from tests.support.event_samples import SAMPLES
from tests.support.poll import until

MARKET = "registry.market.upserted"
DELIVERY = Delivery("registry.markets.v1", 2, 41, None, b"{}")


class Notes:
    """A store of the smallest kind: one table of notes."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, text: str) -> None:
        await self.conn.execute("INSERT INTO uow_notes (text) VALUES ($1)", text)


async def _counts(pool: asyncpg.Pool) -> dict[str, Any]:
    return {
        "notes": await pool.fetchval("SELECT count(*) FROM uow_notes"),
        "inbox": await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'uow-test'"),
        "outbox": await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'registry.markets.v1'"
        ),
    }


async def test_a_unit_commits_state_claim_and_events_together_or_none_of_them(
    make_service, started
) -> None:
    svc = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()  # the outbox rows stay where the unit wrote them
    await svc.pool.execute("CREATE TABLE uow_notes (text text NOT NULL)")
    # The units get a pool of their own: the service's pool also serves its background jobs,
    # which may hold a connection at the moment the test counts the idle ones.
    pool = await create_pool(svc.settings.database_url, svc.schema, max_size=2)
    try:
        await _every_way(svc, pool)
    finally:
        await pool.close()


async def test_a_service_wires_its_units_before_its_pool_exists(make_service, started) -> None:
    svc = make_service()
    # As each service's app.py does: the factory is made before the service starts.
    uow = svc.units(Notes)
    started.append(svc)
    await svc.start()
    svc.relay.stop()
    await svc.pool.execute("CREATE TABLE uow_notes (text text NOT NULL)")
    async with uow() as work:
        await work.stores.add("wired")
        work.emit(outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET]))
    assert await _counts(svc.pool) == {"notes": 1, "inbox": 0, "outbox": 1}


async def _every_way(svc: Any, pool: asyncpg.Pool) -> None:
    uow = postgres_units(lambda: pool, svc.schema, Notes)
    item = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET])

    with pytest.raises(RuntimeError):
        async with uow() as work:
            assert await work.claim("uow-test", "evt_1", DELIVERY)
            await work.stores.add("lost")
            work.emit(item)
            raise RuntimeError("a later step failed")
    assert await _counts(svc.pool) == {"notes": 0, "inbox": 0, "outbox": 0}

    async with uow() as work:
        assert await work.claim("uow-test", "evt_1", DELIVERY)
        await work.stores.add("kept")
        work.emit(item)
    assert await _counts(svc.pool) == {"notes": 1, "inbox": 1, "outbox": 1}
    row = await svc.pool.fetchrow(
        'SELECT topic, partition, "offset" FROM inbox WHERE consumer = $1', "uow-test"
    )
    assert tuple(row) == ("registry.markets.v1", 2, 41)

    # The redelivery: claimed before, so the use case does nothing.
    async with uow() as work:
        assert not await work.claim("uow-test", "evt_1", DELIVERY)
    assert await _counts(svc.pool) == {"notes": 1, "inbox": 1, "outbox": 1}
    # Every connection went back to the pool.
    assert pool.get_size() - pool.get_idle_size() == 0


async def test_a_joined_unit_commits_and_rolls_back_with_the_transaction_it_joined(
    make_service, started
) -> None:
    svc = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()
    await svc.pool.execute("CREATE TABLE uow_notes (text text NOT NULL)")
    item = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET])

    async def hook(conn: asyncpg.Connection, text: str) -> None:
        async with joined_units(conn, svc.schema, Notes)() as work:
            assert await work.claim("uow-test", f"evt_{text}", DELIVERY)
            await work.stores.add(text)
            work.emit(item)

    # The holder fails after the hook: nothing of the hook's stays.
    with pytest.raises(RuntimeError):
        async with svc.pool.acquire() as conn, conn.transaction():
            await hook(conn, "lost")
            raise RuntimeError("the holder failed after the hook")
    assert await _counts(svc.pool) == {"notes": 0, "inbox": 0, "outbox": 0}

    async with svc.pool.acquire() as conn, conn.transaction():
        await hook(conn, "kept")
        # Written inside the holder's transaction: not visible outside it until it commits.
        assert await _counts(svc.pool) == {"notes": 0, "inbox": 0, "outbox": 0}
    assert await _counts(svc.pool) == {"notes": 1, "inbox": 1, "outbox": 1}


class HeldNotes:
    """Notes whose COMMIT waits: a deferred constraint trigger takes an advisory lock at commit,
    which the test holds until it has cancelled the COMMIT."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, text: str) -> None:
        await self.conn.execute("INSERT INTO held_notes (text) VALUES ($1)", text)


async def test_a_commit_cancelled_mid_flight_raises_the_cancellation_and_returns_the_connection(
    make_service, started
) -> None:
    """A stopping service cancels its periodic jobs, perhaps inside COMMIT: the unit must raise
    the cancellation (not an error of its own), leave nothing half written and give the
    connection back."""
    svc = make_service()
    started.append(svc)
    await svc.start()
    await svc.pool.execute(
        """CREATE TABLE held_notes (text text NOT NULL);
           CREATE FUNCTION held_commit() RETURNS trigger LANGUAGE plpgsql
               AS $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('held_notes')); RETURN NULL;
               END $$;
           CREATE CONSTRAINT TRIGGER held AFTER INSERT ON held_notes
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION held_commit();"""
    )
    pool = await create_pool(svc.settings.database_url, svc.schema, max_size=2)
    holder = await svc.pool.acquire()
    await holder.execute("SELECT pg_advisory_lock(hashtext('held_notes'))")
    try:
        uow = postgres_units(lambda: pool, svc.schema, HeldNotes)

        async def write() -> None:
            async with uow() as work:
                await work.stores.add("half")

        writing = asyncio.create_task(write())

        async def committing() -> bool:
            found = await svc.pool.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                    WHERE state = 'active' AND query = 'COMMIT;' AND wait_event_type = 'Lock'"""
            )
            return bool(found)

        await until(committing, within=20, what="the unit's COMMIT waiting on the lock")
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        assert await svc.pool.fetchval("SELECT count(*) FROM held_notes") == 0
        await until(
            lambda: pool.get_size() - pool.get_idle_size() == 0,
            within=20,
            what="the connection back in the pool",
        )
        assert await pool.fetchval("SELECT 1") == 1  # and usable
    finally:
        await holder.execute("SELECT pg_advisory_unlock(hashtext('held_notes'))")
        await svc.pool.release(holder)
        await pool.close()
