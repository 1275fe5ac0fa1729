"""Malformed messages on every topic a service consumes: each consumer parks the message on the
topic's DLQ with where it came from and why (a malformed reading is rejected with its reason
instead), and its partition keeps moving — the group's committed offset passes the bad record.
"""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import TOPICS
from tests.e2e.conftest import City
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until

POISON = b'{"specversion": "1.0", "type": 42, "data": "\xff'  # neither JSON nor an event
CONSUMED = [(t.name, service) for t in TOPICS for service in t.consumers]


async def committed_past(kafka: str, group: str, tp: TopicPartition, offset: int) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        position = await consumer.committed(tp)
    finally:
        await consumer.stop()
    return position is not None and position > offset


async def park(city: City, kafka: str, topic: str) -> set[str]:
    """Send one poison record to `topic`; return the groups that parked it, once each of them
    has committed past it."""
    key = f"poison-{uuid.uuid4().hex[:8]}".encode()
    sink = "telemetry.rejected.v1" if topic == "telemetry.readings.v1" else f"{topic}.dlq"
    consumers = {s for t, s in CONSUMED if t == topic}
    async with TopicWatcher(kafka, sink) as watcher:
        payload = POISON + key  # unique, so this run's record is told from others'
        sent = await city.producer.send_and_wait(topic, payload, key=key)

        def ours(r: Record) -> bool:
            # Parked by one of this run's groups (loop-<service>-<tag>[-<projection>]).
            group = r.headers.get("dlq.consumer_group", b"").decode()
            return r.key == key and f"-{city.tag}" in group

        if topic == "telemetry.readings.v1":
            [rejected] = await watcher.wait_for(
                lambda r: key.decode() in r.json()["data"]["raw"], timeout=60
            )
            assert rejected.json()["data"]["reason"] == "malformed"
            groups = {city.groups("telemetry")}
        else:
            # Each consuming service parks it (some in more than one group: a ledger and a
            # projection); a projection reads its compacted topic from the beginning first.
            records = []
            for service in sorted(consumers):

                def by(r: Record, service: str = service) -> bool:
                    group = r.headers.get("dlq.consumer_group", b"").decode()
                    return ours(r) and group.startswith(f"loop-{service}-")

                records += await watcher.wait_for(by, timeout=180)
            for record in records:
                assert record.value == payload
                assert record.headers["dlq.source_topic"] == topic.encode()
                assert record.headers["dlq.source_offset"] == str(sent.offset).encode()
                assert int(record.headers["dlq.source_partition"]) == sent.partition
                assert record.headers["dlq.error"]
            groups = {r.headers["dlq.consumer_group"].decode() for r in records}
            assert {g.split("-")[1] for g in groups} == consumers, groups
    tp = TopicPartition(topic, sent.partition)
    for group in groups:

        async def moved(group: str = group) -> bool:
            return await committed_past(kafka, group, tp, sent.offset)

        await until(moved, within=60, what=f"{group} moved past the poison on {topic}")
    return groups


async def test_every_consumer_parks_poison_and_moves_on(city: City, kafka: str) -> None:
    assert len(CONSUMED) >= 15  # the whole catalog's consumers are in the walk
    parked = {
        topic: await park(city, kafka, topic) for topic in dict.fromkeys(t for t, _ in CONSUMED)
    }
    assert set(parked) == {t for t, _ in CONSUMED}
    assert all(parked.values())
