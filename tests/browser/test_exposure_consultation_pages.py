"""Public exposure and the consultation on renovation plans in a real browser (issue 17): a
clerk records an exposed problem on a phone (an empty field is refused beside it and nothing is
saved), the public market page shows it as 曝光 (媒体) until the clerk's re-check finds it fixed;
a clerk opens a renovation plan for comment (征求意见), a citizen comments on it from the public
market page, the plan is not approved while comments are taken, and the clerk answers the
comment."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    CITY_TZ,
    Console,
    Shots,
    campaign_get,
    new_market,
    planned_project,
    sign_in,
    submit,
)
from tests.support.identity import Tokens
from tests.support.poll import until


async def test_a_clerk_records_an_exposure_and_verifies_it_fixed(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    market = await new_market(console)
    clerk, _ = tokens.person("clerk", market.district, name="郑登记", who="exposure")
    page = await open_page(phone=True)
    await sign_in(page, clerk, tokens.password)
    await page.goto("/staff/exposures")
    assert "曝光整改" in await page.inner_text(".nav")
    await page.select_option("#f-market_id", market.market_id)
    await page.check('input[name="source"][value="press"]')
    await page.fill("#f-reference", "烟台日报 第 4 版")
    await page.fill("#f-details", "排水沟堵塞\n地面积水")

    # The problem left empty: refused beside it, what was typed kept, nothing saved.
    answer = await submit(page, "#exposure-form", "/staff/exposures")
    assert answer.status == 422
    assert await page.inner_text("#err-title") == "必填"
    assert await page.get_attribute("#f-title", "aria-invalid") == "true"
    assert await page.input_value("#f-reference") == "烟台日报 第 4 版"
    assert await page.is_checked('input[name="source"][value="press"]')
    await shot(page, "title-required")
    listed = await campaign_get(console, "/exposures", market_id=market.market_id)
    assert listed["items"] == []

    await page.fill("#f-title", "水产区污水横流")
    answer = await submit(page, "#exposure-form", "/staff/exposures")
    assert answer.status == 303
    await page.wait_for_url(re.compile(r"/staff/exposures\?done=recorded$"))
    row = page.locator("#exposures li", has_text="水产区污水横流")
    assert await row.count() == 1
    text = await row.inner_text()
    assert "媒体曝光" in text and "剩余 15 天" in text and "烟台日报 第 4 版" in text
    await shot(page, "recorded")
    [exposure] = (await campaign_get(console, "/exposures", market_id=market.market_id))["items"]
    assert (exposure["state"], exposure["exposure_source"]) == ("open", "press")
    assert exposure["details"] == ["排水沟堵塞", "地面积水"]

    # The public market page shows it under 信息公开: 曝光, by the press.
    citizen = await open_page(phone=True)
    await citizen.goto(f"/markets/{market.market_id}")
    item = citizen.locator(f'#disclosures li[data-disclosure="{exposure["id"]}"]')
    public = await item.inner_text()
    assert "曝光" in public and "媒体" in public and "水产区污水横流" in public
    await shot(citizen, "public-open")

    # Re-checked: not fixed without a note is refused beside it; with one it stays open.
    await row.locator("summary").click()
    await row.locator('input[name="fixed"][value="no"]').check()
    answer = await submit(page, f'li[data-exposure="{exposure["id"]}"] form', "/verify")
    assert answer.status == 422
    row = page.locator(f'li[data-exposure="{exposure["id"]}"]')
    assert await row.locator(".field-error").last.inner_text() == "未整改到位须写明仍存在的问题"
    await row.locator("textarea").fill("排水沟仍堵塞")
    answer = await submit(page, f'li[data-exposure="{exposure["id"]}"] form', "/verify")
    assert answer.status == 303
    await page.wait_for_url(re.compile(r"\?done=kept$"))
    row = page.locator(f'li[data-exposure="{exposure["id"]}"]')
    assert "未整改到位（排水沟仍堵塞）" in await row.inner_text()

    # Fixed: off the open list and off the public page's.
    await row.locator("summary").click()
    await row.locator('input[name="fixed"][value="yes"]').check()
    answer = await submit(page, f'li[data-exposure="{exposure["id"]}"] form', "/verify")
    assert answer.status == 303
    await page.wait_for_url(re.compile(r"\?done=fixed$"))
    assert await page.locator(f'li[data-exposure="{exposure["id"]}"]').count() == 0
    assert "复查已整改" in await page.inner_text(".notice")
    await page.click('.tabs a:has-text("已整改")')
    assert await page.locator(f'li[data-exposure="{exposure["id"]}"]').count() == 1
    await shot(page, "resolved")
    await citizen.goto(f"/markets/{market.market_id}")
    assert await citizen.locator(f'[data-disclosure="{exposure["id"]}"]').count() == 0


async def test_a_citizen_comments_on_an_open_plan_and_the_clerk_answers(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    market = await new_market(console)
    project_id = await planned_project(console, market)
    clerk, _ = tokens.person("clerk", market.district, name="冯登记", who="consultation")
    page = await open_page(phone=True)
    await sign_in(page, clerk, tokens.password)

    # The clerk opens the plan for comment from its page: 征求意见.
    await page.goto(f"/staff/renovations?market_id={market.market_id}")
    await page.click(f'li[data-project="{project_id}"] a')
    await page.wait_for_url(f"**/staff/renovations/{project_id}")
    assert "尚未公开征求意见" in await page.inner_text("#consultation")
    await page.fill("#f-days", "0")
    answer = await submit(page, "#consultation-form", "/consultation")
    assert answer.status == 422
    assert await page.inner_text("#err-days") == "应为 1–60 的整数天数"
    await page.fill("#f-days", "10")
    answer = await submit(page, "#consultation-form", "/consultation")
    assert answer.status == 303
    closes_on = (datetime.now(CITY_TZ).date() + timedelta(days=9)).isoformat()
    assert f"至 {closes_on}" in await page.inner_text("#consultation-window")
    await shot(page, "consultation-open")

    # A citizen finds it on the market's public page and comments through the suggestion form.
    citizen = await open_page(phone=True)
    await citizen.goto(f"/markets/{market.market_id}")
    plan = citizen.locator(f'#consultations li[data-consultation="{project_id}"]')
    assert "提升改造方案" in await plan.inner_text()
    await shot(citizen, "public-consultation")
    await plan.locator("a.button").click()
    await citizen.wait_for_url(re.compile(rf"/suggestions/new\?.*project_id={project_id}"))
    assert "对改造方案提意见" in await citizen.inner_text("#consultation")
    assert await citizen.input_value('input[name="project_id"]') == project_id
    assert await citizen.input_value("#market_id") == market.market_id
    await citizen.fill("#text", "建议改造期间在北侧空地设临时摊位")
    await citizen.fill("#name", "市民赵六")
    await shot(citizen, "suggestion-form")
    answer = await submit(citizen, "#suggestion-form", "/suggestions/new")
    assert answer.status == 303
    await citizen.wait_for_url(re.compile(r"/suggestions/filed/"))

    async def commented() -> list[dict[str, Any]]:
        body = await campaign_get(console, f"/renovations/{project_id}")
        found: list[dict[str, Any]] = body["consultation"]["comments"]
        return found

    [comment] = await until(commented, within=60, every=0.3, what="the comment attached")
    assert comment["text"] == "建议改造期间在北侧空地设临时摊位" and comment["answer"] is None

    # On the clerk's page: the comment, unanswered; approval is refused while comments are
    # taken, saying why; the answer is recorded.
    await page.goto(f"/staff/renovations/{project_id}")
    item = page.locator(f'#comments li[data-comment="{comment["suggestion_id"]}"]')
    text = await item.inner_text()
    assert "建议改造期间在北侧空地设临时摊位" in text and "未答复" in text
    assert "赵" not in await page.inner_text("#comments")  # never the author
    answer = await submit(page, "#stage-form", "/stage")
    assert answer.status == 409
    assert f"征求意见至 {closes_on} 结束" in await page.inner_text("#err-stage")
    assert "计划" in await page.inner_text("#stage")
    await item.locator("textarea").fill("已采纳：施工期间在北侧空地设临时摊位")
    answer = await submit(page, f'li[data-comment="{comment["suggestion_id"]}"] form', "/answer")
    assert answer.status == 303
    await page.wait_for_url(re.compile(r"\?done=answered"))
    item = page.locator(f'#comments li[data-comment="{comment["suggestion_id"]}"]')
    assert "答复：已采纳：施工期间在北侧空地设临时摊位" in await item.inner_text()
    assert "未答复 0 条" in await page.inner_text("#consultation-window")
    await shot(page, "answered")
    body = await campaign_get(console, f"/renovations/{project_id}")
    assert body["consultation"]["unanswered"] == 0
    assert body["consultation"]["comments"][0]["answered_by"]["name"]


async def test_an_exposure_form_shows_every_refusal_beside_its_field_at_once(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """曝光整改 with no 问题 and a 整改期限 already past: both refused in one answer, each beside
    its field (not the problem first and the deadline on the next try), nothing recorded."""
    market = await new_market(console)
    clerk, _ = tokens.person("clerk", market.district, name="吴登记", who="exposure")
    await sign_in(phone, clerk, tokens.password)
    await phone.goto("/staff/exposures")
    await phone.select_option("#f-market_id", market.market_id)
    await phone.check('input[name="source"][value="public"]')
    await phone.fill("#f-reference", "市民来信")
    yesterday = (datetime.now(CITY_TZ).date() - timedelta(days=1)).isoformat()
    today = datetime.now(CITY_TZ).date().isoformat()
    await phone.fill("#f-rectify_by", yesterday)
    answer = await submit(phone, "#exposure-form", "/staff/exposures")
    assert answer.status == 422
    await shot(phone, "every-refusal")
    assert await phone.inner_text("#err-title") == "必填"
    assert await phone.inner_text("#err-rectify_by") == f"不得早于今天（{today}）"
    assert await phone.input_value("#f-reference") == "市民来信"
    listed = await campaign_get(console, "/exposures", market_id=market.market_id)
    assert listed["items"] == []
