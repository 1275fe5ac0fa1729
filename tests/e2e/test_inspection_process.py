"""Inspection as its own process: killed with SIGKILL after a risk made a task, restarted, the
same risk redelivered and a second one sent: still one task, its due date as it was."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from tests.integration.inspection.conftest import provision, risk_event, start_group_at_end
from tests.support import identity
from tests.support.poll import until
from tests.support.process import service_process


async def test_sigkill_then_restart_keeps_one_task_and_its_due_date(
    service_env: dict[str, str], kafka: str, tmp_path: Path
) -> None:
    admin = identity.bearer("admin", "*")
    group = f"ins-e2e-{uuid.uuid4().hex[:6]}"
    await start_group_at_end(kafka, group, "telemetry.risks.v1")
    env = service_env | {
        "INSPECTION_CONSUMER_GROUP": group,
        "INSPECTION_DB_SCHEMA": f"ins_e2e_{uuid.uuid4().hex[:6]}",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()

    async def send(event: Envelope[Any], key: str) -> None:
        await producer.send_and_wait("telemetry.risks.v1", event.to_json(), key=key.encode())

    try:
        with service_process("registry", env, tmp_path) as registry:
            await registry.ready()
            async with httpx.AsyncClient(base_url=registry.url, headers=admin) as http:
                place = await provision(http)
            inspector = identity.bearer("inspector", place.district)
            raised_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
            first = risk_event(place, raised_at=raised_at)

            async def tasks(url: str) -> list[dict[str, Any]]:
                async with httpx.AsyncClient(base_url=url, headers=inspector) as http:
                    r = await http.get("/tasks", params={"market_id": place.market_id})
                    items: list[dict[str, Any]] = r.json()["items"]
                    return items

            (tmp_path / "a").mkdir()
            with service_process("inspection", env, tmp_path / "a") as inspection:
                await inspection.ready()
                await send(first, place.terminal_id)
                [task] = await until(lambda: tasks(inspection.url), what="task created")
                inspection.proc.send_signal(signal.SIGKILL)
                assert inspection.proc.wait(10) == -signal.SIGKILL

            second = risk_event(place, raised_at=raised_at + timedelta(minutes=1))
            await send(first, place.terminal_id)
            await send(second, place.terminal_id)
            (tmp_path / "b").mkdir()
            with service_process("inspection", env, tmp_path / "b") as inspection:
                await inspection.ready()

                async def attached() -> list[dict[str, Any]]:
                    found = await tasks(inspection.url)
                    return found if found and len(found[0]["triggers"]) == 2 else []

                [after] = await until(attached, what="second risk attached")
                async with httpx.AsyncClient(base_url=inspection.url, headers=inspector) as http:
                    r = await http.post(f"/tasks/{after['id']}/claim")
                    assert r.status_code == 200, r.text
                assert inspection.terminate() in (0, -signal.SIGTERM)
    finally:
        await producer.stop()
    assert after["id"] == task["id"]
    assert after["due_at"] == task["due_at"]
    assert datetime.fromisoformat(after["due_at"]) == raised_at + timedelta(hours=4)
    assert [t["id"] for t in after["triggers"]] == [first.data.risk_id, second.data.risk_id]
