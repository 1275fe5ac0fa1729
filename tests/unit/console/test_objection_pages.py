"""信用异议 pages in front of stubbed services: who is offered which form beside which entry of
a merchant's credit record, what is sent to credit, and where each refusal is said (beside the
field, what was typed kept; above the entry's form when no field is to blame)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from services.console.sessions import Session
from services.runtime.auth import Principal
from tests.unit.console import support

MERCHANT = {
    "id": "mer_1", "name": "老王鲜肉", "market_id": "mkt_1", "district": "zhifu",
    "stall_no": "A-01", "status": "active", "credit_code": "913706020000000000",
    "food_licence": "JY13706020000001", "licence_valid_until": "2027-06-30",
}  # fmt: skip


def line(kind: str, delta: int, event_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "kind": kind, "delta": delta, "event_id": event_id, "reason": f"{kind}: {delta:+d}",
        "event_type": "inspection.task.completed", "occurred_at": "2026-11-03T09:00:00+08:00",
        "fades_at": "2027-11-03T09:00:00+08:00", "policy_version": "2026-12", "counting": True,
        "root": None, "objection": None, "disputable": False,
    } | kw  # fmt: skip


OPEN = {
    "objection_id": "obj_1", "merchant_id": "mer_1", "market_id": "mkt_1", "district": "zhifu",
    "event_id": "ev_major", "kind": "inspection.finding.major", "delta": -15,
    "occurred_at": "2026-11-03T09:00:00+08:00", "statement": "电子秤已检定",
    "filed_at": "2026-11-05T09:00:00+08:00", "state": "open",
    "filed_by": {"subject": "c-zhang", "name": "张登记"}, "decided_by": None,
    # How credit says the deadline stands (services/credit/domain/objections.DecisionDeadline).
    "due_at": "2026-11-19T23:59:59.999999+08:00", "working_days": 10, "working_days_left": 4,
    "nearing": False, "overdue": False, "decided_late": False,
}  # fmt: skip
LEDGER = [
    line("merchant.registered", 0, "ev_reg"),
    # Credit says which entries may be disputed (services/credit/domain/objections.refusal).
    line("inspection.finding.minor", -5, "ev_minor", disputable=True),
    line("inspection.finding.major", -15, "ev_major", objection=OPEN),
    line("inspection.finding.minor", -5, "ev_old", counting=False),
]


def person(role: str, subject: str = "u-1") -> Principal:
    return Principal(subject, role, "zhifu", name="某人", roles=frozenset({role}))


def console(who: Principal, asked: list[httpx.Request], answer: Any = None) -> httpx.AsyncClient:
    def services(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        found = answer(request) if answer is not None else None
        if found is not None:
            return found
        path = request.url.path
        if path == "/merchants/mer_1" and request.url.host == "registry":
            return httpx.Response(200, json=MERCHANT)
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=support.REGISTRY_MARKET)
        if path == "/merchants/mer_1/credit":
            credit = {"merchant_id": "mer_1", "market_id": "mkt_1", "district": "zhifu",
                      "score": 80, "grade": "B", "policy_version": "2026-12",
                      "as_of": "2026-11-05T09:00:00+08:00", "next_fade_at": None,
                      "ledger": LEDGER}  # fmt: skip
            return httpx.Response(200, json=credit)
        if path == "/objections":
            decided = {**OPEN, "objection_id": "obj_0", "state": "upheld", "reasoning": "复核无误",
                       "decided_at": "2026-11-06T09:00:00+08:00",
                       "decided_by": {"subject": "l-zhou", "name": "周领导"}}  # fmt: skip
            return httpx.Response(200, json={"items": [decided, OPEN]})
        if path in ("/merchants", "/markets"):
            return httpx.Response(200, json={"items": [MERCHANT, support.REGISTRY_MARKET]})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    app = support.app_of(services, who)
    app.state.sign_in = support.SignedIn(Session("sid", who, "tok", "r", time.time() + 3600))
    return support.client_of(app)


def ledger_of(*entries: dict[str, Any]) -> Any:
    """An answer for `console` that gives the merchant a ledger of `entries` only."""

    def credit(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != "/merchants/mer_1/credit":
            return None
        return httpx.Response(
            200,
            json={"merchant_id": "mer_1", "market_id": "mkt_1", "district": "zhifu", "score": 95,
                  "grade": "A", "policy_version": "2026-12", "as_of": "2026-11-05T09:00:00+08:00",
                  "next_fade_at": None, "ledger": list(entries)},
        )  # fmt: skip

    return credit


def forms(html: str) -> list[str]:
    """Where the page's forms post, but for signing out."""
    found = re.findall(r'<form method="post" action="([^"]+)"', html)
    return [action for action in found if action != "/logout"]


