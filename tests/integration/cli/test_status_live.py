"""`sentinel status` against real telemetry and credit processes on the test stack (the other
services down): the real endpoints and metric names give numbers, the missing ones show down."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from sentinel_cli.__main__ import app
from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.process import free_port, service_process

pytestmark = pytest.mark.integration
LIVE = ("telemetry", "credit")
INPUTS = {
    "telemetry": ("telemetry.readings.v1",),
    "credit": (
        "inspection.events.v1",
        "complaints.events.v1",
        "registry.merchants.v1",
        "telemetry.risks.v1",
    ),
}


async def test_status_reads_live_services_and_shows_the_others_down(
    kafka: str,
    service_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = uuid.uuid4().hex[:6]
    env = dict(service_env)
    for name in LIVE:
        env[f"{name.upper()}_CONSUMER_GROUP"] = f"cli-status-{name}-{tag}"
        env[f"{name.upper()}_DB_SCHEMA"] = f"cli_status_{name}_{tag}"
        for topic in INPUTS[name]:
            await start_group_at_end(kafka, f"cli-status-{name}-{tag}", topic)
    with ExitStack() as stack:
        started = {n: stack.enter_context(service_process(n, env, tmp_path)) for n in LIVE}
        for process in started.values():
            await process.ready(within=120)

        monkeypatch.setenv("SENTINEL_ENV_FILE", str(tmp_path / "no.env"))
        monkeypatch.setenv(
            "SENTINEL_ADMIN_TOKEN",
            identity.token("admin", "*"),
        )
        for name in ("registry", "inspection", "complaints", "campaign"):
            monkeypatch.setenv(f"{name.upper()}_URL", f"http://127.0.0.1:{free_port()}")
        for name, process in started.items():
            monkeypatch.setenv(f"{name.upper()}_URL", process.url)

        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["status", "--json", "--interval", "0.3"]
        )
        assert result.exit_code == 1, result.output  # four services are down
        snap = orjson.loads(result.stdout)
        states = {s["name"]: s["state"] for s in snap["services"]}
        assert states == {
            "registry": "down",
            "telemetry": "ready",
            "inspection": "down",
            "complaints": "down",
            "credit": "ready",
            "campaign": "down",
        }
        rates = snap["readings_per_s"]
        assert rates is not None and rates["total"] >= 0.0, snap["readings_error"]
        assert snap["risks"]["total"] == 0 and snap["risks"]["error"] == ""  # a fresh schema
        assert set(snap["grades"]) == {"A", "B", "C", "D"}
        assert snap["tasks"]["error"] == "inspection is down"

        pretty = await asyncio.to_thread(CliRunner().invoke, app, ["status"])
        assert "2/6 services ready" in pretty.stdout
        assert "Traceback" not in pretty.output
