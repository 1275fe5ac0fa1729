"""信用异议 in a real browser on the real services, on phones: an inspection found a minor
problem at a merchant (−5); a clerk records the merchant's objection beside that entry of its
credit record (an empty statement is named beside the field and files nothing), withdraws it as
recorded in error (an empty reason named beside its field) and records it again; another clerk
finds it waiting on 信用异议, is told beside the field to pick 更正 or 维持, corrects the record,
and the merchant's score comes back once credit has read the decision; the first clerk's page
then says 已更正, and a leader reads it all without a form and downloads the month's 信用异议台账
with the objection's row. The merchant's public page says a record is disputed while it is, and
nothing of what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    Console,
    Shots,
    download,
    file_complaint,
    found_minor_days_ago,
    inspected_minor,
    month_of,
    sign_in,
    submit,
    the_row,
)
from tests.support.identity import Tokens
from tests.support.poll import until


async def on_a_phone(
    open_page: Pages,
    tokens: Tokens,
    role: str,
    district: str,
    name: str,
    who: str,
    shot: Shots | None = None,
) -> Page:
    """A new phone's page, signed in as the test person `who` of `role` in `district`."""
    username, _ = tokens.person(role, district, name=name, who=who)
    page: Page = await open_page(phone=True)
    await sign_in(page, username, tokens.password, shot)
    return page


