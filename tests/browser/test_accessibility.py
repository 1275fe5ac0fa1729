"""Public-service pages are usable by everyone (WCAG 2.1 AA, which GB/T 37668 follows): axe-core
(tools/axe, `make setup`) runs in Chromium over the pages people use, a citizen's on the portal
and each staff member's at 375 px after a real sign-in, and no page may break a WCAG 2 A or AA
rule with a serious or critical impact. A failure names each rule, what to do about it and the
elements that break it.

axe is loaded by evaluating its source in the page: the console's Content-Security-Policy
(script-src 'self') refuses an inline script tag, and the test keeps the policy on so that it
audits the pages as people get them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import Pages
from tests.browser.support import (
    ROOT,
    Console,
    Filed,
    Shots,
    door_left_open,
    file_complaint,
    found_minor_days_ago,
    meeting_recorded,
    new_market,
    planned_project,
    sign_in,
    submit,
    wrong_credit_code,
)
from tests.support.identity import Tokens
from tests.support.poll import until

AXE_JS = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA: what GB/T 37668-2019 asks of a public service's pages.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# What a person cannot get past: a moderate or minor finding is not failed here.
BLOCKING = {"serious", "critical"}
# A rule that is wrong about one element: (rule id, the element's selector as axe names it) →
# why. Only that rule, only on that element; every other rule still runs on it.
FALSE_POSITIVES: dict[tuple[str, str], str] = {}

OPEN_DETAILS_JS = "document.querySelectorAll('details').forEach(d => { d.open = true; })"
RUN_AXE_JS = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({
      target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : t).join(' '),
      impact: n.impact,
      summary: n.failureSummary || '',
    })),
  }));
}"""


class Audit:
    """`await audit(page, "name")` runs axe on the page as it stands and keeps what it found;
    `audit.assert_clean()` fails with every page's blocking violations at once."""

    def __init__(self, shot: Shots) -> None:
        self.shot = shot
        self.found: list[str] = []
        self.pages: list[str] = []

    async def __call__(self, page: Page, name: str) -> None:
        await page.wait_for_load_state("load")
        await self.shot(page, name)
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        # A folded form (登记商户 …) is audited too: axe passes over what is not shown.
        await page.evaluate(OPEN_DETAILS_JS)
        violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE_JS, WCAG_AA)
        self.pages.append(name)
        for v in violations:
            nodes = [
                n
                for n in v["nodes"]
                if (n["impact"] or v["impact"]) in BLOCKING
                and (v["id"], n["target"]) not in FALSE_POSITIVES
            ]
            if not nodes:
                continue
            where = "\n".join(f"      {n['target']}\n        {n['summary']}" for n in nodes)
            self.found.append(
                f"{name} ({page.url}): {v['id']} [{v['impact']}, {len(nodes)}] {v['help']}"
                f" ({v['helpUrl']})\n{where}"
            )

    def assert_clean(self) -> None:
        assert self.pages, "no page was audited"
        assert not self.found, "accessibility violations (WCAG 2.1 A/AA):\n" + "\n".join(self.found)


async def audited(
    audit: Audit, page: Page, path: str, ready: str | None = None, status: int = 200
) -> None:
    answer = await page.goto(path)
    assert answer is not None and answer.status == status, (path, answer and answer.status)
    if ready is not None:
        await page.wait_for_selector(ready)
    await audit(page, path)


async def test_the_audit_finds_an_unlabelled_field_a_nameless_button_and_faint_text(
    console: Console, phone: Page, shot: Shots
) -> None:
    """The audit itself: defects put into a clean page are found and named, each with the
    element to fix (built by the DOM API: the page's policy refuses inline script and style)."""
    audit = Audit(shot)
    await audited(audit, phone, "/")
    audit.assert_clean()
    await phone.evaluate(
        """() => {
      const main = document.querySelector('main');
      const field = document.createElement('input');
      field.type = 'text'; field.id = 'unlabelled';
      const button = document.createElement('button');
      button.id = 'nameless';
      const faint = document.createElement('p');
      faint.id = 'faint'; faint.textContent = '浅色文字';
      faint.style.color = '#bbbbbb';
      main.append(field, button, faint);
    }"""
    )
    await audit(phone, "defects-put-in")
    found = "\n".join(audit.found)
    for rule, element in (("label", "#unlabelled"), ("button-name", "#nameless")):
        assert f": {rule} [critical" in found and element in found, found
    assert ": color-contrast [serious" in found and "#faint" in found, found


# One complaint about one merchant for the module's tests (the portal's pages, the handler's,
# the clerk's and the operator's), made once.
_FILED: list[Filed] = []


async def filed(console: Console) -> Filed:
    if not _FILED:
        _FILED.append(await file_complaint(console))
    return _FILED[0]


