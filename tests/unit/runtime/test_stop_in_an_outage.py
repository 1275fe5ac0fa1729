"""A service told to stop while Kafka is away stops: the producer's stop waits for batches that
an idempotent producer never gives up on, so Messaging.stop bounds it, says so, and lets go
(services/runtime/messaging.py). Nothing is lost by it: unacknowledged outbox rows stay
unpublished."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics


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
