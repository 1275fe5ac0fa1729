"""Two telemetry replicas in one readings group, on real Kafka and PostgreSQL, each judging the
silence of the terminals whose readings come through the partitions it holds (docs/rules.md,
"Monitoring gap and the readings' feed").

One partition is stopped in the replica that holds it (paused at the client, as a stall at a
poison reading pauses it: services/runtime/messaging.py), its terminal's next reading held up
behind it. That terminal raises no gap, while a silent terminal of another partition of the
same replica, and one of the other replica's, get theirs; once the partition moves again the
held-up reading arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from contracts.topics import TELEMETRY_READINGS
from services.registry.app import build as build_registry
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support import identity
from tests.support.city import stack_settings, start_group_at_end
from tests.support.poll import until
from tests.support.provisioned_terminals import cold_chain_terminals, terminal_last_seq
from tests.support.readings import Terminal, encode
from tests.support.registry_api import registry_settings

READINGS = TELEMETRY_READINGS.name
INTERVAL_S = 10  # each terminal's registered interval: a gap after 30 s of silence


async def _gaps(database_url: str, schema: str) -> dict[str, dict[str, Any]]:
    """The monitoring-gap risks, by terminal."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f'SELECT terminal_id, severity, state FROM "{schema}".risks'
            " WHERE rule = 'monitoring_gap'"
        )
    except asyncpg.UndefinedTableError:
        rows = []
    finally:
        await conn.close()
    return {r["terminal_id"]: dict(r) for r in rows}


@pytest.fixture
async def apps(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[tuple[Any, list[Any], str]]:
    """The registry and two telemetry replicas (one group, one schema), started; the group at
    the end of the shared readings topic, so they judge only what this test sends."""
    tag = uuid.uuid4().hex[:6]
    registry_app = build_registry(
        registry_settings(kafka, database_url, secrets_env).model_copy(
            update={"db_schema": f"registry_parts_{tag}", "consumer_group": f"reg-{tag}"}
        )
    )
    schema, group = f"telemetry_parts_{tag}", f"tel-parts-{tag}"
    await start_group_at_end(kafka, group, READINGS)
    settings = TelemetrySettings(
        **stack_settings(kafka, database_url, secrets_env),
        terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
        consumer_group=group,
        db_schema=schema,
        silence_check_interval_s=1,
        kafka_session_timeout_ms=6000,
    )
    # Each its own name in its view groups, as two pods: each reads the registry's topics whole.
    replicas = [
        build_telemetry(settings.model_copy(update={"replica_id": f"parts-{tag}-{i}"}))
        for i in range(2)
    ]
    started = []
    try:
        for app in (registry_app, *replicas):
            await app.state.service.start()
            started.append(app)
        yield registry_app, replicas, schema
    finally:
        for app in reversed(started):
            await app.state.service.stop()


async def test_a_stopped_partition_leaves_its_terminals_unjudged_and_no_others(
    apps: tuple[Any, list[Any], str], kafka: str, database_url: str
) -> None:
    registry_app, replicas, schema = apps
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry_app),
        base_url="http://r",
        auth=identity.current().auth("admin", "*"),
    ) as reg:
        held_up, quiet_here, quiet_there = await cold_chain_terminals(reg, 3, INTERVAL_S)
    for app in replicas:
        directory = app.state.telemetry.directory
        await until(
            lambda d=directory: all(
                t.id in d.terminals for t in (held_up, quiet_here, quiet_there)
            ),
            within=90,
            what="both replicas' views have the terminals",
        )

    async def split() -> list[dict[int, float]] | None:
        """Each replica's partitions, once the two hold them all between them, all working."""
        views = [await app.state.service.messaging.feed_view(READINGS) for app in replicas]
        working = [v.working() for v in views]
        held = [set(v.partitions) for v in views]
        every_one = set(range(TELEMETRY_READINGS.partitions))
        if all(w and set(w) == h for w, h in zip(working, held, strict=True)) and (
            not held[0] & held[1] and held[0] | held[1] == every_one
        ):
            return working
        return None

    working = await until(
        split, within=90, every=0.5, what="two replicas sharing the partitions, working"
    )
    # The first replica holds the stopped partition and another; the second, a third partition.
    if len(working[0]) < 2:
        working.reverse()
        replicas.reverse()
    stopped_part, here_part = sorted(working[0])[:2]
    there_part = min(working[1])
    here = replicas[0]

    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:

        async def send(t: Terminal, partition: int) -> None:
            reading = t.reading(datetime.now(UTC), temp_c=3.0)
            await producer.send_and_wait(
                READINGS, encode(reading), key=t.id.encode(), partition=partition
            )

        async def stored(t: Terminal, seq: int) -> bool:
            return await terminal_last_seq(database_url, schema, t.id) >= seq

        # The held-up terminal is heard of first, so its silence is the longest of the three.
        for t, partition in ((held_up, stopped_part), (quiet_here, here_part)):
            await send(t, partition)
            await until(lambda t=t: stored(t, t.seq), within=60, what=f"{t.id} heard of")
        await send(quiet_there, there_part)
        await until(
            lambda: stored(quiet_there, quiet_there.seq), within=60, what="quiet_there heard of"
        )

        # The held-up terminal's partition stops in the replica holding it; its next reading
        # waits behind it.
        consumer = here.state.service.messaging.consumer(READINGS)
        consumer.pause(TopicPartition(READINGS, stopped_part))

        async def seen_stopped() -> bool:
            view = await here.state.service.messaging.feed_view(READINGS)
            return view.partitions.get(stopped_part, 0.0) is None

        await until(seen_stopped, within=30, what="the stopped partition's feed seen broken")
        waiting = held_up.seq + 1
        await send(held_up, stopped_part)

        async def both_gaps() -> dict[str, dict[str, Any]] | None:
            gaps = await _gaps(database_url, schema)
            return gaps if {quiet_here.id, quiet_there.id} <= set(gaps) else None

        gaps = await until(both_gaps, within=120, every=0.5, what="the silent terminals' gaps")
        # The check that raised quiet_here's gap, in the same replica, saw the held-up terminal
        # silent longer: its partition's feed did not work, so it was not judged.
        assert held_up.id not in gaps, gaps
        assert {gaps[t.id]["severity"] for t in (quiet_here, quiet_there)} == {"minor"}
        assert await terminal_last_seq(database_url, schema, held_up.id) < waiting

        consumer.resume(TopicPartition(READINGS, stopped_part))
        await until(lambda: stored(held_up, waiting), within=60, what="the held-up reading")
    finally:
        await producer.stop()
    gaps = await _gaps(database_url, schema)
    assert held_up.id not in gaps, gaps
