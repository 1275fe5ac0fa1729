"""Telemetry throughput and latency against raw Kafka consumption of the same readings.

(a) baseline: an aiokafka consumer that `getmany`s the readings and only decodes the JSON;
(b) the telemetry service's full path on the same messages: verify (HMAC), validate, run the
    rules, persist state per batch, publish risks/rejections through the outbox;
(c) reading → risk latency at a fixed 5,000 readings/s: probe terminals send one reading far
    beyond the cold-chain limit (an instant raise) among normal traffic; latency is the time
    from sending it to the risk event arriving on `telemetry.risks.v1`.
Terminals are put straight into the service's projection (as the registry topic would), so the
benchmark needs no registry.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.app import build
from services.telemetry.projections import MarketInfo, TerminalInfo
from services.telemetry.settings import TelemetrySettings

# Fixed, so that a topic produced by one run can be consumed by another (bench.profile --topic).
MASTER = hashlib.sha256(b"market-sentinel bench only").digest()
PARTITIONS = 6


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def make_readings(terminals: int, per_terminal: int) -> list[tuple[bytes, bytes]]:
    """Signed cold-chain readings in band (about 200 bytes), interleaved across terminals."""
    start = datetime.now(UTC) - timedelta(days=2)
    keys = {f"trm_b{i:05d}": derive_key(MASTER, f"trm_b{i:05d}", 1) for i in range(terminals)}
    out = []
    for seq in range(1, per_terminal + 1):
        ts = _iso(start + timedelta(seconds=60 * seq))
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


async def _topic(kafka: str) -> str:
    return await new_topic(kafka)


async def produce(kafka: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
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


async def raw_consume(kafka: str, topic: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        seen, started = 0, time.perf_counter()
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    orjson.loads(r.value)
                seen += len(records)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def _settings(kafka: str, database_url: str, topic: str) -> TelemetrySettings:
    return TelemetrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        readings_topic=topic,
        db_schema=f"bench_tel_{uuid.uuid4().hex[:6]}",
        consumer_group=f"bench-{uuid.uuid4().hex[:6]}",
        terminal_master_secret=MASTER.hex(),
        auth_secret="bench-only-secret",  # noqa: S106 - no HTTP is served in the benchmark
        outbox_poll_interval_s=0.02,
    )


def _place(app: Any, terminals: list[str]) -> None:
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


async def start_replica(kafka: str, database_url: str, topic: str, terminals: list[str]) -> Any:
    app = build(_settings(kafka, database_url, topic))
    _place(app, terminals)
    await app.state.service.start()
    return app


async def full_path(
    kafka: str, database_url: str, topic: str, terminals: list[str], n: int
) -> tuple[float, float]:
    app = build(_settings(kafka, database_url, topic))
    _place(app, terminals)
    service = app.state.service
    await service.start()
    try:
        # The clock starts at the first accepted reading: joining the group is not throughput.
        while accepted(app) == 0:
            await asyncio.sleep(0.001)
        first, cpu0, started = accepted(app), time.process_time(), time.perf_counter()
        while accepted(app) < n:
            await asyncio.sleep(0.02)
        took = time.perf_counter() - started
        return took * n / (n - first), time.process_time() - cpu0
    finally:
        await service.stop()


async def latency(
    kafka: str, database_url: str, rate: int = 5000, seconds: float = 10, probes: int = 200
) -> list[float]:
    topic = await _topic(kafka)
    normal = [f"trm_b{i:05d}" for i in range(1000)]
    probe_ids = [f"trm_p{i:04d}_{uuid.uuid4().hex[:4]}" for i in range(probes)]
    app = build(_settings(kafka, database_url, topic))
    _place(app, normal + probe_ids)
    await app.state.service.start()
    keys = {t: derive_key(MASTER, t, 1) for t in normal + probe_ids}
    sent_at: dict[str, float] = {}
    arrived: dict[str, float] = {}
    watcher = AIOKafkaConsumer(
        "telemetry.risks.v1", bootstrap_servers=kafka, group_id=None, auto_offset_reset="latest"
    )
    await watcher.start()
    await watcher.getmany(timeout_ms=500)  # join and position at the end before sending

    async def watch() -> None:
        while len(arrived) < probes:
            for records in (await watcher.getmany(timeout_ms=200)).values():
                for r in records:
                    tid = orjson.loads(r.value)["data"]["terminal_id"]
                    if tid in sent_at and tid not in arrived:
                        arrived[tid] = time.perf_counter()

    watching = asyncio.create_task(watch())
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks=1, linger_ms=2)
    await producer.start()
    try:
        total = int(rate * seconds)
        probe_every = total // probes
        seq = {t: 0 for t in keys}
        per_tick = max(1, int(rate * 0.01))
        started = time.perf_counter()
        for i in range(total):
            is_probe = i % probe_every == 0 and len(sent_at) < probes
            tid = probe_ids[len(sent_at)] if is_probe else normal[i % len(normal)]
            seq[tid] += 1
            now = datetime.now(UTC)
            r: dict[str, Any] = {
                "terminal_id": tid,
                "seq": seq[tid],
                "ts": _iso(now),
                "kind": "cold_chain",
                "temp_c": 20.0 if is_probe else 3.5,
            }
            r["sig"] = sign(r, keys[tid])
            await producer.send(topic, orjson.dumps(r), key=tid.encode())
            if is_probe:
                sent_at[tid] = time.perf_counter()
            if i % per_tick == per_tick - 1:  # pace to the rate
                ahead = started + (i + 1) / rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await producer.flush()
        await asyncio.wait_for(watching, 60)
        return [arrived[t] - sent_at[t] for t in sent_at]
    finally:
        watching.cancel()
        await producer.stop()
        await watcher.stop()
        await app.state.service.stop()


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(kafka: str, database_url: str, terminals: int = 2000, per_terminal: int = 50) -> None:
    topic = await _topic(kafka)
    messages = make_readings(terminals, per_terminal)
    n = len(messages)
    size = sum(len(v) for _, v in messages) / n
    await produce(kafka, topic, messages)
    raw = await raw_consume(kafka, topic, n)
    ids = [f"trm_b{i:05d}" for i in range(terminals)]
    full, cpu = await full_path(kafka, database_url, topic, ids, n)
    lat = await latency(kafka, database_url)
    print(
        f"\n== telemetry ({n:,} signed readings of {size:.0f} bytes, {terminals} terminals,"
        f" {PARTITIONS} partitions) =="
    )
    print(f"raw aiokafka getmany + decode (baseline) {n / raw:10,.0f} readings/s")
    print(f"telemetry full path, one replica         {n / full:10,.0f} readings/s")
    print(f"ratio full path / raw                    {raw / full:10.2f}")
    print(f"CPU per 1,000 readings (full path)       {1000 * cpu / n * 1000:10.1f} ms")
    p50, p99 = _pct(lat, 50) * 1000, _pct(lat, 99) * 1000
    print(
        f"reading -> risk latency at 5,000/s       p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        f" ({len(lat)} probes)"
    )
