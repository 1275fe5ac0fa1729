"""The unresolved dead-letter gauge (services/runtime/dead_letters.py): the count is a dead-letter
topic's end minus the resolved watermark, measured on a timer and at once after this process
parked a record; a failing measurement is retried with fresh clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import ClassVar

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError
from aiokafka.structs import OffsetAndMetadata
from pydantic_settings import SettingsConfigDict

from services.runtime.app import Service
from services.runtime.dead_letters import (
    KafkaDeadLetterOffsets,
    UnresolvedDeadLetters,
    parked_on_by,
    unresolved,
    watermark,
)
from services.runtime.metrics import Metrics
from services.runtime.settings import ServiceSettings
from tests.support.poll import until


class FakeOffsets:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.asked = 0
        self.closed = 0
        self.fail = False

    async def unresolved(self, topics: Sequence[str]) -> dict[str, int]:
        self.asked += 1
        if self.fail:
            raise ConnectionError("broker away")
        return {t: n for t, n in self.counts.items() if t in topics}

    async def close(self) -> None:
        self.closed += 1


def gauge(metrics: Metrics, topic: str) -> float | None:
    return metrics.registry.get_sample_value(
        "sentinel_inspection_dlq_unresolved_messages", {"topic": topic}
    )


def test_the_watermark_is_the_committed_offset_but_never_before_the_log() -> None:
    assert watermark(None, 0) == 0
    assert watermark(-1, 4) == 4  # nothing committed: what Kafka still holds is unresolved
    assert watermark(7, 4) == 7
    assert watermark(2, 4) == 4  # resolved records deleted by retention
    assert unresolved(10, 7, 0) == 3
    assert unresolved(10, None, 6) == 4
    assert unresolved(10, 10, 0) == 0


class _ComplaintsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DLQTEST_")
    service_name: ClassVar[str] = "complaints"
    default_port: ClassVar[int] = 8196


def test_a_service_measures_the_dead_letters_of_the_topics_it_consumes() -> None:
    assert "complaints.intake.v1" in parked_on_by("complaints")
    assert "complaints.intake.v1" not in parked_on_by("inspection")
    assert parked_on_by("nobody") == ()
    # The wiring (services/runtime/app.py): a service measures its own catalog topics.
    service = Service(_ComplaintsSettings())
    assert service.dead_letters.topics == parked_on_by("complaints")
    assert service.dead_letters.metrics is service.metrics


async def test_the_gauge_falls_to_zero_once_the_letters_are_resolved() -> None:
    metrics = Metrics("inspection")
    offsets = FakeOffsets({"a.v1": 2, "b.v1": 0})
    letters = UnresolvedDeadLetters(metrics, ["a.v1", "b.v1"], offsets)
    await letters.refresh()
    assert (gauge(metrics, "a.v1"), gauge(metrics, "b.v1")) == (2, 0)
    offsets.counts = {"b.v1": 0}  # a.v1.dlq no longer answered: 0, not its last value
    await letters.refresh()
    assert gauge(metrics, "a.v1") == 0


async def test_a_dead_letter_parked_here_is_measured_at_once() -> None:
    metrics = Metrics("inspection")
    offsets = FakeOffsets({"a.v1": 0})
    # An hour's interval: a second measurement within the test can only follow the parking.
    letters = UnresolvedDeadLetters(metrics, ["a.v1"], offsets, interval_s=3600, check_s=0.01)
    task = asyncio.create_task(letters.run())
    try:
        await until(lambda: letters.refreshed == 1, within=10, what="the first measurement")
        offsets.counts = {"a.v1": 1}
        metrics.dead_lettered.labels("a.v1").inc()
        await until(lambda: gauge(metrics, "a.v1") == 1, within=10, what="a measurement")
        assert letters.refreshed == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert offsets.closed >= 1  # its clients are closed when the service stops


async def test_a_failed_measurement_closes_its_clients_and_is_tried_again() -> None:
    metrics = Metrics("inspection")
    offsets = FakeOffsets({"a.v1": 3})
    offsets.fail = True
    letters = UnresolvedDeadLetters(metrics, ["a.v1"], offsets, interval_s=0.01, check_s=0.01)
    task = asyncio.create_task(letters.run())
    try:
        await until(lambda: offsets.closed >= 1, within=10, what="a failed measurement")
        assert gauge(metrics, "a.v1") is None
        offsets.fail = False
        await until(lambda: gauge(metrics, "a.v1") == 3, within=10, what="a measurement")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_service_that_parks_nowhere_measures_nothing() -> None:
    offsets = FakeOffsets({})
    await UnresolvedDeadLetters(Metrics("inspection"), [], offsets).run()
    assert offsets.asked == 0


class StartingAdmin:
    """An admin client of a broker that has no coordinator for the group for its first asks."""

    def __init__(self, unavailable: int, error: Exception | None = None) -> None:
        self.unavailable, self.error, self.asked = unavailable, error, 0

    async def list_consumer_group_offsets(
        self, group: str, partitions: Sequence[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        self.asked += 1
        if self.error is not None:
            raise self.error
        if self.asked <= self.unavailable:
            raise GroupCoordinatorNotAvailableError(f"no coordinator for {group} yet")
        return {tp: OffsetAndMetadata(7, "") for tp in partitions}


TPS = [TopicPartition("telemetry.risks.v1.dlq", 0)]


async def test_the_watermark_is_asked_again_while_the_group_has_no_coordinator_yet() -> None:
    offsets = KafkaDeadLetterOffsets("127.0.0.1:1", "test", {}, coordinator_wait_s=5)
    admin = StartingAdmin(unavailable=2)
    found = await offsets._committed(admin, TPS)  # type: ignore[arg-type]
    assert admin.asked == 3 and found[TPS[0]].offset == 7


async def test_a_lasting_or_final_error_is_raised() -> None:
    lasting = KafkaDeadLetterOffsets("127.0.0.1:1", "test", {}, coordinator_wait_s=0)
    with pytest.raises(GroupCoordinatorNotAvailableError):
        await lasting._committed(StartingAdmin(unavailable=100), TPS)  # type: ignore[arg-type]
    final = StartingAdmin(unavailable=0, error=GroupAuthorizationFailedError("not yours"))
    offsets = KafkaDeadLetterOffsets("127.0.0.1:1", "test", {}, coordinator_wait_s=5)
    with pytest.raises(GroupAuthorizationFailedError):
        await offsets._committed(final, TPS)  # type: ignore[arg-type]
    assert final.asked == 1