async def test_a_clerk_records_an_objection_and_another_clerk_corrects_the_record(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    inspected = await inspected_minor(console)
    place, city = inspected.filed.place, console.city

    async def score() -> tuple[int, list[dict[str, Any]]] | None:
        async with city.client("credit", "clerk", place.district) as credit:
            r = await credit.get(f"/merchants/{place.merchant_id}/credit")
        body = r.json() if r.status_code == 200 else {}
        kinds = {e["kind"] for e in body.get("ledger", [])}
        return (body["score"], body["ledger"]) if "inspection.finding.minor" in kinds else None

    before, _ = await until(score, within=60, every=0.5, what="credit scored the finding")
    entry = "#ledger li[data-kind='inspection.finding.minor']"

    phone = await on_a_phone(
        open_page, tokens, "clerk", place.district, "张登记", "objection", shot
    )
    await phone.goto(f"/staff/merchants/{place.merchant_id}")
    assert (await phone.inner_text("#score")).strip() == str(before)
    await phone.click(f"{entry} details.objection-new summary")
    answer = await submit(phone, f"{entry} details.objection-new", "/objections")
    assert answer.status == 422
    form = phone.locator(f"{entry} details.objection-new[open]")
    assert "请写明商户的异议理由" in await form.locator(".field-error").inner_text()
    assert await form.locator("textarea[name=statement]").get_attribute("aria-invalid") == "true"
    async with city.client("credit", "leader", place.district) as credit:
        listed = await credit.get("/objections", params={"merchant_id": place.merchant_id})
    assert listed.json()["items"] == []
    await shot(phone, "statement-missing")

    await form.locator("textarea[name=statement]").fill("商户称台秤准确")
    answer = await submit(phone, f"{entry} details.objection-new", "/objections")
    assert answer.status == 303
    assert "异议已登记" in await phone.inner_text("[role=status]")

    # Recorded in error: the clerk withdraws it (a blank reason is named beside its field) and
    # records the merchant's statement again.
    withdraw = f"{entry} .objection details.objection-withdraw"
    await phone.click(f"{withdraw} summary")
    answer = await submit(phone, withdraw, "/withdrawal")
    assert answer.status == 422
    assert "请写明撤回的原因" in await phone.inner_text(f"{withdraw} .field-error")
    await phone.fill(f"{withdraw} textarea[name=reason]", "登记有误，重新登记")
    answer = await submit(phone, withdraw, "/withdrawal")
    assert answer.status == 303
    assert "异议已撤回" in await phone.inner_text("[role=status]")
    assert "登记有误，重新登记" in await phone.inner_text(f"{entry} .objection")
    await shot(phone, "withdrawn")
    await phone.click(f"{entry} details.objection-new summary")
    again = phone.locator(f"{entry} details.objection-new")
    await again.locator("textarea[name=statement]").fill("当天电子秤已检定，商户提供了检定证书")
    answer = await submit(phone, f"{entry} details.objection-new", "/objections")
    assert answer.status == 303
    assert "待决定" in await phone.inner_text(f"{entry} .objection")
    assert "须由本区其他登记员" in await phone.inner_text(f"{entry} .objection")
    await shot(phone, "recorded")

    # A citizen at the stall reads that a record is disputed, and nothing of it.
    citizen = await open_page(phone=True)
    await citizen.goto(f"/merchants/{place.merchant_id}")
    disputed = await citizen.inner_text("#objections-open")
    assert "对 1 条信用记录提出了异议，正在核实" in disputed
    assert "检定证书" not in await citizen.inner_text("main")

    boss = await on_a_phone(open_page, tokens, "clerk", place.district, "周登记", "objection-2")
    await boss.goto("/staff/objections")
    waiting = boss.locator("#waiting li", has_text="当天电子秤已检定")
    assert "检查发现一般问题" in await waiting.inner_text()
    # Decided within 10 working days of receipt: filed today, all ten are left.
    deadline = await waiting.locator("dl.deadline").inner_text()
    assert "剩余 10 个工作日" in deadline and "收到后 10 个工作日内决定" in deadline
    await shot(boss, "waiting")
    await waiting.locator("a").click()
    await boss.wait_for_url(f"**/staff/merchants/{place.merchant_id}*")
    decide = f"{entry} .objection form[action$='/decision']"
    await boss.fill(f"{decide} textarea[name=reasoning]", "核实检定证书属实，记录有误")
    answer = await submit(boss, decide, "/decision")
    assert answer.status == 422
    assert "请选择更正或维持" in await boss.inner_text(f"{entry} .objection fieldset")
    assert (
        await boss.locator(f"{decide} textarea[name=reasoning]").input_value()
        == "核实检定证书属实，记录有误"
    )
    # Told beside the choice that correcting a finding also ends the order it made.
    assert "整改通知随之终止" in await boss.inner_text(f"{decide} fieldset .hint")
    await boss.check(f"{decide} input[name=decision][value=corrected]")
    answer = await submit(boss, decide, "/decision")
    assert answer.status == 303
    assert "已更正" in await boss.inner_text("[role=status]")
    await shot(boss, "corrected")

    # The inspector's task page: the order ended, its finding found wrong; nothing to re-check.
    inspector = await on_a_phone(
        open_page, tokens, "inspector", place.district, "李检查", "objection"
    )

    async def ended() -> bool:
        await inspector.goto(f"/staff/tasks/{inspected.task_id}")
        return await inspector.locator("#order-lapsed").count() == 1

    await until(ended, within=60, every=1.0, what="the order lapsed on the task's page")
    assert "检查结论经信用异议更正，没有需要整改的问题" in await inspector.inner_text(
        "#order-lapsed"
    )
    assert "去复查" not in await inspector.inner_text("main")
    await shot(inspector, "order-ended")

    async def corrected() -> bool:
        await boss.goto(f"/staff/merchants/{place.merchant_id}")
        return await boss.locator("#ledger li[data-kind='objection.corrected']").count() == 1

    await until(corrected, within=60, every=1.0, what="the correction in the ledger")
    assert (await boss.inner_text("#score")).strip() == str(before + 5)
    assert "+5 分" in await boss.inner_text("#ledger li[data-kind='objection.corrected']")
    await phone.reload()
    assert "已更正" in await phone.inner_text(f"{entry} .objection")
    assert "核实检定证书属实" in await phone.inner_text(f"{entry} .objection")
    assert "按期决定" in await phone.inner_text(f"{entry} .objection dl.deadline")
    await citizen.reload()
    assert await citizen.locator("#objections-open").count() == 0
    await shot(phone, "clerk-sees-corrected")

    reader = await on_a_phone(open_page, tokens, "leader", place.district, "吴领导", "objection")
    await reader.goto("/staff/objections")
    assert "核实检定证书属实" in await reader.inner_text("#decided")
    await reader.goto(f"/staff/merchants/{place.merchant_id}")
    assert "已更正" in await reader.inner_text(f"{entry} .objection")
    assert await reader.locator("#ledger form").count() == 0

    # The month's 信用异议台账: the objection, its deadline kept, its decision.
    await reader.goto("/staff/ledgers")
    filed = month_of(datetime.now(UTC).isoformat())
    name, rows = await download(reader, "objections", filed, shot)
    assert name.startswith("信用异议台账-") and name.endswith(f"-{filed}.xlsx")
    row = the_row(rows, rows[0].index("商户陈述"), "当天电子秤已检定，商户提供了检定证书")
    assert (row["状态"], row["处理情况"]) == ("已更正", "按期决定")
    withdrawn = the_row(rows, rows[0].index("商户陈述"), "商户称台秤准确")
    assert (withdrawn["状态"], withdrawn["决定或撤回理由"]) == ("已撤回", "登记有误，重新登记")
    assert row["决定或撤回理由"] == "核实检定证书属实，记录有误"


async def test_a_clerk_asks_for_a_repair_and_another_clerk_grants_it_on_phones(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots, kafka: str
) -> None:
    """信用修复: a minor finding of 100 days ago, the merchant's only one since; a clerk records
    the merchant's request beside it (without the commitment ticked, it is named beside the box
    and nothing is filed), another clerk grants it, and the score comes back."""
    place, city = (await file_complaint(console)).place, console.city
    await found_minor_days_ago(console, kafka, place, 100)

    async def scored(at: int) -> bool:
        async with city.client("credit", "clerk", place.district) as credit:
            r = await credit.get(f"/merchants/{place.merchant_id}/credit")
        return r.status_code == 200 and r.json()["score"] == at

    await until(lambda: scored(95), within=60, every=0.5, what="credit scored the old finding")
    entry = "#ledger li[data-kind='inspection.finding.minor']"
    repair = f"{entry} details.repair-new"

    phone = await on_a_phone(open_page, tokens, "clerk", place.district, "张登记", "repair", shot)
    await phone.goto(f"/staff/merchants/{place.merchant_id}")
    await phone.click(f"{repair} summary")
    await phone.fill(f"{repair} textarea[name=statement]", "已更换检定合格的电子秤")
    answer = await submit(phone, repair, "/objections")
    assert answer.status == 422
    box = phone.locator(f"{repair}[open] input[name=commitment]")
    assert await box.get_attribute("aria-invalid") == "true"
    assert "请确认已收到商户签署的信用承诺书" in await phone.inner_text(f"{repair} form")
    async with city.client("credit", "leader", place.district) as credit:
        listed = await credit.get("/objections", params={"merchant_id": place.merchant_id})
    assert listed.json()["items"] == []
    await shot(phone, "repair-commitment-missing")
    await box.check()
    answer = await submit(phone, repair, "/objections")
    assert answer.status == 303
    assert "信用修复申请已登记" in await phone.inner_text("[role=status]")
    assert "整改情况：已更换检定合格的电子秤" in await phone.inner_text(f"{entry} .objection")

    boss = await on_a_phone(open_page, tokens, "clerk", place.district, "周登记", "repair-2")
    await boss.goto("/staff/objections")
    waiting = boss.locator("#waiting li", has_text="已更换检定合格的电子秤")
    assert "信用修复" in await waiting.inner_text()
    await waiting.locator("a").click()
    await boss.wait_for_url(f"**/staff/merchants/{place.merchant_id}*")
    decide = f"{entry} .objection form[action$='/decision']"
    await boss.check(f"{decide} input[name=decision][value=repaired]")
    await boss.fill(f"{decide} textarea[name=reasoning]", "整改到位，承诺书齐全")
    answer = await submit(boss, decide, "/decision")
    assert answer.status == 303
    assert "已准予信用修复" in await boss.inner_text("[role=status]")
    await until(lambda: scored(100), within=60, every=0.5, what="the repair in the score")
    await boss.reload()
    assert "已修复" in await boss.inner_text(f"{entry} .objection")
    assert "+5 分" in await boss.inner_text("#ledger li[data-kind='objection.repaired']")
    await shot(boss, "repaired")
