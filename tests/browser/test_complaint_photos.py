"""A citizen's photo of a complaint in a real browser, on a phone: the public form takes a photo
(no sign-in), the receipt and the tracking page say one was attached and show none, and the
district's handler opens the case and sees it, full size through the console, cleaned of the
place it was taken."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, sign_in
from tests.support.city import provision
from tests.support.identity import Tokens
from tests.support.images import TEXT_MARK, plain_png, png
from tests.support.poll import until


async def test_a_citizen_files_with_a_photo_and_the_handler_sees_it(
    console: Console, phone: Page, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    async with console.city.client("registry") as registry:
        place = await provision(registry, stall_no="P-1")
    facts = f"秤不准，少了二两，照片为证 {uuid.uuid4().hex[:6]}"

    # The citizen, on a phone, with no sign-in.
    await phone.goto(f"/complaints/new?market_id={place.market_id}")
    await phone.locator(f"#merchant_id option[value='{place.merchant_id}']").wait_for(
        state="attached"
    )
    await phone.select_option("#merchant_id", place.merchant_id)
    await phone.select_option("#category", "short_weight")
    await phone.fill("#facts", facts)
    await phone.fill("#request", "退还差价")
    await phone.fill("#name", "市民赵六")
    await phone.fill("#phone", "13905350188")
    assert await phone.get_attribute("#photos", "accept") == "image/*"
    await phone.set_input_files(
        "#photos", files=[{"name": "秤.png", "mimeType": "image/png", "buffer": png()}]
    )
    await shot(phone, "complaint-with-photo")

    async def filed() -> bool:
        # The complaints service learns new markets from the registry's topic: until then it
        # refuses the market, and the form offers the photo it already uploaded again.
        await phone.click("#complaint-form button[type=submit]")
        await phone.wait_for_load_state("load")
        return "/complaints/filed/" in phone.url

    await until(filed, within=60, every=1, what="the complaint was filed")
    await shot(phone, "complaint-filed-with-photo")
    assert "1 张照片" in await phone.inner_text("#photos-attached")
    code = (await phone.inner_text("#tracking-code")).strip()
    await phone.click("#track-link")
    await phone.wait_for_url(re.compile(r"/complaints/track/"))
    assert "1 张" in await phone.inner_text("#photos-count")
    assert await phone.locator("main img").count() == 0  # public pages show no photo

    # The district's handler, on a phone: the case shows the photo.
    async with console.city.client("complaints", "handler", place.district) as complaints:
        listed = (await complaints.get("/complaints", params={"market_id": place.market_id})).json()
    [case] = [c for c in listed["items"] if c["tracking_code"] == code]
    handler = await open_page(phone=True)
    username, _ = tokens.person("handler", place.district, name="钱处理", who="browser")
    await sign_in(handler, username, tokens.password)
    await handler.goto(f"/staff/complaints/{case['id']}")
    thumb = handler.locator("#complaint-photos img")
    await thumb.wait_for()
    await handler.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=await thumb.element_handle()
    )
    await shot(handler, "case-with-photo")
    assert await thumb.get_attribute("alt") == "投诉人照片 1"
    # Full size: the link opens the photo itself, through the console, without its text chunks.
    link = handler.locator("#complaint-photos a")
    href = await link.get_attribute("href")
    assert href == await thumb.get_attribute("src")
    assert await link.get_attribute("target") == "_blank"
    full = await handler.request.get(f"{console.url}{href}")
    assert full.status == 200 and full.headers["content-type"] == "image/png"
    body = await full.body()
    assert body == plain_png() and TEXT_MARK not in body
    width = await handler.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the case page is {width} px wide on a 375 px phone"
