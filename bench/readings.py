"""What the benchmarks share: signed readings, fresh topics, a telemetry replica placed in a
city of bench terminals (as the registry topic would place them, so no registry is needed)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.app import build
from services.telemetry.projections import MarketInfo, TerminalInfo
from services.telemetry.settings import TelemetrySettings

# Fixed, so that a topic produced by one run (or process) is verified by another.
MASTER = hashlib.sha256(b"market-sentinel bench only").digest()
PARTITIONS = 6
Messages = list[tuple[bytes, bytes]]


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def terminal_ids(terminals: int) -> list[str]:
    return [f"trm_b{i:05d}" for i in range(terminals)]


def make_readings(terminals: int, per_terminal: int) -> Messages:
    """Signed cold-chain readings in band (about 200 bytes), interleaved across terminals, one a
    minute each, starting two days ago."""
    start = datetime.now(UTC) - timedelta(days=2)
    keys = {tid: derive_key(MASTER, tid, 1) for tid in terminal_ids(terminals)}
    out = []
    for seq in range(1, per_terminal + 1):
        ts = iso(start + timedelta(seconds=60 * seq))
        for tid, key in keys.items():
            r: dict[str, Any] = {
                "terminal_id": tid,
                "seq": seq,
                "ts": ts,
                "kind": "cold_chain",
                "temp_c": 3.0 + (seq % 7) * 0.1,
                "interval_s": 60,
            }
            r["sig"] = sign(r, key)
            out.append((tid.encode(), orjson.dumps(r)))
    return out


async def new_topic(
    kafka: str, partitions: int = PARTITIONS, prefix: str = "bench.readings"
) -> str:
    name = f"{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def produce(kafka: str, topic: str, messages: Messages) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks=1, linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        for i in range(0, len(messages), 5000):
            futures = [await producer.send(topic, v, key=k) for k, v in messages[i : i + 5000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


def settings(
    kafka: str,
    database_url: str,
    topic: str,
    *,
    schema: str | None = None,
    group: str | None = None,
    replica: str = "",
) -> TelemetrySettings:
    return TelemetrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        readings_topic=topic,
        db_schema=schema or f"bench_tel_{uuid.uuid4().hex[:6]}",
        consumer_group=group or f"bench-{uuid.uuid4().hex[:6]}",
        terminal_master_secret=MASTER.hex(),
        outbox_poll_interval_s=0.02,
        replica_id=replica,
    )


def place(app: Any, terminals: list[str]) -> None:
    """Put the terminals (chilled cold chain, one market) straight into the projection."""
    directory = app.state.telemetry.directory
    directory.master_secret = MASTER
    directory.markets["mkt_bench"] = MarketInfo(
        "mkt_bench", "bench", "bench", 10_000, "00:00", "23:59", 1
    )
    for tid in terminals:
        directory.terminals[tid] = TerminalInfo(
            tid, "cold_chain", "mkt_bench", "bench", None, None, "chilled", 60, 1, "active", 1
        )


def accepted(app: Any) -> float:
    """Readings the replica accepted so far (its cold-chain counter, read without a scrape:
    collecting the whole registry every few milliseconds would cost the replica itself)."""
    counter = app.state.telemetry.metrics.readings.labels("cold_chain", "accepted")
    return float(counter._value.get())


async def skip_registry(kafka: str, group: str, replica: str) -> None:
    """Commit the registry topics' current end as the replica's projection groups' position.

    The bench places its terminals itself; replaying every market and terminal that other test
    runs left on a shared broker (one database write each) would only delay the start, by
    seconds and unevenly between replicas."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        for topic, suffix in (
            ("registry.terminals.v1", "terminals"),
            ("registry.markets.v1", "markets"),
        ):
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in parts]
            ends = await consumer.end_offsets(tps)
            committer = AIOKafkaConsumer(
                bootstrap_servers=kafka,
                group_id=f"{group}-{suffix}-{replica}",
                enable_auto_commit=False,
            )
            await committer.start()
            try:
                committer.assign(tps)
                await committer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
            finally:
                await committer.stop()
    finally:
        await consumer.stop()


async def prepare_replica(
    kafka: str,
    database_url: str,
    topic: str,
    terminals: list[str],
    *,
    schema: str | None = None,
    group: str | None = None,
) -> Any:
    """A telemetry app with the terminals placed, its projections at the registry's end."""
    group = group or f"bench-{uuid.uuid4().hex[:6]}"
    replica = uuid.uuid4().hex[:6]
    await skip_registry(kafka, group, replica)
    app = build(settings(kafka, database_url, topic, schema=schema, group=group, replica=replica))
    place(app, terminals)
    return app


async def start_replica(
    kafka: str,
    database_url: str,
    topic: str,
    terminals: list[str],
    *,
    schema: str | None = None,
    group: str | None = None,
) -> Any:
    app = await prepare_replica(kafka, database_url, topic, terminals, schema=schema, group=group)
    await app.state.service.start()
    return app
