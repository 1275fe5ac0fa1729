"""附近的市场 in Chromium on phones: a clerk at a market's gate locates it with 使用当前位置 (the
phone's location fills the form), and a citizen nearby presses 附近的市场 and finds it first,
with how far each is; a phone that keeps its location to itself is told so and stays put."""

from __future__ import annotations

import re
import uuid

from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, register_market, sign_in
from tests.support.identity import Tokens

GATE = (37.4946, 121.4452)  # where the clerk stands, at the near market's gate
FAR = (37.5562, 121.3531)
CITIZEN = (37.50, 121.44)  # ~760 m from GATE, ~9.9 km from FAR


async def test_a_clerk_locates_a_market_at_its_gate_and_a_citizen_nearby_finds_it_first(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    tag = uuid.uuid4().hex[:6]
    district = f"t{uuid.uuid4().hex[:7]}"
    async with console.city.client("registry") as registry:
        near = await register_market(
            registry, district, f"迎春{tag}市场", "迎春市场公司", "迎春大街1号",
            district_name=f"附近{tag}区",
        )  # fmt: skip
        far = await register_market(registry, district, f"只楚{tag}市场", "只楚公司", "只楚路1号")
        r = await registry.put(
            f"/markets/{far}/location", json={"latitude": FAR[0], "longitude": FAR[1]}
        )
        assert r.status_code == 200, r.text

    clerk, _ = tokens.person("clerk", district, name="王登记", who="near")
    phone = await open_page(phone=True, at=GATE)
    await sign_in(phone, clerk, tokens.password)
    await phone.goto(f"/staff/registry/markets/{near}")
    assert "尚未标注位置" in await phone.inner_text("#location")
    await phone.click("#location summary")
    await phone.click("button[data-locate]")
    await phone.wait_for_function(
        "() => document.querySelector('#f-latitude').value !== ''", timeout=10_000
    )
    assert await phone.input_value("#f-latitude") == "37.494600"
    assert await phone.input_value("#f-longitude") == "121.445200"
    await shot(phone, "located")
    await phone.click("#location-form button[type=submit]")
    await phone.wait_for_url(re.compile(r"\?done=location$"))
    assert "北纬 37.49460° · 东经 121.44520°" in await phone.inner_text("#location")
    assert "位置已保存" in await phone.inner_text(".notice")

    citizen = await open_page(phone=True, at=CITIZEN)
    await citizen.goto(f"/markets?q={tag}")
    await citizen.click("a[data-near]")
    await citizen.wait_for_url(re.compile(r"/markets\?near=37\.500,121\.440$"))
    await shot(citizen, "nearest")
    rows = citizen.locator("#markets li[data-market]")
    order = [await row.get_attribute("data-market") for row in await rows.all()]
    assert order.index(near) < order.index(far), order
    assert "约 760 米" in await citizen.inner_text(f'li[data-market="{near}"] .distance')
    assert "约 9.9 公里" in await citizen.inner_text(f'li[data-market="{far}"] .distance')
    assert "离您最近的市场在前" in await citizen.inner_text("#result-count")


async def test_a_phone_that_keeps_its_location_is_told_so_and_stays_on_the_list(
    console: Console, open_page: Pages, shot: Shots
) -> None:
    citizen = await open_page(phone=True)  # its location not allowed to the page
    await citizen.goto("/markets")
    await citizen.click("a[data-near]")
    status = citizen.locator("[data-near-status]")
    await status.filter(has_text="未获准使用位置信息").wait_for()
    await shot(citizen, "refused")
    assert citizen.url.endswith("/markets")


async def test_a_market_registered_at_its_gate_is_near_citizens_from_the_start(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """登记市场 with 使用当前位置: no second visit to the market's page for its location."""
    tag = uuid.uuid4().hex[:6]
    district = f"t{uuid.uuid4().hex[:7]}"
    async with console.city.client("registry") as registry:
        await register_market(
            registry,
            district,
            f"老{tag}市场",
            "老市场公司",
            "老街1号",
            district_name=f"登记{tag}区",
        )
    clerk, _ = tokens.person("clerk", district, name="李登记", who="gate")
    phone = await open_page(phone=True, at=GATE)
    await sign_in(phone, clerk, tokens.password)
    await phone.goto("/staff/registry")
    await phone.click("#add-market summary")
    form = phone.locator("#add-market-form")
    for field, value in (
        ("name", f"东门{tag}市场"),
        ("operator", "东门市场公司"),
        ("address", "东门路1号"),
        ("capacity", "300"),
        ("open", "06:00"),
        ("close", "19:00"),
    ):
        await form.locator(f"#f-{field}").fill(value)
    await form.locator("button[data-locate]").click()
    await phone.wait_for_function(
        "() => document.querySelector('#add-market-form #f-latitude').value !== ''",
        timeout=10_000,
    )
    await shot(phone, "registering-located")
    await form.locator("button[type=submit]").click()
    await phone.wait_for_url(re.compile(r"/staff/registry/markets/mkt_[^?]+\?done=market$"))
    assert "北纬 37.49460° · 东经 121.44520°" in await phone.inner_text("#location")

    citizen = await open_page(phone=True, at=CITIZEN)
    await citizen.goto(f"/markets?q=东门{tag}")
    await citizen.click("a[data-near]")
    await citizen.wait_for_url(re.compile(r"/markets\?near="))
    listed = citizen.locator("#markets li[data-market]", has_text=f"东门{tag}市场")
    assert "约 760 米" in await listed.locator(".distance").inner_text()
