"""Offsets kept in Postgres beside the effects of a batch consumer (exactly-once effects).

    async with pool.acquire() as conn, conn.transaction():
        fresh = await offsets.unseen(conn, "telemetry-readings", deliveries)
        ... apply the effects of `fresh` ...
        await offsets.advance(conn, "telemetry-readings", deliveries)

`unseen` locks the partitions' rows, so two replicas briefly owning one partition during a
rebalance serialise instead of both applying the same records.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.runtime.messaging import Delivery


async def unseen(
    conn: asyncpg.Connection, consumer: str, deliveries: Sequence[Delivery]
) -> list[Delivery]:
    """The deliveries whose offsets are at or past what this consumer stored as handled."""
    partitions = sorted({(d.topic, d.partition) for d in deliveries})
    if not partitions:
        return []
    # A row must exist to be locked; a partition seen for the first time starts at offset 0.
    await conn.executemany(
        "INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)"
        " VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
        [(consumer, t, p) for t, p in partitions],
    )
    rows = await conn.fetch(
        """SELECT topic, partition, next_offset FROM consumer_offsets
           WHERE consumer = $1 AND (topic, partition) IN
                 (SELECT * FROM unnest($2::text[], $3::int[]))
           ORDER BY topic, partition FOR UPDATE""",
        consumer,
        [t for t, _ in partitions],
        [p for _, p in partitions],
    )
    stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
    return [d for d in deliveries if d.offset >= stored[(d.topic, d.partition)]]


async def advance(conn: asyncpg.Connection, consumer: str, deliveries: Sequence[Delivery]) -> None:
    """Record the offset after the last of `deliveries`, per partition (never moving back)."""
    last: dict[tuple[str, int], int] = {}
    for d in deliveries:
        key = (d.topic, d.partition)
        last[key] = max(last.get(key, -1), d.offset)
    if not last:
        return
    await conn.executemany(
        """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (consumer, topic, partition) DO UPDATE
           SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
               updated_at = now()""",
        [(consumer, t, p, off + 1) for (t, p), off in last.items()],
    )


class Offsets:
    """One consumer's offsets on a unit of work's connection (a store, like the services')."""

    def __init__(self, conn: asyncpg.Connection, consumer: str) -> None:
        self.conn, self.consumer = conn, consumer

    async def unseen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        return await unseen(self.conn, self.consumer, deliveries)

    async def advance(self, deliveries: Sequence[Delivery]) -> None:
        await advance(self.conn, self.consumer, deliveries)
