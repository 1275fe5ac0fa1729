"""Telemetry as its own process: SIGKILL in the middle of an excursion loses nothing and raises
the risk once, when the excursion completes after the restart."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.process import service_process
from tests.support.provisioned_terminals import provision_terminal, terminal_last_seq
from tests.support.readings import encode


async def test_sigkill_mid_excursion_then_restart_raises_exactly_once(
    service_env: dict[str, str], kafka: str, database_url: str, tmp_path: Path
) -> None:
    token = identity.token("admin", "*")
    admin = {"Authorization": f"Bearer {token}"}
    env = service_env | {
        "TELEMETRY_CONSUMER_GROUP": f"tel-e2e-{uuid.uuid4().hex[:6]}",
        "TELEMETRY_DB_SCHEMA": f"tel_e2e_{uuid.uuid4().hex[:6]}",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    schema = env["TELEMETRY_DB_SCHEMA"]

    async def last_seq(tid: str) -> int:
        return await terminal_last_seq(database_url, schema, tid)

    async def send(readings: list[dict]) -> None:  # type: ignore[type-arg]
        for r in readings:
            await producer.send("telemetry.readings.v1", encode(r), key=r["terminal_id"].encode())
        await producer.flush()

    try:
        with service_process("registry", env, tmp_path) as registry:
            await registry.ready()
            async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
                terminal, _ = await provision_terminal(http)
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
            # frozen limit −15 °C: 10 min at −10 °C before the kill, 10 more after, then back to −19
            readings = terminal.series(start, [-19.0] * 3 + [-10.0] * 20 + [-19.0] * 15)
            first, second = readings[:13], readings[13:]

            async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
                (tmp_path / "a").mkdir()
                with service_process("telemetry", env, tmp_path / "a") as telemetry:
                    await telemetry.ready()
                    await send(first)
                    # Its view of the registry is read from the topics' beginning first: on a
                    # test stack many sessions have used, tens of seconds of records.
                    await until(
                        lambda: _at_least(last_seq, terminal.id, first[-1]["seq"]),
                        within=120,
                        what="first half handled",
                    )
                    telemetry.proc.send_signal(signal.SIGKILL)
                    assert telemetry.proc.wait(10) == -signal.SIGKILL
                (tmp_path / "b").mkdir()
                with service_process("telemetry", env, tmp_path / "b") as telemetry:
                    await telemetry.ready()
                    await send(second)
                    found = await risks.wait_for(lambda r: r.key == terminal.id.encode(), count=2)
                    await risks.drain(settle_s=1.0)
            # Keyed by terminal: another test's poison record on the shared topic is not ours.
            mine = [r.json() for r in risks.records if r.key == terminal.id.encode()]
            assert [m["type"] for m in mine] == ["telemetry.risk.raised", "telemetry.risk.cleared"]
            assert found[0].json()["data"]["evidence"]["duration_s"] >= 15 * 60
    finally:
        await producer.stop()


async def _at_least(last_seq, tid: str, seq: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await last_seq(tid) >= seq)
