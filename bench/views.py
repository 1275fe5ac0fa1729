"""A registry view's catch-up: how long a new replica takes to read a city's merchants.

    python -m bench.views [--merchants 20000] [--repeat 2]

N merchant snapshots go to a fresh topic (six partitions, like the registry's); then, in turn,
a fresh service replica (its own schema and groups) reads the whole topic into the runtime's
merchants view (`services/runtime/directory.py`) and the time until it caught up is taken:
- "per message": the view subscribed one message at a time, a Kafka commit and an upsert each
  (the way every view consumed before; the baseline, measured in the same run);
- "per batch, a row at a time": `Service.project` (services/runtime/projection.py): batches of
  snapshots, one commit a batch, each snapshot still upserted on its own, as the views with
  few snapshots (markets) take them;
- "per batch, one statement": `Service.project_batches`, as the runtime directory wires its
  merchants, telemetry its terminals and inspection its merchants (bench/inspection_view.py):
  the batch's upserts in one statement.
The order alternates between runs. All three write the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from bench import loops
from bench.readings import PARTITIONS, new_topic, settings
from contracts.envelope import CONTENT_TYPE, make_event
from contracts.events import spec
from contracts.registry import MerchantUpserted
from services.runtime.app import Service
from services.runtime.delivery import Delivery
from services.runtime.directory import MIGRATIONS, RegistryDirectory
from tests.support.infra import infrastructure

EVENT = "registry.merchant.upserted"


def merchant(i: int, now: datetime) -> MerchantUpserted:
    return MerchantUpserted(
        version=1,
        updated_at=now,
        merchant_id=f"mer_bench_{i:06d}",
        name=f"商户{i}",
        market_id=f"mkt_bench_{i % 50:02d}",
        district="zhifu",
        stall_no=f"A-{i:05d}",
        credit_code="91370602MA3C0T0X1K",
        food_licence=f"JY1370602{i:07d}",
        licence_valid_until=date(2030, 1, 1),
        categories=["vegetables"],
        status="active",
    )


async def publish(kafka: str, topic: str, n: int) -> None:
    now = datetime.now(UTC)
    version = spec(EVENT).version
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks=1, linger_ms=20)
    await producer.start()
    try:
        for i in range(n):
            data = merchant(i, now)
            event = make_event(
                service="registry", event_type=EVENT, version=version, subject=data.merchant_id,
                data=data,
            )  # fmt: skip
            headers = [("content-type", CONTENT_TYPE.encode()), ("ce_type", EVENT.encode())]
            await producer.send(
                topic, event.to_json(), key=data.merchant_id.encode(), headers=headers
            )
        await producer.flush()
    finally:
        await producer.stop()


MODES = ("per message", "per batch, a row at a time", "per batch, one statement")


async def catch_up(kafka: str, database_url: str, topic: str, mode: str) -> float:
    """Seconds from consuming's start until a fresh replica's merchants view read `topic`."""
    tag = uuid.uuid4().hex[:6]
    service = Service(
        settings(kafka, database_url, topic, schema=f"bench_view_{tag}", group=f"bench-view-{tag}")
    )
    directory = RegistryDirectory()
    service.add_migrations("directory", MIGRATIONS)

    async def one(pool: Any, delivery: Delivery) -> None:
        await directory.on_merchants(pool, [delivery])

    group = f"bench-view-{tag}-merchants"
    if mode == "per message":
        service.messaging.subscribe(topic, service.with_pool(one), group_id=group)
    elif mode == "per batch, a row at a time":
        service.project(topic, service.with_pool(one), view="merchants")
    else:
        service.project_batches(topic, service.with_pool(directory.on_merchants), view="merchants")
    await service.start()
    started = time.perf_counter()
    try:
        if mode == "per message":
            await asyncio.wait_for(service.messaging.caught_up(topic, group), 600)
        else:
            await asyncio.wait_for(service.projections.ready.wait(), 600)
        took = time.perf_counter() - started
    finally:
        await service.stop()
    if len(directory.merchants) < 1:
        raise RuntimeError("the view caught up holding no merchant")
    return took


async def run(kafka: str, database_url: str, merchants: int, repeat: int) -> None:
    topic = await new_topic(kafka, PARTITIONS, "bench.views")
    await publish(kafka, topic, merchants)
    print(f"{merchants:,} merchant snapshots on {topic}", file=sys.stderr)
    for i in range(repeat):
        order = MODES if i % 2 == 0 else MODES[::-1]
        took = {mode: await catch_up(kafka, database_url, topic, mode) for mode in order}
        print(f"run {i + 1} of {repeat} (load {os.getloadavg()[0]:.1f}, {' then '.join(order)}):")
        for mode in MODES:
            print(
                f"  {mode:28} {took[mode]:6.2f} s  {merchants / took[mode]:8,.0f} snapshots/s"
                f"  ratio to per message {took[MODES[0]] / took[mode]:5.1f}"
            )


Run = Callable[[str, str, int, int], Awaitable[None]]


def cli(doc: str | None, bench: Run) -> int:
    """The command line of a view bench: `bench(kafka, database_url, merchants, repeat)` on the
    local test stack."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--merchants", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with infrastructure() as endpoints:
        loops.run(bench(endpoints.kafka, endpoints.database_url, args.merchants, args.repeat))
    return 0


def main() -> int:
    return cli(__doc__, run)


if __name__ == "__main__":
    sys.exit(main())
