"""Kafka security on the secured local broker (issue 9, item 3): every principal logs in with
SCRAM-SHA-512 and may touch only what deploy/kafka/acls.py derives from the topic catalog.

- a service cannot write another service's topic, can write its own and read what it consumes,
  in its own consumer groups only;
- terminals can only write readings; the integrator reads but writes only complaint intake;
- the console reads the risks, in no group, and nothing else; its live feed works with its login;
- a wrong password and a client without SASL are refused;
- the registry, configured with its SASL settings, works end to end on this broker.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)
from aiokafka.structs import RecordMetadata

from contracts import topics
from deploy.kafka.acls import SERVICES
from services.runtime.messaging import Delivery, Messaging
from services.runtime.metrics import Metrics
from services.runtime.outbox import OutgoingMessage
from services.runtime.settings import ServiceSettings
from tests.integration.security.conftest import SecureStack
from tests.support import identity

T = TypeVar("T")
TIMEOUT_S = 30.0


async def within(awaitable: Awaitable[T], timeout_s: float = TIMEOUT_S) -> T:
    return await asyncio.wait_for(awaitable, timeout_s)


@asynccontextmanager
async def producer(stack: SecureStack, principal: str) -> AsyncIterator[AIOKafkaProducer]:
    # Idempotent with acks=all, like the services' outbox relay: WRITE on the topic must be
    # all it needs (no IDEMPOTENT_WRITE on the cluster since Kafka 3.0).
    p = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=15000,
        **stack.login(principal),
    )
    await within(p.start())
    try:
        yield p
    finally:
        await p.stop()


async def write(stack: SecureStack, principal: str, topic: str) -> RecordMetadata:
    marker = uuid.uuid4().hex
    async with producer(stack, principal) as p:
        sent: RecordMetadata = await within(
            p.send_and_wait(topic, orjson.dumps({"acl_test": marker}), key=marker.encode())
        )
        return sent


async def read_back(
    stack: SecureStack, principal: str, sent: RecordMetadata, group: str | None
) -> bytes:
    """Fetch the record at `sent` as `principal`; with a group, also commit past it there."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=15000,
        **stack.login(principal),
    )
    await within(consumer.start())
    try:
        tp = TopicPartition(sent.topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        record = await within(consumer.getone())
        assert (record.partition, record.offset) == (sent.partition, sent.offset)
        if group is not None:
            await within(consumer.commit({tp: sent.offset + 1}))
        return bytes(record.value or b"")
    finally:
        await consumer.stop()


async def subscribe(stack: SecureStack, principal: str, topic: str, group: str) -> None:
    """Join `group` on `topic` as a service does, and take one record."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=15000,
        **stack.login(principal),
    )
    try:
        await within(consumer.start())
        await within(consumer.getone())
    finally:
        await consumer.stop()


def foreign_topic(service: str) -> str:
    """A catalog topic `service` does not produce (another service's output)."""
    return next(
        t.name
        for t in topics.TOPICS
        if service not in t.producers and any(p in SERVICES for p in t.producers)
    )


# --- services ---------------------------------------------------------------------------------
async def test_inspection_cannot_write_the_credit_scores(secure_stack: SecureStack) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secure_stack, "inspection", topics.CREDIT_SCORES.name)


@pytest.mark.parametrize("service", SERVICES)
async def test_no_service_writes_another_services_topic(
    secure_stack: SecureStack, service: str
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secure_stack, service, foreign_topic(service))


async def test_a_service_writes_its_topic_and_its_consumers_read_it(
    secure_stack: SecureStack,
) -> None:
    sent = await write(secure_stack, "telemetry", topics.TELEMETRY_RISKS.name)
    for consumer in topics.TELEMETRY_RISKS.consumers:  # inspection and credit
        group = f"sentinel-{consumer}-acl-{uuid.uuid4().hex[:8]}"
        assert b"acl_test" in await read_back(secure_stack, consumer, sent, group)


async def test_a_service_parks_poison_on_the_dlq_of_a_topic_it_consumes(
    secure_stack: SecureStack,
) -> None:
    await write(secure_stack, "inspection", topics.CREDIT_SCORES.dlq)
    with pytest.raises(TopicAuthorizationFailedError):  # not a topic inspection consumes
        await write(secure_stack, "inspection", topics.TELEMETRY_READINGS.dlq)


async def test_a_service_cannot_read_a_topic_it_does_not_consume(
    secure_stack: SecureStack,
) -> None:
    await write(secure_stack, "terminals", topics.TELEMETRY_READINGS.name)
    group = f"sentinel-inspection-acl-{uuid.uuid4().hex[:8]}"
    with pytest.raises(TopicAuthorizationFailedError):
        await subscribe(secure_stack, "inspection", topics.TELEMETRY_READINGS.name, group)


async def test_a_service_cannot_use_another_services_consumer_group(
    secure_stack: SecureStack,
) -> None:
    sent = await write(secure_stack, "telemetry", topics.TELEMETRY_RISKS.name)
    with pytest.raises(GroupAuthorizationFailedError):
        await read_back(secure_stack, "inspection", sent, f"sentinel-credit-{uuid.uuid4().hex[:8]}")


# --- terminals and integrators ----------------------------------------------------------------
async def test_terminals_only_write_readings(secure_stack: SecureStack) -> None:
    sent = await write(secure_stack, "terminals", topics.TELEMETRY_READINGS.name)
    assert sent.offset >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        await read_back(secure_stack, "terminals", sent, None)
    for topic in (topics.TELEMETRY_RISKS.name, topics.TELEMETRY_REJECTED.name):
        with pytest.raises(TopicAuthorizationFailedError):
            await write(secure_stack, "terminals", topic)


async def test_the_integrator_reads_risks_but_cannot_write_them(
    secure_stack: SecureStack,
) -> None:
    sent = await write(secure_stack, "telemetry", topics.TELEMETRY_RISKS.name)
    group = f"integrator-acl-{uuid.uuid4().hex[:8]}"
    assert b"acl_test" in await read_back(secure_stack, "integrator", sent, group)
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secure_stack, "integrator", topics.TELEMETRY_RISKS.name)


