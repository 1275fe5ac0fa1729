"""An inspector's day in a real browser (issue 15): a freezer door left open becomes a task; the
inspector signs in at the provider, finds the task first on the home's 待办 and under 待认领,
sees the excursion's temperature curve and the link to its risk, claims it (it moves to 我已认领),
completes it `major` with a finding and a photo, and sees the order it created with its deadline;
the merchant's page, and the task's, then show the lower grade. At 复查 the inspector adds a note
and a photo from the phone's camera, passes it, and reads both back on the task's page. An
inspector of another district cannot open the task, by list or by URL."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import CITY_TZ, Console, Shots, door_left_open, sign_in
from tests.support.identity import Tokens
from tests.support.poll import until
from tests.support.stalls import open_stall


def png(width: int = 8, height: int = 8) -> bytes:
    """A small, valid PNG (a grey square): what a phone's camera would upload."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_an_inspector_finds_claims_and_completes_the_door_open_task(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots, tmp_path: Path
) -> None:
    stall, task_id = await door_left_open(console)
    inspector, _ = tokens.person("inspector", stall.district, name="王检查", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, inspector, tokens.password, shot)
    # The home opens on what is due: the open task, with the button that claims it.
    claim_here = phone.locator(f'#due form[action="/staff/tasks/{task_id}/claim"] button')
    assert await claim_here.inner_text() == "认领"
    await shot(phone, "staff")

    await phone.goto("/staff/tasks")
    assert (await phone.inner_text("h1")).startswith("我的任务")
    row = phone.locator(f'#tasks [data-task="{task_id}"]')  # 待认领, with its 认领 button
    await row.wait_for()
    assert "冷链温度超标" in await row.inner_text()
    assert await row.get_by_role("button", name="认领").count() == 1
    # The task's place is the link that opens it: as tall as the button beside it.
    box = await row.locator("a").bounding_box()
    assert box is not None and box["height"] >= 44, box
    await shot(phone, "tasks")

    await row.locator("a").click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}")
    curve = phone.locator("[data-chart][data-drawn] canvas")
    await curve.first.wait_for()  # uPlot drew the excursion from the risk's evidence
    # Why, one click away: the trigger links to its risk.
    why = phone.locator('a[data-why="risk"]')
    # And the deadline says which rule set it: a major cold-chain risk's four hours.
    assert await phone.inner_text("#due-rule") == "较重风险：产生或升级后 4 小时内检查"
    risk_href = await why.get_attribute("href") or ""
    assert risk_href.startswith("/staff/risks/") and len(risk_href) > len("/staff/risks/")
    await shot(phone, "task")

    await phone.get_by_role("button", name="认领").click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}?done=claimed")
    assert "王检查" in await phone.inner_text("main")
    await shot(phone, "claimed")
    # Claimed, it is the inspector's own: first on 我的任务 and on the home, to complete.
    await phone.goto("/staff/tasks")
    assert await phone.locator(f'#mine [data-task="{task_id}"] [data-action="complete"]').count()
    await phone.goto("/staff/")
    assert await phone.locator(f'#due a[href="/staff/tasks/{task_id}#complete"]').count() == 1
    await phone.goto(f"/staff/tasks/{task_id}")

    photo = tmp_path / "freezer.png"
    photo.write_bytes(png())
    form = phone.locator("form#complete")
    await form.locator('input[name="outcome"][value="major"]').check()
    await form.locator('input[name="finding"][value="CCH-01"]').check()
    await form.locator('input[name="note_CCH-01"]').fill("冷柜门未关，柜内 −5 °C")
    await form.locator('input[name="department"][value="health"]').check()
    await form.locator('input[name="photos"]').set_input_files(str(photo))
    await shot(phone, "complete-form")
    await form.get_by_role("button", name="完成检查").click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}?done=completed")
    assert await phone.locator(".photos img").count() == 1
    # The order it created, with its deadline, one click from its 复查.
    order = phone.locator("#rectification")
    assert "整改期限" in await order.inner_text()
    href = await order.locator("a").get_attribute("href") or ""
    assert href.startswith("/staff/rectifications#r-")
    # What was found stays on the task: the finding by its name with its note, and who was there.
    found = await phone.inner_text("#findings")
    assert "冷藏冷冻设备温度超出规定范围" in found and "冷柜门未关，柜内 −5 °C" in found, found
    assert "较重" in found and "卫生健康" in found, found
    await shot(phone, "completed")

    # The major finding reaches credit; the merchant's page shows the lower grade.
    async with console.city.client("credit") as credit:

        async def lowered() -> dict[str, Any] | None:
            r = await credit.get(f"/merchants/{stall.merchant_id}/credit")
            body: dict[str, Any] = r.json()
            return body if body["grade"] != "A" else None

        score = await until(lowered, within=60, every=0.5, what="the grade fell")
    await phone.goto(f"/staff/merchants/{stall.merchant_id}")
    text = await phone.inner_text("main")
    assert f"{score['grade']}" in text and str(int(score["score"])) in text
    await shot(phone, "merchant")
    # The task shows the merchant's new grade, linked to its explanation.
    await phone.goto(f"/staff/tasks/{task_id}")
    grade = phone.locator("#grade")
    assert f"信用等级 {score['grade']}" in await grade.inner_text()
    assert await grade.get_attribute("href") == f"/staff/merchants/{stall.merchant_id}"
    await phone.goto(href)
    order_row = phone.locator(f'li[id="{href.split("#")[1]}"]')
    assert await order_row.count() == 1
    await shot(phone, "rectifications")
    # 复查 with its evidence (docs/console.md: evidence at the stall): a note and the camera's
    # photo.
    fixed = tmp_path / "fixed.png"
    fixed.write_bytes(png(12, 12))
    await order_row.locator('textarea[name="note"]').fill("冷柜门已修好，柜内 −18 °C")
    camera = order_row.locator('input[name="photos"]')
    assert await camera.get_attribute("capture") == "environment"
    await camera.set_input_files(str(fixed))
    await shot(phone, "recheck-form")
    # 复查 passed: recorded, and the order leaves the list.
    await order_row.get_by_role("button", name="复查通过").click()
    await phone.wait_for_url("**/staff/rectifications?done=verified")
    assert "复查结果已记录" in await phone.inner_text("main")
    assert await order_row.count() == 0
    # The order, on its task's page, shows the 复查's note and photo.
    await phone.goto(f"/staff/tasks/{task_id}")
    recheck = phone.locator("#recheck")
    text = await recheck.inner_text()
    assert "复查说明" in text and "冷柜门已修好，柜内 −18 °C" in text and "王检查" in text
    photo_shown = recheck.locator("#recheck-photos img")
    assert await photo_shown.count() == 1
    # The photo itself came back through the console (it drew, 12 px wide as sent).
    await phone.wait_for_function(
        "() => { const i = document.querySelector('#recheck-photos img');"
        " return i && i.complete && i.naturalWidth === 12; }"
    )
    await shot(phone, "rechecked")


