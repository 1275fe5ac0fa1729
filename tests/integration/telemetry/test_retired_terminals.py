"""A terminal retired with a risk open, on real Kafka and Postgres: its merchant leaves the stall
(退出经营) while the freezer is warm, the registry retires the freezer, and telemetry clears the
risk, which no reading of a retired terminal could ever clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.telemetry.conftest import Stack
from tests.support.kafka import TopicWatcher
from tests.support.kafka import about_terminal as _about
from tests.support.poll import until


async def test_a_warm_freezer_retired_with_its_merchant_has_its_risk_cleared_once(
    stack: Stack, kafka: str
) -> None:
    terminal, registered = await stack.provision(profile="chilled")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=25)
    async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
        await stack.send(*terminal.series(start, [12.0] * 21))  # 20 min at 12 °C
        [raised] = await risks.wait_for(_about(terminal.id))
    assert raised.json()["type"] == "telemetry.risk.raised"

    telemetry = stack.telemetry_app.state.telemetry
    async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
        r = await stack.registry.post(
            f"/merchants/{registered['merchant_id']}/leave", json={"reason": "租约到期"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["retired_terminals"] == [terminal.id]
        await until(
            lambda: telemetry.directory.terminals[terminal.id].status == "retired",
            what="telemetry sees the freezer retired",
        )
        await telemetry.check_silence()  # the job's own call, at once
        [cleared] = await risks.wait_for(_about(terminal.id))
        await telemetry.check_silence()
        await risks.drain(settle_s=1.0)
    c = cleared.json()
    assert c["type"] == "telemetry.risk.cleared"
    assert c["data"]["risk_id"] == raised.json()["data"]["risk_id"]
    assert [x for x in risks.records if _about(terminal.id)(x)] == [cleared]
    listed = await stack.telemetry.get(f"/risks?terminal_id={terminal.id}", headers=stack.admin)
    assert [(x["rule"], x["state"]) for x in listed.json()["items"]] == [
        ("cold_chain_excursion", "cleared")
    ]