async def test_the_integrator_submits_complaints_and_nothing_else(
    secure_stack: SecureStack,
) -> None:
    await write(secure_stack, "integrator", topics.COMPLAINTS_INTAKE.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secure_stack, "integrator", topics.COMPLAINTS_EVENTS.name)


async def test_the_integrator_cannot_read_dead_letters_or_join_service_groups(
    secure_stack: SecureStack,
) -> None:
    await write(secure_stack, "credit", topics.TELEMETRY_RISKS.dlq)
    group = f"integrator-acl-{uuid.uuid4().hex[:8]}"
    with pytest.raises(TopicAuthorizationFailedError):
        await subscribe(secure_stack, "integrator", topics.TELEMETRY_RISKS.dlq, group)
    sent = await write(secure_stack, "telemetry", topics.TELEMETRY_RISKS.name)
    with pytest.raises(GroupAuthorizationFailedError):
        await read_back(secure_stack, "integrator", sent, "sentinel-inspection")


# --- the console ------------------------------------------------------------------------------
async def test_the_console_reads_the_risks_in_no_group_and_nothing_else(
    secure_stack: SecureStack,
) -> None:
    sent = await write(secure_stack, "telemetry", topics.TELEMETRY_RISKS.name)
    assert b"acl_test" in await read_back(secure_stack, "console", sent, None)
    # With WRITE on no topic at all, its idempotent producer is refused a producer id first
    # (KIP-679: WRITE on some topic stands in for IDEMPOTENT_WRITE on the cluster).
    with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
        await write(secure_stack, "console", topics.TELEMETRY_RISKS.name)
    with pytest.raises(GroupAuthorizationFailedError):
        await read_back(secure_stack, "console", sent, f"sentinel-console-{uuid.uuid4().hex[:8]}")
    # Subscribed with no group, as its feed is (services/console/live.py), to another topic.
    await write(secure_stack, "inspection", topics.INSPECTION_EVENTS.name)
    consumer = AIOKafkaConsumer(
        topics.INSPECTION_EVENTS.name,
        bootstrap_servers=secure_stack.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        request_timeout_ms=15000,
        **secure_stack.login("console"),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await within(consumer.start())
            await within(consumer.getone())
    finally:
        await consumer.stop()


async def test_the_consoles_risk_feed_runs_on_the_secured_broker(
    secure_stack: SecureStack,
) -> None:
    """The risk board's live feed (services/console/live.py) with the settings a deployment
    gives the console: a risk raised now reaches a watcher."""
    from services.console.live import RiskFeed
    from services.console.settings import ConsoleSettings

    names = (
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "CONSOLE_KAFKA_SASL_USERNAME",
        "CONSOLE_KAFKA_SASL_PASSWORD",
    )
    environ = {name: secure_stack.env[name] for name in names}
    settings = ConsoleSettings.from_environ(
        environ | {"KAFKA_BOOTSTRAP_SERVERS": secure_stack.bootstrap}
    )
    assert settings.kafka_client_options()["sasl_plain_username"] == "console"
    feed = RiskFeed(settings)
    try:
        async with feed.watch("*") as watcher:
            assert await feed.ready(TIMEOUT_S), "the feed never reached the end of the topic"
            risk_id = uuid.uuid4().hex
            event = {"type": "telemetry.risk.raised", "data": {"risk_id": risk_id}}
            async with producer(secure_stack, "telemetry") as telemetry:
                await within(
                    telemetry.send_and_wait(
                        topics.TELEMETRY_RISKS.name, orjson.dumps(event), key=b"acl"
                    )
                )
            while (item := await within(watcher.queue.get()))["risk_id"] != risk_id:
                pass
            assert item["type"] == "raised"
    finally:
        await feed.close()


# --- authentication ---------------------------------------------------------------------------
async def test_a_wrong_password_is_refused(secure_stack: SecureStack) -> None:
    host, port = secure_stack.bootstrap.rsplit(":", 1)
    login = secure_stack.login("registry") | {"sasl_plain_password": "not-the-password"}
    with pytest.raises(SaslAuthenticationFailed):
        await within(create_conn(host, int(port), **login))
    p = AIOKafkaProducer(bootstrap_servers=secure_stack.bootstrap, **login)
    try:
        with pytest.raises(KafkaConnectionError):
            await within(p.start())
    finally:
        await p.stop()
    # The right password on the same path connects.
    conn = await within(create_conn(host, int(port), **secure_stack.login("registry")))
    conn.close()


async def test_a_client_without_sasl_gets_nothing(secure_stack: SecureStack) -> None:
    p = AIOKafkaProducer(bootstrap_servers=secure_stack.bootstrap, request_timeout_ms=5000)
    try:
        with pytest.raises((KafkaConnectionError, TimeoutError)):
            await within(p.start(), 20)
    finally:
        await p.stop()


# --- the runtime on the secured broker --------------------------------------------------------
async def test_messaging_consumes_and_publishes_with_its_sasl_settings(
    secure_stack: SecureStack,
) -> None:
    """FastStream's consumer and the outbox producer both log in as the service."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=secure_stack.bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="inspection",
        kafka_sasl_password=secure_stack.env["INSPECTION_KAFKA_SASL_PASSWORD"],
    )
    group = f"sentinel-inspection-acl-{uuid.uuid4().hex[:8]}"
    messaging = Messaging(
        "inspection",
        settings.kafka_bootstrap_servers,
        Metrics("inspection_acl"),
        group_id=group,
        kafka_options=settings.kafka_client_options(),
    )
    marker = uuid.uuid4().hex
    seen: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()

    async def on_score(delivery: Delivery) -> None:
        if marker.encode() in delivery.value and not seen.done():
            seen.set_result(delivery)

    # A new group from the earliest offset: it sees the marker whenever its assignment comes.
    messaging.subscribe(topics.CREDIT_SCORES.name, on_score, auto_offset_reset="earliest")
    await within(messaging.start())
    try:
        value = orjson.dumps({"acl_test": marker})
        async with producer(secure_stack, "credit") as credit:
            await within(credit.send_and_wait(topics.CREDIT_SCORES.name, value, key=b"m"))
        delivery = await within(seen)
        assert delivery.topic == topics.CREDIT_SCORES.name
        # Its own output through the outbox path, and a poison message parked on the DLQ.
        await within(
            messaging.publish_batch(
                [OutgoingMessage(1, marker, topics.INSPECTION_EVENTS.name, b"k", value, [])]
            )
        )
        await within(messaging.dead_letter(delivery, ValueError("acl test"), group))
        with pytest.raises(TopicAuthorizationFailedError):
            await within(
                messaging.publish_batch(
                    [OutgoingMessage(2, marker, topics.CREDIT_SCORES.name, b"k", value, [])]
                )
            )
    finally:
        await messaging.stop()


async def test_the_registry_runs_on_the_secured_broker(
    secure_stack: SecureStack,
    secure_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tokens: identity.Tokens,
) -> None:
    """A market posted to the registry reaches the integrator on registry.markets.v1."""
    from services.registry.app import build
    from services.registry.settings import RegistrySettings

    # The process environment a deployment gives the registry (the secure stack's env file).
    for key in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM"):
        monkeypatch.setenv(key, secure_stack.env[key])
    for key in ("REGISTRY_KAFKA_SASL_USERNAME", "REGISTRY_KAFKA_SASL_PASSWORD"):
        monkeypatch.setenv(key, secure_stack.env[key])
    settings = RegistrySettings(
        kafka_bootstrap_servers=secure_stack.bootstrap,
        database_url=secure_database_url,
        oidc_issuer=identity.current().issuer,
        terminal_master_secret=secure_stack.env["SENTINEL_TERMINAL_MASTER_SECRET"],
        outbox_poll_interval_s=0.1,
        consumer_group=f"sentinel-registry-acl-{uuid.uuid4().hex[:8]}",
    )
    assert settings.kafka_client_options()["sasl_plain_username"] == "registry"
    app = build(settings)
    watcher = await IntegratorWatch.start(secure_stack, topics.REGISTRY_MARKETS.name)
    try:
        await within(app.state.service.start(), 60)
        try:
            token = identity.token("admin", "*")
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://registry",
                headers={"Authorization": f"Bearer {token}"},
            ) as registry:
                code = f"s{uuid.uuid4().hex[:8]}"
                r = await registry.post("/districts", json={"code": code, "name": code})
                assert r.status_code == 201, r.text
                r = await registry.post(
                    "/markets",
                    json={
                        "name": "安全市场",
                        "district": code,
                        "kind": "farmers",
                        "operator": "o",
                        "address": "a",
                        "capacity": 100,
                        "opening_hours": {"open": "06:00", "close": "19:00"},
                    },
                )
                assert r.status_code == 201, r.text
                market_id = r.json()["id"]
            snapshot = await within(watcher.find(market_id))
            assert snapshot["subject"] == market_id
            assert snapshot["type"] == "registry.market.upserted"
        finally:
            await app.state.service.stop()
    finally:
        await watcher.stop()


class IntegratorWatch:
    """The integrator's consumer on a topic, positioned at its end before the test acts."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    @classmethod
    async def start(cls, stack: SecureStack, topic: str) -> IntegratorWatch:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=stack.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            **stack.login("integrator"),
        )
        await within(consumer.start())
        cluster = await within(consumer._client.fetch_all_metadata())
        tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic))]
        consumer.assign(tps)
        await within(consumer.seek_to_end(*tps))
        for tp in tps:
            await consumer.position(tp)
        return cls(consumer)

    async def find(self, subject: str) -> Any:
        while True:
            record = await self.consumer.getone()
            event = orjson.loads(record.value or b"{}")
            if isinstance(event, dict) and event.get("subject") == subject:
                return event

    async def stop(self) -> None:
        await self.consumer.stop()
