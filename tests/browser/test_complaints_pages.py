"""The complaint handler's pages in a real browser (issue 15): a citizen's complaint reaches the
queue with both working-day clocks, the handler accepts it, a refused close shows the service's
error beside the field, the handler closes it substantiated, and the merchant's credit page then
shows the adjustment linked to the complaint. A handler of another district cannot open the
case, by URL either."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from playwright.async_api import Page

from sentinel_cli.identity import client_grant
from tests.browser.conftest import Pages
from tests.browser.support import FACTS, Console, Shots, file_complaint, sign_in
from tests.support.city import provision
from tests.support.identity import Tokens
from tests.support.poll import until

HANDLER = "赵处理"


async def test_a_handler_accepts_and_closes_a_complaint_and_the_merchant_credit_follows(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    filed = await file_complaint(console)
    district, case = filed.place.district, filed.complaint_id
    username, _ = tokens.person("handler", district, name=HANDLER, who="browser")
    await sign_in(phone, username, tokens.password, shot)
    # The home opens on what is due: the new case, to accept.
    accept = phone.locator(f'a[href="/staff/complaints/{case}"]')
    due = phone.locator("#due li", has=accept)
    assert await due.locator(accept).inner_text() == "受理"
    assert "待受理" in await due.inner_text()
    # Where, as a task's place reads: the market and the stall, so two cases in one market
    # are told apart before either is opened.
    assert "摊位 C-3" in await due.inner_text()
    assert "剩余" in await due.inner_text() and "个工作日" in await due.inner_text()
    await shot(phone, "staff")

    # The queue: the new case, with both clocks and the rules that set them.
    await phone.locator("nav a[href='/staff/complaints']").click()
    await phone.wait_for_url("**/staff/complaints")
    row = phone.locator(f"li[data-complaint='{case}']")
    await row.wait_for()
    await shot(phone, "complaints")
    text = await row.inner_text()
    assert "缺斤短两" in text and "待受理" in text, text
    assert "受理期限" in text and "剩余" in text and "个工作日" in text, text
    assert "调解期限" in text and "受理后起算" in text, text
    assert "摊位 C-3" in text, text
    assert "收到后 7 个工作日" in await phone.inner_text("main")

    # The case: facts, request and both clocks; accept it.
    await row.locator("a").first.click()
    await phone.wait_for_url(f"**/staff/complaints/{case}")
    await shot(phone, "case-received")
    assert FACTS in await phone.inner_text("main")
    assert "受理后 45 个工作日" in await phone.inner_text("#clocks")
    await phone.click("#accept button[type=submit]")
    await phone.wait_for_url(f"**/staff/complaints/{case}?done=accepted")
    await shot(phone, "case-accepted")
    assert "已受理" in await phone.inner_text("#state")
    timeline = await phone.inner_text("#timeline")
    assert "受理" in timeline and HANDLER in timeline, timeline
    assert "计时中" in await phone.inner_text("#clocks")

    # A close the service refuses (unfounded yet substantiated): the reason beside the field,
    # what was typed kept, nothing changed.
    await phone.select_option("#outcome", "unfounded")
    await phone.check("input[name=substantiated][value=true]")
    await phone.check("input[name=satisfaction][value='4']")
    await phone.click("#close button[type=submit]")
    error = phone.locator("#close fieldset", has_text="是否属实").locator(".field-error")
    await error.wait_for()
    await shot(phone, "close-refused")
    assert "不能认定投诉属实" in await error.inner_text()
    assert await phone.input_value("#outcome") == "unfounded"
    assert await phone.is_checked("input[name=satisfaction][value='4']")
    assert "已受理" in await phone.inner_text("#state")

    # Closed: refunded, substantiated, satisfaction 4.
    await phone.select_option("#outcome", "refunded")
    await phone.click("#close button[type=submit]")
    await phone.wait_for_url(f"**/staff/complaints/{case}?done=closed")
    await shot(phone, "case-closed")
    assert "已办结" in await phone.inner_text("#state")
    timeline = await phone.inner_text("#timeline")
    assert "办结" in timeline and "退款退货 · 属实 · 满意度 4/5" in timeline, timeline
    assert "按期办结" in await phone.inner_text("#clocks")
    assert await phone.locator("#close").count() == 0

    # The merchant's page: the grade, and the substantiated complaint in its explanation,
    # linked back to the case.
    await phone.click("#case a:text('信用')")
    await phone.wait_for_url(f"**/staff/merchants/{filed.place.merchant_id}")
    entry = phone.locator("#ledger li[data-kind='complaint.substantiated']")

    async def adjusted() -> bool:
        if await entry.count():
            return True
        await phone.reload()
        return False

    await until(adjusted, within=60, every=1, what="the complaint's credit adjustment")
    await shot(phone, "merchant-credit")
    assert (await phone.inner_text("#grade")).strip() in ("A", "B", "C", "D")
    assert "投诉属实" in await entry.inner_text()
    link = entry.locator("a[data-link='complaint']")
    assert await link.get_attribute("href") == f"/staff/complaints/{case}"
    assert await entry.locator(".delta.down").count() == 1, "a substantiated complaint costs"


async def test_a_handler_of_another_district_cannot_open_the_case(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    filed = await file_complaint(console)
    async with console.city.client("registry") as registry:
        other = (await provision(registry)).district
    username, _ = tokens.person("handler", other, name="钱处理", who="browser")
    await sign_in(phone, username, tokens.password)
    await phone.goto("/staff/complaints")
    await shot(phone, "complaints-other-district")
    assert await phone.locator(f"li[data-complaint='{filed.complaint_id}']").count() == 0
    response = await phone.goto(f"/staff/complaints/{filed.complaint_id}")
    await shot(phone, "case-refused")
    assert response is not None and response.status == 404
    assert "找不到该投诉" in await phone.inner_text("main")
    assert filed.tracking_code not in await phone.inner_text("body")


async def test_a_reason_typed_when_the_network_fails_is_kept_and_nothing_was_decided(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A weak network (docs/console.md): the handler types why a case is rejected and sends it
    while the phone is offline; the request never leaves. Opening the case again, the reason is
    back in its field, the page says the last send did not arrive, and the case is still 待受理."""
    filed = await file_complaint(console)
    case = filed.complaint_id
    username, _ = tokens.person("handler", filed.place.district, name=HANDLER, who="browser")
    await sign_in(phone, username, tokens.password)
    await phone.goto(f"/staff/complaints/{case}")
    reason = "商户已于当日退还差价，双方已和解。"
    await phone.fill("#reason", reason)
    await phone.context.set_offline(True)
    try:
        await phone.locator("form#reject button[type=submit]").click(no_wait_after=True)

        async def failed() -> bool:
            return not phone.url.startswith(console.url)  # the browser's own error page

        await until(failed, within=20, every=0.2, what="the send failed offline")
    finally:
        await phone.context.set_offline(False)

    await phone.goto(f"/staff/complaints/{case}")
    assert await phone.input_value("#reason") == reason
    assert "没有送达" in await phone.locator("form#reject [data-draft-restored]").inner_text()
    await shot(phone, "draft-restored")
    async with console.city.client("complaints") as complaints:
        state = (await complaints.get(f"/complaints/{case}")).json()["state"]
    assert state == "received"
    # Shown once: the next visit is a blank form again.
    await phone.goto(f"/staff/complaints/{case}")
    assert await phone.input_value("#reason") == ""
    assert await phone.locator("[data-draft-restored]").count() == 0


