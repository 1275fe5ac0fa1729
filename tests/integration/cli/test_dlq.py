"""`sentinel dlq` on the real Kafka of the test session: list, republish (as parked and
corrected), discard, a refused correction, and the unresolved dead-letter gauge falling to 0.

Each test parks records on a dead-letter topic of its own by producing them with the `dlq.*`
headers a service adds (services/runtime/dispatcher.py, `dlq_headers`), so nothing else writes
there. The CLI runs in a worker thread (it has its own event loop).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from click.testing import Result
from typer.testing import CliRunner

from sentinel_cli.__main__ import app
from services.runtime.app import Service
from services.runtime.dead_letters import KafkaDeadLetterOffsets, UnresolvedDeadLetters
from services.runtime.delivery import Delivery, PoisonMessage
from services.runtime.metrics import Metrics
from services.runtime.settings import ServiceSettings
from tests.support.cli_records import broken_risk_event, risk_event
from tests.support.kafka import TopicWatcher, create_topics, unique_topic
from tests.support.poll import until

pytestmark = pytest.mark.integration
ORIGINAL = [("content-type", b"application/cloudevents+json"), ("traceparent", b"00-abc-01")]


def parked_headers(source: str, offset: int, error: str, kind: str) -> list[tuple[str, bytes]]:
    return [
        *ORIGINAL,
        ("dlq.error", error.encode()),
        ("dlq.error_type", kind.encode()),
        ("dlq.source_topic", source.encode()),
        ("dlq.source_partition", b"0"),
        ("dlq.source_offset", str(offset).encode()),
        ("dlq.consumer_group", b"sentinel-inspection"),
        ("dlq.failed_at", b"2026-05-01T08:00:00+00:00"),
    ]


async def park(bootstrap: str) -> tuple[str, str, bytes]:
    """A source topic and its `.dlq` holding: @0 a record that broke its contract (source
    offset 5), @1 the same record parked again, @2 one that is not JSON (source offset 6), @3 a
    valid event its handler failed on (source offset 7), returned with the names."""
    source = unique_topic("dlq-source")
    dlq = f"{source}.dlq"
    await create_topics(bootstrap, source, dlq, partitions=1)
    handler_failed = risk_event("trm_c", "risk_c")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        broken = parked_headers(source, 5, "data.severity: Field required", "PoisonMessage")
        for key, value, headers in (
            (b"trm_a", broken_risk_event("trm_a"), broken),
            (b"trm_a", broken_risk_event("trm_a"), broken),
            (b"trm_b", b"not json", parked_headers(source, 6, "not JSON", "PoisonMessage")),
            (b"trm_c", handler_failed, parked_headers(source, 7, "bug", "KeyError")),
        ):
            await producer.send_and_wait(dlq, value, key=key, partition=0, headers=headers)
    finally:
        await producer.stop()
    return source, dlq, handler_failed


async def sentinel(bootstrap: str, *args: str) -> Result:
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["dlq", *args, "--bootstrap", bootstrap]
    )


async def listed(bootstrap: str, dlq: str) -> list[dict[str, Any]]:
    result = await sentinel(bootstrap, "list", dlq, "--json")
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


async def end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def unresolved_gauge(bootstrap: str, source: str) -> float:
    metrics = Metrics("dlqtest")
    offsets = KafkaDeadLetterOffsets(bootstrap, "sentinel-dlqtest", {})
    try:
        await UnresolvedDeadLetters(metrics, [source], offsets).refresh()
    finally:
        await offsets.close()
    value = metrics.registry.get_sample_value(
        "sentinel_dlqtest_dlq_unresolved_messages", {"topic": source}
    )
    assert value is not None
    return value


async def test_dead_letters_are_listed_republished_discarded_and_counted(
    kafka: str, tmp_path: Any
) -> None:
    source, dlq, handler_failed = await park(kafka)

    entries = await listed(kafka, dlq)
    assert [(e["offset"], e["copies"], e["source_offset"]) for e in entries] == [
        (0, [0, 1], 5),
        (2, [2], 6),
        (3, [3], 7),
    ]
    first = entries[0]
    assert first["source_topic"] == source and first["source_partition"] == 0
    assert first["consumer_group"] == "sentinel-inspection"
    assert (first["error_type"], first["error"]) == (
        "PoisonMessage",
        "data.severity: Field required",
    )
    assert first["failed_at"] == "2026-05-01T08:00:00+00:00"
    assert (first["key"], first["type"]) == ("trm_a", "telemetry.risk.raised")
    assert first["id"] and entries[1]["type"] is None and entries[1]["id"] is None
    assert await unresolved_gauge(kafka, source) == 4

    # A correction that still breaks the contract: refused, naming the field; nothing changes.
    still_broken = tmp_path / "still_broken.jsonl"
    still_broken.write_text(
        orjson.dumps(
            {"topic": dlq, "offset": 0, "key": "trm_a", "value": orjson.loads(broken_risk_event())}
        ).decode()
        + "\n"
    )
    refused = await sentinel(kafka, "republish", dlq, "--file", str(still_broken))
    assert refused.exit_code == 2
    assert "severity" in refused.stderr and "contract" in refused.stderr
    assert await end_offset(kafka, source) == 0
    assert len(await listed(kafka, dlq)) == 3

    # Resolving in offset order: @2 cannot be passed over @0.
    skipping = await sentinel(kafka, "republish", dlq, "--offset", "2")
    assert skipping.exit_code == 2 and "offset 0" in skipping.stderr
    assert await end_offset(kafka, source) == 0

    # A correction that meets the contract goes back with the parked key and original headers.
    corrected = orjson.loads(risk_event("trm_a", "risk_a"))
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(
        orjson.dumps({"topic": dlq, "offset": 0, "key": "trm_a", "value": corrected}).decode()
    )
    async with TopicWatcher(kafka, source) as watcher:
        republished = await sentinel(kafka, "republish", dlq, "--file", str(fixed))
        assert republished.exit_code == 0, republished.output
        [arrived] = await watcher.wait_for(lambda r: r.key == b"trm_a")
    assert orjson.loads(arrived.value) == corrected
    assert arrived.headers == dict(ORIGINAL)
    # The copy at @1 was passed with it: one record sent, two resolved.
    assert await end_offset(kafka, source) == 1
    assert [e["offset"] for e in await listed(kafka, dlq)] == [2, 3]
    assert await unresolved_gauge(kafka, source) == 2
    # The same file again: its record is resolved now, so there is nothing to send.
    twice = await sentinel(kafka, "republish", dlq, "--file", str(fixed))
    assert twice.exit_code == 2 and "already resolved" in twice.stderr
    assert await end_offset(kafka, source) == 1

    # Discarding needs a reason, and says it.
    reasonless = await sentinel(kafka, "discard", dlq, "--offset", "2", "--reason", " ")
    assert reasonless.exit_code == 2 and "--reason" in reasonless.stderr
    discarded = await sentinel(
        kafka, "discard", dlq, "--offset", "2", "--reason", "a test's garbage"
    )
    assert discarded.exit_code == 0, discarded.output
    assert "a test's garbage" in discarded.stderr
    assert await end_offset(kafka, source) == 1

    # A record whose handler was at fault goes back as parked.
    async with TopicWatcher(kafka, source) as watcher:
        again = await sentinel(kafka, "republish", dlq, "--all")
        assert again.exit_code == 0, again.output
        [as_parked] = await watcher.wait_for(lambda r: r.key == b"trm_c")
    assert as_parked.value == handler_failed
    assert as_parked.headers == dict(ORIGINAL)

    assert await listed(kafka, dlq) == []
    assert await unresolved_gauge(kafka, source) == 0
    nothing = await sentinel(kafka, "republish", dlq, "--all")
    assert nothing.exit_code == 2 and "nothing to resolve" in nothing.stderr


async def test_a_service_shows_what_it_parked_as_unresolved_until_it_is_discarded(
    kafka: str, database_url: str
) -> None:
    source = unique_topic("dlq-service")
    dlq = f"{source}.dlq"
    await create_topics(kafka, source, dlq, partitions=1)
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        db_schema=f"dlq_{uuid.uuid4().hex[:10]}",
        consumer_group=f"g-{uuid.uuid4().hex[:8]}",
        retry_backoff_s=0.05,
        outbox_poll_interval_s=0.1,
    )
    svc = Service(settings)
    # A test topic is in no service's catalog entry: measure it as the wiring measures those.
    svc.dead_letters = UnresolvedDeadLetters(
        svc.metrics,
        [source],
        KafkaDeadLetterOffsets(kafka, "sentinel-dlqtest", {}),
        interval_s=0.5,
    )

    async def refuse(delivery: Delivery) -> None:
        raise PoisonMessage(f"malformed record at {delivery.offset}")

    svc.subscribe(source, refuse)

    def gauge() -> float | None:
        return svc.metrics.registry.get_sample_value(
            "sentinel_service_dlq_unresolved_messages", {"topic": source}
        )

    await svc.start()
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(source, b"whatever", key=b"k1", headers=ORIGINAL)
        finally:
            await producer.stop()
        await until(lambda: gauge() == 1, within=30, what="the parked record counted")
        [entry] = await listed(kafka, dlq)
        assert (entry["source_topic"], entry["source_offset"]) == (source, 0)
        assert entry["consumer_group"] == settings.group_id
        assert entry["error"] == "malformed record at 0"
        assert "sentinel_service_dlq_unresolved_messages" in svc.metrics.render().decode()

        discarded = await sentinel(kafka, "discard", dlq, "--offset", "0", "--reason", "a test")
        assert discarded.exit_code == 0, discarded.output
        await until(lambda: gauge() == 0, within=30, what="the discarded record no longer counted")
    finally:
        await svc.stop()