async def test_an_inspector_of_another_district_cannot_open_the_task(
    console: Console, page: Page, tokens: Tokens, shot: Shots
) -> None:
    _, task_id = await door_left_open(console)
    async with console.city.client("registry") as registry:
        other = f"x{task_id[-8:]}"
        r = await registry.post("/districts", json={"code": other, "name": other})
        assert r.status_code == 201, r.text
    stranger, _ = tokens.person("inspector", other, name="赵外区", who="browser")
    await sign_in(page, stranger, tokens.password, shot)
    await page.goto("/staff/tasks")
    assert await page.locator(f'[data-task="{task_id}"]').count() == 0
    await shot(page, "tasks")
    answer = await page.goto(f"/staff/tasks/{task_id}")
    assert answer is not None and answer.status == 404
    assert "找不到该任务" in await page.inner_text("main")
    await shot(page, "task-refused")


async def test_a_refused_completion_says_why_in_chinese_beside_the_field_at_fault(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """Inspection refuses a 较重问题 with no finding, and an outcome milder than its finding:
    each reason stands beside the field at fault in Chinese, and the task stays claimed."""
    stall, task_id = await door_left_open(console)
    inspector, _ = tokens.person("inspector", stall.district, name="钱检查", who="browser")
    await sign_in(phone, inspector, tokens.password)
    await phone.goto(f"/staff/tasks/{task_id}")
    await phone.get_by_role("button", name="认领").click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}?done=claimed")
    form = phone.locator("form#complete")

    await form.locator('input[name="outcome"][value="major"]').check()
    await form.get_by_role("button", name="完成检查").click()
    findings = phone.locator('form#complete fieldset:has(input[name="finding"]) .field-error')
    await findings.wait_for()
    said = await findings.inner_text()
    await shot(phone, "no-finding")
    assert said == "检查结果为一般、较重或严重问题时，须至少勾选一项问题", said

    await form.locator('input[name="outcome"][value="minor"]').check()
    await form.locator('input[name="finding"][value="CCH-01"]').check()  # a major finding
    await form.get_by_role("button", name="完成检查").click()
    outcome = phone.locator('form#complete fieldset:has(input[name="outcome"]) .field-error')
    await outcome.wait_for()
    said = await outcome.inner_text()
    await shot(phone, "milder-outcome")
    assert said == "检查结果不能轻于所勾选的问题项：至少为“较重问题”", said
    async with console.city.client("inspection") as inspection:
        r = await inspection.get(f"/tasks/{task_id}")
        assert r.json()["state"] == "claimed"  # nothing half-saved