async def test_the_citizens_pages_have_no_serious_accessibility_violation(
    console: Console, phone: Page, shot: Shots
) -> None:
    case = await filed(console)
    place = case.place
    audit = Audit(shot)
    await audited(audit, phone, "/")  # the console's sign-in start, before the provider
    await audited(audit, phone, "/?signin=failed")
    await audited(audit, phone, "/markets")
    await audited(audit, phone, f"/markets?district={place.district}", "li[data-market]")
    await audited(audit, phone, f"/markets/{place.market_id}")
    await audited(audit, phone, f"/merchants/{place.merchant_id}")
    await audited(audit, phone, f"/complaints/new?market_id={place.market_id}")
    # Sent empty: every field's 必填 beside it.
    await phone.click("#complaint-form button[type=submit]")
    await phone.wait_for_selector("#facts-error")
    await audit(phone, "complaint-refused")
    await audited(audit, phone, "/complaints/track")
    await audited(audit, phone, f"/complaints/track/{case.tracking_code}", "#status")
    await audited(audit, phone, "/complaints/track/ZZZZZZZZZZ", "#code-error", 404)
    await audited(audit, phone, "/suggestions/new")
    await audited(audit, phone, f"/merchants/{place.merchant_id}/qr", "#qr")
    await audited(audit, phone, "/honours")
    await audited(audit, phone, "/markets/mkt_none", status=404)
    audit.assert_clean()


