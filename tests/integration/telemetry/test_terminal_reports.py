"""What a terminal last reported (`GET /terminals?market_id=`, `GET /terminals/{id}`): nothing
until its first reading is accepted, then its last seq, time and temperature, read by the
staff of its district only (docs/console.md, the clerk sees a new terminal's first readings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.telemetry.conftest import Stack
from tests.support import identity
from tests.support.poll import until


async def test_a_provisioned_terminals_readings_are_reported_in_its_district_only(
    stack: Stack,
) -> None:
    terminal, info = await stack.provision(profile="chilled")
    market, district = info["market_id"], info["district"]
    clerk = identity.bearer("clerk", district)

    r = await stack.telemetry.get("/terminals", params={"market_id": market}, headers=clerk)
    assert r.status_code == 200, r.text
    [before] = r.json()["items"]
    assert (before["terminal_id"], before["kind"], before["last"]) == (
        terminal.id,
        "cold_chain",
        None,
    )

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    readings = terminal.series(start, [3.0, 3.5, 4.25])
    await stack.send(*readings)

    async def reported() -> dict[str, Any] | None:
        r = await stack.telemetry.get("/terminals", params={"market_id": market}, headers=clerk)
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        last: dict[str, Any] | None = item["last"]
        return last if last is not None and last["seq"] == readings[-1]["seq"] else None

    last = await until(reported, what="telemetry reports the terminal's last reading")
    assert datetime.fromisoformat(last["ts"]) == datetime.fromisoformat(readings[-1]["ts"])
    assert datetime.fromisoformat(last["heard_at"]) >= datetime.fromisoformat(last["ts"])
    assert (last["temp_c"], last["open_risks"]) == (4.25, 0)

    r = await stack.telemetry.get(f"/terminals/{terminal.id}", headers=clerk)
    assert r.status_code == 200 and r.json()["last"] == last
    for role in ("inspector", "handler", "leader"):
        r = await stack.telemetry.get(
            f"/terminals/{terminal.id}", headers=identity.bearer(role, district)
        )
        assert r.status_code == 200, role

    elsewhere = identity.bearer("clerk", "elsewhere")
    r = await stack.telemetry.get("/terminals", params={"market_id": market}, headers=elsewhere)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await stack.telemetry.get(f"/terminals/{terminal.id}", headers=elsewhere)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await stack.telemetry.get("/terminals", headers=clerk)
    assert r.status_code == 422  # a market is named
