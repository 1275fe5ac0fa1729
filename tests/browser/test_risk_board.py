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
