"""The campaign as its own process beside the registry's, on the real stack: it learns the city
from the registry's topics, takes a campaign through its API, and `check-campaigns` (a one-off
run) flags the late milestones on the campaign's topic, published by the campaign service."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import httpx

from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.process import ROOT, service_process


async def test_the_campaign_process_learns_the_city_and_its_clock_flags_late_milestones(
    service_env: dict[str, str], kafka: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    env = dict(service_env)
    for name in ("registry", "campaign"):
        env[f"{name.upper()}_CONSUMER_GROUP"] = f"e2e-{name}-{tag}"
        env[f"{name.upper()}_DB_SCHEMA"] = f"e2e_{name}_{tag}"
    env["CAMPAIGN_CAMPAIGN_CHECK_INTERVAL_S"] = "0"  # the one-off run below is the clock
    for group, topic in (
        (f"e2e-registry-{tag}", "inspection.events.v1"),
        (f"e2e-registry-{tag}", "registry.campaign.v1"),
        (f"e2e-campaign-{tag}", "inspection.events.v1"),
    ):
        await start_group_at_end(kafka, group, topic)
    headers = {"Authorization": f"Bearer {identity.token('admin', '*')}"}
    district = f"e{uuid.uuid4().hex[:8]}"
    with (
        service_process("registry", env, tmp_path) as registry,
        service_process("campaign", env, tmp_path) as campaign,
    ):
        await registry.ready()
        await campaign.ready(within=120)
        async with (
            httpx.AsyncClient(base_url=registry.url, headers=headers) as reg,
            httpx.AsyncClient(base_url=campaign.url, headers=headers) as http,
        ):
            r = await reg.post("/districts", json={"code": district, "name": "测试区"})
            assert r.status_code == 201, r.text
            r = await reg.post(
                "/markets",
                json={
                    "name": "测试市场",
                    "district": district,
                    "kind": "farmers",
                    "operator": "测试公司",
                    "address": "测试路1号",
                    "capacity": 100,
                    "opening_hours": {"open": "05:00", "close": "18:00"},
                },
            )
            assert r.status_code == 201, r.text
            body = {"name": "专项行动", "mobilisation_date": "2026-03-10", "districts": [district]}

            async def created() -> httpx.Response | None:
                # 422 `districts` until the campaign has read the market's snapshot.
                r = await http.post("/campaigns", json=body)
                return r if r.status_code != 422 else None

            r = await until(created, what="the campaign knows the district")
            assert r.status_code == 201, r.text
            cid = r.json()["id"]

            async with TopicWatcher(kafka, "registry.campaign.v1") as watcher:
                log_path = tmp_path / "check-campaigns.log"
                with log_path.open("wb") as log:
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "services.campaign", "check-campaigns",
                        cwd=ROOT, env={**os.environ, **env},
                        stdout=log, stderr=asyncio.subprocess.STDOUT,
                    )  # fmt: skip
                    try:
                        await asyncio.wait_for(proc.wait(), 180)
                    except TimeoutError:
                        proc.kill()
                        raise AssertionError(
                            f"check-campaigns hung:\n{log_path.read_text()[-4000:]}"
                        ) from None
                output = log_path.read_text()
                assert proc.returncode == 0, output[-2000:]
                # Every deadline of a campaign mobilised on 10 March 2026 has passed: the
                # district's three milestones and the market's two.
                assert json.loads(output.strip().splitlines()[-1]) == {"flagged": 5}
                late = await watcher.wait_for(
                    lambda rec: (
                        rec.json()["type"] == "registry.milestone.late"
                        and rec.json()["data"]["campaign_id"] == cid
                    ),
                    count=5,
                )
            assert {rec.json()["source"] for rec in late} == {"/sentinel/campaign"}
            public = (await http.get(f"/public/disclosures?campaign_id={cid}")).json()["items"]
            assert len(public) == 5 and {d["state"] for d in public} == {"open"}
        # uvicorn finishes the lifespan shutdown, then re-raises SIGTERM to exit as signalled.
        assert campaign.terminate() in (0, -signal.SIGTERM)

    lines = [
        json.loads(line) for line in campaign.log.read_text().splitlines() if line.startswith("{")
    ]
    assert any(line["msg"] == "service stopped" and line["service"] == "campaign" for line in lines)
