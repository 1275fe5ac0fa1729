"""Inbox: remember which events a consumer handled, in the same transaction as the effect."""

from __future__ import annotations

import asyncpg


async def claim(
    conn: asyncpg.Connection,
    consumer: str,
    event_id: str,
    *,
    topic: str,
    partition: int,
    offset: int,
) -> bool:
    """True the first time `consumer` sees `event_id`; False for a redelivery.

    Call inside the transaction that applies the effect: if that transaction rolls back, the
    claim goes with it and the redelivered event is handled again. Two replicas racing on one
    event serialise on the primary key, and the loser sees it as a redelivery.
    """
    inserted = await conn.fetchval(
        'INSERT INTO inbox (consumer, event_id, topic, partition, "offset")'
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event_id,
        topic,
        partition,
        offset,
    )
    return bool(inserted)
