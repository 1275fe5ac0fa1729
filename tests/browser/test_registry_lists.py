"""The clerk's 商户 list in a real browser on a phone (375 px): from the menu, a merchant found
by its 统一社会信用代码 as it is typed (htmx swapping the rows) and opened; the same search as
a plain GET form (what a browser without JS sends) finds it too. The lists' links and buttons
are big enough to press. The console walk found merchants only on each market's page."""

from __future__ import annotations

from playwright.async_api import Page

from contracts.identifiers import credit_code_check_char
from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, merchants_of, sign_in, small_targets
from tests.support.identity import Tokens
from tests.support.registry_api import merchant_body
from tests.support.stalls import open_stall


async def test_a_clerk_finds_a_merchant_by_credit_code_on_a_phone_and_opens_it(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)  # a district with a market and one merchant
    # A second merchant of the district, with a credit code of its own: the one to find.
    first17 = "91370602MA3C7K2Q5"
    code = first17 + credit_code_check_char(first17)
    async with console.city.client("registry", "clerk", stall.district) as registry:
        r = await registry.post("/merchants", json=merchant_body(stall.market_id, "F-12", code))
        assert r.status_code == 201, r.text
        wanted = r.json()
    others = [
        m["id"] for m in await merchants_of(console, stall.market_id) if m["id"] != wanted["id"]
    ]
    assert others, "the district has another merchant for the search to leave out"

    clerk, _ = tokens.person("clerk", stall.district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password, shot)
    await phone.click('nav a[href="/staff/registry/merchants"]')
    await phone.wait_for_url("**/staff/registry/merchants")
    rows = phone.locator("#merchants li[data-merchant]")
    await rows.first.wait_for()
    assert await rows.count() == 1 + len(others)
    assert await small_targets(phone) == []
    await shot(phone, "merchants")

    # Typed (the last characters in lower case, as a thumb may): the rows follow, htmx.
    await phone.locator("#f-q").press_sequentially(code[:-3] + code[-3:].lower())
    await phone.wait_for_function(
        "id => { const rows = document.querySelectorAll('#merchants li[data-merchant]');"
        " return rows.length === 1 && rows[0].dataset.merchant === id; }",
        arg=wanted["id"],
    )
    assert phone.url.endswith("/staff/registry/merchants")  # swapped, not reloaded
    row = phone.locator(f'#merchants li[data-merchant="{wanted["id"]}"]')
    assert "摊位 F-12" in await row.inner_text() and code in await row.inner_text()
    await shot(phone, "found")
    await row.locator(f'a[href="/staff/merchants/{wanted["id"]}"]').click()
    await phone.wait_for_url(f"**/staff/merchants/{wanted['id']}")
    assert wanted["name"] in await phone.locator("main").inner_text()
    await shot(phone, "opened")

    # Without JS the form is a GET: its URL finds the same one merchant, the search kept.
    answer = await phone.goto(f"/staff/registry/merchants?q={code}&market={stall.market_id}")
    assert answer is not None and answer.status == 200
    found = phone.locator("#merchants li[data-merchant]")
    assert [
        await found.nth(i).get_attribute("data-merchant") for i in range(await found.count())
    ] == [wanted["id"]]
    assert await phone.input_value("#f-q") == code
    # A market chosen: the row has its credit grade (A–D, or — before credit grades it).
    assert await found.first.locator(".grade").count() == 1

    terminals = await phone.goto("/staff/registry/terminals")
    assert terminals is not None and terminals.status == 200
    await phone.locator(f'#terminals li[data-terminal="{stall.freezer.id}"]').wait_for()
    assert await small_targets(phone) == []
    await shot(phone, "terminals")
