"""Outbox relay throughput against raw aiokafka produce of the same events, in one run.

Baseline: the same serialized CloudEvents sent straight to Kafka with the same producer
settings (acks=all, idempotent), batches awaited. Measured: events committed to the outbox
(in transactions of `tx_size`, as a service would write them) and relayed until drained —
i.e. what it costs to get exactly-once effects instead of fire-and-forget publishing.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import BaseModel

from contracts.envelope import Envelope, make_event
from services.runtime.app import Service
from services.runtime.outbox import enqueue, enqueue_many
from services.runtime.settings import ServiceSettings


class Snapshot(BaseModel):
    merchant_id: str
    name: str
    stall_no: str
    categories: list[str]
    version: int


def _events(n: int) -> list[Envelope[Snapshot]]:
    return [
        make_event(
            service="bench",
            event_type="bench.merchant.upserted",
            version=1,
            subject=f"mer_{i % 1000:04d}",
            data=Snapshot(
                merchant_id=f"mer_{i % 1000:04d}",
                name="老王鲜肉",
                stall_no="A-01",
                categories=["pork", "beef"],
                version=i,
            ),
        )
        for i in range(n)
    ]


async def raw_produce(
    kafka: str, topic: str, events: list[Envelope[Snapshot]], batch: int = 500
) -> float:
    payloads = [(e.subject.encode(), e.to_json()) for e in events]
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        started = time.perf_counter()
        for i in range(0, len(payloads), batch):
            futures = [await producer.send(topic, v, key=k) for k, v in payloads[i : i + batch]]
            await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def outbox_path(
    kafka: str,
    database_url: str,
    topic: str,
    events: list[Envelope[Snapshot]],
    tx_size: int = 100,
    many: bool = False,
) -> tuple[float, float]:
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        db_schema=f"bench_{uuid.uuid4().hex[:8]}",
        outbox_batch_size=500,
        outbox_poll_interval_s=0.05,
    )
    svc = Service(settings)
    await svc.start()
    try:
        started = time.perf_counter()
        for i in range(0, len(events), tx_size):
            async with svc.pool.acquire() as conn, conn.transaction():
                if many:
                    chunk = [(topic, e) for e in events[i : i + tx_size]]
                    await enqueue_many(conn, chunk, schema=svc.schema)
                    continue
                for e in events[i : i + tx_size]:
                    await enqueue(conn, topic, e, schema=svc.schema)
        written = time.perf_counter() - started
        await svc.drain_outbox(timeout_s=300)
        return written, time.perf_counter() - started
    finally:
        await svc.stop()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA "{settings.db_schema}" CASCADE')
        finally:
            await conn.close()


async def run(kafka: str, database_url: str, n: int = 20_000) -> None:
    topic = f"bench.outbox.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    events = _events(n)
    size = sum(len(e.to_json()) for e in events) / n
    await raw_produce(kafka, topic, events[:2000])  # warm-up: connections, JIT of the broker
    raw = await raw_produce(kafka, topic, events)
    written, relayed = await outbox_path(kafka, database_url, topic, events)
    written_many, relayed_many = await outbox_path(kafka, database_url, topic, events, many=True)
    print(f"\n== outbox relay ({n} events, {size:.0f} bytes each) ==")
    print(f"raw aiokafka produce (baseline)      {n / raw:10,.0f} events/s")
    print(f"outbox write (tx of 100)             {n / written:10,.0f} events/s")
    print(f"outbox write + relay until drained   {n / relayed:10,.0f} events/s")
    print(f"ratio outbox end-to-end / raw        {raw / relayed:10.2f}")
    print(f"outbox enqueue_many (tx of 100)      {n / written_many:10,.0f} events/s")
    print(f"  + relay until drained              {n / relayed_many:10,.0f} events/s")
    print(f"ratio enqueue_many end-to-end / raw  {raw / relayed_many:10.2f}")
