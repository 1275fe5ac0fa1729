"""The risk board in a real browser (issue 15): an inspector watching 风险看板 sees a freezer's
excursion appear without reloading (server-sent events from telemetry.risks.v1), opens its
temperature curve and acknowledges it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, sign_in
from tests.support.identity import Tokens
from tests.support.poll import until
from tests.support.readings import Terminal
from tests.support.stalls import open_stall, send_readings


async def test_a_risk_appears_live_on_the_board_and_is_acknowledged(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)
    inspector, _ = tokens.person("inspector", stall.district, name="赵看板", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, inspector, tokens.password, shot)

    await phone.goto("/staff/risks")
    await phone.wait_for_selector("#risk-list[data-live-ready]")  # the console is listening
    assert await phone.locator("[data-risk]").count() == 0
    await phone.evaluate("window.stillTheSamePage = true")
    await shot(phone, "board-empty")

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)
    await send_readings(console.city, stall.freezer.series(start, [-19.0, -18.5, -5.0, -4.5, -5.0]))
    row = phone.locator("[data-risk]").first
    await row.wait_for(timeout=90_000)
    assert await phone.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    assert "冷链温度超标" in await row.inner_text()
    risk_id = await row.get_attribute("data-risk")
    await shot(phone, "board-live")

    await row.locator("a").first.click()
    await phone.wait_for_url(f"**/staff/risks/{risk_id}")
    await phone.locator("[data-chart][data-drawn] canvas").first.wait_for()
    await shot(phone, "curve")

    await phone.get_by_role("button", name="确认风险").click()
    await phone.wait_for_url(f"**/staff/risks/{risk_id}?done=acknowledged")
    assert "已确认" in await phone.inner_text("main")
    await shot(phone, "acknowledged")

    async with console.city.client("telemetry") as telemetry:

        async def acknowledged() -> dict[str, Any] | None:
            r = await telemetry.get("/risks", params={"market_id": stall.market_id})
            items: list[dict[str, Any]] = r.json()["items"]
            return next((x for x in items if x["id"] == risk_id and x["acknowledged_at"]), None)

        await until(acknowledged, within=10, what="telemetry recorded the acknowledgement")


async def test_a_crowding_risk_gives_its_peak_in_people_against_the_market_capacity(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """客流超限's peak is how many people were in the market, said as such beside its capacity
    (300 here), not a bare `400.0`."""
    stall = await open_stall(console.city)  # its market holds 300 people
    async with console.city.client("registry") as registry:
        r = await registry.post(
            "/terminals", json={"kind": "footfall", "market_id": stall.market_id, "interval_s": 60}
        )
        assert r.status_code == 201, r.text
        gate = Terminal(r.json()["id"], r.json()["key"], kind="footfall")
    async with console.city.client("telemetry") as telemetry:

        async def known() -> bool:
            return (await telemetry.get(f"/terminals/{gate.id}")).status_code == 200

        await until(known, within=60, every=0.5, what="telemetry knows the gate counter")
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
        crowd = [
            gate.reading(start + timedelta(minutes=i), entries=40, exits=40, occupancy=400)
            for i in range(12)
        ]
        await send_readings(console.city, crowd)

        async def raised() -> str | None:
            r = await telemetry.get("/risks", params={"market_id": stall.market_id})
            items: list[dict[str, Any]] = r.json()["items"]
            return next((str(x["id"]) for x in items if x["rule"] == "crowding"), None)

        risk_id = await until(raised, within=90, every=0.5, what="the crowding risk")
    inspector, _ = tokens.person("inspector", stall.district, name="赵看板", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, inspector, tokens.password)
    await phone.goto(f"/staff/risks/{risk_id}")
    await shot(phone, "crowding")
    assert await phone.inner_text("#peak") == "400 人（容量 300 人）"