async def test_a_clerk_is_offered_an_objection_beside_each_entry_that_still_costs_credit() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhang"), asked) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    # A filing only beside the minor finding that still counts: not the registration (no cost),
    # not the faded one, not the major one (disputed already) — whose open objection this clerk
    # may withdraw (the merchant's withdrawal, or an error), though not decide.
    assert forms(page) == [
        "/staff/merchants/mer_1/objections",
        "/staff/objections/obj_1/withdrawal",
    ]
    assert 'name="event_id" value="ev_minor"' in page
    assert "待决定" in page and "异议由您登记，须由本区其他登记员核实后决定" in page
    for reader in ("inspector", "leader"):  # read it, change nothing
        async with console(person(reader), asked) as client:
            page = (await client.get("/staff/merchants/mer_1")).text
        assert forms(page) == [] and "待决定" in page and "待本区登记员核实后决定" in page


async def test_another_clerk_decides_and_the_one_who_recorded_it_is_told_so() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhou"), asked) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert "/staff/objections/obj_1/decision" in forms(page)
    async with console(person("clerk", "c-zhang"), asked) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert "/staff/objections/obj_1/decision" not in forms(page)
    assert "异议由您登记，须由本区其他登记员核实后决定" in page
    async with console(person("leader"), asked) as client:
        r = await client.post(
            "/staff/objections/obj_1/decision",
            data={"csrf": "x", "merchant_id": "mer_1", "decision": "upheld", "reasoning": "x"},
        )
    assert r.status_code == 403 and not [q for q in asked if q.method == "POST"]


async def test_the_deciding_clerk_is_told_a_corrected_finding_ends_its_order() -> None:
    """Beside the decision on an inspection's finding, not on a complaint's entry: 更正 also ends
    the rectification order that inspection made (inspection reads the decision)."""
    hint = 'id="corrects-order-obj_1"'
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhou"), asked) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert hint in page and "它开出的整改通知随之终止" in page
    complaint = line("complaint.substantiated", -5, "ev_major", objection=OPEN)

    async with console(person("clerk", "c-zhou"), asked, ledger_of(complaint)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert "/staff/objections/obj_1/decision" in forms(page) and hint not in page


async def test_an_entry_undone_with_its_finding_says_so_and_offers_no_filing() -> None:
    """A suspension that followed from a finding found wrong: credit undid it with the finding
    (`undone_with_finding`); the page says why it no longer counts and offers nothing to file."""
    undone = line("merchant.suspended", -10, "ev_susp", undone_with_finding=True, disputable=False)

    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhou"), asked, ledger_of(undone)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    said = re.search(
        r'<p class="muted undone" id="entry-ev_susp-merchant-suspended-undone">(.*?)</p>', page
    )
    assert said is not None and said.group(1).startswith("随检查结论更正撤销")
    assert "已撤销，不再计分" in page and "计入至" not in page
    assert forms(page) == []


