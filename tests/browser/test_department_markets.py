"""部门人员 may read their district's markets (docs/console.md): with no 总览 of their own, they
reach a market's page from a task of it, as every reader of a task does."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.support import Console, Shots, door_left_open, sign_in
from tests.support.identity import Tokens


async def test_department_staff_reach_a_tasks_market_from_the_task_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    stall, task_id = await door_left_open(console)
    async with console.city.client("registry") as registry:
        market_name = (await registry.get(f"/markets/{stall.market_id}")).json()["name"]
    staff, _ = tokens.person("department", stall.district, name="吴部门", who="browser")
    await sign_in(phone, staff, tokens.password)

    await phone.goto(f"/staff/tasks/{task_id}")
    await shot(phone, "task")
    link = await phone.locator("a#market").bounding_box()
    assert link is not None and link["height"] >= 44, link  # pressed at a stall, on a phone
    async with phone.expect_navigation() as went:
        await phone.click("a#market")
    answer = await went.value
    assert answer is not None and answer.status == 200
    assert phone.url.endswith(f"/staff/markets/{stall.market_id}")
    assert await phone.inner_text("h1") == market_name
    await shot(phone, "market")
