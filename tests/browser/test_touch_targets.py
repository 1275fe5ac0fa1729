"""Phone first (docs/console.md): on a 375 px phone every link and button an operator, a leader
or an inspector presses is 44 px both ways, the way back and the numbers' "why" included, not
only the menu and the forms' buttons."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import Page

from tests.browser.support import (
    Console,
    Shots,
    complaint_body,
    door_left_open,
    file_complaint,
    register_market,
    sign_in,
    small_targets,
)
from tests.support.identity import Tokens
from tests.support.poll import until


async def a_market(console: Console) -> tuple[str, str]:
    """A market of a new district: (district, market id)."""
    district = f"t{uuid.uuid4().hex[:7]}"
    async with console.city.client("registry") as registry:
        market_id = await register_market(
            registry,
            district,
            f"触控市场{uuid.uuid4().hex[:4]}",
            "触控市场管理公司",
            "触控路1号",
            district_name=f"触控{district[-4:]}区",
        )
    return district, market_id


async def signed_in(phone: Page, tokens: Tokens, role: str, district: str, **claims: Any) -> None:
    username, _ = tokens.person(role, district, who="touch", **claims)
    await sign_in(phone, username, tokens.password)


async def small_on(phone: Page, shot: Shots, path: str, ready: str | None = None) -> list[str]:
    """What is too small to press on `path` once it shows `ready` (a selector)."""
    answer = await phone.goto(path)
    assert answer is not None and answer.status == 200, path
    if ready is not None:
        await phone.wait_for_selector(ready)
    await shot(phone, path)
    return await small_targets(phone)


async def test_every_link_and_button_of_an_operators_day_is_big_enough_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    district, market_id = await a_market(console)
    await signed_in(phone, tokens, "operator", district, market_id=market_id, name="孙主办")
    for path in ("/staff/", f"/staff/duties/{market_id}", f"/staff/training/markets/{market_id}"):
        assert await small_on(phone, shot, path) == [], path


async def test_every_link_of_a_market_page_is_big_enough_for_a_leader_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    district, market_id = await a_market(console)
    await signed_in(phone, tokens, "leader", district, name="周领导")
    assert await small_on(phone, shot, f"/staff/markets/{market_id}") == []


async def test_every_link_of_a_task_is_big_enough_for_an_inspector_at_the_stall(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A task's "why" (its risk, the merchant's grade, its patrol plan), pressed at the stall."""
    stall, task_id = await door_left_open(console)
    await signed_in(phone, tokens, "inspector", stall.district, name="郑检查")
    assert await small_on(phone, shot, f"/staff/tasks/{task_id}", ready="a#grade") == []


async def test_every_link_of_the_risk_board_is_big_enough_for_a_leader_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A risk's 详情 (or 温度曲线) is the way to its curve, two characters wide on a phone."""
    stall, _ = await door_left_open(console)
    await signed_in(phone, tokens, "leader", stall.district, name="冯领导")
    board = f"/staff/risks?market_id={stall.market_id}"
    assert await small_on(phone, shot, board, ready='a[href^="/staff/risks/"]') == []


async def test_every_link_of_a_complaint_is_big_enough_for_a_handler_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A case's linked duplicate (its 查询码) and its inspection task, opened from the case."""
    filed = await file_complaint(console)
    place = filed.place
    # A second citizen tells the same of the same stall within 48 hours: linked as a duplicate.
    async with httpx.AsyncClient(base_url=console.city.urls["complaints"], timeout=10) as public:
        r = await public.post("/complaints", json=complaint_body(place, "市民乙", "13805350002"))
        assert r.status_code == 201, r.text
    async with console.city.client("complaints", "handler", place.district) as complaints:
        r = await complaints.post(f"/complaints/{filed.complaint_id}/accept")
        assert r.status_code == 200, r.text
    await signed_in(phone, tokens, "handler", place.district, name="韩处理")
    case = f"/staff/complaints/{filed.complaint_id}"

    async def linked_and_tasked() -> bool:
        await phone.goto(case)
        return bool(
            await phone.locator("#linked li a").count()
            and await phone.locator("#tasks li a").count()
        )

    await until(linked_and_tasked, within=60, every=1, what="the duplicate and the task shown")
    assert await small_on(phone, shot, case) == []


async def test_every_field_of_a_clerks_and_a_citizens_form_is_big_enough_on_a_phone(
    console: Console, phone: Page, open_page: Any, tokens: Tokens, shot: Shots
) -> None:
    """A time, a date-and-time and every other field is as tall as a finger, not only the text
    boxes: 登记市场's 开市 / 闭市时间 and the citizen's 发生时间 were the browser's default size."""
    district, market_id = await a_market(console)
    await signed_in(phone, tokens, "clerk", district, name="钱登记")
    await phone.goto("/staff/registry")
    await phone.click("#add-market summary")
    await shot(phone, "add-market")
    assert await small_targets(phone) == []

    citizen = await open_page(phone=True)
    answer = await citizen.goto(f"/complaints/new?market_id={market_id}")
    assert answer is not None and answer.status == 200
    await shot(citizen, "complaint-new")
    assert await small_targets(citizen) == []
