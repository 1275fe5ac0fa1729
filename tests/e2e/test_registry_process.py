"""The registry as its own process on the real stack, driven only through HTTP and Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from tests.support import identity
from tests.support.credit_codes import fresh_credit_code
from tests.support.kafka import TopicWatcher
from tests.support.process import ROOT, service_process


async def test_registry_process_publishes_and_shuts_down_gracefully(
    service_env: dict[str, str], kafka: str, tmp_path: Path
) -> None:
    token = identity.token("admin", "*")
    headers = {"Authorization": f"Bearer {token}"}
    district = f"e{uuid.uuid4().hex[:8]}"
    with service_process("registry", service_env, tmp_path) as registry:
        await registry.ready()
        async with (
            httpx.AsyncClient(base_url=registry.url, headers=headers) as http,
            TopicWatcher(kafka, "registry.merchants.v1") as merchants,
        ):
            assert (
                await http.post("/districts", json={"code": district, "name": "测试区"})
            ).status_code == 201
            market = (
                await http.post(
                    "/markets",
                    json={
                        "name": "测试市场",
                        "district": district,
                        "kind": "wholesale",
                        "operator": "测试公司",
                        "address": "测试路1号",
                        "capacity": 100,
                        "opening_hours": {"open": "05:00", "close": "18:00"},
                    },
                )
            ).json()
            merchant = (
                await http.post(
                    "/merchants",
                    json={
                        "name": "测试商户",
                        "market_id": market["id"],
                        "stall_no": "1",
                        "credit_code": fresh_credit_code(),
                        "food_licence": "JY13706020012345",
                        "licence_valid_until": (date.today() + timedelta(days=1)).isoformat(),
                        "categories": [],
                    },
                )
            ).json()
            [record] = await merchants.wait_for(lambda r: r.key == merchant["id"].encode())
        assert record.json()["data"]["status"] == "active"
        # uvicorn finishes the lifespan shutdown, then re-raises SIGTERM to exit as signalled.
        assert registry.terminate() in (0, -signal.SIGTERM)

    # One JSON object a line, FastStream's consumer lines too (they were colored text).
    text = [line for line in registry.log.read_text().splitlines() if line.strip()]
    assert [line for line in text if not line.startswith("{")] == []
    lines = [json.loads(line) for line in text]
    assert any(line["msg"] == "service stopped" and line["service"] == "registry" for line in lines)
    assert any("assigned to partitions" in line["msg"] for line in lines), "FastStream's lines"

    # The licence command, run once for a day after the licence ends, publishes the expiry.
    async with TopicWatcher(kafka, "registry.merchants.v1") as merchants:
        cli_log = tmp_path / "expire-licences.log"
        with cli_log.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.registry", "expire-licences",
                cwd=ROOT, env={**os.environ, **service_env},
                stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
            try:
                answer = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
            except TimeoutError:
                proc.kill()
                raise AssertionError(
                    f"expire-licences hung:\n{cli_log.read_text()[-4000:]}"
                ) from None
        # The command expires what lapsed before today; this licence is still valid today. Its
        # answer is its stdout alone (its logs go to stderr), one JSON line.
        assert proc.returncode == 0, cli_log.read_text()[-2000:]
        assert merchant["id"] not in json.loads(answer)["expired"]
        assert "service stopped" in cli_log.read_text()
