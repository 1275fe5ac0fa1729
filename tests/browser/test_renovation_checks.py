"""A renovation project's quality and safety checks (质量安全检查) on a phone: the clerk records
a failed safety check on the project's page (each choice not made and the checker left empty
refused beside its field, nothing saved), the check stands on the page with what was found and
its deadline, the citizens read it on the market's public page, and the task inspection opens
for it tells the inspector what to see put right — a leader reaching the project from there.
Once built, 竣工验收 is refused while the failure stands; a passing check of its kind resolves
it, the project is accepted and the failure leaves the public page."""

from __future__ import annotations

import re

from tests.browser.conftest import Pages
from tests.browser.support import (
    Console,
    Shots,
    campaign_get,
    new_market,
    opened_task,
    planned_project,
    sign_in,
    submit,
)
from tests.support.identity import Tokens

FORM = "#check-form"


async def test_a_clerk_records_a_failed_check_and_the_inspector_reads_what_to_see_put_right(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    market = await new_market(console)
    project_id = await planned_project(console, market)
    async with console.city.client("campaign") as campaign:
        r = await campaign.post(f"/renovations/{project_id}/stage", json={"stage": "approved"})
        assert r.status_code == 200, r.text

    clerk, _ = tokens.person("clerk", market.district, name="钱登记", who="checks")
    page = await open_page(phone=True)
    await sign_in(page, clerk, tokens.password)
    await page.goto(f"/staff/renovations/{project_id}")
    assert "还没有检查记录" in await page.inner_text("main")
    await page.locator("details", has=page.locator(FORM)).locator("summary").click()

    # Nothing chosen and no checker named: each refused beside its field, nothing saved.
    answer = await submit(page, FORM, f"/renovations/{project_id}/checks")
    assert answer.status == 422
    assert await page.inner_text("#err-kind") == "请选择检查类型"
    assert await page.inner_text("#err-result") == "请选择检查结果"
    assert await page.inner_text("#err-inspector") == "必填"
    assert await page.get_attribute("#f-inspector", "aria-invalid") == "true"
    await shot(page, "check-refused")
    assert (await campaign_get(console, f"/renovations/{project_id}"))["checks"] == []

    await page.check('input[name="kind"][value="safety"]')
    await page.check('input[name="result"][value="fail"]')
    await page.fill("#f-inspector", "市住建局质安站 刘工")
    await page.fill("#f-findings", "施工区未设围挡\n\n消防通道堆放建材")
    answer = await submit(page, FORM, f"/renovations/{project_id}/checks")
    assert answer.status == 303
    await page.wait_for_url(re.compile(r"\?done=checked"))
    [check] = (await campaign_get(console, f"/renovations/{project_id}"))["checks"]
    assert (check["kind"], check["result"]) == ("safety", "fail")
    assert check["findings"] == ["施工区未设围挡", "消防通道堆放建材"]
    row = page.locator(f'#checks li[data-check="{check["check_id"]}"]')
    shown = await row.inner_text()
    assert "安全检查" in shown and "不合格" in shown and "消防通道堆放建材" in shown
    assert f"整改期限 {check['rectify_by']}" in shown and "整改中" in shown
    await shot(page, "check-recorded")
    # The list flags it until put right (and the clerk's home card counts it).
    await page.goto(f"/staff/renovations?market_id={market.market_id}")
    assert "检查不合格 1 项未整改" in await page.inner_text(f'[data-project="{project_id}"]')

    # The citizens read it under 信息公开, what was found line by line.
    citizen = await open_page(phone=True)
    await citizen.goto(f"/markets/{market.market_id}")
    disclosed = citizen.locator("#disclosures li[data-disclosure]", has_text="消防通道堆放建材")
    await disclosed.wait_for()
    assert await disclosed.locator("ul li").count() == 2

    # Inspection opens a task for the market; its page says what the check found.
    task_id = await opened_task(console, market.market_id, "renovation", "the renovation task")
    inspector, _ = tokens.person("inspector", market.district, name="孙检查", who="checks")
    field = await open_page(phone=True)
    await sign_in(field, inspector, tokens.password)
    await field.goto(f"/staff/tasks/{task_id}")
    trigger = field.locator(".trigger", has_text="安全检查不合格")
    text = await trigger.inner_text()
    assert "施工区未设围挡" in text and "市住建局质安站 刘工" in text
    assert f"整改期限 {check['rectify_by']}" in text
    # The project's page is a clerk's and a leader's: no link an inspector would be refused at.
    assert await trigger.locator('[data-why="renovation"]').count() == 0
    await shot(field, "inspector-task")

    leader, _ = tokens.person("leader", market.district, name="周领导", who="checks")
    reader = await open_page(phone=True)
    await sign_in(reader, leader, tokens.password)
    await reader.goto(f"/staff/tasks/{task_id}")
    await reader.click('.trigger [data-why="renovation"]')
    await reader.wait_for_url(f"**/staff/renovations/{project_id}#checks")
    assert await reader.locator(f'#checks li[data-check="{check["check_id"]}"]').count() == 1
    assert await reader.locator(FORM).count() == 0  # a leader reads, records nothing

    # Built, then 竣工验收 refused while the failure stands; a passing safety check resolves it,
    # the project is accepted and the citizens no longer read the failure.
    await page.goto(f"/staff/renovations/{project_id}")
    assert await page.inner_text("#stage-form button") == "开工建设"
    assert (await submit(page, "#stage-form", "/stage")).status == 303
    assert await page.inner_text("#stage-form button") == "竣工验收"
    assert (await submit(page, "#stage-form", "/stage")).status == 409
    assert await page.inner_text("#err-stage") == "还有未整改合格的质量或安全检查，不能验收"
    await shot(page, "acceptance-refused")
    await page.locator("details", has=page.locator(FORM)).locator("summary").click()
    await page.check('input[name="kind"][value="safety"]')
    await page.check('input[name="result"][value="pass"]')
    await page.fill("#f-inspector", "市住建局质安站 刘工")
    assert (await submit(page, FORM, f"/renovations/{project_id}/checks")).status == 303
    assert "已整改（复查合格）" in await row.inner_text()
    assert (await submit(page, "#stage-form", "/stage")).status == 303
    assert await page.inner_text("#stage") == "已验收"
    assert await page.locator("#stage-form").count() == 0
    await shot(page, "accepted")
    await citizen.reload()
    assert await citizen.locator("#disclosures li[data-disclosure]").count() == 0


async def test_a_closed_markets_project_says_it_goes_no_further(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """停业 at the registry while a project is planned: on a phone the clerk's project page then
    says so and offers no stage, consultation or check; the list tags the project."""
    market = await new_market(console)
    project_id = await planned_project(console, market)
    clerk, _ = tokens.person("clerk", market.district, name="孙登记", who="closing")
    page = await open_page(phone=True)
    await sign_in(page, clerk, tokens.password)
    await page.goto(f"/staff/renovations/{project_id}")
    assert await page.locator("#stage-form").count() == 1
    assert await page.locator("#market-closed").count() == 0

    async with console.city.client("registry") as registry:
        r = await registry.post(f"/markets/{market.market_id}/close", json={"reason": "并入新市场"})
        assert r.status_code == 200, r.text
    await page.reload()
    notice = await page.inner_text("#market-closed")
    assert f"该市场已于 {r.json()['closed_on']} 停业" in notice and "项目不再推进" in notice
    for form in ("#stage-form", "#consultation-form", "#check-form"):
        assert await page.locator(form).count() == 0
    await shot(page, "closed-market-project")
    await page.goto(f"/staff/renovations?market_id={market.market_id}")
    tag = page.locator(f'[data-project="{project_id}"] [data-closed]')
    assert await tag.inner_text() == f"市场已停业 · {r.json()['closed_on']}"
