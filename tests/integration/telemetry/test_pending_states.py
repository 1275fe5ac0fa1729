"""Pending states on real Kafka and Postgres: quiet batches do not write a state row each (counted
in the states table's own statistics and in `state_writes_total`), and a telemetry process
SIGKILLed with pending batches loses no risk and doubles none once restarted."""

from __future__ import annotations

import re
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.kafka import TopicWatcher, create_topics
from tests.support.poll import until
from tests.support.process import ServiceProcess, service_process
from tests.support.provisioned_terminals import provision_terminal
from tests.support.readings import Terminal, encode

TERMINALS = 4
PARTITIONS = 3


def _accepted(metrics: str) -> float:
    found = re.search(
        r'^sentinel_telemetry_readings_total\{kind="cold_chain",outcome="accepted"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


def _state_writes(metrics: str) -> float:
    found = re.search(r"^sentinel_telemetry_state_writes_total (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _metrics(process: ServiceProcess) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{process.url}/metrics", timeout=5)).text


class Db:
    def __init__(self, database_url: str, schema: str) -> None:
        self.url, self.schema = database_url, schema

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(sql.replace("{s}", f'"{self.schema}"'), *args))
        except asyncpg.UndefinedTableError:
            return []
        finally:
            await conn.close()

    async def last_seqs(self) -> dict[str, int]:
        rows = await self.fetch("SELECT terminal_id, last_seq FROM {s}.terminal_state")
        return {r["terminal_id"]: r["last_seq"] for r in rows}


async def _setup(
    service_env: dict[str, str], kafka: str, tmp_path: Path, **extra: str
) -> tuple[dict[str, str], str, str]:
    tag = uuid.uuid4().hex[:6]
    topic = f"test.readings.pending.{tag}"
    await create_topics(kafka, topic, partitions=PARTITIONS)
    schema = f"tel_pending_{tag}"
    env = service_env | {
        "TELEMETRY_CONSUMER_GROUP": f"tel-pending-{tag}",
        "TELEMETRY_DB_SCHEMA": schema,
        "TELEMETRY_READINGS_TOPIC": topic,
        **extra,
    }
    return env, topic, schema


async def _terminals(registry: ServiceProcess, n: int) -> list[Terminal]:
    admin = {"Authorization": f"Bearer {identity.token('admin', '*')}"}
    async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
        return [(await provision_terminal(http))[0] for _ in range(n)]


async def test_a_sigkill_with_pending_batches_loses_no_risk_and_doubles_none(
    service_env: dict[str, str], kafka: str, database_url: str, tmp_path: Path
) -> None:
    # Nothing quiet is written until a batch changes a risk: what is pending at the kill is
    # every quiet reading since the last risk change.
    env, topic, schema = await _setup(
        service_env,
        kafka,
        tmp_path,
        TELEMETRY_STATE_FLUSH_BATCHES="100000",
        TELEMETRY_STATE_FLUSH_INTERVAL_S="3600",
        TELEMETRY_SILENCE_CHECK_INTERVAL_S="3600",  # a silence check writes pending states
    )
    db = Db(database_url, schema)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()

    async def send(readings: list[dict[str, Any]]) -> None:
        for r in readings:
            await producer.send(topic, encode(r), key=r["terminal_id"].encode())
        await producer.flush()

    try:
        with service_process("registry", env, tmp_path) as registry:
            await registry.ready()
            terminals = await _terminals(registry, TERMINALS)
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
            # frozen limit −15 °C: −5 °C raises at once, 10 min at −19 clears; then 10 min at
            # −10 °C (an excursion that raises only at 15 min) before the kill, 10 more after.
            temps = [-19.0] * 3 + [-5.0] + [-19.0] * 12 + [-10.0] * 20 + [-19.0] * 12
            series = {t.id: t.series(start, temps) for t in terminals}
            cleared, before_kill = 16, 26
            ids = {t.id.encode() for t in terminals}

            async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
                (tmp_path / "a").mkdir()
                with service_process("telemetry", env, tmp_path / "a") as telemetry:
                    await telemetry.ready()
                    await send([r for i in range(cleared) for s in series.values() for r in [s[i]]])
                    await risks.wait_for(lambda r: r.key in ids, count=2 * TERMINALS, timeout=60)
                    await send(
                        [r for i in range(cleared, before_kill) for s in series.values()
                         for r in [s[i]]]
                    )  # fmt: skip
                    await until(
                        lambda: _handled(telemetry, before_kill * TERMINALS),
                        what="every reading before the kill judged",
                    )
                    stored = await db.last_seqs()
                    telemetry.proc.send_signal(signal.SIGKILL)
                    assert telemetry.proc.wait(10) == -signal.SIGKILL
                # Pending at the kill: the stored states are those of the risk changes.
                assert stored == {tid: s[cleared - 1]["seq"] for tid, s in series.items()}
                (tmp_path / "b").mkdir()
                with service_process("telemetry", env, tmp_path / "b") as telemetry:
                    await telemetry.ready()
                    await send(
                        [r for i in range(before_kill, len(temps)) for s in series.values()
                         for r in [s[i]]]
                    )  # fmt: skip
                    await risks.wait_for(lambda r: r.key in ids, count=4 * TERMINALS, timeout=90)
                    await risks.drain(settle_s=1.0)
                    await until(
                        lambda: _handled(telemetry, (len(temps) - cleared) * TERMINALS),
                        what="every reading judged after the restart",
                    )
        rows = await db.fetch("SELECT id, terminal_id, state, evidence FROM {s}.risks")
    finally:
        await producer.stop()

    for t in terminals:
        mine = [r.json() for r in risks.records if r.key == t.id.encode()]
        kinds = [(m["type"], m["data"]["risk_id"]) for m in mine]
        assert [k for k, _ in kinds] == [
            "telemetry.risk.raised",
            "telemetry.risk.cleared",
            "telemetry.risk.raised",
            "telemetry.risk.cleared",
        ], kinds
        first, second = kinds[0][1], kinds[2][1]
        assert first != second and kinds[1][1] == first and kinds[3][1] == second
        # The excursion began before the kill: its pending readings were judged again.
        assert mine[2]["data"]["evidence"]["duration_s"] >= 15 * 60
        stored = sorted((r["id"], r["state"]) for r in rows if r["terminal_id"] == t.id)
        assert stored == sorted([(first, "cleared"), (second, "cleared")])


