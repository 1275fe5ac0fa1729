"""Only what proves the message wrong is dead-lettered (issue 18, point 3): any other failure is
retried with backoff, and after the last try the partition stalls (metric, no DLQ record)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from pydantic import BaseModel, ValidationError

from contracts.envelope import make_event
from services.runtime import messaging
from services.runtime.messaging import Delivery, Dispatcher, PartitionStalled
from services.runtime.metrics import Metrics
from tests.support.poll import until
from tests.unit.runtime.conftest import FakeConsumer


class Recorder:
    def __init__(self) -> None:
        self.parked: list[tuple[int, str]] = []

    async def __call__(self, delivery: Delivery, exc: BaseException, group: str) -> None:
        self.parked.append((delivery.offset, type(exc).__name__))


class Payload(BaseModel):
    n: int


def _dispatcher(**kw: Any) -> tuple[Dispatcher, Recorder, Metrics]:
    metrics, dlq = Metrics("unit"), Recorder()
    options: dict[str, Any] = {"max_attempts": 4, "backoff_s": 0.0} | kw
    return Dispatcher(metrics, dlq, **options), dlq, metrics


def _stalled(metrics: Metrics, topic: str = "t.v1", partition: int = 0) -> float | None:
    return metrics.registry.get_sample_value(
        "sentinel_unit_consumer_stalled",
        {"topic": topic, "partition": str(partition), "group": "g"},
    )


def _retries(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value(
        "sentinel_unit_handler_retries_total", {"topic": "t.v1", "kind": "error"}
    )
    return value or 0.0


def _event(n: int = 1) -> bytes:
    event = make_event(
        service="tests",
        event_type="tests.thing.happened",
        version=1,
        subject="s",
        data=Payload(n=n),
    )
    return event.to_json()


DELIVERY = Delivery("t.v1", 0, 5, b"k", _event())


async def test_a_failing_store_check_is_retried_and_handled_once_it_clears() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    store = {"consistent": False}
    calls = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        delivery.envelope(Payload)
        if not store["consistent"]:
            if calls == 2:
                store["consistent"] = True  # e.g. the row another consumer writes has arrived
            raise ValueError("stored merchant row version 7 < event's 8")

    await dispatcher.dispatch(handler, DELIVERY, "g")
    assert (calls, dlq.parked) == (3, [])
    assert _retries(metrics) == 2
    assert not _stalled(metrics)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("terminal state version 9, expected 2"),  # a corrupt stored row
        KeyError("bug"),
        "validation",  # building an outgoing event from a stored row fails its model
    ],
)
async def test_a_handler_failing_for_ever_stalls_its_partition_without_a_dead_letter(
    error: Any,
) -> None:
    dispatcher, dlq, metrics = _dispatcher()
    calls = 0

    async def handler(_: Delivery) -> None:
        nonlocal calls
        calls += 1
        if error == "validation":
            Payload.model_validate({"n": "corrupt"})
        raise error

    with pytest.raises(PartitionStalled) as stalled:
        await dispatcher.dispatch(handler, DELIVERY, "g")
    assert (calls, dlq.parked) == (4, [])
    assert stalled.value.deliveries == (DELIVERY,)
    assert isinstance(stalled.value.cause, ValidationError if error == "validation" else Exception)
    assert _stalled(metrics) == 1
    assert _retries(metrics) == 3
    assert dispatcher.stalled == {("g", "t.v1", 0)}

    # Tried again later (after the pause, a restart or a rebalance): the cause has gone.
    async def fixed(_: Delivery) -> None:
        return None

    await dispatcher.dispatch(fixed, DELIVERY, "g")
    assert _stalled(metrics) == 0 and dispatcher.stalled == set()


@pytest.mark.parametrize(
    "value",
    [b"{not json", b"\xff\xfe", b'{"specversion": "1.0", "type": 1}', _event().replace(b"1", b"x")],
)
async def test_a_malformed_message_is_dead_lettered_at_once(value: bytes) -> None:
    dispatcher, dlq, metrics = _dispatcher()
    calls = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        delivery.event_type()
        delivery.envelope(Payload)

    await dispatcher.dispatch(handler, Delivery("t.v1", 0, 5, b"k", value), "g")
    assert calls == 1 and dlq.parked == [(5, "PoisonMessage")]
    assert not _stalled(metrics) and _retries(metrics) == 0


async def test_undecodable_bytes_and_json_errors_raised_by_a_handler_are_poison() -> None:
    dispatcher, dlq, _ = _dispatcher()

    async def decode(delivery: Delivery) -> None:
        delivery.value.decode()

    async def load(delivery: Delivery) -> None:
        import json

        json.loads(delivery.value)

    await dispatcher.dispatch(decode, Delivery("t.v1", 0, 1, None, b"\xff"), "g")
    await dispatcher.dispatch(load, Delivery("t.v1", 0, 2, None, b"{"), "g")
    assert dlq.parked == [(1, "UnicodeDecodeError"), (2, "JSONDecodeError")]


async def test_retries_back_off_doubling_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    dispatcher, _, _ = _dispatcher(max_attempts=10, backoff_s=0.2, backoff_max_s=5.0)

    async def handler(_: Delivery) -> None:
        raise ValueError("still inconsistent")

    with pytest.raises(PartitionStalled):
        await dispatcher.dispatch(handler, DELIVERY, "g")
    assert slept == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0, 5.0])


def test_the_defaults_are_ten_tries_from_0_2_s_doubling_to_5_s() -> None:
    dispatcher = Dispatcher(Metrics("unit"), Recorder())
    assert (dispatcher.max_attempts, dispatcher.backoff_s, dispatcher.backoff_max_s) == (
        10,
        0.2,
        5.0,
    )


async def test_in_a_batch_only_the_failing_records_partition_stops_there() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    batch = [
        Delivery("t.v1", 0, 0, b"a", b"ok"),
        Delivery("t.v1", 1, 0, b"b", b"ok"),
        Delivery("t.v1", 0, 1, b"a", b"broken-row"),  # keeps failing
        Delivery("t.v1", 1, 1, b"b", b"ok"),
        Delivery("t.v1", 0, 2, b"a", b"ok"),  # behind the stalled one: must wait
        Delivery("t.v1", 2, 0, b"c", b"not json"),  # poison: parked, the partition goes on
        Delivery("t.v1", 2, 1, b"c", b"ok"),
    ]
    handled: list[tuple[int, int]] = []

    async def handler(deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            if d.value == b"broken-row":
                raise ValueError("stored row is corrupt")
            if d.value == b"not json":
                raise messaging.PoisonMessage("not JSON")
        handled.extend((d.partition, d.offset) for d in deliveries)

    with pytest.raises(PartitionStalled) as stalled:
        await dispatcher.dispatch_batch(handler, batch, "g")
    assert sorted(handled) == [(0, 0), (1, 0), (1, 1), (2, 1)]
    assert [(d.partition, d.offset) for d in stalled.value.deliveries] == [(0, 1)]
    assert dlq.parked == [(0, "PoisonMessage")]
    assert _stalled(metrics, partition=0) == 1
    assert not _stalled(metrics, partition=1)


async def test_a_stalled_partition_is_paused_at_its_message_and_tried_again_later() -> None:
    bus = messaging.Messaging(
        "unit",
        "127.0.0.1:1",
        Metrics("unit"),
        group_id="g",
        stalled_retry_s=0.05,
        kafka_options={},
    )
    consumer = FakeConsumer()
    bus._hold(consumer, PartitionStalled([DELIVERY], ValueError("x")))
    tp = TopicPartition("t.v1", 0)
    assert consumer.paused() == {tp} and consumer.seeks == [(tp, 5)]
    # resumed after stalled_retry_s: the message comes again
    await until(lambda: consumer.paused() == set(), within=10, what="the partition resumed")
    assert consumer.seeks == [(tp, 5)]
