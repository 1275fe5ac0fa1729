"""Raw Kafka on this machine: the Python limit (aiokafka) and the JVM limit (the broker's own
perf tools), on the same ~200-byte signed readings the telemetry benchmark uses.

- aiokafka produce: the readings sent with their keys (acks=1, linger 20 ms, 256 KiB batches),
  5,000 in flight at a time; aiokafka getmany + orjson decode of the same topic, one consumer
  over all partitions (no group: assigned, from the beginning).
- confluent-kafka (librdkafka, the fastest Python client) `consume` batches + the same orjson
  decode of the same topic in the same run: one consumer assigned all partitions from the
  beginning, no commits, the same 4 MiB per partition fetch and 5,000 records a call. Its
  blocking calls run in a thread; the clock starts once it has the topic's metadata (as
  aiokafka's starts after `start()`), so both count fetching and decoding only. Both also
  report the process CPU over their window per 1,000 records (librdkafka fetches in threads of
  its own, so on a machine with a free core its rate is not the CPU it costs).
- `kafka-producer-perf-test` (org.apache.kafka.tools.ProducerPerformance) with the readings as
  its payload file (acks=1, linger 20 ms, 256 KiB batches; no keys, so the sticky partitioner);
  `kafka-consumer-perf-test` (ConsumerPerformance) reading them back in a fresh group. Both
  JVMs start cold, so they get five times the readings; the consumer's figure excludes its
  group join (`fetch.nMsg.sec`).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.readings import Messages

ROOT = Path(__file__).resolve().parents[1]
KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"


class Consumed(NamedTuple):
    """Wall seconds of a raw consume and the process CPU seconds over them (all its threads:
    librdkafka's fetch threads for confluent-kafka, the event loop's for aiokafka)."""

    seconds: float
    cpu_s: float


async def aiokafka_produce(kafka: str, topic: str, messages: Messages) -> float:
    """Seconds to send `messages` and have every one acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks=1, linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        started = time.perf_counter()
        for i in range(0, len(messages), 5000):
            futures = [await producer.send(topic, v, key=k) for k, v in messages[i : i + 5000]]
            await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def aiokafka_consume(kafka: str, topic: str, partitions: int, n: int) -> Consumed:
    """Time to `getmany` and JSON-decode `n` records from the beginning of `topic`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_beginning()
        seen, started, cpu = 0, time.perf_counter(), time.process_time()
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    orjson.loads(r.value)
                seen += len(records)
        return Consumed(time.perf_counter() - started, time.process_time() - cpu)
    finally:
        await consumer.stop()


def _confluent_consume_blocking(kafka: str, topic: str, partitions: int, n: int) -> Consumed:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException
    from confluent_kafka import TopicPartition as ConfluentPartition

    consumer = Consumer(
        {
            "bootstrap.servers": kafka,
            # Never joins: the partitions are assigned; the id only satisfies librdkafka.
            "group.id": f"bench-confluent-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "max.partition.fetch.bytes": 4 * 1024 * 1024,
        }
    )
    try:
        consumer.list_topics(topic, timeout=10)  # connected, metadata known: then the clock
        seen, started, cpu = 0, time.perf_counter(), time.process_time()
        consumer.assign([ConfluentPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        while seen < n:
            batch = consumer.consume(num_messages=5000, timeout=1.0)
            for m in batch:
                if m.error() is not None:
                    raise KafkaException(m.error())
                orjson.loads(m.value())
            seen += len(batch)
        return Consumed(time.perf_counter() - started, time.process_time() - cpu)
    finally:
        consumer.close()


async def confluent_consume(kafka: str, topic: str, partitions: int, n: int) -> Consumed:
    """Time for confluent-kafka to `consume` and JSON-decode `n` records from the beginning of
    `topic` (ImportError without the `bench` extra)."""
    return await asyncio.to_thread(_confluent_consume_blocking, kafka, topic, partitions, n)


async def _java(*args: str, limit_s: float = 180) -> str:
    if not KAFKA_LIBS.is_dir():
        raise FileNotFoundError(f"{KAFKA_LIBS} is missing: make kafka-jars")
    process = await asyncio.create_subprocess_exec(
        "java",
        "-Xmx512m",
        "-cp",
        f"{KAFKA_LIBS}/*",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), limit_s)
    except TimeoutError:
        process.kill()
        raise
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} exited {process.returncode}: {text[-2000:]}")
    return text


async def java_produce(kafka: str, topic: str, messages: Messages, n: int) -> float:
    """records/s of ProducerPerformance sending `n` records, the readings as payloads."""
    fd, path = tempfile.mkstemp(prefix="bench-readings-", suffix=".txt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"\n".join(v for _, v in messages[:10_000]))
        out = await _java(
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(n),
            "--payload-file",
            path,
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={kafka}",
            "acks=1",
            "linger.ms=20",
            "batch.size=262144",
        )
    finally:
        os.unlink(path)
    # "100000 records sent, 123456.7 records/sec (22.90 MB/sec), ..."
    last = [line for line in out.splitlines() if "records sent" in line][-1]
    return float(last.split("records sent,")[1].split("records/sec")[0])


async def java_consume(kafka: str, topic: str, n: int) -> float:
    """fetch.nMsg.sec of ConsumerPerformance (records/s, the group join left out)."""
    out = await _java(
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server",
        kafka,
        "--topic",
        topic,
        "--num-records",
        str(n),
        "--group",
        f"bench-perf-{uuid.uuid4().hex[:6]}",
        "--timeout",
        "60000",
    )
    lines = [line for line in out.splitlines() if line.strip()]
    header = [h.strip() for h in lines[-2].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    return float(values[header.index("fetch.nMsg.sec")])
