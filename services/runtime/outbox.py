"""Transactional outbox: events are written with the state change, and a relay publishes them.

`enqueue` runs inside the caller's transaction, so an event exists if and only if its state
change committed. The relay publishes pending rows in id order and then stamps them; a relay
killed between the two publishes those rows again on restart (at-least-once, never zero) and
consumers' inboxes absorb the repeat. One relay per service is active at a time (a Postgres
advisory lock held by its connection), which keeps per-key order when replicas run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.envelope import CONTENT_TYPE, Envelope, make_event
from contracts.events import spec
from services.runtime.db import init_connection
from services.runtime.metrics import Metrics

log = logging.getLogger(__name__)

Header = tuple[str, bytes]


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[Header]


Publish = Callable[[Sequence[OutgoingMessage]], Awaitable[None]]
# What `enqueue_many` takes: the topic, the event and its Kafka key.
Item = tuple[str, Envelope[Any], str]


def outgoing(
    service: str,
    event_type: str,
    subject: str,
    data: Any,
    *,
    key: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
    cause: Envelope[Any] | None = None,
) -> Item:
    """An event for the outbox, its schema version and topic taken from the catalog
    (contracts.events), keyed by `key` or else its subject. `cause`, the event that led to this
    one: it joins that event's chain (its correlation id unless one is given) as its effect."""
    if cause is not None:
        correlation_id = correlation_id or cause.correlationid
        causation_id = causation_id or cause.id
    found = spec(event_type)
    if type(data) is not found.data:
        # The type is the contract's promise about the data: a mismatch would be published, and
        # every consumer would then parse it as the wrong model.
        raise TypeError(f"{event_type} carries {found.data.__name__}, not {type(data).__name__}")
    event = make_event(
        service=service,
        event_type=event_type,
        version=found.version,
        subject=subject,
        data=data,
        correlation_id=correlation_id,
        causation_id=causation_id,
        time=time,
        event_id=event_id,
    )
    return (found.topic.name, event, key or subject)


def channel(schema: str) -> str:
    return f"outbox_{schema}"


_INSERT = "INSERT INTO outbox (event_id, topic, key, value, headers) VALUES ($1, $2, $3, $4, $5)"


def _row(topic: str, event: Envelope[Any], key: str | None = None) -> tuple[Any, ...]:
    headers = [["content-type", CONTENT_TYPE], ["ce_type", event.type]]
    return (event.id, topic, (key or event.subject).encode(), event.to_json(), headers)


async def enqueue(
    conn: asyncpg.Connection,
    topic: str,
    event: Envelope[Any],
    *,
    key: str | None = None,
    schema: str | None = None,
) -> None:
    """Add an event to the outbox inside the caller's transaction (keyed by its subject)."""
    await conn.execute(_INSERT, *_row(topic, event, key))
    if schema:
        # Delivered on commit only, so the relay wakes exactly when there is something to send.
        await conn.execute("SELECT pg_notify($1, '')", channel(schema))


