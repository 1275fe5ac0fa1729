"""The lag of a partition held at a stalled message (issue: the group's real lag was 74 while the
gauge read 17): a paused partition is not fetched, so its high watermark stays where the last
fetch left it; its end is asked of the broker instead, once for all such partitions."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.runtime.messaging import Delivery, Messaging, PartitionStalled
from services.runtime.metrics import Metrics
from tests.unit.runtime.conftest import FakeConsumer, FakeSubscriber

P0, P1, P2 = (TopicPartition("t.v1", p) for p in range(3))


def _bus(consumer: FakeConsumer) -> Messaging:
    bus = Messaging(
        "unit", "127.0.0.1:1", Metrics("unit"), group_id="g", stalled_retry_s=600, kafka_options={}
    )
    bus._subscribers.append(("t.v1", "g", FakeSubscriber(consumer)))
    return bus


def _lag(bus: Messaging, partition: int) -> float | None:
    return bus.metrics.registry.get_sample_value(
        "sentinel_unit_consumer_lag_messages", {"topic": "t.v1", "partition": str(partition)}
    )


async def test_a_paused_partitions_lag_is_its_end_offset_minus_where_it_is_held() -> None:
    consumer = FakeConsumer(
        assigned={P0, P1, P2},
        # What the last fetches said; P0's stopped being fetched when it stalled.
        highwater={P0: 17, P1: 10, P2: 4},
        ends={P0: 79, P1: 12, P2: 4},
        positions={P0: 9, P1: 8, P2: 4},
    )
    bus = _bus(consumer)
    bus._hold(consumer, PartitionStalled([Delivery("t.v1", 0, 5, b"k", b"{}")], ValueError("x")))
    try:
        await bus.measure_lag()
    finally:
        for handle in bus._retries.values():
            handle.cancel()
    assert (_lag(bus, 0), _lag(bus, 1), _lag(bus, 2)) == (74, 2, 0)
    assert consumer.end_offsets_asked == [[P0]]  # one request, only for the held partition


async def test_a_stalled_partition_still_fetched_is_measured_from_its_end_too() -> None:
    # Resumed for another try, failing again with backoff: the fetcher's buffer for it is full,
    # so its high watermark is stale too.
    consumer = FakeConsumer(
        assigned={P0, P1}, highwater={P0: 17, P1: 3}, ends={P0: 40, P1: 3}, positions={P0: 5, P1: 3}
    )
    bus = _bus(consumer)
    bus.dispatcher.stalled.add(("g", "t.v1", 0))
    await bus.measure_lag()
    assert (_lag(bus, 0), _lag(bus, 1)) == (35, 0)
    assert consumer.end_offsets_asked == [[P0]]