async def test_an_inspectors_and_a_leaders_pages_have_no_serious_accessibility_violation(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    stall, task_id = await door_left_open(console)
    audit = Audit(shot)
    inspector = await open_page(phone=True)
    username, _ = tokens.person("inspector", stall.district, name="郑检查", who="a11y")
    await sign_in(inspector, username, tokens.password)
    await audit(inspector, "inspector-home")
    await audited(audit, inspector, f"/staff/tasks/{task_id}", "a#grade")
    await audited(audit, inspector, "/staff/tasks")
    board = f"/staff/risks?market_id={stall.market_id}"
    await audited(audit, inspector, board, 'a[href^="/staff/risks/"]')
    await inspector.click('a[href^="/staff/risks/"]')
    await inspector.wait_for_url("**/staff/risks/*")
    await audit(inspector, "risk")
    await audited(audit, inspector, "/staff/enforcement")
    await audited(audit, inspector, "/staff/rectifications")
    # 认领, then 完成检查 at the stall: the checklist, and refused with a problem beside its field.
    await inspector.goto(f"/staff/tasks/{task_id}")
    await inspector.get_by_role("button", name="认领").click()
    await inspector.wait_for_url(f"**/staff/tasks/{task_id}?done=claimed")
    await audit(inspector, "task-claimed")
    form = inspector.locator("form#complete")
    await form.locator('input[name="outcome"][value="minor"]').check()
    await form.locator('input[name="finding"][value="CCH-01"]').check()  # a major finding
    await form.get_by_role("button", name="完成检查").click()
    await inspector.locator("form#complete .field-error:not(:empty)").first.wait_for()
    await audit(inspector, "completion-refused")

    leader = await open_page(phone=True)
    username, _ = tokens.person("leader", stall.district, name="冯领导", who="a11y")
    await sign_in(leader, username, tokens.password)
    await leader.locator(f'#ranking [data-market="{stall.market_id}"]').wait_for()
    await audit(leader, "leader-overview")
    await audited(audit, leader, f"/staff/markets/{stall.market_id}", "#assessment")
    await audited(audit, leader, "/staff/honours")

    # A department member's home: their department's late 议定事项 first, then their markets.
    held = date.today() - timedelta(days=20)
    late = (held + timedelta(days=10)).isoformat()
    decisions = [{"decision": "排查冷链台账", "department": "health", "deadline": late}]
    place, meeting = await meeting_recorded(console, held.isoformat(), decisions)
    member = await open_page(phone=True)
    username, _ = tokens.person(
        "department", place.district, name="周卫健", who="a11y", department="health"
    )
    await sign_in(member, username, tokens.password)
    await member.locator("#due li[data-due=action-item]").first.wait_for()
    await audit(member, "department-home")
    await audited(audit, member, f"/staff/meetings/{meeting['id']}")
    audit.assert_clean()


async def test_a_handlers_clerks_and_operators_pages_have_no_serious_accessibility_violation(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots, kafka: str
) -> None:
    case = await filed(console)
    place = case.place
    # A finding old enough to be repaired: the merchant's page offers both of a clerk's forms,
    # 登记信用异议 and 申请信用修复.
    await found_minor_days_ago(console, kafka, place, 100)
    audit = Audit(shot)
    handler = await open_page(phone=True)
    username, _ = tokens.person("handler", place.district, name="韩处理", who="a11y")
    await sign_in(handler, username, tokens.password)
    await audit(handler, "handler-home")
    await audited(audit, handler, "/staff/complaints", f'a[href$="{case.complaint_id}"]')
    await audited(audit, handler, f"/staff/complaints/{case.complaint_id}")
    await audited(audit, handler, f"/staff/merchants/{place.merchant_id}")
    await audited(audit, handler, "/staff/suggestions")
    await audited(audit, handler, "/staff/ledgers")

    clerk = await open_page(phone=True)
    username, _ = tokens.person("clerk", place.district, name="王登记", who="a11y")
    await sign_in(clerk, username, tokens.password)
    await audited(audit, clerk, "/staff/registry")
    for path in ("/staff/registry/merchants", "/staff/registry/terminals"):
        await audited(audit, clerk, path)
    for path in ("/staff/reports", "/staff/training", "/staff/exposures", "/staff/renovations"):
        await audited(audit, clerk, path)
    await audited(audit, clerk, "/staff/meetings")
    await audited(audit, clerk, f"/staff/merchants/{place.merchant_id}", "details.repair-new")
    await audited(audit, clerk, "/staff/objections")
    await audited(audit, clerk, f"/staff/registry/markets/{place.market_id}")
    # The merchant form refused with two mistakes, each beside its field.
    await clerk.evaluate("document.querySelector('#register-merchant').open = true")
    code, _, _ = wrong_credit_code()
    await clerk.fill("#f-name", "无障碍鲜肉")
    await clerk.fill("#f-stall_no", f"W-{uuid.uuid4().hex[:3]}")
    await clerk.fill("#f-credit_code", code)
    await clerk.fill("#f-food_licence", "JY13706020054321")
    await clerk.fill("#f-licence_valid_until", "2020-01-01")
    submitted = f"/staff/registry/markets/{place.market_id}/merchants"
    assert (await submit(clerk, "#merchant-form", submitted)).status == 422
    await clerk.wait_for_selector("#f-credit_code[aria-invalid=true]")
    await audit(clerk, "merchant-form-refused")

    # The market's operator: 今日自查, once the campaign knows the market.
    async with console.city.client("campaign") as campaign:

        async def scheduled() -> bool:
            r = await campaign.get(f"/markets/{place.market_id}/reports")
            return r.status_code == 200 and r.json().get("schedule") is not None

        await until(scheduled, within=60, every=0.2, what="the campaign knows the market")
    operator = await open_page(phone=True)
    username, _ = tokens.person(
        "operator", place.district, market_id=place.market_id, name="赵主办", who="a11y"
    )
    await sign_in(operator, username, tokens.password)
    await operator.wait_for_selector("#self-inspection-form")
    await audit(operator, "operator-self-inspection")
    # Every item 合格 but the first, 不合格 with no note: refused beside it, the choices kept.
    for radio in await operator.locator("#self-inspection-form input[value=pass]").all():
        await radio.check()
    await operator.locator("#self-inspection-form input[value=fail]").first.check()
    assert (await submit(operator, "#self-inspection-form", "/staff/self-inspection")).status == 422
    await operator.wait_for_selector("#err-form")
    await audit(operator, "self-inspection-refused")
    await audited(audit, operator, f"/staff/duties/{place.market_id}")
    await audited(audit, operator, f"/staff/training/markets/{place.market_id}")

    # The on-call administrator: the home and the 告警 page (docs/operations.md).
    admin = await open_page(phone=True)
    username, _ = tokens.person("admin", "*", name="陈值班", who="a11y")
    await sign_in(admin, username, tokens.password)
    await audit(admin, "admin-home")
    await audited(audit, admin, "/staff/alerts")
    audit.assert_clean()


async def test_a_renovation_projects_checks_and_a_refused_check_have_no_serious_violation(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> None:
    """质量安全检查 on a project's page: a failed check listed, and the 记录检查 form refused
    with its choices and checker missing, each reason beside its field."""
    market = await new_market(console)
    project_id = await planned_project(console, market)
    async with console.city.client("campaign") as campaign:
        r = await campaign.post(f"/renovations/{project_id}/stage", json={"stage": "approved"})
        assert r.status_code == 200, r.text
        failed = {
            "kind": "quality",
            "result": "fail",
            "checked_on": date.today().isoformat(),
            "inspector": "市住建局质安站",
            "findings": ["地面防滑未达标"],
        }
        r = await campaign.post(f"/renovations/{project_id}/checks", json=failed)
        assert r.status_code == 201, r.text
    audit = Audit(shot)
    clerk = await open_page(phone=True)
    username, _ = tokens.person("clerk", market.district, name="冯登记", who="a11y")
    await sign_in(clerk, username, tokens.password)
    await audited(audit, clerk, f"/staff/renovations/{project_id}", "#checks li[data-check]")
    await clerk.evaluate("document.querySelector('#check-form').closest('details').open = true")
    answer = await submit(clerk, "#check-form", f"/renovations/{project_id}/checks")
    assert answer.status == 422
    await clerk.wait_for_selector("#err-kind:not(:empty)")
    await audit(clerk, "renovation-check-refused")
    audit.assert_clean()
