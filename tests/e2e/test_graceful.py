"""SIGTERM is a graceful stop: telemetry finishes the batch in hand, commits and exits 0; after
a restart nothing is handled twice (no reading comes back as a replay, no risk twice) and nothing
is lost (every terminal's last seq is reached).

The stack may be shared with other test sessions, each with a terminal master secret of its own
(tests/conftest.py, `secrets_env`), and any telemetry of theirs running meanwhile judges the
readings sent here too: it knows these terminals from the registry's shared topic, derives their
keys from its own secret, and rejects every reading ("signature does not match the terminal's
current key"), keyed by these terminals. So what is judged here is only what this test's
telemetry published: the records whose event ids its own outbox holds.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.process import service_process
from tests.support.provisioned_terminals import provision_terminal, terminal_last_seq
from tests.support.readings import Terminal, encode

REJECTED, RISKS = "telemetry.rejected.v1", "telemetry.risks.v1"
TOPICS = (REJECTED, RISKS)
TERMINALS = 4
READINGS = 600  # per terminal: one reading a minute for ten hours, an excursion in the middle


async def test_sigterm_drains_and_commits_so_a_restart_repeats_nothing(
    service_env: dict[str, str], kafka: str, database_url: str, tmp_path: Path
) -> None:
    token = identity.token("admin", "*")
    admin = {"Authorization": f"Bearer {token}"}
    tag = uuid.uuid4().hex[:6]
    group, schema = f"tel-graceful-{tag}", f"tel_graceful_{tag}"
    env = service_env | {"TELEMETRY_CONSUMER_GROUP": group, "TELEMETRY_DB_SCHEMA": schema}
    await start_group_at_end(kafka, group, "telemetry.readings.v1")

    async def last_seq(tid: str) -> int:
        return await terminal_last_seq(database_url, schema, tid)

    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=20)
    await producer.start()
    # The registry stays up: its outbox publishes the terminals telemetry must know.
    with service_process("registry", env, tmp_path) as registry:
        await registry.ready()
        async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
            terminals: list[Terminal] = [
                (await provision_terminal(http))[0] for _ in range(TERMINALS)
            ]
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=12)
        temps = [-19.0] * 280 + [-5.0] * 20 + [-19.0] * (READINGS - 300)
        readings = {t.id: t.series(start, temps) for t in terminals}
        halfway = asyncio.Event()

        async def stream() -> None:
            # Readings keep coming while telemetry stops and starts again.
            for i in range(READINGS):
                for t in terminals:
                    r = readings[t.id][i]
                    await producer.send("telemetry.readings.v1", encode(r), key=t.id.encode())
                if i % 20 == 19:
                    await producer.flush()
                    await asyncio.sleep(0.05)
                if i == READINGS // 2:
                    halfway.set()
            await producer.flush()

        try:
            async with (
                TopicWatcher(kafka, REJECTED) as rejected,
                TopicWatcher(kafka, RISKS) as risks,
            ):
                # Ready once its views read the registry's topics, which on a stack shared by
                # several sessions hold all of theirs: given longer than a service's usual 60 s.
                (tmp_path / "a").mkdir()
                with service_process("telemetry", env, tmp_path / "a") as telemetry:
                    await telemetry.ready(within=120)
                    streaming = asyncio.create_task(stream())
                    await halfway.wait()
                    first = readings[terminals[0].id][0]["seq"]
                    await until(
                        lambda: _between(last_seq, terminals[0].id, first, 10**18),
                        what="telemetry is working through the readings",
                    )
                    telemetry.proc.send_signal(signal.SIGTERM)  # in the middle of the stream
                    code = telemetry.proc.wait(30)
                    log = (tmp_path / "a" / "telemetry.log").read_text()
                    # uvicorn re-raises the signal once shut down: -SIGTERM is a clean exit too.
                    assert code in (0, -signal.SIGTERM), log[-2000:]
                    assert '"msg":"service stopped"' in log
                stopped_at = {t.id: await last_seq(t.id) for t in terminals}
                (tmp_path / "b").mkdir()
                with service_process("telemetry", env, tmp_path / "b") as telemetry:
                    await telemetry.ready(within=120)
                    await streaming
                    for t in terminals:
                        final = readings[t.id][-1]["seq"]
                        await until(
                            lambda t=t, final=final: _between(last_seq, t.id, final, final),
                            within=120,
                            what=f"{t.id} reached its last reading",
                        )
                    # Not a drain: other sessions' records may go on arriving on these topics.
                    ours = await _published(database_url, schema, [t.id for t in terminals])
                    mine = {
                        topic: await _seen(watcher, ours[topic])
                        for topic, watcher in ((REJECTED, rejected), (RISKS, risks))
                    }
        finally:
            await producer.stop()
    reasons = Counter(f"{d['reason']}: {d['detail'][:80]}" for d in _data(mine[REJECTED]))
    assert not mine[REJECTED], reasons  # nothing came back as a replay
    raised = [d["terminal_id"] for d in _data(mine[RISKS]) if d["type"] == "telemetry.risk.raised"]
    assert sorted(raised) == sorted(t.id for t in terminals)  # one excursion, one risk each
    # Stopped mid-stream: every terminal had readings still to come.
    assert all(seq < readings[tid][-1]["seq"] for tid, seq in stopped_at.items()), stopped_at


async def _between(last_seq, tid: str, low: int, high: int) -> bool:  # type: ignore[no-untyped-def]
    seq = await last_seq(tid)
    return bool(low <= seq <= high)


async def _published(database_url: str, schema: str, terminals: list[str]) -> dict[str, set[str]]:
    """The ids of the events this test's telemetry published about `terminals`, per topic, once
    its relay has published them all: an outbox row is an event it decided on."""
    conn = await asyncpg.connect(database_url)
    try:
        pending = f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL'

        async def relayed() -> bool:
            return bool(await conn.fetchval(pending) == 0)

        await until(relayed, what="the outbox relayed")
        rows = await conn.fetch(
            f'SELECT topic, event_id FROM "{schema}".outbox'
            " WHERE topic = ANY($1::text[]) AND key = ANY($2::bytea[])",
            list(TOPICS),
            [t.encode() for t in terminals],
        )
    finally:
        await conn.close()
    return {topic: {r["event_id"] for r in rows if r["topic"] == topic} for topic in TOPICS}


async def _seen(watcher: TopicWatcher, event_ids: set[str]) -> list[Record]:
    """The records of these events on the watched topic (a relay's duplicate included)."""
    if not event_ids:
        return []
    return await watcher.wait_for(
        lambda r: r.json()["id"] in event_ids, count=len(event_ids), timeout=60
    )


def _data(records: list[Record]) -> list[dict[str, Any]]:
    return [r.json()["data"] | {"type": r.json()["type"]} for r in records]
