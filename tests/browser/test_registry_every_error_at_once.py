"""A clerk's form with two mistakes is refused once, each reason beside its own field in
Chinese: a merchant with a wrong check character and a licence that ran out, a market with a
容量 that is no whole number and a closing time before its opening. Nothing is stored."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    MARKET_FORM,
    Console,
    Shots,
    a_new_districts_market_form,
    merchants_of,
    sign_in,
    submit,
    wrong_credit_code,
)
from tests.support.identity import Tokens
from tests.support.stalls import open_stall

MERCHANT_FORM = "#merchant-form"


async def test_a_wrong_check_character_and_a_past_licence_date_are_both_shown_beside_their_fields(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)
    before = await merchants_of(console, stall.market_id)
    clerk, _ = tokens.person("clerk", stall.district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password)
    await phone.goto(f"/staff/registry/markets/{stall.market_id}")
    await phone.click("#register-merchant summary")

    code, typed, right = wrong_credit_code()
    await phone.fill("#f-name", "两处错误鲜肉")
    await phone.fill("#f-stall_no", "D-2")
    await phone.fill("#f-credit_code", code)
    await phone.fill("#f-food_licence", "JY13706020054321")
    await phone.fill("#f-licence_valid_until", "2020-01-01")  # long past
    submitted = f"/staff/registry/markets/{stall.market_id}/merchants"
    assert (await submit(phone, MERCHANT_FORM, submitted)).status == 422
    await shot(phone, "both-refused")

    # One answer, each reason beside its own field, what was typed kept.
    expected = f"校验位为“{typed}”，按 GB 32100-2015 应为“{right}”"
    assert expected in await phone.inner_text("#f-credit_code ~ #err-credit_code")
    assert await phone.inner_text("#f-licence_valid_until ~ #err-licence_valid_until") == (
        "许可证已过期"
    )
    for field in ("credit_code", "licence_valid_until"):
        assert await phone.get_attribute(f"#f-{field}", "aria-invalid") == "true", field
    for field in ("name", "stall_no", "food_licence"):
        assert await phone.inner_text(f"#err-{field}") == "", field
    assert await phone.input_value("#f-credit_code") == code
    assert await phone.input_value("#f-licence_valid_until") == "2020-01-01"

    after = await merchants_of(console, stall.market_id)
    assert [m["id"] for m in after] == [m["id"] for m in before]
    assert not any(m["stall_no"] == "D-2" for m in after)


async def test_a_market_with_a_bad_capacity_and_hours_the_wrong_way_round_is_told_both(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    district, phone = await a_new_districts_market_form(
        console, open_page, tokens, "两处错误农贸市场", "19:00", "06:00"
    )
    assert (await submit(phone, MARKET_FORM, "/staff/registry/markets")).status == 422
    await shot(phone, "both-refused")
    assert await phone.inner_text("#err-capacity") == "应为整数"
    assert await phone.inner_text("#err-close") == "应晚于开市时间"
    assert await phone.inner_text("#err-open") == ""

    async with console.city.client("registry") as registry:
        r = await registry.get("/markets", params={"district": district})
        assert r.status_code == 200 and r.json()["items"] == []
