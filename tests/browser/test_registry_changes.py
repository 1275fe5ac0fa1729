"""The clerk's changes on a market's page in a real browser, on a phone. 退出经营: a clerk
records that a merchant left its stall; the merchant's freezer is retired with it (telemetry
learns it), the inspection task its warm freezer made is withdrawn (the inspector's page says
why), the stall takes the next merchant through the same page, and the citizens' page of the
one who left says so and offers no complaint against it. 更正: the market's name and hours
and a merchant's name and stall (换摊位, its freezer with it), changed there, are what
citizens then read."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    Console,
    Shots,
    clerk_at_a_new_stall,
    freezer_warmed,
    merchants_of,
    sign_in,
    submit,
)
from tests.support.clock import city_today
from tests.support.identity import Tokens
from tests.support.poll import until


async def test_a_clerk_records_a_merchant_leaving_and_registers_the_next_at_its_stall(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    # 闭环冻品 at E-1, with its freezer, warm: an inspection task is open for it.
    stall, phone = await clerk_at_a_new_stall(console, open_page, tokens, shot)
    task_id = await freezer_warmed(console, stall)
    page = f"/staff/registry/markets/{stall.market_id}"

    leave = phone.locator(f'details[data-leave="{stall.merchant_id}"]')
    await leave.locator("summary").click()
    effect = await leave.locator("[data-leave-effect]").inner_text()
    assert "退出后摊位 E-1 可登记新商户，该商户的 1 台终端一并停用" in effect
    assert await leave.locator("input[name=left_on]").input_value() == city_today().isoformat()
    await leave.locator("textarea[name=reason]").fill("租约到期，不再续租")
    await shot(phone, "leaving")
    answer = await submit(phone, f'details[data-leave="{stall.merchant_id}"]', "/leave")
    assert answer.status == 303
    assert phone.url.endswith(f"{page}?done=left#left-merchants")
    assert "商户已退出经营" in await phone.inner_text("[role=status]")
    gone = phone.locator(f'#left-merchants[open] [data-left="{stall.merchant_id}"]')
    assert f"{city_today().isoformat()} 退出 · 租约到期，不再续租" in await gone.inner_text()
    assert await phone.locator(f'[data-merchant="{stall.merchant_id}"]').count() == 0
    await shot(phone, "left")

    # The freezer is retired with the merchant, and telemetry learns it.
    async with console.city.client("telemetry", "clerk", stall.district) as telemetry:

        async def retired() -> bool:
            r = await telemetry.get(f"/terminals/{stall.freezer.id}")
            return r.status_code == 200 and r.json()["status"] == "retired"

        await until(retired, within=60, every=0.5, what="telemetry sees the freezer retired")

    # Nobody is left to inspect: the task is withdrawn, and its page says why to the inspector.
    inspector, _ = tokens.person("inspector", stall.district, name="周检查", who="browser")
    checker: Page = await open_page(phone=True)
    await sign_in(checker, inspector, tokens.password)

    async def withdrawn() -> bool:
        await checker.goto(f"/staff/tasks/{task_id}")
        return await checker.locator("#withdrawn").count() == 1

    await until(withdrawn, within=60, every=1.0, what="the task page says it was withdrawn")
    assert "商户已退出经营" in await checker.inner_text("#withdrawn")
    assert await checker.get_by_role("button", name="认领").count() == 0
    await shot(checker, "task-withdrawn")

    # The stall is free: the next merchant is registered at E-1 on the same page.
    await phone.click("#register-merchant summary")
    await phone.fill("#f-name", "接手海鲜")
    await phone.fill("#f-stall_no", "E-1")
    await phone.fill("#f-credit_code", "91350100M000100Y43")
    await phone.fill("#f-food_licence", "JY13706020054321")
    await phone.fill("#f-licence_valid_until", (city_today() + timedelta(days=365)).isoformat())
    answer = await submit(phone, "#merchant-form", f"/markets/{stall.market_id}/merchants")
    assert answer.status == 303
    now = {
        m["stall_no"]: m
        for m in await merchants_of(console, stall.market_id)
        if m["status"] != "left"
    }
    assert now["E-1"]["name"] == "接手海鲜"
    assert await phone.locator(f'[data-merchant="{now["E-1"]["id"]}"]').count() == 1

    # The citizens' page of the one who left: when it left, and no complaint against it.
    citizen: Page = await open_page(phone=True)

    async def says_left() -> bool:
        await citizen.goto(f"/merchants/{stall.merchant_id}")
        return await citizen.locator("#left").count() == 1

    await until(says_left, within=60, every=1.0, what="the public page says the merchant left")
    assert f"已于 {city_today().isoformat()} 退出本市场经营" in await citizen.inner_text("#left")
    assert await citizen.get_by_text("投诉该商户").count() == 0
    await shot(citizen, "public-left")


async def test_a_clerk_corrects_a_market_and_a_merchant_moves_stall_and_citizens_read_it(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall, phone = await clerk_at_a_new_stall(console, open_page, tokens, shot)
    page = f"/staff/registry/markets/{stall.market_id}"

    await phone.click("#market-details summary")
    name = f"{await phone.input_value('#f-d-name')}（东区）"
    await phone.fill("#f-d-name", name)
    await phone.fill("#f-d-open", "06:30")
    await phone.fill("#f-d-close", "18:00")
    assert await phone.input_value("#f-d-kind") == "farmers"  # as registered
    await phone.select_option("#f-d-kind", "wholesale")  # picked wrong then
    await shot(phone, "market-details")
    answer = await submit(phone, "#market-details", f"/markets/{stall.market_id}/details")
    assert answer.status == 303
    assert "市场信息已更新" in await phone.inner_text("[role=status]")
    assert await phone.inner_text("h1") == name
    assert "06:30–18:00" in await phone.inner_text("main")
    assert "批发市场" in await phone.locator("main dl.facts").first.inner_text()

    correct = phone.locator(f'details[data-correct="{stall.merchant_id}"]')
    await correct.locator("summary").click()
    await correct.locator("input[name=name]").fill("闭环冻品（更正）")
    answer = await submit(phone, f'details[data-correct="{stall.merchant_id}"]', "/details")
    assert answer.status == 303
    assert phone.url.endswith(f"{page}?done=corrected#m-{stall.merchant_id}")
    row = phone.locator(f'[data-merchant="{stall.merchant_id}"]')
    assert "闭环冻品（更正）" in await row.inner_text()
    await shot(phone, "corrected")

    # 换摊位: to E-2, its freezer with it.
    move = phone.locator(f'details[data-move="{stall.merchant_id}"]')
    await move.locator("summary").click()
    await move.locator("input[name=stall_no]").fill("E-2")
    answer = await submit(phone, f'details[data-move="{stall.merchant_id}"]', "/move")
    assert answer.status == 303
    assert "摊位 E-2" in await row.inner_text()
    freezer = phone.locator("#terminals li", has_text="冷链温度")
    assert "摊位 E-2" in await freezer.inner_text()

    # Citizens read the corrections: the registry's directory at once, credit's copy once the
    # snapshot has reached it.
    citizen: Page = await open_page(phone=True)
    await citizen.goto(f"/markets/{stall.market_id}")
    assert await citizen.inner_text("h1") == name
    assert "06:30–18:00" in await citizen.inner_text("main")

    async def renamed() -> bool:
        await citizen.goto(f"/merchants/{stall.merchant_id}")
        name = await citizen.inner_text("#merchant-name")
        return name == "闭环冻品（更正）" and await citizen.inner_text("#stall") == "E-2"

    await until(renamed, within=60, every=1.0, what="the public page names the merchant anew")
    await shot(citizen, "public-corrected")


async def test_a_clerk_closes_a_market_once_its_merchant_left_and_citizens_find_it_no_more(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """停业 on a phone: refused in words while the merchant trades, the form once it left, the
    closed page; the citizens' search lists it no more, its own page says it closed."""
    stall, phone = await clerk_at_a_new_stall(console, open_page, tokens, shot)
    page = f"/staff/registry/markets/{stall.market_id}"
    closing = phone.locator("#close-market")
    await closing.locator("summary").click()
    assert "尚有 1 个商户在经营" in await closing.inner_text()
    assert await closing.locator("form").count() == 0

    leave = phone.locator(f'details[data-leave="{stall.merchant_id}"]')
    await leave.locator("summary").click()
    await leave.locator("textarea[name=reason]").fill("转让")
    left = await submit(phone, f'details[data-leave="{stall.merchant_id}"]', "/leave")
    assert left.status == 303
    await phone.goto(page)
    await closing.locator("summary").click()
    assert "停业后市场不再出现在市民查询中" in await closing.inner_text()
    await closing.locator("textarea[name=reason]").fill("整体搬迁至新址")
    await shot(phone, "closing")
    answer = await submit(phone, "#close-market", "/close")
    assert answer.status == 303
    assert phone.url.endswith(f"{page}?done=closed#closed")
    notice = await phone.inner_text("#closed")
    assert notice.startswith(f"该市场已于 {city_today().isoformat()} 停业：整体搬迁至新址")
    assert await phone.locator("main form").count() == 0
    await shot(phone, "closed")

    citizen: Page = await open_page(phone=True)
    await citizen.goto(f"/markets?district={stall.district}")
    assert await citizen.locator(f'a[href="/markets/{stall.market_id}"]').count() == 0
    await citizen.goto(f"/markets/{stall.market_id}")
    assert "停业" in await citizen.inner_text("#closed")
    assert await citizen.locator('a[href^="/complaints/new?market_id"]').count() == 0
    await shot(citizen, "public-closed")