async def test_department_staff_read_a_task_by_its_market_and_what_is_not_theirs_in_chinese(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """部门人员 read the district's tasks (docs/console.md) but not its risks or complaints: the
    task names its market, its trigger says 您的角色无权查看此项 with no link to a page that
    would refuse them, and the risk's page, the risk board and the complaint queue refuse them in
    Chinese rather than failing (500) or quoting a service's English."""
    stall, task_id = await door_left_open(console)
    async with console.city.client("registry") as registry:
        market_name = (await registry.get(f"/markets/{stall.market_id}")).json()["name"]
    async with console.city.client("inspection") as inspection:
        risk_id = (await inspection.get(f"/tasks/{task_id}")).json()["triggers"][0]["id"]
    staff, _ = tokens.person("department", stall.district, name="孙部门", who="browser")
    await sign_in(phone, staff, tokens.password)

    await phone.goto("/staff/tasks")
    row = phone.locator(f'[data-task="{task_id}"]')
    assert market_name in await row.inner_text()
    await shot(phone, "tasks")
    await row.locator("a").first.click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}")
    trigger = await phone.inner_text(".trigger")
    await shot(phone, "task")
    assert "您的角色无权查看此项" in trigger, trigger
    assert not re.search(r"[A-Za-z]{3,}", trigger), trigger
    assert await phone.locator('a[data-why="risk"]').count() == 0

    # The registry's pages too, reached by their address: a page the person's role may not read
    # says so (403), never a bare Internal Server Error.
    for path in (f"/staff/risks/{risk_id}", "/staff/risks", "/staff/complaints", "/staff/registry"):
        answer = await phone.goto(path)
        assert answer is not None and answer.status == 403, (path, answer and answer.status)
        said = await phone.inner_text("main")
        await shot(phone, f"refused-{path}")
        assert "无权" in said and not re.search(r"[A-Za-z]{3,}", said), (path, said)


async def test_a_merchants_patrol_plan_says_when_it_is_next_due_and_why(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall = await open_stall(console.city)
    async with console.city.client("inspection") as inspection:

        async def planned() -> dict[str, Any] | None:
            r = await inspection.get(f"/patrol-plans/{stall.merchant_id}")
            return r.json() if r.status_code == 200 else None

        plan = await until(planned, within=90, every=0.5, what="the merchant's patrol plan")
    inspector, _ = tokens.person("inspector", stall.district, who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, inspector, tokens.password)
    await phone.goto(f"/staff/merchants/{stall.merchant_id}/patrol-plan")

    def day(moment: str) -> str:
        return datetime.fromisoformat(moment).astimezone(CITY_TZ).strftime("%Y-%m-%d")

    # The dates are inspection's own, as days in the city; never inspected here, the anchor is
    # when planning began.
    due = await phone.inner_text("#plan-due")
    assert due.startswith(day(plan["due_at"])), (due, plan)
    anchor = await phone.inner_text("#plan-anchor")
    assert day(plan["anchor"]) in anchor, (anchor, plan)
    assert ("尚未检查" in anchor) == bool(plan.get("first_round")), (anchor, plan)
    interval = await phone.inner_text("#plan-interval")
    assert interval.startswith(f"{plan['interval_days']} 天"), (interval, plan)
    assert plan["interval_reason"] in ("grade", "default_grade")
    assert ("按信用等级" if plan["interval_reason"] == "grade" else "未评级") in interval
    await shot(phone, "patrol-plan")
