"""A service told to stop while Kafka is away stops: the producer's stop waits for batches that
an idempotent producer never gives up on, and each consumer's stop ends with a leave-group
request that a frozen broker never answers, so Messaging.stop bounds both, says so, and lets go
(services/runtime/messaging.py). Nothing is lost by it: unacknowledged outbox rows stay
unpublished, and uncommitted offsets are read again."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics


class StuckBroker:
    """FastStream's broker whose consumers wait for a coordinator that never answers."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.Event().wait()


class Subscriber:
    def __init__(self, consumer: object | None) -> None:
        self.consumer = consumer


class StuckProducer:
    """A producer whose batches never reach a broker: its stop never returns by itself."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.Event().wait()


async def test_a_stop_in_an_outage_lets_the_producer_go_after_its_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
    stuck = StuckProducer()
    bus._producer = stuck  # type: ignore[assignment]
    bus._started = True  # the consumers already stopped: only the producer is left
    caplog.set_level(logging.WARNING, logger="services.runtime.messaging")
    stopping: Any = asyncio.create_task(bus.stop(flush_within_s=0.2))
    async with asyncio.timeout(10):  # a hang fails here rather than hanging the suite
        await stopping
    assert stuck.stopping.is_set()
    assert bus._producer is None
    assert "producer not flushed in time" in caplog.text


async def test_a_stop_in_an_outage_lets_the_consumers_go_after_their_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
    broker, producer = StuckBroker(), StuckProducer()
    bus.broker = broker  # type: ignore[assignment]
    bus._producer = producer  # type: ignore[assignment]
    # One consumer still waiting on its group, one that had stopped before the time ran out.
    bus._subscribers = [("a.v1", "g", Subscriber(object())), ("b.v1", "g", Subscriber(None))]
    bus._started = bus._consuming = True
    caplog.set_level(logging.WARNING, logger="services.runtime.messaging")
    stopping: Any = asyncio.create_task(bus.stop(flush_within_s=0.2, consumers_within_s=0.2))
    async with asyncio.timeout(10):  # a hang fails here rather than hanging the suite
        await stopping
    assert broker.stopping.is_set() and producer.stopping.is_set()
    assert bus._producer is None
    (abandoned,) = [r for r in caplog.records if "consumers not stopped in time" in r.message]
    assert abandoned.not_stopped == ["a.v1 (g)"]  # type: ignore[attr-defined]
    assert abandoned.within_s == 0.2  # type: ignore[attr-defined]
