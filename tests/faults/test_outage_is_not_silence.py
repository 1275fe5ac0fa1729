"""A broker outage is no silence of the terminals (docs/rules.md, "Monitoring gap and the
readings' feed"): the alert rehearsal froze Kafka for 6 minutes and telemetry raised a
monitoring-gap risk for every cold-chain terminal whose readings could not arrive meanwhile.

Three cold-chain terminals keep their schedule; one goes really quiet just before the broker is
frozen (SIGSTOP) for twice the gap window. Telemetry's feed is seen broken, no risk is raised
while it is, the two terminals that go on reporting get none once the broker is back, and the
quiet one gets its gap: after the feed works again, not in the outage.

The broker is one of this test's own (a single KRaft node on free ports, the local stack's
`Kafka` with a private state folder): freezing the test stack's broker would take it from every
other session on it. The registry and telemetry run in this process on it; PostgreSQL and the
identity provider are the test stack's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from deploy.local import stack
from services.registry.app import build as build_registry
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support import identity
from tests.support.city import stack_settings
from tests.support.poll import until
from tests.support.provisioned_terminals import cold_chain_terminals, terminal_last_seq
from tests.support.readings import Terminal, encode
from tests.support.registry_api import registry_settings

READINGS = "telemetry.readings.v1"
INTERVAL_S = 10  # each terminal's registered interval: a gap after 30 s of silence
SENT_EVERY_S = 5  # the terminals report more often than they must, as the demo's do
FROZEN_S = 60  # twice the gap window, and well past the feed's 10 s to be seen broken


class Schedule:
    """Terminals reporting every `SENT_EVERY_S` while `alive`; a send the frozen broker never
    takes is a reading lost, as a terminal's would be."""

    def __init__(self, producer: AIOKafkaProducer, terminals: list[Terminal]) -> None:
        self.producer, self.terminals = producer, {t.id: t for t in terminals}
        self.alive = set(self.terminals)

    async def run(self) -> None:
        while True:
            now = datetime.now(UTC)
            for tid in sorted(self.alive):
                reading = self.terminals[tid].reading(now, temp_c=3.0)
                try:
                    sent = await self.producer.send(READINGS, encode(reading), key=tid.encode())
                except KafkaError:
                    continue
                sent.add_done_callback(lambda f: None if f.cancelled() else f.exception())
            await asyncio.sleep(SENT_EVERY_S)  # the terminals' own schedule


async def _risks(database_url: str, schema: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f'SELECT terminal_id, rule, severity, state, raised_at, evidence FROM "{schema}".risks'
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def test_a_frozen_broker_raises_no_gap_for_terminals_that_report_and_one_for_a_silent_one(
    own_broker: stack.Kafka, database_url: str, secrets_env: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    kafka = own_broker.address
    registry_app = build_registry(
        registry_settings(kafka, database_url, secrets_env).model_copy(
            update={"db_schema": f"registry_silence_{tag}", "consumer_group": f"reg-{tag}"}
        )
    )
    schema = f"telemetry_silence_{tag}"
    telemetry_app = build_telemetry(
        TelemetrySettings(
            **stack_settings(kafka, database_url, secrets_env),
            terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
            consumer_group=f"tel-{tag}",
            db_schema=schema,
            silence_check_interval_s=1,
            kafka_session_timeout_ms=6000,
        )
    )
    for app in (registry_app, telemetry_app):
        await app.state.service.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    schedule: asyncio.Task[None] | None = None
    pid = own_broker.pid()
    assert pid is not None
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app),
            base_url="http://r",
            auth=identity.current().auth("admin", "*"),
        ) as reg:
            terminals = await cold_chain_terminals(reg, 3, INTERVAL_S)
        steady_a, steady_b, quiet = terminals
        directory = telemetry_app.state.telemetry.directory
        await until(
            lambda: all(t.id in directory.terminals for t in terminals),
            what="telemetry's view has the terminals",
        )
        feed = telemetry_app.state.service.messaging.track_feed(READINGS)
        sched = Schedule(producer, terminals)
        schedule = asyncio.create_task(sched.run())

        async def stored(t: Terminal, seq: int) -> bool:
            return await terminal_last_seq(database_url, schema, t.id) >= seq

        for t in terminals:
            await until(lambda t=t: stored(t, 1), within=60, what=f"{t.id} heard of")
        await until(lambda: feed.working, within=30, what="the readings' feed works")

        # The quiet terminal stops reporting; once its last reading is in, the broker freezes.
        sched.alive.discard(quiet.id)
        last = quiet.seq
        await until(lambda: stored(quiet, last), within=30, what="quiet's last reading stored")
        os.kill(pid, signal.SIGSTOP)
        frozen_at = time.time()
        try:
            seqs = {t.id: t.seq for t in (steady_a, steady_b)}
            await until(lambda: not feed.working, within=30, what="the feed seen broken")
            assert feed.problem is not None and "not fetched" in feed.problem, feed.problem
            await asyncio.sleep(max(0.0, frozen_at + FROZEN_S - time.time()))  # the outage
        finally:
            os.kill(pid, signal.SIGCONT)
        thawed_at = time.time()

        async def quiet_gap() -> list[dict[str, Any]]:
            return [
                r
                for r in await _risks(database_url, schema)
                if r["terminal_id"] == quiet.id and r["rule"] == "monitoring_gap"
            ]

        [gap] = await until(quiet_gap, within=180, every=0.5, what="the quiet terminal's gap")
        back_since = feed.since
        # The steady ones reported again after the thaw, readings sent after the freeze began.
        for t in (steady_a, steady_b):
            await until(lambda t=t: stored(t, seqs[t.id] + 1), within=60, what=f"{t.id} again")
    finally:
        if schedule is not None:
            schedule.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await schedule
        await producer.stop()
        for app in (telemetry_app, registry_app):
            await app.state.service.stop()

    risks = await _risks(database_url, schema)
    # One risk in all: the quiet terminal's gap; none for the two whose readings kept coming,
    # although nothing of theirs arrived for a minute, twice their gap window.
    assert [(r["terminal_id"], r["rule"]) for r in risks] == [(quiet.id, "monitoring_gap")]
    assert (gap["severity"], gap["state"]) == ("minor", "open")
    # Raised once the feed worked again, not in the outage, with the evidence of its whole
    # silence: from its last reading, before the freeze.
    assert gap["raised_at"].timestamp() > thawed_at
    evidence = gap["evidence"]
    evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
    assert datetime.fromisoformat(evidence["first_ts"]).timestamp() <= frozen_at
    # The feed's unbroken spell began after the thaw.
    assert back_since is not None and back_since > thawed_at
