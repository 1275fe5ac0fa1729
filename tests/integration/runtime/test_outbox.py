"""The outbox against real Postgres and Kafka: an event committed with its state change reaches
the topic even when the relay dies between the commit and the publish, or between the publish
and marking the row."""

from __future__ import annotations

import asyncio

import pytest

from contracts.envelope import make_event
from services.runtime.app import Service
from services.runtime.db import create_pool
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate
from services.runtime.outbox import OutboxRelay, enqueue
from tests.integration.runtime.conftest import Payload
from tests.support.kafka import TopicWatcher
from tests.support.poll import until


class RelayKilled(BaseException):
    """Stands for the process dying: nothing inside the relay handles it."""


def _event(n: int):  # type: ignore[no-untyped-def]
    return make_event(
        service="tests",
        event_type="tests.thing.happened",
        version=1,
        subject=f"s{n}",
        data=Payload(n=n),
    )


async def _drained(svc: Service) -> bool:
    return await _pending(svc) == 0


async def _pending(svc: Service) -> int:
    return int(await svc.pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def test_event_committed_while_no_relay_runs_is_published_on_restart(
    make_service, started, kafka: str, database_url: str, topic: str
) -> None:
    svc = make_service()
    await migrate(database_url, svc.schema, {"runtime": RUNTIME_MIGRATIONS})
    pool = await create_pool(database_url, svc.schema)
    events = [_event(n) for n in range(3)]
    try:
        # The state change and its events commit; the relay is dead (never started).
        async with pool.acquire() as conn, conn.transaction():
            for e in events:
                await enqueue(conn, topic, e)
    finally:
        await pool.close()

    async with TopicWatcher(kafka, topic) as watcher:
        started.append(svc)
        await svc.start()  # a restarted service's relay finds the committed rows
        ids = {e.id for e in events}
        seen = await watcher.wait_for(lambda r: r.json()["id"] in ids, count=3)
    assert {r.json()["id"] for r in seen} == ids
    assert [r.key for r in seen] == [b"s0", b"s1", b"s2"]  # keyed by subject, in outbox order
    assert seen[0].headers["content-type"] == b"application/cloudevents+json"
    await until(lambda: _drained(svc), what="rows stamped published")


async def test_relay_killed_after_publish_before_marking_publishes_again_never_zero(
    make_service, started, kafka: str, topic: str
) -> None:
    svc = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()  # take the service's own relay out, to drive relays by hand
    await asyncio.sleep(0)
    event = _event(42)

    async def publish_then_die(batch):  # type: ignore[no-untyped-def]
        await svc.messaging.publish_batch(batch)
        raise RelayKilled

    doomed = OutboxRelay(
        svc.pool,
        svc.settings.database_url,
        svc.schema,
        publish_then_die,
        svc.metrics,
        poll_interval_s=0.1,
    )
    async with TopicWatcher(kafka, topic) as watcher:
        async with svc.pool.acquire() as conn, conn.transaction():
            await enqueue(conn, topic, event)
        with pytest.raises(RelayKilled):
            await asyncio.wait_for(doomed.run(), 20)
        assert await _pending(svc) == 1  # published, but the mark never happened

        fresh = OutboxRelay(
            svc.pool,
            svc.settings.database_url,
            svc.schema,
            svc.messaging.publish_batch,
            svc.metrics,
            poll_interval_s=0.1,
        )
        task = asyncio.create_task(fresh.run())
        try:
            copies = await watcher.wait_for(lambda r: r.json()["id"] == event.id, count=2)
        finally:
            fresh.stop()
            await asyncio.wait_for(task, 10)
    # At least once: the crash costs a duplicate (absorbed by consumers' inboxes), never a loss.
    assert len(copies) == 2
    assert await _pending(svc) == 0  # the fresh relay stamped the row before it stopped


async def test_only_one_relay_is_active_per_service(make_service, started) -> None:
    first, second = make_service(), make_service()
    started.extend([first, second])
    await first.start()
    await second.start()
    conn = await first.pool.acquire()
    try:
        holders = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
            first.relay.lock_key & 0xFFFFFFFF,
        )
    finally:
        await first.pool.release(conn)
    assert holders == 1


async def test_relay_outlives_a_failing_publish_and_delivers_once_it_works(
    make_service, started, kafka: str, topic: str
) -> None:
    svc = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()  # drive a relay by hand
    failures = 2

    async def flaky(batch):  # type: ignore[no-untyped-def]
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("broker away")
        await svc.messaging.publish_batch(batch)

    relay = OutboxRelay(
        svc.pool, svc.settings.database_url, svc.schema, flaky, svc.metrics, poll_interval_s=0.05
    )
    event = _event(7)
    async with TopicWatcher(kafka, topic) as watcher:
        async with svc.pool.acquire() as conn, conn.transaction():
            await enqueue(conn, topic, event)
        task = asyncio.create_task(relay.run())
        try:
            [record] = await watcher.wait_for(lambda r: r.json()["id"] == event.id)
        finally:
            relay.stop()
            await asyncio.wait_for(task, 10)
    assert failures == 0 and record.key == b"s7"


async def test_the_backlog_gauges_rise_while_publishing_fails(
    make_service, started, topic: str
) -> None:
    svc = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()

    async def broker_away(batch):  # type: ignore[no-untyped-def]
        raise ConnectionError("broker away")

    relay = OutboxRelay(svc.pool, svc.settings.database_url, svc.schema, broker_away, svc.metrics)
    async with svc.pool.acquire() as conn, conn.transaction():
        await enqueue(conn, topic, _event(8))
    svc.metrics.outbox_pending.set(0)
    async with svc.pool.acquire() as conn:
        try:
            await relay.relay_once(conn)
        except ConnectionError:
            pass
        else:
            raise AssertionError("the publish should have failed")
    assert svc.metrics.outbox_pending._value.get() >= 1
