"""`Messaging.rewind` against real Kafka: a batch handler that asks for a partition again gets
its records again from there, from no earlier than the first offset Kafka still holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from services.runtime.app import Service
from services.runtime.messaging import Delivery
from tests.support.poll import until


async def _produce(kafka: str, topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, str(i).encode(), key=b"k")
    finally:
        await producer.stop()


async def _delete_before(kafka: str, topic: str, offset: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(offset)})
    finally:
        await admin.close()


async def _read_twice(
    svc: Service, started: list[Service], kafka: str, topic: str, at_nine: Callable[[], Any]
) -> list[int]:
    """Offsets 0-9 produced to `topic` and read by `svc` in batches, `at_nine` awaited once the
    first time offset 9 was read; the offsets read, once offset 9 came a second time."""
    seen: list[int] = []
    called: list[bool] = []

    async def take(deliveries: Sequence[Delivery]) -> None:
        seen.extend(d.offset for d in deliveries)
        if 9 in seen and not called:
            called.append(True)
            await at_nine()

    svc.messaging.subscribe_batch(topic, take, batch_timeout_ms=200)
    started.append(svc)
    await _produce(kafka, topic, 10)
    await svc.start()
    await until(lambda: seen.count(9) >= 2 or None, what="offset 9 read a second time")
    return seen


async def test_rewound_partition_is_read_again_from_the_first_held_offset(
    make_service, started, kafka: str, topic: str
) -> None:
    svc: Service = make_service()
    rewound: list[int] = []

    async def at_nine() -> None:
        # Offsets 0-2 are gone from Kafka: asked for 0, the partition reads from 3.
        await _delete_before(kafka, topic, 3)
        rewound.append(await svc.messaging.rewind(topic, 0, 0))

    seen = await _read_twice(svc, started, kafka, topic, at_nine)
    assert rewound == [3]
    first = seen.index(9) + 1
    assert seen[:first] == list(range(10))
    assert seen[first:] == list(range(3, 10))


async def test_rewind_names_a_topic_without_a_running_consumer(make_service, topic: str) -> None:
    svc: Service = make_service()
    with pytest.raises(KeyError, match=topic):
        await svc.messaging.rewind(topic, 0, 0)


async def test_a_partition_already_rewound_is_not_asked_of_kafka_again(
    make_service, started, kafka: str, topic: str
) -> None:
    """Record by record through a failed batch, each record in hand past the stored offset asks
    for the same rewind: the first one asks Kafka where the partition starts, the others find
    the consumer already there. The records come again once, from there."""
    svc: Service = make_service()
    rewound: list[int] = []
    asked: list[list[TopicPartition]] = []

    async def at_nine() -> None:
        consumer = next(s.consumer for t, _, s in svc.messaging._subscribers if t == topic)
        beginning_offsets = consumer.beginning_offsets

        async def counted(partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
            asked.append(list(partitions))
            return await beginning_offsets(partitions)

        consumer.beginning_offsets = counted
        for _ in range(3):
            rewound.append(await svc.messaging.rewind(topic, 0, 4))

    seen = await _read_twice(svc, started, kafka, topic, at_nine)
    assert rewound == [4, 4, 4]
    assert asked == [[TopicPartition(topic, 0)]]
    first = seen.index(9) + 1
    assert seen[:first] == list(range(10)) and seen[first:] == list(range(4, 10))