async def test_an_objection_is_sent_to_credit_and_the_page_comes_back_at_its_entry() -> None:
    asked: list[httpx.Request] = []

    def credit(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return httpx.Response(201, json={**OPEN, "objection_id": "obj_2"})
        return None

    form = {"csrf": "x", "event_id": "ev_minor", "kind": "inspection.finding.minor",
            "statement": " 当天没有检查 "}  # fmt: skip
    async with console(person("clerk"), asked, credit) as client:
        r = await client.post("/staff/merchants/mer_1/objections", data=form)
    assert r.status_code == 303
    assert r.headers["location"] == (
        "/staff/merchants/mer_1?done=objection#entry-ev_minor-inspection-finding-minor"
    )
    [sent] = [q for q in asked if q.method == "POST"]
    assert (sent.url.host, sent.url.path) == ("credit", "/merchants/mer_1/objections")
    assert json.loads(sent.content) == {
        "event_id": "ev_minor", "kind": "inspection.finding.minor", "statement": "当天没有检查"
    }  # fmt: skip


async def test_a_refusal_is_said_beside_the_field_or_above_the_entry_s_form() -> None:
    asked: list[httpx.Request] = []

    def blank(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            errors = [{"field": "statement", "reason": "String should have at least 1 character"}]
            return httpx.Response(422, json={"error": "invalid_input", "message": "statement",
                                             "errors": errors})  # fmt: skip
        return None

    form = {"csrf": "x", "event_id": "ev_minor", "kind": "inspection.finding.minor"}
    async with console(person("clerk"), asked, blank) as client:
        r = await client.post("/staff/merchants/mer_1/objections", data=form | {"statement": ""})
    assert r.status_code == 422
    found = re.search(
        r'id="err-statement-entry-ev_minor-inspection-finding-minor"[^>]*>([^<]*)<', r.text
    )
    assert found is not None and found[1] == "请写明商户的异议理由"
    assert 'class="objection-new" open' in r.text

    def disputed(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            reason = (
                "entry ev_minor (inspection.finding.minor) is already disputed by objection obj_9"
            )
            errors = [{"field": "event_id", "reason": reason}]
            return httpx.Response(409, json={"error": "conflict", "message": reason,
                                             "errors": errors})  # fmt: skip
        return None

    async with console(person("clerk"), asked, disputed) as client:
        r = await client.post(
            "/staff/merchants/mer_1/objections", data=form | {"statement": "再诉"}
        )
    assert r.status_code == 409 and "这条记录已登记过异议" in r.text
    assert ">再诉</textarea>" in r.text  # what was typed is kept


async def test_a_decision_refused_by_credit_is_said_in_chinese_and_a_decision_comes_back() -> None:
    asked: list[httpx.Request] = []

    def own(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            message = (
                "objection obj_1 was recorded by this person: another clerk of the district "
                "decides it"
            )
            return httpx.Response(
                403, json={"error": "forbidden", "message": message, "errors": []}
            )
        return None

    form = {"csrf": "x", "merchant_id": "mer_1", "decision": "corrected", "reasoning": "属实"}
    async with console(person("clerk", "c-zhou"), asked, own) as client:
        r = await client.post("/staff/objections/obj_1/decision", data=form)
    assert r.status_code == 403 and "异议由您登记，须由本区其他登记员决定" in r.text

    def corrected(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return httpx.Response(200, json={**OPEN, "state": "corrected"})
        return None

    async with console(person("clerk", "c-zhou"), asked, corrected) as client:
        r = await client.post("/staff/objections/obj_1/decision", data=form)
    assert r.status_code == 303 and r.headers["location"] == (
        "/staff/merchants/mer_1?done=corrected#entry-ev_major-inspection-finding-major"
    )
    [sent] = [q for q in asked if q.method == "POST" and q.url.path.endswith("obj_1/decision")][-1:]
    assert json.loads(sent.content) == {"decision": "corrected", "reasoning": "属实"}


async def test_a_withdrawal_is_sent_to_credit_and_a_refusal_is_said_where_it_belongs() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method != "POST":
            return None
        reason = json.loads(request.content)["reason"]
        if not reason.strip():
            errors = [{"field": "reason", "reason": "must not be blank"}]
            body = {"error": "invalid_input", "message": "reason: must not be blank"}
            return httpx.Response(422, json=body | {"errors": errors})
        if reason == "迟了":
            message = "objection obj_1 was decided upheld on 2026-11-06T01:00:00+00:00"
            errors = [{"field": "state", "reason": message}]
            body = {"error": "conflict", "message": message, "errors": errors}
            return httpx.Response(409, json=body)
        return httpx.Response(200, json={**OPEN, "state": "withdrawn", "reasoning": reason})

    async def withdrawing(reason: str) -> httpx.Response:
        form = {"csrf": "x", "merchant_id": "mer_1", "reason": reason}
        async with console(person("clerk", "c-zhang"), asked, answer) as client:
            return await client.post("/staff/objections/obj_1/withdrawal", data=form)

    blank = await withdrawing("  ")
    assert blank.status_code == 422
    form = blank.text[blank.text.index('action="/staff/objections/obj_1/withdrawal"') :]
    assert "请写明撤回的原因" in form[: form.index("</form>")]
    assert '<details class="objection-withdraw" open>' in blank.text
    late = await withdrawing("迟了")
    assert late.status_code == 409 and "该异议已作出决定" in late.text
    done = await withdrawing("商户撤回异议")
    assert done.status_code == 303 and done.headers["location"] == (
        "/staff/merchants/mer_1?done=withdrawn#entry-ev_major-inspection-finding-major"
    )
    sent = [q for q in asked if q.method == "POST"][-1]
    assert sent.url.path == "/objections/obj_1/withdrawal"
    assert json.loads(sent.content) == {"reason": "商户撤回异议"}


async def test_the_list_puts_what_waits_first_and_is_for_clerks_and_leaders() -> None:
    asked: list[httpx.Request] = []
    async with console(person("leader"), asked) as client:
        page = (await client.get("/staff/objections")).text
    waiting = page[page.index('id="waiting"') : page.index('id="decided"')]
    assert "obj_1" in waiting and "obj_0" not in waiting
    assert 'id="waiting-count">1<' in page and "复核无误" in page
    assert 'href="/staff/merchants/mer_1#entry-ev_major-inspection-finding-major"' in page
    async with console(person("inspector"), asked) as client:
        refused = await client.get("/staff/objections")
    assert refused.status_code == 403


def listing(*items: dict[str, Any]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/objections":
            return httpx.Response(200, json={"items": list(items)})
        return None

    return answer


LATE = OPEN | {
    "objection_id": "obj_2", "filed_at": "2026-11-02T09:00:00+08:00",
    "due_at": "2026-11-16T23:59:59.999999+08:00", "working_days_left": -1, "overdue": True,
}  # fmt: skip
# Filed while the city gave objections 5 working days: the rule that set its deadline is said.
NEARING = OPEN | {
    "objection_id": "obj_3", "filed_at": "2026-11-10T09:00:00+08:00", "working_days": 5,
    "due_at": "2026-11-17T23:59:59.999999+08:00", "working_days_left": 1, "nearing": True,
}  # fmt: skip
DECIDED_LATE = OPEN | {
    "objection_id": "obj_4", "state": "corrected", "reasoning": "属实",
    "decided_at": "2026-11-20T09:00:00+08:00", "decided_by": {"subject": "c-zhou"},
    "working_days_left": None, "decided_late": True,
}  # fmt: skip


async def test_what_waits_is_ordered_by_deadline_and_the_overdue_stand_in_red() -> None:
    asked: list[httpx.Request] = []
    answer = listing(OPEN, NEARING, DECIDED_LATE, LATE)
    async with console(person("clerk"), asked, answer) as client:
        page = (await client.get("/staff/objections")).text
    waiting = page[page.index('id="waiting"') : page.index('id="decided"')]
    order = re.findall(r'id="objection-(obj_\d)"', waiting)
    assert order == ["obj_2", "obj_3", "obj_1"]
    assert 'id="overdue-count">1 件逾期<' in page

    def deadline(objection_id: str) -> str:
        item = page[page.index(f'id="objection-{objection_id}"') :]
        return item[: item.index("</li>")]

    assert '<span class="overdue">2026-11-16 · 逾期</span>' in deadline("obj_2")
    assert '<span class="nearing">2026-11-17 · 临期 · 剩余 1 个工作日</span>' in deadline("obj_3")
    assert '<span class="">2026-11-19 · 剩余 4 个工作日</span>' in deadline("obj_1")
    assert "收到后 10 个工作日内决定" in deadline("obj_1")
    assert "收到后 5 个工作日内决定" in deadline("obj_3")
    assert '<span class="overdue">2026-11-19 · 逾期决定</span>' in deadline("obj_4")
    # The clerk who recorded them (c-zhang filed OPEN's copies) is told another clerk decides.
    assert "可由您核实后决定" in deadline("obj_1") and "由您登记" not in deadline("obj_1")
    assert "由您登记" not in deadline("obj_4")  # decided: nothing to say


async def test_the_clerk_who_recorded_an_objection_is_told_on_the_list_another_decides_it() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhang"), asked, listing(OPEN)) as client:
        page = (await client.get("/staff/objections")).text
    assert "由您登记：须由本区其他登记员决定" in page and "可由您核实后决定" not in page
    async with console(person("leader"), asked, listing(OPEN)) as client:
        page = (await client.get("/staff/objections")).text
    assert "由您登记" not in page and "可由您核实后决定" not in page  # leaders decide nothing


async def test_the_merchant_page_says_the_deadline_beside_the_objection() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhou"), asked) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    objection = page[page.index('id="objection-obj_1"') :]
    objection = objection[: objection.index("</form>")]
    assert "处理期限" in objection and "2026-11-19 · 剩余 4 个工作日" in objection


async def test_the_home_card_counts_what_waits_and_the_overdue_in_red() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk"), asked, listing(OPEN, LATE)) as client:
        late = (await client.get("/staff/")).text
    async with console(person("clerk"), asked, listing(OPEN)) as client:
        on_time = (await client.get("/staff/")).text
    assert support.card(late, "信用异议") == "信用异议 2 2 件待决定，1 件逾期"
    assert support.card(on_time, "信用异议") == "信用异议 1 1 件待决定"
    assert '<span class="count alert">2</span>' in late
    assert '<span class="count alert">' not in on_time
    asked_open = [r for r in asked if r.url.path == "/objections"]
    assert asked_open and all(r.url.params.get("state") == "open" for r in asked_open)
