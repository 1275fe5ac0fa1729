"""A view that writes a batch of snapshots at once (services/runtime/projection.py), on real
Kafka and Postgres: the runtime directory's merchants, read by a new replica.

One batch holds a merchant's two versions, a stale replay of the older, a message that breaks
the contract and merchants around it. The view must end as if it had taken them one at a time:
the newest version of each, in memory and in its table, the poison dead-lettered and nothing
else lost on its account (the batch is handled again record by record).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.envelope import make_event
from contracts.events import spec
from contracts.registry import MerchantUpserted
from services.runtime.directory import MIGRATIONS, RegistryDirectory
from tests.support.event_samples import SAMPLES
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

EVENT = "registry.merchant.upserted"


def _merchant(merchant_id: str, version: int, stall_no: str) -> MerchantUpserted:
    sample = SAMPLES[EVENT]
    update: dict[str, Any] = {
        "merchant_id": merchant_id,
        "version": version,
        "stall_no": stall_no,
        "updated_at": datetime.now(UTC),
    }
    merchant: MerchantUpserted = sample.model_copy(update=update)
    return merchant


def _event(merchant: MerchantUpserted) -> bytes:
    return make_event(
        service="registry",
        event_type=EVENT,
        version=spec(EVENT).version,
        subject=merchant.merchant_id,
        data=merchant,
    ).to_json()


async def test_a_batch_ends_as_one_at_a_time_would_and_parks_only_its_poison(
    make_service, started, kafka: str, topic: str
) -> None:
    m1v1, m1v2 = _merchant("mer_b1", 1, "A-01"), _merchant("mer_b1", 2, "A-02")
    m2, m3 = _merchant("mer_b2", 1, "B-01"), _merchant("mer_b3", 1, "C-01")
    poison = _event(m3).replace(b'"stall_no":"C-01"', b'"stall_no":17')
    assert poison != _event(m3)
    values = [_event(m1v1), _event(m2), _event(m1v2), poison, _event(m3), _event(m1v1)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        # One partition, sent before the replica starts: its first poll takes them as a batch.
        for value in values:
            await producer.send_and_wait(
                topic, value, partition=0, headers=[("ce_type", EVENT.encode())]
            )
    finally:
        await producer.stop()

    svc = make_service()
    directory = RegistryDirectory()
    svc.add_migrations("directory", MIGRATIONS)
    svc.project_batches(topic, svc.with_pool(directory.on_merchants), view="merchants")
    started.append(svc)
    async with TopicWatcher(kafka, f"{topic}.dlq") as dlq:
        await svc.start()
        await until(svc.projections.ready.is_set, within=60, what="the view caught up")
        parked = await dlq.wait_for(lambda r: True, count=1)

    assert [r.value for r in parked] == [poison]
    assert parked[0].headers["dlq.source_offset"] == b"3"
    assert {k: m.version for k, m in directory.merchants.items()} == {
        "mer_b1": 2,
        "mer_b2": 1,
        "mer_b3": 1,
    }
    # The stall index follows the newest version: mer_b1 moved from.
    assert directory.merchant_at(m1v1.market_id, "A-01") is None
    assert directory.merchant_at(m1v2.market_id, "A-02") == m1v2
    rows = await svc.pool.fetch("SELECT id, version, stall_no FROM directory_merchants ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("mer_b1", 2, "A-02"),
        ("mer_b2", 1, "B-01"),
        ("mer_b3", 1, "C-01"),
    ]
    # A replica that starts now loads the same view from the table alone.
    reloaded = RegistryDirectory()
    await reloaded.load(svc.pool)
    assert reloaded.merchants == directory.merchants
