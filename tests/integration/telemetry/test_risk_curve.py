"""A cold-chain risk carries the temperature curve of its window (evidence `readings`),
downsampled and bounded, on the topic and in `GET /risks/{risk_id}`, scoped to the district."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.telemetry import RiskRaised
from tests.integration.telemetry.conftest import Stack
from tests.support import identity
from tests.support.kafka import TopicWatcher
from tests.support.kafka import about_terminal as _about
from tests.support.poll import until


async def test_an_excursion_risk_carries_its_curve_and_one_risk_is_readable_in_scope(
    stack: Stack, kafka: str
) -> None:
    terminal, info = await stack.provision(profile="chilled")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    # 5 min in band, then a door left open for 3 h: 9 → 12.5 °C, one reading a minute (180
    # readings above the limit: more than the curve keeps), still open.
    temps = [4.0] * 5 + [9.0 + (i % 8) * 0.5 for i in range(180)]
    readings = terminal.series(start, temps)
    async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
        await stack.send(*readings)
        found = await risks.wait_for(
            lambda r: _about(terminal.id)(r) and r.json()["type"] == "telemetry.risk.raised"
        )
    raised = found[0].json()["data"]
    RiskRaised.model_validate(raised)
    curve = raised["evidence"]["readings"]
    assert curve[0] == {"ts": readings[4]["ts"], "temp_c": 4.0}  # the approach
    assert curve[1]["ts"] == raised["evidence"]["first_ts"] == readings[5]["ts"]
    assert curve[-1]["ts"] == raised["evidence"]["last_ts"]

    risk_id = raised["risk_id"]
    district = info["district"]
    last_ts = readings[-1]["ts"]
    inspector = identity.bearer("inspector", district)

    async def caught_up() -> dict[str, Any] | None:
        # The stored evidence follows the batches, up to the last reading.
        r = await stack.telemetry.get(f"/risks/{risk_id}", headers=inspector)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["evidence"]["readings"][-1]["ts"] == last_ts else None

    risk = await until(caught_up, what="the risk's evidence reaches the last reading")
    evidence = risk["evidence"]
    assert risk["id"] == risk_id and risk["state"] == "open"
    assert risk["rule"] == "cold_chain_excursion"
    curve = evidence["readings"]
    assert evidence["readings"][-1] == {"ts": last_ts, "temp_c": temps[-1]}
    assert len(curve) <= 120  # 181 readings in the window, downsampled
    assert max(p["temp_c"] for p in curve) == 12.5 and min(p["temp_c"] for p in curve) == 4.0
    times = [p["ts"] for p in curve]
    assert times == sorted(times)

    for role in ("leader", "handler", "clerk"):
        r = await stack.telemetry.get(f"/risks/{risk_id}", headers=identity.bearer(role, district))
        assert r.status_code == 200, role
    r = await stack.telemetry.get(
        f"/risks/{risk_id}", headers=identity.bearer("inspector", "elsewhere")
    )
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await stack.telemetry.get("/risks/no-such-risk", headers=stack.admin)
    assert r.status_code == 404
