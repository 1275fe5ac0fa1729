"""The clerk's pages in a real browser (issue 15): a merchant's 统一社会信用代码 is checked as it
is typed, by the registry's own rules, and the error stands beside the field in Chinese; a
register with a wrong check character is refused, the form keeps what was typed, and the
registry holds nothing new. A terminal the clerk registers shows its key once, and its market
page then says what it last reported, once readings signed with that key have arrived
(docs/console.md: a clerk sees a new terminal's first readings)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    CITY_TZ,
    MARKET_FORM,
    Console,
    Shots,
    a_new_districts_market_form,
    clerk_at_a_new_stall,
    merchants_of,
    sign_in,
    submit,
    wrong_credit_code,
)
from tests.support.identity import Tokens
from tests.support.poll import until
from tests.support.readings import Terminal
from tests.support.stalls import open_stall, send_readings


async def test_a_clerk_enters_a_wrong_check_character_and_sees_the_error_beside_the_field(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)  # a district with a market (and one merchant)
    before = await merchants_of(console, stall.market_id)
    clerk, _ = tokens.person("clerk", stall.district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password, shot)

    await phone.goto("/staff/registry")
    market = phone.locator(f'#markets a[href="/staff/registry/markets/{stall.market_id}"]')
    await market.wait_for()
    await shot(phone, "registry")
    await market.click()  # a name, never an id
    await phone.wait_for_url(f"**/staff/registry/markets/{stall.market_id}")
    await phone.click("#register-merchant summary")

    code, typed, right = wrong_credit_code()
    expected = f"校验位为“{typed}”，按 GB 32100-2015 应为“{right}”"
    await phone.fill("#f-name", "浏览器测试鲜肉")
    await phone.fill("#f-stall_no", "B-7")
    await phone.fill("#f-food_licence", "JY13706020054321")
    await phone.fill("#f-licence_valid_until", (date.today() + timedelta(days=365)).isoformat())
    await phone.locator("#f-credit_code").press_sequentially(code)
    # As typed: the registry's POST /merchants/validate answers, the error appears beside it.
    beside = phone.locator("#f-credit_code ~ #err-credit_code")
    await phone.wait_for_function(
        "t => document.getElementById('err-credit_code').textContent.includes(t)", arg=expected
    )
    assert await phone.inner_text("#err-food_licence") == ""
    await shot(phone, "checked-as-typed")

    submitted = f"/staff/registry/markets/{stall.market_id}/merchants"
    async with phone.expect_response(lambda r: r.url.endswith(submitted)) as answer:
        await phone.click("#merchant-form button[type=submit]")
    assert (await answer.value).status == 422
    await phone.wait_for_load_state("load")
    # Re-rendered: the error beside the field, what was typed kept, the form open.
    assert expected in await beside.inner_text()
    assert await phone.get_attribute("#f-credit_code", "aria-invalid") == "true"
    assert await phone.input_value("#f-credit_code") == code
    assert await phone.input_value("#f-name") == "浏览器测试鲜肉"
    assert await phone.input_value("#f-stall_no") == "B-7"
    await shot(phone, "refused")

    after = await merchants_of(console, stall.market_id)
    assert [m["id"] for m in after] == [m["id"] for m in before]
    assert not any(m["stall_no"] == "B-7" or m["credit_code"] == code for m in after)


async def test_a_licence_date_already_past_is_told_as_soon_as_it_is_picked(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)
    clerk, _ = tokens.person("clerk", stall.district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password)
    await phone.goto(f"/staff/registry/markets/{stall.market_id}")
    await phone.click("#register-merchant summary")
    await phone.fill("#f-licence_valid_until", "2020-01-01")  # picked: a change, no submit
    await phone.wait_for_function(
        "() => document.getElementById('err-licence_valid_until').textContent === '许可证已过期'"
    )
    await shot(phone, "past-licence-as-picked")
    # A date in force clears it; nothing was registered.
    await phone.fill("#f-licence_valid_until", (date.today() + timedelta(days=365)).isoformat())
    await phone.wait_for_function(
        "() => document.getElementById('err-licence_valid_until').textContent === ''"
    )
    assert phone.url.endswith(f"/staff/registry/markets/{stall.market_id}")


async def test_a_clerk_registers_a_terminal_and_sees_its_first_readings_on_the_market_page(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall, phone = await clerk_at_a_new_stall(console, open_page, tokens, shot)
    page = f"/staff/registry/markets/{stall.market_id}"
    await phone.click("#add-terminal summary")
    await phone.select_option("#f-t-kind", "cold_chain")
    await phone.select_option("#f-t-merchant_id", stall.merchant_id)
    await phone.select_option("#f-t-profile", "chilled")
    await phone.click("#add-terminal button[type=submit]")
    await phone.wait_for_url("**/staff/registry/terminals/key/**")
    key = (await phone.inner_text("#terminal-key")).strip()  # shown once: the device's key
    await shot(phone, "terminal-key")

    async with console.city.client("registry") as registry:
        r = await registry.get("/terminals", params={"market_id": stall.market_id})
        assert r.status_code == 200, r.text
    [added] = [t["id"] for t in r.json()["items"] if t["id"] != stall.freezer.id]
    await phone.click("text=已写入设备，返回市场")
    await phone.wait_for_url(f"**{page}")
    report = phone.locator(f'[data-last-report="{added}"]')
    assert await report.inner_text() == "最近上报：尚未收到读数"
    await shot(phone, "no-readings-yet")

    # Readings of an unknown terminal are rightly rejected: sent once telemetry knows it.
    async with console.city.client("telemetry", "clerk", stall.district) as telemetry:

        async def known() -> bool:
            return (await telemetry.get(f"/terminals/{added}")).status_code == 200

        await until(known, within=60, every=0.5, what="telemetry knows the new terminal")
    device = Terminal(added, key)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    await send_readings(console.city, device.series(start, [3.0, 3.5, 4.5]))
    last_at = (start + timedelta(minutes=2)).astimezone(CITY_TZ).strftime("%m-%d %H:%M")

    async def shown() -> str | None:
        await phone.reload()
        text = await report.inner_text()
        return text if "尚未收到读数" not in text else None

    text = await until(shown, within=60, every=1.0, what="最近上报 on the market page")
    assert text == f"最近上报：{last_at} · 4.5 °C"
    await shot(phone, "first-readings")

    # 轮换密钥 asks first, saying what it does; confirmed, a new key is shown once.
    rotate = phone.locator(f'details[data-rotate="{added}"]')
    await rotate.locator("summary").click()
    assert "现用的密钥立即失效" in await rotate.inner_text()
    await shot(phone, "rotate-asked")
    await rotate.get_by_role("button", name="确认轮换").click()
    await phone.wait_for_url("**/staff/registry/terminals/key/**")
    rotated = (await phone.inner_text("#terminal-key")).strip()
    assert rotated and rotated != key


async def test_a_capacity_that_is_no_whole_number_is_refused_beside_it_in_its_own_words(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """容量 typed as `1e3` (a number the phone's keyboard allows, not a whole one the registry
    takes): the reason beside 容量 says so, not the complaint form's 请选择满意度."""
    _, phone = await a_new_districts_market_form(
        console, open_page, tokens, "容量测试农贸市场", "06:00", "19:00"
    )
    assert (await submit(phone, MARKET_FORM, "/staff/registry/markets")).status == 422
    await shot(phone, "refused")
    assert await phone.inner_text("#err-capacity") == "应为整数"
    assert await phone.input_value("#f-name") == "容量测试农贸市场"
    # Left blank (as a browser without the form's own checks sends it): 必填, not the format.
    form = phone.locator(MARKET_FORM)
    await form.evaluate("f => { f.noValidate = true; }")
    await form.locator("#f-capacity").fill("")
    await form.locator("#f-open").fill("")
    assert (await submit(phone, MARKET_FORM, "/staff/registry/markets")).status == 422
    assert await phone.inner_text("#err-capacity") == "必填"
    assert await phone.inner_text("#err-open") == "必填"
    # 检查任务 is not a clerk's page: by its address it says so in Chinese (403), not a 500.
    answer = await phone.goto("/staff/tasks")
    assert answer is not None and answer.status == 403
    assert "您的角色无权查看此页面" in await phone.inner_text("main")
    await shot(phone, "tasks-not-a-clerks")
