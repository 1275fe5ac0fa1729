"""Consumers against real Kafka and Postgres: redelivery has one effect (inbox), and a poison
message goes to `<topic>.dlq` with its error while the partition keeps moving."""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, make_event
from services.runtime import inbox
from services.runtime.app import Service
from services.runtime.db import connect, ident
from services.runtime.messaging import Delivery
from tests.integration.runtime.conftest import Payload
from tests.support.kafka import TopicWatcher
from tests.support.poll import until


def _happened(n: int) -> Envelope[Payload]:
    """A `tests.thing.happened` event about subject "s", carrying `n`."""
    return make_event(
        service="tests",
        event_type="tests.thing.happened",
        version=1,
        subject="s",
        data=Payload(n=n),
    )


def _subscribe_counter(svc: Service, topic: str, consumer: str = "counter") -> None:
    """A handler whose effect is one row per distinct event, guarded by the inbox."""

    async def count(delivery: Delivery) -> None:
        event = delivery.envelope(Payload)
        async with svc.pool.acquire() as conn, conn.transaction():
            if await inbox.claim(
                conn,
                consumer,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                await conn.execute(
                    "INSERT INTO effects (event_id, n) VALUES ($1, $2)", event.id, event.data.n
                )

    svc.subscribe(topic, count)


async def _effects_table(database_url: str, schema: str) -> None:
    async with connect(database_url) as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(schema)}.effects (event_id text, n int)"
        )


async def _produce(kafka: str, topic: str, values: list[bytes], key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _poll_effects(pool: asyncpg.Pool, want: int) -> list[asyncpg.Record]:
    async def rows() -> list[asyncpg.Record] | None:
        found = await pool.fetch("SELECT event_id, n FROM effects ORDER BY n")
        return found if len(found) >= want else None

    return await until(rows, what=f"{want} effects")


def _consumed(svc: Service, topic: str, outcome: str) -> float:
    value = svc.metrics.registry.get_sample_value(
        f"sentinel_{svc.name}_events_consumed_total", {"topic": topic, "outcome": outcome}
    )
    return value or 0.0


async def test_redelivered_event_has_one_effect(
    make_service, started, kafka: str, database_url: str, topic: str
) -> None:
    svc = make_service()
    await _effects_table(database_url, svc.schema)
    _subscribe_counter(svc, topic)
    started.append(svc)
    await svc.start()

    event = _happened(1)
    other = _happened(2)
    # The same event three times (a producer retry, a replay), then another one.
    await _produce(
        kafka, topic, [event.to_json(), event.to_json(), event.to_json(), other.to_json()]
    )

    await until(lambda: _consumed(svc, topic, "handled") >= 4, what="4 deliveries handled")
    rows = await svc.pool.fetch("SELECT event_id, n FROM effects ORDER BY n")
    assert [(r["event_id"], r["n"]) for r in rows] == [(event.id, 1), (other.id, 2)]
    assert _consumed(svc, topic, "handled") == 4
    await svc.messaging.measure_lag()
    lag = svc.metrics.registry.get_sample_value(
        f"sentinel_{svc.name}_consumer_lag_messages", {"topic": topic, "partition": "0"}
    )
    assert lag == 0  # everything handled: the replica's position is at the end of the topic

    # A consumer that lost its offsets (a new group) replays the whole topic: still one effect.
    await svc.stop()
    replay = make_service(group=f"replay-{topic}")
    _subscribe_counter(replay, topic)
    started.append(replay)
    await replay.start()
    await until(lambda: _consumed(replay, topic, "handled") >= 4, what="replay handled")
    assert _consumed(replay, topic, "handled") == 4
    assert await replay.pool.fetchval("SELECT count(*) FROM effects") == 2


async def test_poison_message_is_dead_lettered_and_the_partition_moves_on(
    make_service, started, kafka: str, database_url: str, topic: str
) -> None:
    svc = make_service()
    await _effects_table(database_url, svc.schema)
    _subscribe_counter(svc, topic)
    started.append(svc)
    good = _happened(7)
    wrong_shape = good.to_json().replace(b'"n":7', b'"n":"seven"')
    assert wrong_shape != good.to_json()

    async with TopicWatcher(kafka, f"{topic}.dlq") as dlq:
        await svc.start()
        # One partition: the good event sits behind two poison ones.
        await _produce(kafka, topic, [b"{not json", wrong_shape, good.to_json()])
        rows = await _poll_effects(svc.pool, 1)
        parked = await dlq.wait_for(lambda r: True, count=2)

    assert [r["event_id"] for r in rows] == [good.id]
    assert [r.value for r in parked] == [b"{not json", wrong_shape]
    first, second = parked
    assert first.headers["dlq.source_topic"] == topic.encode()
    assert first.headers["dlq.source_partition"] == b"0"
    assert int(second.headers["dlq.source_offset"]) == int(first.headers["dlq.source_offset"]) + 1
    assert b"json" in first.headers["dlq.error"].lower()
    assert b"data.n" in second.headers["dlq.error"]
    assert second.headers["dlq.consumer_group"] == svc.settings.group_id.encode()
    assert first.key == b"k"
    assert _consumed(svc, topic, "dead_lettered") == 2


async def test_batch_consumer_parks_only_the_poison_record(
    make_service, started, kafka: str, database_url: str, topic: str
) -> None:
    svc = make_service()
    await _effects_table(database_url, svc.schema)
    batches: list[int] = []

    async def count_batch(deliveries) -> None:  # type: ignore[no-untyped-def]
        batches.append(len(deliveries))
        events = [d.envelope(Payload) for d in deliveries]  # one bad record fails the batch
        async with svc.pool.acquire() as conn, conn.transaction():
            for d, event in zip(deliveries, events, strict=True):
                if await inbox.claim(
                    conn, "batch", event.id, topic=d.topic, partition=d.partition, offset=d.offset
                ):
                    await conn.execute(
                        "INSERT INTO effects (event_id, n) VALUES ($1, $2)", event.id, event.data.n
                    )

    svc.messaging.subscribe_batch(topic, count_batch, batch_timeout_ms=500)
    started.append(svc)
    events = [_happened(n) for n in range(6)]
    values = [e.to_json() for e in events]
    values.insert(3, b"\x00garbage")
    async with TopicWatcher(kafka, f"{topic}.dlq") as dlq:
        await _produce(kafka, topic, values)  # all on the topic before the consumer starts
        await svc.start()
        rows = await _poll_effects(svc.pool, 6)
        [parked] = await dlq.wait_for(lambda r: True)
    assert [r["n"] for r in rows] == list(range(6))
    assert parked.value == b"\x00garbage" and parked.headers["dlq.source_offset"] == b"3"
    assert max(batches) > 1  # consumed in batches; then one by one to isolate the poison