async def _handled(process: ServiceProcess, count: int) -> bool:
    return _accepted(await _metrics(process)) >= count


async def test_quiet_readings_write_states_every_few_batches_not_every_batch(
    service_env: dict[str, str], kafka: str, database_url: str, tmp_path: Path
) -> None:
    """The same quiet readings, a round (one reading per terminal) judged before the next is
    sent, through a process writing every batch's states and through one writing every ten:
    the first writes a row per reading, the second a fraction of that. Counted by the service
    (`state_writes_total`) and by Postgres (the states table's statistics)."""
    rounds = 60
    writes: dict[str, tuple[float, int]] = {}
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        with service_process("registry", service_env, tmp_path) as registry:
            await registry.ready()
            terminals = await _terminals(registry, TERMINALS)
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
            series = {t.id: t.series(start, [-19.0] * rounds) for t in terminals}
            final = {tid: s[-1]["seq"] for tid, s in series.items()}
            for flush in ("1", "10"):
                # Only the batch count writes pending states here: with the interval, how many
                # writes there are would depend on how fast the machine runs the rounds.
                env, topic, schema = await _setup(
                    service_env,
                    kafka,
                    tmp_path,
                    TELEMETRY_STATE_FLUSH_BATCHES=flush,
                    TELEMETRY_STATE_FLUSH_INTERVAL_S="3600",
                )
                db = Db(database_url, schema)
                (tmp_path / flush).mkdir()
                with service_process("telemetry", env, tmp_path / flush) as telemetry:
                    await telemetry.ready()
                    for i in range(rounds):
                        for s in series.values():
                            r = s[i]
                            await producer.send(topic, encode(r), key=r["terminal_id"].encode())
                        await producer.flush()
                        await until(
                            lambda telemetry=telemetry, i=i: _handled(
                                telemetry, (i + 1) * TERMINALS
                            ),
                            what=f"round {i} judged",
                        )
                    if flush == "1":
                        await until(lambda db=db: _stored(db, final), what="the last states stored")
                    counted = _state_writes(await _metrics(telemetry))
                # Postgres publishes a backend's table statistics within seconds.
                in_table = await until(
                    lambda db=db, schema=schema, counted=counted: _table_writes(
                        db, schema, counted
                    ),
                    within=60,
                    every=0.5,
                    what="the states table's statistics",
                )
                writes[flush] = (counted, in_table)
    finally:
        await producer.stop()
    every, pending = writes["1"], writes["10"]
    assert every == (rounds * TERMINALS, rounds * TERMINALS), writes  # a row per reading
    assert 0 < pending[0] <= every[0] / 3, writes


async def _stored(db: Db, final: dict[str, int]) -> bool:
    return await db.last_seqs() == final


async def _table_writes(db: Db, schema: str, expected: float) -> int:
    rows = await db.fetch(
        "SELECT n_tup_ins + n_tup_upd AS n FROM pg_stat_user_tables"
        " WHERE schemaname = $1 AND relname = 'terminal_state'",
        schema,
    )
    n = int(rows[0]["n"]) if rows else -1
    return n if n == expected else 0
