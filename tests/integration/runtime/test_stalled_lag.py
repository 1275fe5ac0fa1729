"""The lag of a partition stopped at a stalled message, against real Kafka (issue: the group's
lag was 74 while the gauge read 17). A paused partition is not fetched, so the consumer's high
watermark stays where its last fetch left it; the gauge must count what was written since."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, TopicPartition

from contracts.envelope import make_event
from services.runtime.app import Service
from services.runtime.messaging import Delivery
from tests.integration.runtime.conftest import Payload
from tests.support.poll import until


async def _produce(kafka: str, topic: str, ns: range) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for n in ns:
            event = make_event(
                service="tests",
                event_type="tests.thing.happened",
                version=1,
                subject="s",
                data=Payload(n=n),
            )
            await producer.send_and_wait(topic, event.to_json(), key=b"s")
    finally:
        await producer.stop()


async def test_a_stalled_partitions_lag_counts_what_was_written_after_it_stopped(
    make_service, started, kafka: str, topic: str
) -> None:
    svc: Service = make_service()
    # Stall at the first failure and stay stopped for the test's length.
    svc.messaging.dispatcher.max_attempts = 1
    svc.messaging.stalled_retry_s = 600

    async def fails_on_3(delivery: Delivery) -> None:
        if delivery.envelope(Payload).data.n == 3:
            raise RuntimeError("stored row is corrupt")

    svc.subscribe(topic, fails_on_3)
    started.append(svc)
    await svc.start()
    await _produce(kafka, topic, range(5))  # offsets 0-4; 3 stalls the partition
    [(_, _, subscriber)] = svc.messaging._subscribers
    consumer = subscriber.consumer
    tp = TopicPartition(topic, 0)
    await until(lambda: tp in consumer.paused(), what="the partition stopped at offset 3")

    await _produce(kafka, topic, range(5, 25))  # 20 more while it is stopped: end offset 25

    async def lag() -> float | None:
        await svc.messaging.measure_lag()
        return svc.metrics.registry.get_sample_value(
            f"sentinel_{svc.name}_consumer_lag_messages", {"topic": topic, "partition": "0"}
        )

    assert await lag() == 25 - 3  # from the last fetch's high watermark it read 4 - 3
