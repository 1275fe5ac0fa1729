"""Telemetry's gauge of open risks on real Kafka and Postgres: `sentinel_telemetry_open_risks`
{rule, severity} counts a risk raised by signed readings, goes back to 0 when it clears, and a
restarted telemetry (a fresh registry, no periodic refresh for an hour) shows the open risk,
counted from the database at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.telemetry.app import build as build_telemetry
from tests.integration.telemetry.conftest import Stack
from tests.support.poll import until

RULE = "cold_chain_excursion"


async def open_risks(client: httpx.AsyncClient) -> dict[str, float]:
    """`sentinel_telemetry_open_risks` of the cold-chain rule, by severity, from `/metrics`."""
    text = (await client.get("/metrics")).text
    return {
        sample.labels["severity"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "sentinel_telemetry_open_risks" and sample.labels["rule"] == RULE
    }


async def test_open_risks_follow_raise_and_clear_and_survive_a_restart(stack: Stack) -> None:
    terminal, _ = await stack.provision(profile="chilled")
    # Other tests of the package share this telemetry's schema and may leave risks open: count
    # from what is open before this test's readings.
    before = await open_risks(stack.telemetry)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # 5 min in band, then 20 min at 10 °C (above the 8 °C limit): a risk raised and still open.
    await stack.send(*terminal.series(start, [4.0] * 5 + [10.0] * 20))

    async def raised() -> dict[str, float] | None:
        found = await open_risks(stack.telemetry)
        return found if sum(found.values()) == sum(before.values()) + 1 else None

    found = await until(raised, within=30, what="one open cold-chain risk")
    [severity] = [s for s, n in found.items() if n == before.get(s, 0) + 1]
    query = f"/risks?state=open&terminal_id={terminal.id}"
    listed = (await stack.telemetry.get(query, headers=stack.admin)).json()["items"]
    assert [(r["rule"], r["severity"]) for r in listed] == [(RULE, severity)]

    # A restart: a new app on the same schema and groups, whose periodic refresh would not come
    # for an hour; its gauge is counted from the database when it starts.
    settings = stack.telemetry_app.state.service.settings.model_copy(
        update={"gauge_refresh_interval_s": 3600.0}
    )
    again = build_telemetry(settings)
    await again.state.service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=again), base_url="http://restarted"
        ) as restarted:
            assert (await open_risks(restarted))[severity] == found[severity]
    finally:
        await again.state.service.stop()

    # 15 min back in band: the risk clears and the gauge follows.
    await stack.send(*terminal.series(start + timedelta(minutes=25), [4.0] * 15))

    async def cleared() -> bool:
        return (await open_risks(stack.telemetry)).get(severity) == before.get(severity, 0)

    await until(cleared, within=30, what="the risk cleared")
