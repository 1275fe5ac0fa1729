"""`sentinel dlq`'s Kafka side: read a dead-letter topic whole with its resolved watermark,
send records back to their source topics and wait for the acknowledgements, and move the
watermark (services/runtime/dead_letters.py says what it is; sentinel_cli/dead_letters.py
decides what moves).

On a secured broker this is the `admin` principal's work: only it reads dead letters and
commits in the group `sentinel-dlq` (docs/operations.md, "Kafka principals and ACLs").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from sentinel_cli.dead_letters import Correction, Parked, outgoing
from sentinel_cli.kafka import START_TIMEOUT_S, CliError, start
from services.runtime.dead_letters import DLQ_SUFFIX, RESOLVED_GROUP, watermark

ADMIN = "admin"
# Kafka keeps at most offset.metadata.max.bytes (4096 by default) beside a committed offset.
NOTE_MAX = 1000


@dataclass(frozen=True)
class DeadLetters:
    """One dead-letter partition read whole: its records, resolved watermark and end."""

    topic: str
    partition: int
    records: tuple[Parked, ...]
    mark: int
    end: int

    @property
    def unresolved(self) -> int:
        return max(0, self.end - self.mark)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@asynccontextmanager
async def resolver(bootstrap: str, login: Mapping[str, Any]) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of the group `sentinel-dlq` that never joins it: partitions are assigned by
    hand, and offsets are committed only by `resolve`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=RESOLVED_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="sentinel-cli-dlq",
        request_timeout_ms=15000,
        **login,
    )
    await start(consumer, bootstrap, login, ADMIN)
    try:
        yield consumer
    finally:
        await consumer.stop()


async def dead_letter_topics(consumer: AIOKafkaConsumer) -> list[str]:
    return sorted(t for t in await consumer.topics() if t.endswith(DLQ_SUFFIX))


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    # An unassigned consumer's own metadata never learns a topic: ask the cluster.
    cluster = await consumer._client.fetch_all_metadata()
    return set(cluster.partitions_for_topic(topic) or ())


def check_topic(topic: str) -> str:
    if not topic.endswith(DLQ_SUFFIX):
        raise CliError(f"{topic!r} is not a dead-letter topic (its name ends in {DLQ_SUFFIX})")
    return topic


async def read(consumer: AIOKafkaConsumer, topic: str) -> list[DeadLetters]:
    """Every record Kafka still holds on `topic`, per partition, up to its end now."""
    check_topic(topic)
    partitions = await _partitions(consumer, topic)
    if not partitions:
        raise CliError(f"no topic {topic!r} (`sentinel topics --dlq` lists them)")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    found: list[DeadLetters] = []
    for tp in tps:
        mark = watermark(await consumer.committed(tp), starts[tp])
        records: list[Parked] = []
        consumer.seek(tp, starts[tp])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60.0
        while starts[tp] < ends[tp] and await consumer.position(tp) < ends[tp]:
            if loop.time() > deadline:
                raise CliError(f"{topic}: read stalled at offset {await consumer.position(tp)}")
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records.extend(
                Parked(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.timestamp,
                    r.key,
                    r.value,
                    tuple(r.headers or ()),
                )
                for r in batch.get(tp, ())
                if r.offset < ends[tp]
            )
        found.append(DeadLetters(topic, tp.partition, tuple(records), mark, ends[tp]))
    return found


async def republish(
    bootstrap: str,
    login: Mapping[str, Any],
    records: Sequence[Parked],
    corrections: Mapping[int, Correction],
) -> None:
    """Send each record (or its correction) to its source topic with its key and original
    headers, and return once Kafka acknowledged every one (acks=all); CliError otherwise."""
    if not records:
        return
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="sentinel-cli-dlq",
        acks="all",
        enable_idempotence=True,
        **login,
    )
    try:
        await asyncio.wait_for(producer.start(), START_TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as exc:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise CliError(f"Kafka at {bootstrap}: cannot publish: {_reason(exc)}") from exc
    try:
        sent = []
        for record in records:
            value, headers = outgoing(record, corrections.get(record.offset))
            sent.append(
                await producer.send(record.source_topic, value, key=record.key, headers=headers)
            )
        await asyncio.wait_for(asyncio.gather(*sent), 60.0)
    except (KafkaError, TimeoutError) as exc:
        raise CliError(
            f"republishing was not acknowledged: {_reason(exc)}; nothing was marked resolved "
            "(republishing again is safe: consumers skip event ids they handled)"
        ) from exc
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10.0)


async def resolve(
    consumer: AIOKafkaConsumer, letters: DeadLetters, new_mark: int, note: str
) -> int:
    """Move the resolved watermark to `new_mark`, never back: if another operator moved it past
    that meanwhile, theirs stays. Returns the watermark now committed."""
    tp = TopicPartition(letters.topic, letters.partition)
    current: int | None = await consumer.committed(tp)
    if current is not None and current >= new_mark:
        return current
    await consumer.commit({tp: OffsetAndMetadata(new_mark, note[:NOTE_MAX])})
    return new_mark