async def test_a_case_accepted_by_a_machine_client_names_no_technical_account(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A case the operations client accepted (as `make demo` does): the timeline says 系统, not
    the provider's service account `service-account-sentinel-ops`."""
    filed = await file_complaint(console)
    # The provider's administrator reads the client's secret, as `make token CLIENT=` has it.
    secret = tokens.admin._client("sentinel-ops")["secret"]
    token = await asyncio.to_thread(client_grant, console.issuer, "sentinel-ops", secret)
    async with httpx.AsyncClient(base_url=console.city.urls["complaints"], timeout=10) as api:
        r = await api.post(
            f"/complaints/{filed.complaint_id}/accept",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted_actor"]["name"].startswith("service-account-"), r.text
    username, _ = tokens.person("handler", filed.place.district, name=HANDLER, who="browser")
    await sign_in(phone, username, tokens.password)
    await phone.goto(f"/staff/complaints/{filed.complaint_id}")
    accepted = phone.locator("#timeline li", has_text="受理")
    await shot(phone, "case")
    text = await accepted.first.inner_text()
    assert "系统" in text and "service-account" not in text, text

    # 办结 with nothing picked (a browser that does not check `required`): the 满意度 is asked
    # for as something to pick, beside its scale.
    await phone.locator("#close").evaluate("f => { f.noValidate = true; }")
    await phone.click("#close button[type=submit]")
    scale = phone.locator("#close fieldset", has_text="满意度").locator(".field-error")
    await scale.wait_for()
    await shot(phone, "close-nothing-picked")
    assert await scale.inner_text() == "请选择满意度"

    # The complainant cannot be reached for a rating: 未能回访 closes it, and says so.
    await phone.select_option("#outcome", "mediated")
    await phone.check("input[name=substantiated][value=false]")
    await phone.get_by_label("未能回访", exact=False).check()
    await phone.click("#close button[type=submit]")
    await phone.wait_for_url(f"**/staff/complaints/{filed.complaint_id}?done=closed")
    await shot(phone, "closed-not-reached")
    timeline = await phone.inner_text("#timeline")
    assert "调解成功 · 不属实 · 未能回访" in timeline and "满意度" not in timeline, timeline


async def test_a_handler_answers_a_citizens_suggestion_and_the_citizen_reads_it_by_its_code(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """A citizen's 意见建议 about a market reaches the district's handler, who answers it on the
    console (a blank answer refused beside the field); the citizen reads the answer by the
    suggestion's 查询码."""
    filed = await file_complaint(console)  # a market the complaints service knows
    text = f"建议市场入口增设公平秤。{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=console.city.urls["complaints"], timeout=10) as public:
        r = await public.post(
            "/suggestions",
            json={
                "about": "market",
                "market_id": filed.place.market_id,
                "text": text,
                "publish_answer": True,
                "name": "市民丁",
                "phone": "13805350009",
            },
        )
        assert r.status_code == 201, r.text
        suggestion_id, code = r.json()["id"], r.json()["tracking_code"]
    username, _ = tokens.person("handler", filed.place.district, name=HANDLER, who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, username, tokens.password)
    await phone.locator("main a[href='/staff/suggestions']").click()
    await phone.wait_for_url("**/staff/suggestions")
    row = phone.locator(f"li[data-suggestion='{suggestion_id}']")
    said = await row.inner_text()
    await shot(phone, "suggestions")
    assert text in said and "市民丁" in said and code in said, said

    form = row.locator("form")
    await form.evaluate("f => { f.noValidate = true; }")
    await form.get_by_role("button", name="答复").click()
    beside = phone.locator(f"#err-answer-{suggestion_id}")
    await phone.wait_for_function(
        "id => document.getElementById(id)?.textContent.trim() === '必填'",
        arg=f"err-answer-{suggestion_id}",
    )
    await shot(phone, "answer-refused")
    assert await beside.inner_text() == "必填"

    await row.locator("textarea").fill("已在入口设置公平秤，欢迎复称。")
    await row.get_by_role("button", name="答复").click()
    await phone.wait_for_url("**/staff/suggestions?done=answered")
    assert await phone.locator(f"li[data-suggestion='{suggestion_id}']").count() == 0
    await phone.goto("/staff/suggestions?view=answered")
    assert "已在入口设置公平秤" in await row.inner_text()
    await shot(phone, "answered")

    citizen = await open_page(phone=True)
    await citizen.goto(f"/suggestions/track/{code}")
    await shot(citizen, "citizen-reads")
    assert "已在入口设置公平秤，欢迎复称。" in await citizen.inner_text("main")


async def test_a_complaint_about_another_districts_market_is_transferred_and_decided_there(
    console: Console, phone: Page, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """移送: a citizen named the wrong market. The handler of its district moves the case to the
    right market, in another district, refused first for a reason left out; it leaves their queue,
    reaches the other district's handler with the move in its timeline, and the citizen's
    tracking page names the market now handling it."""
    filed, there = await file_complaint(console), await file_complaint(console)
    case = filed.complaint_id
    username, _ = tokens.person("handler", filed.place.district, name=HANDLER, who="browser")
    await sign_in(phone, username, tokens.password)
    await phone.goto(f"/staff/complaints/{case}")
    # A rare way out, folded under the decision that moves most cases on (受理).
    assert await phone.locator("#transfer-box").get_attribute("open") is None
    await phone.click("#transfer-box summary")
    form = phone.locator("form#transfer")
    await form.locator("#market_id").select_option(there.place.market_id)
    await form.locator("#stall_no").fill(there.place.stall_no)
    await form.locator("button[type=submit]").click()
    error = form.locator("#transfer_reason-error")
    await error.wait_for()
    assert await phone.locator("#transfer-box").get_attribute("open") is not None
    await shot(phone, "transfer-refused")
    assert await error.inner_text() == "必填"
    assert await form.locator("#market_id").input_value() == there.place.market_id
    assert await form.locator("#stall_no").input_value() == there.place.stall_no

    await form.locator("#transfer_reason").fill("投诉所述摊位在另一区的市场")
    await form.locator("button[type=submit]").click()
    await phone.wait_for_url("**/staff/complaints?done=transferred")
    await shot(phone, "transferred")
    assert "已移送" in await phone.inner_text("[role=status]")
    assert await phone.locator(f"li[data-complaint='{case}']").count() == 0

    receiving, _ = tokens.person("handler", there.place.district, name="钱处理", who="browser")
    other = await open_page(phone=True)
    await sign_in(other, receiving, tokens.password)
    due = other.locator("#due li", has=other.locator(f'a[href="/staff/complaints/{case}"]'))
    assert "移送件" in await due.inner_text()  # the home says it came from elsewhere
    await other.goto("/staff/complaints")
    row = other.locator(f"li[data-complaint='{case}']")
    assert "移送件" in await row.inner_text() and "移送至此" in await row.inner_text()
    await row.locator("a").first.click()
    await other.wait_for_url(f"**/staff/complaints/{case}")
    await shot(other, "transferred-case")
    step = other.locator("#timeline li", has_text="移送")
    text = await step.inner_text()
    assert "投诉所述摊位在另一区的市场" in text and HANDLER in text, text
    assert f"摊位 {there.place.stall_no}" in await other.inner_text("#case")
    assert "移送后 7 个工作日" in await other.inner_text("#clocks")
    await other.click("#accept button[type=submit]")
    await other.wait_for_url(f"**/staff/complaints/{case}?done=accepted")

    citizen = await open_page(phone=True)
    await citizen.goto(f"/complaints/track/{filed.tracking_code}")
    market = await citizen.inner_text("#market")
    async with console.city.client("registry") as registry:
        name = (await registry.get(f"/markets/{there.place.market_id}")).json()["name"]
    assert name in market and "移送至此" in market, market
    assert "移送后 7 个工作日" in await citizen.inner_text("#acceptance-deadline")
    assert HANDLER not in await citizen.inner_text("body")


async def test_a_transfer_sent_offline_comes_back_unfolded_with_what_was_typed(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """The weak network again, for a form folded away: the handler fills 移送 and sends it
    offline; opening the case again, the form is unfolded with the market and the reason back,
    and the case is still where it was."""
    filed, there = await file_complaint(console), await file_complaint(console)
    case = filed.complaint_id
    username, _ = tokens.person("handler", filed.place.district, name=HANDLER, who="browser")
    await sign_in(phone, username, tokens.password)
    await phone.goto(f"/staff/complaints/{case}")
    await phone.click("#transfer-box summary")
    await phone.select_option("#market_id", there.place.market_id)
    reason = "投诉所述摊位在另一区的市场"
    await phone.fill("#transfer_reason", reason)
    await phone.context.set_offline(True)
    try:
        await phone.locator("form#transfer button[type=submit]").click(no_wait_after=True)

        async def failed() -> bool:
            return not phone.url.startswith(console.url)

        await until(failed, within=20, every=0.2, what="the send failed offline")
    finally:
        await phone.context.set_offline(False)

    await phone.goto(f"/staff/complaints/{case}")
    assert await phone.locator("#transfer-box").get_attribute("open") is not None
    assert await phone.input_value("#market_id") == there.place.market_id
    assert await phone.input_value("#transfer_reason") == reason
    assert await phone.locator("form#transfer [data-draft-restored]").is_visible()
    await shot(phone, "transfer-draft-restored")
    async with console.city.client("complaints") as complaints:
        found = (await complaints.get(f"/complaints/{case}")).json()
    assert (found["market_id"], found["version"]) == (filed.place.market_id, 1)
