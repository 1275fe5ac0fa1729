"""Dead letters not yet worked off: how many records on each `<topic>.dlq` an operator has not
republished or discarded (`sentinel dlq`, docs/operations.md "SentinelDeadLetters").

"Resolved" is one number per dead-letter partition, kept by Kafka itself: the offset the
consumer group `sentinel-dlq` (RESOLVED_GROUP) has committed there. Every record below it has
been republished or discarded, every record from it on waits. The CLI moves it, in offset order,
only after what it republished was acknowledged; it is never moved by a service. So the count is
the same for every operator and every replica, survives restarts, and needs no database: the
partition's end offset minus that watermark (or minus the log's start, before the first
resolution or once retention deleted resolved records).

Each service measures the dead-letter topics it parks on (those of the topics the catalog lists
it as consuming) on a timer, and at once when it has just parked one here, so that the alert
SentinelDeadLetters (deploy/prometheus/alerts.yml) fires within seconds of a new dead letter and
clears once all are resolved. Reading the watermark takes DESCRIBE on the group, which every
service that may park has (deploy/kafka/acls.py); committing it takes READ, which only `admin`
has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from contracts.topics import TOPICS
from services.runtime.gauges import LabelledCounts
from services.runtime.metrics import Metrics

log = logging.getLogger(__name__)

RESOLVED_GROUP = "sentinel-dlq"
DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def watermark(committed: int | None, log_start: int) -> int:
    """The first unresolved offset of a dead-letter partition: the group's committed offset, but
    never before the first record Kafka still holds (none committed yet: the log's start)."""
    if committed is None or committed < 0:
        return log_start
    return max(committed, log_start)


def unresolved(end: int, committed: int | None, log_start: int) -> int:
    return max(0, end - watermark(committed, log_start))


def parked_on_by(service: str) -> tuple[str, ...]:
    """The source topics whose dead letters `service` may write: those it consumes (catalog)."""
    return tuple(t.name for t in TOPICS if service in t.consumers)


class DeadLetterOffsets(Protocol):
    """The Kafka side: per source topic, the unresolved records of its `.dlq`."""

    async def unresolved(self, topics: Sequence[str]) -> dict[str, int]: ...

    async def close(self) -> None: ...


class KafkaDeadLetterOffsets:
    """Reads end offsets, log starts and the resolved watermark; never joins or commits."""

    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        options: Mapping[str, Any],
        *,
        coordinator_wait_s: float = 10.0,
    ) -> None:
        self.bootstrap, self.client_id, self.options = bootstrap, client_id, dict(options)
        self.coordinator_wait_s = coordinator_wait_s
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._consumer is None or self._admin is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                group_id=None,
                enable_auto_commit=False,
                **self.options,
            )
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id=self.client_id, **self.options
            )
            try:
                await consumer.start()
                await admin.start()
            except BaseException:
                await consumer.stop()
                await admin.close()
                raise
            self._consumer, self._admin = consumer, admin
        return self._consumer, self._admin

    async def unresolved(self, topics: Sequence[str]) -> dict[str, int]:
        consumer, admin = await self._clients()
        # An unassigned consumer's own metadata never learns a topic: ask the cluster.
        cluster = await consumer._client.fetch_all_metadata()
        tps = [
            TopicPartition(dead_letter_topic(topic), partition)
            for topic in topics
            for partition in sorted(cluster.partitions_for_topic(dead_letter_topic(topic)) or ())
        ]
        if not tps:
            return {}
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        committed = await self._committed(admin, tps)
        counts: dict[str, int] = {}
        for tp in tps:
            topic = tp.topic.removesuffix(DLQ_SUFFIX)
            mark = committed.get(tp)
            counts[topic] = counts.get(topic, 0) + unresolved(
                ends[tp], mark.offset if mark is not None else None, starts[tp]
            )
        return counts

    async def _committed(
        self, admin: AIOKafkaAdminClient, tps: list[TopicPartition]
    ) -> dict[TopicPartition, Any]:
        """The resolved watermarks. A broker just started has no coordinator for the group yet
        (GroupCoordinatorNotAvailable, seen on the secured test broker under load): asked again
        within `coordinator_wait_s`, as a consumer's own coordinator lookup does, rather than a
        measurement lost and a warning logged for a broker that is only starting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.coordinator_wait_s
        while True:
            try:
                found: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
                    RESOLVED_GROUP, partitions=tps
                )
                return found
            except KafkaError as exc:
                if not exc.retriable or loop.time() >= deadline:
                    raise
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        consumer, admin = self._consumer, self._admin
        self._consumer = self._admin = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()


class UnresolvedDeadLetters:
    """Keeps `sentinel_<service>_dlq_unresolved_messages{topic}` (topic: the source topic)."""

    def __init__(
        self,
        metrics: Metrics,
        topics: Iterable[str],
        offsets: DeadLetterOffsets,
        *,
        interval_s: float = 10.0,
        check_s: float = 0.5,
    ) -> None:
        self.metrics, self.topics, self.offsets = metrics, tuple(topics), offsets
        self.interval_s, self.check_s = interval_s, check_s
        self._counts = LabelledCounts(metrics.dlq_unresolved)
        self.refreshed = 0

    def parked_here(self) -> float:
        """How many records this process has parked so far (its own counter, no I/O)."""
        # That counter's samples only, not the whole registry's: this runs twice a second.
        return sum(
            sample.value
            for family in self.metrics.dead_lettered.collect()
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels.get("topic") in self.topics
        )

    async def refresh(self) -> None:
        counts = await self.offsets.unresolved(self.topics)
        self._counts.set({(topic,): n for topic, n in counts.items()})
        self.refreshed += 1

    async def run(self) -> None:
        """The background loop: a refresh every `interval_s`, and one as soon as this process
        parked a record (checked every `check_s`); never raises but CancelledError."""
        if not self.topics:
            return
        loop = asyncio.get_running_loop()
        try:
            seen, due, failing = self.parked_here(), loop.time(), False
            while True:
                parked = self.parked_here()
                if parked != seen or loop.time() >= due:
                    seen = parked
                    try:
                        await self.refresh()
                        failing = False
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        # Once per outage at warning: while it lasts the gauge keeps its last
                        # value, so a new dead letter would not raise the alert.
                        log.log(
                            logging.DEBUG if failing else logging.WARNING,
                            "unresolved dead letters not measured",
                            extra={"error": f"{type(exc).__name__}: {exc}"},
                        )
                        failing = True
                        await self.offsets.close()  # made again, fresh, on the next try
                    due = loop.time() + self.interval_s
                await asyncio.sleep(self.check_s)
        finally:
            await self.offsets.close()
