"""The public complaint form tells a citizen of every problem at once (signed out, on a 375 px
phone): a fact left blank, which the form finds itself, and a malformed phone, which only the
complaints service can tell, stand beside their own fields on the first try; what was typed is
kept and nothing is stored."""

from __future__ import annotations

import uuid

from playwright.async_api import Page

from services.console import labels
from tests.browser.support import Console, Shots, register_market, submit
from tests.support.poll import until


async def test_a_blank_fact_and_a_malformed_phone_are_shown_beside_their_fields_at_once(
    console: Console, phone: Page, shot: Shots
) -> None:
    tag = uuid.uuid4().hex[:6]
    district = f"e{tag}"
    async with console.city.client("registry") as registry:
        market_id = await register_market(
            registry, district, f"一次说清市场{tag}", "市场管理公司", "新华路2号",
            district_name=f"一次区{tag}",
        )  # fmt: skip
    citizen = phone
    await citizen.goto(f"/complaints/new?market_id={market_id}")
    assert await citizen.input_value("#market_id") == market_id
    await citizen.select_option("#category", "price")
    await citizen.fill("#request", "退还差价")
    await citizen.fill("#name", "市民赵六")
    await citizen.fill("#phone", "12345")

    async def refused_for_the_two() -> bool:
        # The complaints service learns a new market from the registry's topic; until then it
        # names the market too, and the citizen would send again.
        answer = await submit(citizen, "#complaint-form", "/complaints/new")
        assert answer.status == 422, answer.status
        return await citizen.locator("#market_id-error").count() == 0

    await until(refused_for_the_two, within=60, every=1, what="the market is known")
    await shot(citizen, "complaint-two-problems")
    assert (await citizen.inner_text("#facts-error")).strip() == "必填"
    # What the service takes, not 格式不正确 alone: the citizen would not know what to type.
    assert (await citizen.inner_text("#phone-error")).strip() == labels.PHONE_TAKEN
    for field in ("facts", "phone"):
        assert await citizen.get_attribute(f"#{field}", "aria-invalid") == "true"
    # No other field is faulted, and what was typed is kept.
    assert await citizen.locator("[id$='-error']").count() == 2
    assert await citizen.input_value("#phone") == "12345"
    assert await citizen.input_value("#name") == "市民赵六"
    # Each error beside its own field: right below it on the phone's narrow page.
    for field in ("facts", "phone"):
        box = await citizen.locator(f"#{field}").bounding_box()
        error = await citizen.locator(f"#{field}-error").bounding_box()
        assert box is not None and error is not None
        assert 0 <= error["y"] - (box["y"] + box["height"]) < 40, field
        assert error["x"] + error["width"] <= 375
    async with console.city.client("complaints", "handler", district) as complaints:
        r = await complaints.get("/complaints", params={"market_id": market_id})
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []
