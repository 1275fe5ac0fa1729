"""A broker that takes the relay's records and never answers (issue: a Kafka outage raised no
alert): the batch's publish gives up after `publish_timeout_s`, the relay says so and tries again,
and the backlog gauges, measured on their own timer, show the pending rows and their age growing
all along. Once the broker answers, every row is published and stamped once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from services.runtime import outbox
from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics
from services.runtime.outbox import OutboxRelay
from tests.support.poll import until
from tests.unit.runtime.conftest import FakeRelayConnection, OutboxTable, SilentProducer


def _gauge(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(f"sentinel_unit_{name}") or 0.0


@pytest.fixture
async def table(monkeypatch: pytest.MonkeyPatch) -> OutboxTable:
    found = OutboxTable()

    async def connect(*_: Any, **__: Any) -> FakeRelayConnection:
        return FakeRelayConnection(found)

    async def init_connection(_: Any) -> None:
        return None

    monkeypatch.setattr(outbox.asyncpg, "connect", connect)
    monkeypatch.setattr(outbox, "init_connection", init_connection)
    return found


@pytest.fixture
def bus() -> tuple[Messaging, SilentProducer]:
    messaging = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
    producer = SilentProducer()
    messaging._producer = producer  # type: ignore[assignment]
    return messaging, producer


async def test_a_silent_broker_times_the_batch_out_and_the_gauges_keep_growing(
    table: OutboxTable,
    bus: tuple[Messaging, SilentProducer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    messaging, producer = bus
    table.add("t.v1", b"one")
    table.add("t.v1", b"two")
    relay = OutboxRelay(
        table,  # type: ignore[arg-type]  # the pool: only its fetchrow is used
        "postgresql://unused",
        "unit",
        messaging.publish_batch,
        messaging.metrics,
        poll_interval_s=0.02,
        publish_timeout_s=0.3,
        observe_interval_s=0.02,
    )
    metrics = messaging.metrics
    with caplog.at_level(logging.WARNING, logger="services.runtime.outbox"):
        task = asyncio.create_task(relay.run())
        try:
            # The relay is stuck in its first publish, and the gauges still say so.
            await until(lambda: producer.sent, within=5, what="the batch sent")
            await until(lambda: _gauge(metrics, "outbox_pending_events") == 2, within=5)
            first_age = _gauge(metrics, "outbox_oldest_pending_seconds")
            await until(
                lambda: _gauge(metrics, "outbox_oldest_pending_seconds") > first_age + 0.1,
                within=5,
                what="the oldest pending age growing while the publish hangs",
            )
            assert table.stamped == []

            # It gives up, says so with the backlog, and sends the batch again.
            interrupted = await until(
                lambda: [r for r in caplog.records if r.getMessage() == "outbox relay interrupted"],
                within=5,
                what="the interruption logged",
            )
            record: Any = interrupted[0]
            assert record.pending == 2 and record.oldest_pending_s > 0
            assert "TimeoutError" in record.error
            await until(lambda: len(producer.sent) >= 4, within=5, what="the batch sent again")
            assert table.stamped == [] and _gauge(metrics, "outbox_pending_events") == 2

            # The broker answers (late answers to the given-up sends included): each row is
            # stamped once, and the gauges come back to 0.
            async def answered() -> bool:
                for future in producer.futures:
                    if not future.done():
                        future.set_result(None)
                return table.stamped == [1, 2]

            await until(answered, within=5, what="the rows published")
            await until(lambda: _gauge(metrics, "outbox_pending_events") == 0, within=5)
            assert _gauge(metrics, "outbox_oldest_pending_seconds") == 0
        finally:
            relay.stop()
            await asyncio.wait_for(task, 5)
    assert table.stamped == [1, 2]


async def test_the_gauges_are_measured_while_another_replica_relays(
    table: OutboxTable, bus: tuple[Messaging, SilentProducer]
) -> None:
    messaging, _ = bus
    table.add("t.v1", b"one")
    relay = OutboxRelay(
        table,  # type: ignore[arg-type]
        "postgresql://unused",
        "unit",
        messaging.publish_batch,
        messaging.metrics,
        observe_interval_s=0.02,
    )

    async def held_elsewhere() -> None:
        await asyncio.Event().wait()  # standing by for the lock, for ever

    relay._lead = held_elsewhere  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        await until(lambda: _gauge(messaging.metrics, "outbox_pending_events") == 1, within=5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
