"""The honour and warning list (红黑榜) in a real browser (issue 17): once a month is drawn
(through the credit service's API, as an admin), a leader's page and the citizens' page show its
红榜 and 黑榜 with every entry the service listed; the public page needs no sign-in, is linked
from the portal's menu and carries no person's name; an admin's 生成 for a month drawn before
changes nothing and says so."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page

from services.console.views.honours import ended_months, month_zh
from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, sign_in
from tests.support.city import provision
from tests.support.identity import Tokens
from tests.support.poll import until

LEADER = "钱领导"
ADMIN = "冯管理"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


async def drawn(console: Console, month: str) -> dict[str, Any]:
    """The month drawn (or drawn before: the stored list), as the staff API lists it."""
    async with console.city.client("credit") as credit:
        r = await credit.post("/honours/draw", json={"month": month})
        assert r.status_code in (200, 201), r.text
        r = await credit.get("/honours", params={"month": month})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
    return body


async def shows_the_lists(page: Page, listed: dict[str, Any]) -> str:
    """The page's text, once it shows both lists and every entry the service listed."""
    for kind in ("honour", "warning"):
        section = page.locator(f"section#{kind}")
        assert await section.count() == 1, kind
        text = await section.inner_text()
        entries = listed[kind]
        for e in entries:
            assert e["name"] in text, (kind, e["name"], text)
        if not entries:
            assert "无上榜" in text, text
    return await page.inner_text("main")


async def test_the_month_drawn_shows_on_the_staff_and_the_public_page(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    month = ended_months()[0]
    listed = await drawn(console, month)
    assert listed["month"] == month

    leader, _ = tokens.person("leader", "*", name=LEADER, who="browser")
    page = await open_page()
    await sign_in(page, leader, tokens.password)
    await page.locator("nav a[href='/staff/honours']").click()
    await page.wait_for_url("**/staff/honours")
    await page.select_option("#f-month", month)
    await page.click("#month-picker button[type=submit]")
    await page.wait_for_url(f"**/staff/honours?month={month}*")
    assert month_zh(month) in await page.inner_text("h1")
    await shows_the_lists(page, listed)
    assert await page.locator("form#draw").count() == 0  # a leader reads
    await shot(page, "staff-honours")

    # Citizens: from the portal's menu, no sign-in, nothing personal.
    public = await open_page(phone=True)
    await public.goto("/markets")
    await public.locator("nav a[href='/honours']").click()
    await public.wait_for_url("**/honours")
    answer = await public.goto(f"/honours?month={month}")
    assert answer is not None and answer.status == 200
    assert month_zh(month) in await public.inner_text("h1")
    await shows_the_lists(public, listed)
    await shot(public, "public-honours")
    html = await answer.text()
    people = [LEADER, ADMIN, "测试"]
    if listed.get("drawn_by"):
        people.append(str(listed["drawn_by"].get("name") or "—"))
    for name in people:
        assert name not in html, f"a person's name on the public page: {name}"
    assert not PHONE.search(html), "a phone number on the public page"
    assert "/staff/" not in html

    # An admin's 生成 for the month drawn before: the stored list, published once.
    admin, _ = tokens.person("admin", "*", name=ADMIN, who="browser")
    desk = await open_page()
    await sign_in(desk, admin, tokens.password)
    await desk.goto("/staff/honours")
    await desk.select_option("#f-draw-month", month)
    await desk.click("#draw button[type=submit]")
    await desk.wait_for_url(f"**/staff/honours?month={month}&done=exists")
    assert "此前已生成" in await desk.inner_text("main")
    await shows_the_lists(desk, listed)
    await shot(desk, "admin-honours")


async def test_a_leader_reads_this_months_preview_for_a_district_as_credit_draws_it(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """本月预览: a new district's market, its merchant graded; the leader's tab shows what credit
    would list if the month ended now — said to be unpublished — and the citizens' page has no
    such tab."""
    async with console.city.client("registry") as registry:
        place = await provision(registry)
    async with console.city.client("credit") as credit:

        async def graded() -> dict[str, Any] | None:
            r = await credit.get(f"/merchants/{place.merchant_id}/credit")
            if r.status_code != 200:
                return None
            preview = await credit.get("/honours/preview", params={"district": place.district})
            assert preview.status_code == 200, preview.text
            body: dict[str, Any] = preview.json()
            listed = {e["entity_id"] for kind in ("honour", "warning") for e in body[kind]}
            return body if place.market_id in listed else None

        expected = await until(graded, within=60, every=0.5, what="the market in the preview")
    leader, _ = tokens.person("leader", place.district, name=LEADER, who="preview")
    page = await open_page(phone=True)
    await sign_in(page, leader, tokens.password)
    await page.goto("/staff/honours")
    await page.locator("nav.tabs a", has_text="本月预览").click()
    await page.wait_for_url("**/staff/honours?view=preview")
    await shot(page, "preview")
    assert "预览" in await page.inner_text("h1")
    assert "尚未公布" in await page.inner_text("#preview-note")
    await shows_the_lists(page, expected)
    public = await open_page(phone=True)
    await public.goto("/honours")
    assert "预览" not in await public.inner_text("main")
