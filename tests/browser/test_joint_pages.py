"""Joint meetings and joint enforcement in a real browser (issue 17): a clerk records a meeting
with two decisions on a phone — a deadline before the meeting is refused beside its field and
nothing is saved — and a department member reports a late item done; an inspector refers a
critical finding from its task page to a joint enforcement case, decides a fine and closes it; a
leader reads it all with no button to press, and a market operator sees none of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, sign_in, submit
from tests.support.city import Place, provision
from tests.support.credit_codes import fresh_credit_code
from tests.support.identity import Tokens
from tests.support.poll import until

LATE = "一周内完成全区冷链设施排查"
LATER = "月底前完成市场公示栏更新"
FACTS = "复查发现该摊位使用作弊计量器具，短秤约 20%，涉及多名消费者。"


def city_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def campaign_knows(console: Console, check: dict[str, Any], field: str, what: str) -> None:
    """Wait until the campaign service's refusal of `check` (a request it refuses for another
    reason, so nothing is saved) no longer names `field`: it has learned what the test made."""
    async with console.city.client("campaign") as campaign:

        async def known() -> bool:
            path = "/meetings" if "title" in check else "/enforcement-cases"
            r = await campaign.post(path, json=check)
            assert r.status_code != 404 or r.json().get("errors"), (
                f"campaign has no {path} route yet: {r.text}"
            )
            assert r.status_code in (404, 422), r.text
            return all(e["field"] != field for e in r.json().get("errors", []))

        await until(known, within=60, every=0.5, what=what)


async def district_with_market(console: Console) -> Place:
    """A district with a market and a merchant, once the campaign service knows the district
    (a meeting is recorded for a district it knows)."""
    async with console.city.client("registry") as registry:
        place = await provision(registry, stall_no="J-1")
    today = city_today().isoformat()
    probe = {
        "district": place.district,
        "title": "probe",
        "held_on": today,
        "departments": ["health"],
        "minutes": "probe",
        # Refused for the deadline (before the meeting): nothing is recorded.
        "decisions": [{"decision": "x", "department": "health", "deadline": "2000-01-01"}],
    }
    await campaign_knows(console, probe, "district", "campaign knows the district")
    return place


@dataclass
class Finding:
    place: Place
    complaint_id: str
    task_id: str


async def critical_finding(console: Console, merchant_name: str | None = None) -> Finding:
    """A citizen's short-weight complaint, accepted by a handler; the inspection task it started,
    completed `critical` (a rigged scale) by an inspector — through the services' APIs — once
    the campaign service knows the finding. With `merchant_name`, about a merchant of that name
    registered beside the provisioned one (whose name is a bare 商户)."""
    city = console.city
    async with city.client("registry") as registry:
        place = await provision(registry, stall_no="J-2")
        if merchant_name is not None:
            r = await registry.post(
                "/merchants",
                json={
                    "name": merchant_name,
                    "market_id": place.market_id,
                    "stall_no": "J-5",
                    "credit_code": fresh_credit_code(),
                    "food_licence": "JY13706020012345",
                    "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                    "categories": [],
                },
            )
            assert r.status_code == 201, r.text
            place = replace(place, merchant_id=r.json()["id"], stall_no="J-5")
    body = {
        "complainant": {"name": "市民乙", "phone": "13805350002"},
        "market_id": place.market_id,
        "stall_no": place.stall_no,
        "category": "short_weight",
        "facts": "两斤肉只有一斤六两。",
        "request": "退还差价",
        "channel": "hotline_12345",
    }
    key = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=city.urls["complaints"], timeout=10) as public:

        async def filed() -> str | None:
            r = await public.post("/complaints", json=body, headers={"Idempotency-Key": key})
            if r.status_code == 422:  # the market has not reached complaints yet
                return None
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        complaint_id = await until(filed, within=60, every=0.5, what="complaints knows the market")
    district = place.district
    async with city.client("complaints", "handler", district) as complaints:
        r = await complaints.post(f"/complaints/{complaint_id}/accept")
        assert r.status_code == 200, r.text
    async with city.client("inspection", "inspector", district) as inspection:

        async def started() -> str | None:
            r = await inspection.get("/tasks", params={"market_id": place.market_id})
            found = [t for t in r.json()["items"] if t["reason_kind"] == "complaint"]
            return str(found[0]["task_id"]) if found else None

        task_id = await until(started, within=60, every=0.5, what="the complaint's task")
        r = await inspection.post(f"/tasks/{task_id}/claim")
        assert r.status_code == 200, r.text
        r = await inspection.post(
            f"/tasks/{task_id}/complete",
            json={
                "outcome": "critical",
                "findings": [{"code": "WGT-04", "note": "电子秤加装作弊装置"}],
                "departments": ["market_regulation"],
            },
        )
        assert r.status_code == 200, r.text
    probe = {
        "origin": {"kind": "finding", "id": task_id},
        "departments": ["no_such_department"],  # refused for this: nothing is opened
        "facts": "probe",
    }
    await campaign_knows(console, probe, "origin.id", "campaign knows the critical finding")
    return Finding(place, complaint_id, task_id)


async def test_a_clerk_records_a_meeting_and_a_department_member_reports_an_item_done(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    place = await district_with_market(console)
    title, bad_title = f"第{uuid.uuid4().hex[:4]}次联席会议", "期限有误的联席会议"
    today = city_today()
    held = today - timedelta(days=20)
    clerk, _ = tokens.person("clerk", place.district, name="孙登记", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password)
    await phone.locator("nav a[href='/staff/meetings']").click()
    await phone.wait_for_url("**/staff/meetings")
    await shot(phone, "meetings")
    await phone.get_by_role("link", name="记录会议").click()
    await phone.wait_for_url("**/staff/meetings/new")

    # A deadline before the meeting: the service's reason beside that field, what was typed
    # kept, nothing recorded.
    await phone.fill("#f-title", bad_title)
    await phone.fill("#f-held_on", held.isoformat())
    await phone.check("input[name=departments][value=market_regulation]")
    await phone.check("input[name=departments][value=health]")
    await phone.fill("#f-minutes", "会议通报了冷链排查情况，议定两项工作。")
    await phone.fill("#f-decision_0", LATE)
    await phone.select_option("#f-department_0", "health")
    await phone.fill("#f-deadline_0", (held - timedelta(days=1)).isoformat())
    await phone.fill("#f-decision_2", LATER)  # row 2: the empty row 1 is left out
    await phone.select_option("#f-department_2", "market_regulation")
    await phone.fill("#f-deadline_2", (today + timedelta(days=14)).isoformat())
    await shot(phone, "meeting-form")
    await phone.click("#meeting-form button[type=submit]")
    error = phone.locator("#err-deadline_0")
    await phone.wait_for_selector("#f-deadline_0[aria-invalid=true]")
    assert "不得早于会议召开日期" in await error.inner_text()
    assert await phone.locator("#err-deadline_2").inner_text() == ""
    assert await phone.input_value("#f-title") == bad_title
    assert await phone.input_value("#f-decision_2") == LATER
    assert await phone.is_checked("input[name=departments][value=health]")
    await shot(phone, "meeting-refused")
    async with console.city.client("campaign") as campaign:
        r = await campaign.get("/meetings", params={"district": place.district})
        assert r.status_code == 200, r.text
        assert all(m["title"] != bad_title for m in r.json()["items"]), "a refused meeting saved"

    # Corrected: the first decision due 10 days after the meeting (already late), the second
    # in two weeks.
    await phone.fill("#f-title", title)
    await phone.fill("#f-deadline_0", (held + timedelta(days=10)).isoformat())
    await phone.click("#meeting-form button[type=submit]")
    await phone.wait_for_url("**/staff/meetings/*?done=recorded")
    await shot(phone, "meeting-recorded")
    assert "会议已记录" in await phone.inner_text("main")
    assert title in await phone.inner_text("h1")
    items = phone.locator("#items li[data-item]")
    assert await items.count() == 2
    late = phone.locator("#items li.is-overdue")
    assert await late.count() == 1 and LATE in await late.inner_text()
    assert "卫生健康" in await phone.inner_text("#meeting")

    # A department member of the district: the late item first, in red, reported done.
    member, _ = tokens.person("department", place.district, name="周卫健", who="browser")
    other = await open_page(phone=True)
    await sign_in(other, member, tokens.password)
    card = other.locator(".card a[href='/staff/meetings']")
    assert "1 项逾期" in await card.inner_text()
    await card.click()
    await other.wait_for_url("**/staff/meetings")
    first = other.locator("#items li[data-item]").first
    assert LATE in await first.inner_text() and "逾期" in await first.inner_text()
    await shot(other, "items")
    await first.locator("summary").click()
    await first.get_by_role("button", name="办结").click()  # no note: refused beside it
    refused = other.locator("#items li.is-overdue .field-error")
    await refused.wait_for()
    assert "必填" in await refused.inner_text()
    first = other.locator("#items li[data-item]").first
    await first.locator("textarea").fill("已完成全区冷链设施排查，问题均已整改。")
    await shot(other, "item-done-form")
    await first.get_by_role("button", name="办结").click()
    await other.wait_for_url("**/staff/meetings?done=item")
    assert LATE not in await other.inner_text("#items")
    assert LATER in await other.inner_text("#items")
    await other.goto("/staff/meetings?view=done")
    done = other.locator("#items li[data-item]", has_text=LATE)
    text = await done.inner_text()
    assert "逾期办结" in text and "周卫健" in text, text
    await shot(other, "items-done")


async def test_an_inspector_refers_a_critical_finding_decides_a_fine_and_closes_the_case(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    finding = await critical_finding(console)
    district, task_id = finding.place.district, finding.task_id
    inspector, _ = tokens.person("inspector", district, name="王检查", who="browser")
    phone = await open_page(phone=True)
    await sign_in(phone, inspector, tokens.password)
    await phone.goto(f"/staff/tasks/{task_id}")
    await phone.get_by_role("link", name="移送联合执法").click()
    await phone.wait_for_url("**/staff/enforcement/new?kind=finding&id=*")
    # Picked, not typed: the finding preselected, the accepted complaint offered too.
    assert await phone.input_value("#f-origin") == f"finding:{task_id}"
    option = phone.locator(f"#f-origin option[value='complaint:{finding.complaint_id}']")
    assert await option.count() == 1
    assert "严重问题" in await phone.locator("#f-origin option:checked").inner_text()
    await phone.check("input[name=departments][value=market_regulation]")
    await phone.check("input[name=departments][value=public_security]")
    await phone.fill("#f-facts", FACTS)
    await shot(phone, "case-form")
    await phone.click("#case-form button[type=submit]")
    await phone.wait_for_url("**/staff/enforcement/*?done=opened")
    await shot(phone, "case-opened")
    assert "待决定" in await phone.inner_text("#state")
    assert await phone.locator(f"#origin a[href='/staff/tasks/{task_id}']").count() == 1
    assert "公安" in await phone.inner_text("#departments")
    assert FACTS in await phone.inner_text("main")
    case_url = phone.url.split("?")[0]

    # A fine without its amount: refused beside the amount, the reasoning kept.
    await phone.check("input[name=sanction][value=fine]")
    await phone.fill("#f-reasoning", "使用作弊计量器具，依据《计量法》处罚。")
    await phone.click("#decide button[type=submit]")
    await phone.wait_for_selector("#f-fine_yuan[aria-invalid=true]")
    assert "罚款须填写金额" in await phone.inner_text("#err-fine_yuan")
    assert "计量法" in await phone.input_value("#f-reasoning")
    await shot(phone, "decide-refused")
    # 1e3 (the number keyboard allows it) is no amount in yuan: refused, not fined 1000 元.
    await phone.fill("#f-fine_yuan", "1e3")
    await phone.click("#decide button[type=submit]")
    await phone.wait_for_load_state("load")
    assert "应为金额" in await phone.inner_text("#err-fine_yuan")
    await phone.fill("#f-fine_yuan", "2000")
    await phone.click("#decide button[type=submit]")
    await phone.wait_for_url(f"{case_url}?done=decided")
    assert "已决定" in await phone.inner_text("#state")
    assert "罚款 2,000 元" in await phone.inner_text("#decision")
    await shot(phone, "case-decided")
    # The fine reaches the merchant's credit: its explanation says so in words, linked to the
    # case it was decided in.
    case_path = "/staff/enforcement/" + case_url.rsplit("/", 1)[1]
    fined = phone.locator("#ledger li[data-kind='enforcement.fine']")

    async def scored() -> bool:
        await phone.goto(f"/staff/merchants/{finding.place.merchant_id}")
        return await fined.count() > 0

    await until(scored, within=60, every=1, what="the fine in the merchant's credit")
    said = await fined.inner_text()
    await shot(phone, "merchant-fined")
    assert "联合执法：罚款" in said and "enforcement" not in said, said
    assert await fined.locator(f"a[href='{case_path}']").count() == 1
    await phone.goto(case_url)

    await phone.fill("#f-note", "罚款已缴纳，作弊装置已拆除。")
    await phone.click("#close button[type=submit]")
    await phone.wait_for_url(f"{case_url}?done=closed")
    assert "已结案" in await phone.inner_text("#state")
    assert "罚款已缴纳" in await phone.inner_text("#closing")
    assert await phone.locator("#decide, #close").count() == 0
    await shot(phone, "case-closed")
    await phone.goto("/staff/enforcement?view=closed")
    assert await phone.locator(f"#cases li[data-case='{case_url.rsplit('/', 1)[1]}']").count()
    await shot(phone, "cases-closed")


async def refused_page(page: Page, path: str, statuses: tuple[int, ...] = (403,)) -> None:
    answer = await page.goto(path)
    assert answer is not None and answer.status in statuses, (path, answer and answer.status)


async def test_a_leader_reads_without_buttons_and_an_operator_sees_none_of_it(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    finding = await critical_finding(console)
    district = finding.place.district
    today = city_today().isoformat()
    async with console.city.client("campaign", "inspector", district) as campaign:
        r = await campaign.post(
            "/enforcement-cases",
            json={
                "origin": {"kind": "finding", "id": finding.task_id},
                "departments": ["market_regulation"],
                "facts": FACTS,
            },
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
    async with console.city.client("campaign", "clerk", district) as campaign:
        r = await campaign.post(
            "/meetings",
            json={
                "district": district,
                "title": "领导查阅的联席会议",
                "held_on": today,
                "departments": ["health"],
                "minutes": "纪要",
                "decisions": [{"decision": LATER, "department": "health", "deadline": today}],
            },
        )
        assert r.status_code == 201, r.text
        meeting_id = r.json()["id"]

    leader, _ = tokens.person("leader", district, name="钱领导", who="browser")
    page = await open_page()
    await sign_in(page, leader, tokens.password)
    nav = await page.inner_text("nav.nav")
    assert "联席会议" in nav and "联合执法" in nav and "红黑榜" in nav, nav
    await page.goto("/staff/meetings")
    assert LATER in await page.inner_text("#items")
    assert await page.locator("#items summary, a[href='/staff/meetings/new']").count() == 0
    await shot(page, "leader-meetings")
    await page.goto(f"/staff/meetings/{meeting_id}")
    assert await page.locator("form").count() == 1  # 退出 only
    await page.goto("/staff/enforcement")
    assert await page.locator(f"#cases li[data-case='{case_id}']").count() == 1
    assert await page.locator("a[href='/staff/enforcement/new']").count() == 0
    await page.goto(f"/staff/enforcement/{case_id}")
    assert "待决定" in await page.inner_text("#state")
    assert await page.locator("#decide, #close").count() == 0
    await shot(page, "leader-case")
    await refused_page(page, "/staff/meetings/new")
    await refused_page(page, "/staff/enforcement/new")

    operator, _ = tokens.person(
        "operator", district, market_id=finding.place.market_id, name="郑主办", who="browser"
    )
    other = await open_page(phone=True)
    await sign_in(other, operator, tokens.password)
    nav = await other.inner_text("header")
    assert "联席会议" not in nav and "联合执法" not in nav and "红黑榜" not in nav, nav
    # An operator's console is its own market's duties: any other page reads as absent.
    for path in ("/staff/meetings", "/staff/enforcement", f"/staff/enforcement/{case_id}"):
        await refused_page(other, path, (403, 404))
    await shot(other, "operator-refused")


async def test_department_staff_opening_a_case_are_told_the_complaints_are_not_theirs_to_list(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """部门人员 open cases too, but the complaints service does not show them complaints: the
    origin list offers the critical finding and says the accepted complaints are not listed for
    their role, rather than that the district has none."""
    finding = await critical_finding(console, merchant_name="王记鲜鱼")
    staff, _ = tokens.person("department", finding.place.district, name="孙部门", who="browser")
    await sign_in(phone, staff, tokens.password)
    await phone.goto("/staff/enforcement/new")
    await shot(phone, "case-form")
    offered = phone.locator(f"#f-origin option[value='finding:{finding.task_id}']")
    assert await offered.count() == 1
    # Named, not a bare 商户: the merchant's name, from the market's public page.
    assert "王记鲜鱼 · 摊位 J-5" in await offered.inner_text()
    said = await phone.inner_text("#case-form")
    assert "已受理投诉：您的角色无权查看" in said, said
    assert "没有可立案" not in said, said


async def test_a_clerks_meeting_form_shows_every_refusal_beside_its_field_at_once(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """A blank 会议名称 and a 办结期限 before the meeting are refused in one answer, each beside
    its field (not the name first and the deadline on the next try), and nothing is recorded;
    so are the days left blank."""
    place = await district_with_market(console)
    minutes = f"一次提交指出全部问题 {uuid.uuid4().hex[:6]}"
    held = city_today() - timedelta(days=3)
    clerk, _ = tokens.person("clerk", place.district, name="韩登记", who="browser")
    await sign_in(phone, clerk, tokens.password)
    await phone.goto("/staff/meetings/new")
    await phone.fill("#f-held_on", held.isoformat())
    await phone.check("input[name=departments][value=health]")
    await phone.fill("#f-minutes", minutes)
    await phone.fill("#f-decision_0", LATE)
    await phone.select_option("#f-department_0", "health")
    await phone.fill("#f-deadline_0", (held - timedelta(days=1)).isoformat())
    assert (await submit(phone, "#meeting-form", "/staff/meetings")).status == 422
    await shot(phone, "meeting-every-refusal")
    assert await phone.inner_text("#err-title") == "必填"
    assert await phone.inner_text("#err-deadline_0") == f"不得早于会议召开日期（{held}）"
    assert await phone.locator("#f-title[aria-invalid=true]").count() == 1
    assert await phone.locator("#f-deadline_0[aria-invalid=true]").count() == 1
    assert await phone.input_value("#f-minutes") == minutes
    # The days left blank too (as a browser without date pickers may send them): each 必填,
    # with the blank name, in the same answer.
    await phone.fill("#f-held_on", "")
    await phone.fill("#f-deadline_0", "")
    assert (await submit(phone, "#meeting-form", "/staff/meetings")).status == 422
    for field in ("title", "held_on", "deadline_0"):
        assert await phone.inner_text(f"#err-{field}") == "必填", field
    async with console.city.client("campaign") as campaign:
        r = await campaign.get("/meetings", params={"district": place.district})
        assert r.status_code == 200, r.text
        assert all(m["minutes"] != minutes for m in r.json()["items"]), "a refused meeting saved"


async def test_a_stale_or_tampered_case_origin_is_refused_in_chinese_beside_it(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """案件来源 is picked from a list; a form sent with an origin the campaign does not know (a
    page left open while it was closed, or a value changed in the page) reads its reason in
    Chinese beside 案件来源, with the other fields' at once, and opens nothing."""
    place = await district_with_market(console)
    facts = f"来源已失效的立案 {uuid.uuid4().hex[:6]}"
    inspector, _ = tokens.person("inspector", place.district, name="冯检查", who="browser")
    await sign_in(phone, inspector, tokens.password)
    await phone.goto("/staff/enforcement/new")

    async def send_origin(value: str) -> None:
        await phone.locator("#f-origin").evaluate(
            "(s, v) => { s.add(new Option('已失效的来源', v)); s.value = v; }", value
        )
        assert (await submit(phone, "#case-form", "/staff/enforcement")).status == 422

    await phone.check("input[name=departments][value=market_regulation]")
    await phone.fill("#f-facts", facts)
    await send_origin("finding:task_gone")
    await shot(phone, "case-stale-origin")
    assert await phone.inner_text("#err-origin") == "找不到该来源"
    assert await phone.locator("#f-origin[aria-invalid=true]").count() == 1
    assert await phone.input_value("#f-facts") == facts
    # A kind no list offers, with the facts left blank: both refusals at once, in Chinese.
    await phone.fill("#f-facts", "")
    await send_origin("inspection:task_gone")
    await shot(phone, "case-tampered-origin")
    assert await phone.inner_text("#err-origin") == "请选择案件来源"
    assert await phone.inner_text("#err-facts") == "必填"
    async with console.city.client("campaign", "inspector", place.district) as campaign:
        r = await campaign.get("/enforcement-cases", params={"district": place.district})
        assert r.status_code == 200, r.text
        assert all(c["facts"] != facts for c in r.json()["items"]), "a refused case opened"
