"""A leader drills into a market in a real browser: a freezer door left open makes a risk and a
task in a market of a new district; the district's leader opens 总览, clicks the market's name
in the assessment ranking and reads the market's page — its score with every part, value and
weight behind it (as credit weighed them), and its open risk and task, each linked to its own
page, which one click opens."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, door_left_open, sign_in
from tests.support.identity import Tokens
from tests.support.poll import until


def percent(share: float) -> str:
    """As the console's `pct` filter shows a weight: 0.25 → 25%."""
    return f"{share * 100:.0f}%"


async def test_a_leader_clicks_a_market_in_the_ranking_and_reads_why_its_score_is_what_it_is(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall, task_id = await door_left_open(console)
    async with console.city.client("telemetry") as telemetry:

        async def open_risk() -> str | None:
            r = await telemetry.get(
                "/risks", params={"market_id": stall.market_id, "state": "open"}
            )
            items: list[dict[str, Any]] = r.json()["items"]
            return next((str(x["id"]) for x in items), None)

        risk_id = await until(open_risk, within=30, every=0.2, what="the open risk")
    async with console.city.client("credit") as credit:

        async def assessed() -> dict[str, Any] | None:
            r = await credit.get(f"/markets/{stall.market_id}/assessment", params={"days": 30})
            return r.json() if r.status_code == 200 else None

        assessment = await until(assessed, within=60, every=0.2, what="credit assessed it")
    async with console.city.client("registry") as registry:
        r = await registry.get(f"/markets/{stall.market_id}")
        name = r.json()["name"]

    leader, _ = tokens.person("leader", stall.district, name="刘领导", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, leader, tokens.password)
    # A leader arrives at 总览: the district's ranking is the first page after the sign-in.
    await phone.locator(f'#ranking [data-market="{stall.market_id}"]').wait_for()
    assert phone.url.endswith("/staff/")
    await shot(phone, "arrival")
    await phone.goto("/staff/overview")
    row = phone.locator(f'#ranking [data-market="{stall.market_id}"]')
    await row.wait_for()
    await shot(phone, "overview")

    # The market's name in the ranking opens its page; the risk board stays one link away.
    assert await row.locator(f'a[href="/staff/risks?market_id={stall.market_id}"]').count() == 1
    await row.get_by_role("link", name=name).click()
    await phone.wait_for_url(f"**/staff/markets/{stall.market_id}")
    assert await phone.inner_text("h1") == name
    assert "第 1 名" in await phone.inner_text("#assessment-rank")  # its district's only market

    # Every part of the score, with its value and the weight credit gave it.
    parts = phone.locator("#assessment-parts [data-part]")
    weighed = {p["part"]: p["weight"] for p in assessment["parts"]}
    assert await parts.count() == len(weighed) >= 5
    share_ab = await phone.inner_text('#assessment-parts [data-part="share_ab"]')
    assert "A/B 级商户占比" in share_ab and f"权重 {percent(weighed['share_ab'])}" in share_ab
    risks_part = await phone.inner_text('#assessment-parts [data-part="open_risks"]')
    assert "未解除食品安全风险" in risks_part
    assert f"权重 {percent(weighed['open_risks'])}" in risks_part
    await phone.locator("#assessment").scroll_into_view_if_needed()
    await shot(phone, "market-assessment")

    # Its open risk and task, each linked to its page.
    risk = phone.locator(f'#risks a[href="/staff/risks/{risk_id}"]')
    assert "冷链温度超标" in await risk.inner_text()
    task = phone.locator(f'#tasks a[href="/staff/tasks/{task_id}"]')
    assert "闭环冻品" in await task.inner_text()  # the merchant's name, not its id
    await task.scroll_into_view_if_needed()
    await shot(phone, "market-work")
    await task.click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}")
    await phone.locator('a[data-why="risk"]').wait_for()
    await shot(phone, "task")
