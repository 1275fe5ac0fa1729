"""Transient is not poison, on real Kafka and Postgres (issue 18, point 3): a handler failing on a
message nothing proves wrong is retried, and the message is handled once the cause goes; one that
keeps failing stops its partition (uncommitted, the stalled gauge at 1, no DLQ record) while the
other partitions go on, and moves again once the cause goes; a malformed message is still
dead-lettered at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from contracts.envelope import make_event
from services.runtime import inbox
from services.runtime.app import Service
from services.runtime.db import connect, ident
from services.runtime.messaging import Delivery
from services.runtime.settings import ServiceSettings
from tests.support.kafka import TopicWatcher, create_topics, unique_topic
from tests.support.poll import until


class Payload(BaseModel):
    n: int


@pytest.fixture
async def topic(kafka: str) -> str:
    name = unique_topic("retry")
    await create_topics(kafka, name, partitions=2)
    await create_topics(kafka, f"{name}.dlq")
    return name


@pytest.fixture
async def service(kafka: str, database_url: str) -> AsyncIterator[Callable[..., Service]]:
    made: list[Service] = []
    schema = f"retry_{uuid.uuid4().hex[:10]}"
    async with connect(database_url) as conn:
        await conn.execute(f"CREATE SCHEMA {ident(schema)}")
        await conn.execute(f"CREATE TABLE {ident(schema)}.effects (event_id text, n int)")
        # What the handler checks each message against (a row another consumer writes).
        await conn.execute(f"CREATE TABLE {ident(schema)}.known (n int PRIMARY KEY)")

    def make(group: str | None = None) -> Service:
        settings = ServiceSettings(
            kafka_bootstrap_servers=kafka,
            database_url=database_url,
            db_schema=schema,
            consumer_group=group or f"g-{uuid.uuid4().hex[:8]}",
            handler_max_attempts=4,
            retry_backoff_s=0.05,
            retry_backoff_max_s=0.2,
            stalled_retry_s=1.0,
            outbox_poll_interval_s=0.1,
        )
        svc = Service(settings)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        if svc.started:
            await svc.stop()


def _checked_handler(svc: Service) -> Callable[[Delivery], object]:
    """Records one effect per event, once the stored row it depends on exists; until then it
    fails the way a consistency check does (ValueError)."""

    async def handle(delivery: Delivery) -> None:
        event = delivery.envelope(Payload)
        async with svc.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT true FROM known WHERE n = $1", event.data.n):
                raise ValueError(f"no stored row for {event.data.n}: inconsistent")
            if await inbox.claim(
                conn,
                "checked",
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                await conn.execute(
                    "INSERT INTO effects (event_id, n) VALUES ($1, $2)", event.id, event.data.n
                )

    return handle


def _event(n: int) -> bytes:
    data = Payload(n=n)
    return make_event(
        service="tests", event_type="tests.thing.happened", version=1, subject="s", data=data
    ).to_json()


async def _produce(kafka: str, topic: str, items: list[tuple[int, bytes]]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        return [
            (await producer.send_and_wait(topic, value, key=b"k", partition=p)).offset
            for p, value in items
        ]
    finally:
        await producer.stop()


async def _effects(pool: asyncpg.Pool) -> list[int]:
    return [r["n"] for r in await pool.fetch("SELECT n FROM effects ORDER BY n")]


def _metric(svc: Service, name: str, **labels: str) -> float:
    value = svc.metrics.registry.get_sample_value(f"sentinel_{svc.name}_{name}", labels)
    return value or 0.0


async def _committed(svc: Service, topic: str, partition: int) -> int | None:
    [(_, _, subscriber)] = svc.messaging._subscribers
    committed: int | None = await subscriber.consumer.committed(TopicPartition(topic, partition))
    return committed


async def test_a_failing_store_check_is_retried_and_handled_once_it_clears(
    service: Callable[..., Service], kafka: str, topic: str
) -> None:
    svc = service()
    svc.subscribe(topic, _checked_handler(svc))
    async with TopicWatcher(kafka, f"{topic}.dlq") as dlq:
        await svc.start()
        [offset] = await _produce(kafka, topic, [(0, _event(1))])
        retries = {"topic": topic, "kind": "error"}
        await until(lambda: _metric(svc, "handler_retries_total", **retries) >= 1, what="retry")
        await svc.pool.execute("INSERT INTO known (n) VALUES (1)")  # the cause goes
        await until(lambda: _effects(svc.pool), what="the effect, once the row exists")
        await until(lambda: _committed_past(svc, topic, 0, offset), what="committed past it")
        await dlq.drain(settle_s=0.5)
    assert await _effects(svc.pool) == [1]
    assert [r for r in dlq.records if r.headers.get("dlq.source_topic") == topic.encode()] == []
    assert (
        _metric(svc, "consumer_stalled", topic=topic, partition="0", group=svc.settings.group_id)
        == 0
    )


async def _committed_past(svc: Service, topic: str, partition: int, offset: int) -> bool:
    committed = await _committed(svc, topic, partition)
    return committed is not None and committed > offset


async def test_a_handler_failing_for_ever_stops_its_partition_and_the_others_go_on(
    service: Callable[..., Service], kafka: str, topic: str
) -> None:
    svc = service()
    svc.subscribe(topic, _checked_handler(svc))
    group = svc.settings.group_id
    async with TopicWatcher(kafka, f"{topic}.dlq") as dlq:
        await svc.start()
        await svc.pool.execute("INSERT INTO known (n) VALUES (10), (11), (20), (21)")
        # Partition 0: 10, then 13 (no stored row: fails for ever), then 11 behind it.
        # Partition 1: 20 and 21 (handled), and a malformed record (dead-lettered at once).
        offsets = await _produce(
            kafka,
            topic,
            [
                (0, _event(10)),
                (0, _event(13)),
                (0, _event(11)),
                (1, _event(20)),
                (1, b"{bad"),
                (1, _event(21)),
            ],
        )
        stalled = {"topic": topic, "partition": "0", "group": group}
        await until(lambda: _metric(svc, "consumer_stalled", **stalled) == 1, what="stalled")
        await until(lambda: _committed_past(svc, topic, 1, offsets[5]), what="partition 1 moved on")
        [parked] = await dlq.wait_for(lambda r: r.headers.get("dlq.source_topic") == topic.encode())
        assert parked.value == b"{bad" and parked.headers["dlq.source_partition"] == b"1"
        assert await _effects(svc.pool) == [10, 20, 21]  # 11 waits behind the stalled 13
        assert await _committed(svc, topic, 0) == offsets[1]  # not past the stalled message
        assert _metric(svc, "handler_retries_total", topic=topic, kind="error") >= 3

        # Tried again after `stalled_retry_s`: still failing, still stopped, still not parked.
        before = _metric(svc, "handler_retries_total", topic=topic, kind="error")
        await until(
            lambda: _metric(svc, "handler_retries_total", topic=topic, kind="error") > before,
            what="tried again later",
        )
        assert _metric(svc, "consumer_stalled", **stalled) == 1

        await svc.pool.execute("INSERT INTO known (n) VALUES (13)")  # the cause goes
        await until(lambda: _committed_past(svc, topic, 0, offsets[2]), within=30, what="resumed")
        await dlq.drain(settle_s=0.5)
    assert await _effects(svc.pool) == [10, 11, 13, 20, 21]
    assert _metric(svc, "consumer_stalled", **stalled) == 0
    ours = [r for r in dlq.records if r.headers.get("dlq.source_topic") == topic.encode()]
    assert [r.value for r in ours] == [b"{bad"]  # only the malformed one
    assert _metric(svc, "events_consumed_total", topic=topic, outcome="dead_lettered") == 1


async def test_a_stalled_partition_resumes_after_a_restart(
    service: Callable[..., Service], kafka: str, topic: str
) -> None:
    first = service()
    first.subscribe(topic, _checked_handler(first))
    await first.start()
    [offset] = await _produce(kafka, topic, [(0, _event(7))])
    stalled = {"topic": topic, "partition": "0", "group": first.settings.group_id}
    await until(lambda: _metric(first, "consumer_stalled", **stalled) == 1, what="stalled")
    await first.stop()

    again = service(first.settings.group_id)  # the same consumer group: a restarted replica
    again.subscribe(topic, _checked_handler(again))
    await again.start()
    await again.pool.execute("INSERT INTO known (n) VALUES (7)")
    await until(lambda: _committed_past(again, topic, 0, offset), within=30, what="resumed")
    assert await _effects(again.pool) == [7]