async def enqueue_many(
    conn: asyncpg.Connection,
    items: Sequence[tuple[str, Envelope[Any]] | tuple[str, Envelope[Any], str]],
    *,
    schema: str | None = None,
) -> None:
    """Add many (topic, event[, key]) in one pipelined statement and one NOTIFY.

    The key defaults to the event's subject; give it when the topic is keyed otherwise (risk
    events are about a risk but keyed by terminal, so one terminal's events stay in order).
    """
    await conn.executemany(_INSERT, [_row(*item) for item in items])
    if schema and items:
        await conn.execute("SELECT pg_notify($1, '')", channel(schema))


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        schema: str,
        publish: Publish,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        publish_timeout_s: float = 30.0,
        observe_interval_s: float = 5.0,
    ) -> None:
        self.pool, self.dsn, self.schema = pool, dsn, schema
        self.publish, self.metrics = publish, metrics
        self.batch_size, self.poll_interval_s = batch_size, poll_interval_s
        self.publish_timeout_s, self.observe_interval_s = publish_timeout_s, observe_interval_s
        # The backlog as last measured (count, age of the oldest in seconds), for the log.
        self.backlog: tuple[int, float] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.lock_key = zlib.crc32(f"outbox-relay:{schema}".encode())

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        # The backlog gauges are what SentinelOutboxStalled watches, so they are measured apart
        # from the relaying: a relay stuck anywhere (a broker that takes the records and never
        # answers, a hung connection) must not freeze them at their last value.
        measuring = asyncio.create_task(
            self._measure_backlog(), name=f"outbox-{self.schema}-gauges"
        )
        try:
            while not self._stopping.is_set():
                try:
                    await self._lead()
                except Exception as exc:
                    # Broker or database away, or a publish that failed or timed out: the rows
                    # stay pending and the relay tries again; it must never die while the
                    # service lives.
                    pending, oldest_s = self.backlog or (None, None)
                    log.warning(
                        "outbox relay interrupted",
                        extra={
                            "error": f"{type(exc).__name__}: {exc}",
                            "pending": pending,
                            "oldest_pending_s": oldest_s,
                        },
                    )
                    await self._pause(self.poll_interval_s * 4)
        finally:
            measuring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await measuring

    async def _lead(self) -> None:
        """Hold the relay lock on a dedicated connection; publish while holding it."""
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn, server_settings={"search_path": f"{self.schema},public"}
        )
        await init_connection(conn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                # Another replica relays; stand by and take over when its connection goes.
                if await self._pause(self.poll_interval_s * 4):
                    return
            await conn.add_listener(channel(self.schema), lambda *_: self._wake.set())
            log.info("outbox relay active", extra={"schema": self.schema})
            while not self._stopping.is_set():
                sent = await self.relay_once(conn)
                if sent < self.batch_size:
                    await self._pause(self.poll_interval_s)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def _pause(self, seconds: float) -> bool:
        """Wait for a NOTIFY, the poll interval or stop; True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
        return self._stopping.is_set()

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, event_id, topic, key, value, headers FROM outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT $1",
            self.batch_size,
        )
        if rows:
            batch = [
                OutgoingMessage(
                    id=r["id"],
                    event_id=r["event_id"],
                    topic=r["topic"],
                    key=r["key"],
                    value=r["value"],
                    headers=[(k, v.encode()) for k, v in r["headers"]],
                )
                for r in rows
            ]
            try:
                # aiokafka's idempotent producer retries a batch for ever and never fails its
                # futures while the broker is away or frozen, so without a bound the relay would
                # wait here for the whole outage. A batch given up on stays pending and is sent
                # again; should its records still reach Kafka meanwhile, they arrive twice, which
                # delivery allows (at least once, docs/integration.md; consumers' inboxes drop
                # an event id they handled, services/runtime/inbox.py). Rows are stamped only
                # after a publish that returned, so none is lost.
                async with asyncio.timeout(self.publish_timeout_s):
                    await self.publish(batch)
            except BaseException as exc:
                # The backlog is what an operator must see while the broker is away.
                await self._observe(conn)
                if isinstance(exc, TimeoutError):
                    raise TimeoutError(
                        f"{len(batch)} events not acknowledged within {self.publish_timeout_s:g} s"
                    ) from None
                raise
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [m.id for m in batch],
            )
            for m in batch:
                self.metrics.outbox_published.labels(m.topic).inc()
        return len(rows)

    async def _measure_backlog(self) -> None:
        """Every replica, leading or standing by, measures the backlog on its own timer (the
        alerts take the maximum per service, deploy/prometheus/alerts.yml)."""
        while True:
            try:
                async with asyncio.timeout(self.observe_interval_s * 2):
                    await self._observe(self.pool)
            except Exception as exc:  # the database away: the gauges keep their last value
                log.debug("outbox backlog not measured", extra={"error": repr(exc)})
            await asyncio.sleep(self.observe_interval_s)

    async def _observe(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        pending, age = await conn.fetchrow(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            " FROM outbox WHERE published_at IS NULL"
        )
        self.backlog = (int(pending), float(age))
        self.metrics.outbox_pending.set(pending)
        self.metrics.outbox_oldest_seconds.set(float(age))


async def purge_published(pool: asyncpg.Pool, older_than_days: int = 7) -> int:
    """Published rows are kept a while for audit and debugging, then dropped."""
    result: str = await pool.execute(
        "DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(result.split()[-1])
