"""The commit after a handler: a refusal after a rebalance is a warning and a count (the
partition's owner takes the messages up again), and a handler that raised leaves its message
to be taken again rather than committed past."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from faststream.kafka.message import KafkaAckableMessage

from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics


class _Consumer:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.commits = 0
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def commit(self) -> None:
        if self.refuse:
            raise CommitFailedError("the group has rebalanced")
        self.commits += 1

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


class _Record:
    topic, partition, offset = "telemetry.readings.v1", 3, 41


def _message(consumer: _Consumer) -> Any:
    return KafkaAckableMessage(raw_message=_Record(), body=b"", consumer=consumer)


def _bus() -> Messaging:
    return Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})


async def _handled(message: Any) -> None:
    return None


def _refused(bus: Messaging, topic: str) -> float:
    value = bus.metrics.registry.get_sample_value(
        "sentinel_unit_offset_commits_refused_total", {"topic": topic}
    )
    return value or 0.0


async def test_a_handled_message_is_committed() -> None:
    bus, consumer = _bus(), _Consumer()
    await bus._committing(_handled, "telemetry.readings.v1", "g")(_message(consumer))
    assert consumer.commits == 1
    assert _refused(bus, "telemetry.readings.v1") == 0


async def test_a_commit_refused_after_a_rebalance_is_a_warning_and_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, consumer = _bus(), _Consumer(refuse=True)
    with caplog.at_level(logging.WARNING, logger="services.runtime.messaging"):
        await bus._committing(_handled, "telemetry.readings.v1", "g")(_message(consumer))
    assert _refused(bus, "telemetry.readings.v1") == 1
    (record,) = [r for r in caplog.records if "commit refused" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.topic == "telemetry.readings.v1"  # type: ignore[attr-defined]
    assert record.exc_info is None


async def test_a_handler_that_raised_goes_back_to_its_message_uncommitted() -> None:
    bus, consumer = _bus(), _Consumer()

    async def broken(message: Any) -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await bus._committing(broken, "telemetry.readings.v1", "g")(_message(consumer))
    assert consumer.commits == 0
    assert consumer.seeks == [(TopicPartition("telemetry.readings.v1", 3), 41)]
