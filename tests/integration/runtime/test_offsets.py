"""Offsets stored with effects: a redelivered batch is recognised record by record."""

from __future__ import annotations

from services.runtime import offsets
from services.runtime.db import connect, ident
from services.runtime.messaging import Delivery
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate


def _batch(partition: int, first: int, last: int) -> list[Delivery]:
    return [Delivery("t.v1", partition, o, None, b"") for o in range(first, last + 1)]


async def test_redelivered_offsets_are_filtered_per_partition(database_url: str) -> None:
    schema = "offsets_test"
    await migrate(database_url, schema, {"runtime": RUNTIME_MIGRATIONS})
    async with connect(database_url) as conn:
        await conn.execute(f"SET search_path TO {ident(schema)}")
        first = _batch(0, 0, 9) + _batch(1, 0, 4)
        async with conn.transaction():
            assert await offsets.unseen(conn, "c", first) == first
            await offsets.advance(conn, "c", first)
        # Kafka redelivers from an older committed offset, overlapping what was applied.
        again = _batch(0, 5, 14) + _batch(1, 3, 6)
        async with conn.transaction():
            fresh = await offsets.unseen(conn, "c", again)
            await offsets.advance(conn, "c", again)
        assert [(d.partition, d.offset) for d in fresh] == [(0, o) for o in range(10, 15)] + [
            (1, 5),
            (1, 6),
        ]
        # A rolled-back transaction leaves nothing behind.
        later = _batch(0, 15, 16)
        tx = conn.transaction()
        await tx.start()
        await offsets.advance(conn, "c", later)
        await tx.rollback()
        assert await offsets.unseen(conn, "c", later) == later
        # Another consumer name keeps its own offsets.
        assert await offsets.unseen(conn, "other", first) == first
