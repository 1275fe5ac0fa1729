"""`sentinel dlq` and the unresolved dead-letter gauge on the secured broker (the local stack's
`secure` profile: SASL/SCRAM, the catalog's ACLs from deploy/kafka/acls.py).

A service may read the resolved watermark (DESCRIBE on the group `sentinel-dlq`) for its gauge
and may not move it; the CLI, logged in as `admin`, lists, republishes and resolves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupAuthorizationFailedError
from aiokafka.structs import OffsetAndMetadata
from typer.testing import CliRunner

from contracts import topics
from deploy.kafka.security import client_options, password_var, username_var
from deploy.local import stack
from sentinel_cli.__main__ import app
from services.runtime.dead_letters import RESOLVED_GROUP, KafkaDeadLetterOffsets
from tests.support.cli_records import risk_event
from tests.support.profiles import ProfileStack, profile_stack

pytestmark = pytest.mark.integration
SOURCE = topics.TELEMETRY_RISKS  # consumed by inspection (and credit), so parked by them
DLQ = SOURCE.dlq


class Secured(ProfileStack):
    def login(self, principal: str) -> dict[str, Any]:
        if principal == "admin":  # not in the env file: only the stack holds it
            return stack.Kafka(stack.profiles()["secure"]).admin_options()
        return client_options(self.env[username_var(principal)], self.env[password_var(principal)])

    def cli_env(self) -> dict[str, str]:
        """What the CLI reads to log in as `admin` (docs/operations.md, SentinelDeadLetters)."""
        admin = self.login("admin")
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": admin["security_protocol"],
            "KAFKA_SASL_MECHANISM": admin["sasl_mechanism"],
            username_var("admin"): admin["sasl_plain_username"],
            password_var("admin"): admin["sasl_plain_password"],
        }


@pytest.fixture(scope="module")
def secured() -> Iterator[Secured]:
    with profile_stack("secure") as env:
        yield Secured(env)


async def sentinel(stack: Secured, *args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, ["dlq", *args], env=stack.cli_env())


async def test_a_service_reads_the_watermark_and_cannot_move_it(secured: Secured) -> None:
    offsets = KafkaDeadLetterOffsets(
        secured.bootstrap, "sentinel-inspection-dlq", secured.login("inspection")
    )
    try:
        counts = await asyncio.wait_for(offsets.unresolved([SOURCE.name]), 30)
    finally:
        await offsets.close()
    assert SOURCE.name in counts and counts[SOURCE.name] >= 0

    consumer = AIOKafkaConsumer(
        bootstrap_servers=secured.bootstrap,
        group_id=RESOLVED_GROUP,
        enable_auto_commit=False,
        **secured.login("inspection"),
    )
    await consumer.start()
    try:
        tp = TopicPartition(DLQ, 0)
        consumer.assign([tp])
        with pytest.raises(GroupAuthorizationFailedError):
            await consumer.commit({tp: OffsetAndMetadata(10**9, "not mine")})
    finally:
        await consumer.stop()


async def test_the_admin_lists_republishes_and_resolves(secured: Secured) -> None:
    # Topics of this test's own (the admin may create them), so nothing shared is republished.
    source = f"test-dlq-secured-{uuid.uuid4().hex[:8]}"
    dlq = f"{source}.dlq"
    admin = AIOKafkaAdminClient(bootstrap_servers=secured.bootstrap, **secured.login("admin"))
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=1, replication_factor=1) for name in (source, dlq)]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=secured.bootstrap, acks="all", **secured.login("admin")
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            dlq,
            risk_event("trm_s", "risk_s"),
            key=b"trm_s",
            headers=[
                ("content-type", b"application/cloudevents+json"),
                ("dlq.error", b"a test's dead letter"),
                ("dlq.error_type", b"KeyError"),
                ("dlq.source_topic", source.encode()),
                ("dlq.source_partition", b"0"),
                ("dlq.source_offset", b"0"),
                ("dlq.consumer_group", b"sentinel-inspection"),
                ("dlq.failed_at", b"2026-05-01T08:00:00+00:00"),
            ],
        )
    finally:
        await producer.stop()

    listed = await sentinel(secured, "list", dlq, "--json")
    assert listed.exit_code == 0, listed.output
    [entry] = [orjson.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert (entry["key"], entry["source_topic"]) == ("trm_s", source)

    republished = await sentinel(secured, "republish", dlq, "--offset", "0")
    assert republished.exit_code == 0, republished.output
    assert "resolved up to offset 1" in republished.stderr
    again = await sentinel(secured, "list", dlq, "--json")
    assert again.exit_code == 0 and again.stdout.strip() == "", again.output

    reader = AIOKafkaConsumer(
        bootstrap_servers=secured.bootstrap, group_id=None, **secured.login("admin")
    )
    await reader.start()
    try:
        tp = TopicPartition(source, 0)
        assert (await reader.end_offsets([tp]))[tp] == 1
    finally:
        await reader.stop()
