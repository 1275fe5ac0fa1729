"""Kafka helpers for tests: watch a topic from 'now' and wait for records with a deadline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support.poll import until


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    def json(self) -> Any:
        return orjson.loads(self.value)


def of(event_type: str, **data: Any) -> Callable[[Record], bool]:
    """Matches a CloudEvent of `event_type` whose data holds each of `data`'s values."""

    def match(r: Record) -> bool:
        body = r.json()
        return body["type"] == event_type and all(body["data"].get(k) == v for k, v in data.items())

    return match


def _matches(predicate: Callable[[Record], bool], record: Record) -> bool:
    """A record the predicate cannot even read (not JSON, another shape: a poison message some
    other test parked on a shared topic) is not the one being waited for."""
    try:
        return predicate(record)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return False


class TopicWatcher:
    """Sees every record appended to `topic` after it was entered."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.records: list[Record] = []

    async def __aenter__(self) -> TopicWatcher:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        await self.consumer.start()
        # An unsubscribed consumer's own metadata never learns the topic; ask the cluster. A
        # topic created a moment ago may not be in every broker's metadata yet (seen on a busy
        # machine): ask again until it is, within a deadline.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while True:
            cluster = await self.consumer._client.fetch_all_metadata()
            partitions = cluster.partitions_for_topic(self.topic)
            if partitions:
                break
            if loop.time() > deadline:
                await self.consumer.stop()
                raise RuntimeError(f"topic {self.topic} does not exist")
            await asyncio.sleep(0.2)
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        # Resolve the end positions now, so records produced after this point are all seen.
        for tp in tps:
            await self.consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait_for(
        self, predicate: Callable[[Record], bool], *, count: int = 1, timeout: float = 20.0
    ) -> list[Record]:
        """Records matching `predicate`, once at least `count` arrived; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matches = [r for r in self.records if _matches(predicate, r)]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(matches)}/{count} matching records on {self.topic} within {timeout}s"
                    f" ({len(self.records)} records seen)"
                )
            await self._fetch(min(remaining, 0.5))

    async def drain(self, settle_s: float = 1.0, within: float = 60.0) -> list[Record]:
        """Everything on the topic when called, then whatever arrives until `settle_s` passes
        with nothing new.

        The first part is read up to the end offsets asked for now, within `within`: a fetch
        slower than `settle_s` (a loaded machine) must not end the drain before records already
        on the topic were read, or a duplicate there would go unseen."""
        partitions = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(partitions)

        async def read_to_the_end() -> bool:
            if all([await self.consumer.position(tp) >= ends[tp] for tp in partitions]):
                return True
            await self._fetch(0.5)
            return False

        await until(read_to_the_end, within=within, every=0, what=f"{self.topic} read to its end")
        while await self._fetch(settle_s):
            pass
        return self.records

    async def _fetch(self, timeout_s: float) -> bool:
        """What the consumer has within `timeout_s`, added to `records`; False when nothing."""
        batch = await self.consumer.getmany(timeout_ms=int(timeout_s * 1000))
        for records in batch.values():
            self.records.extend(
                Record(r.topic, r.partition, r.offset, r.key, r.value or b"", dict(r.headers or ()))
                for r in records
            )
        return bool(batch)


async def redeliver(bootstrap: str, record: Record) -> None:
    """The record again, as Kafka may redeliver it (same key, value and headers)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            record.topic,
            record.value,
            key=record.key,
            partition=record.partition,
            headers=list(record.headers.items()),
        )
    finally:
        await producer.stop()


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


def unique_topic(prefix: str = "test") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}.v1"


def about_terminal(terminal_id: str) -> Callable[[Record], bool]:
    """Records whose event data names the terminal (risks, rejections)."""
    return lambda r: r.json()["data"].get("terminal_id") == terminal_id
