"""信用修复 pages in front of stubbed services: beside which entry a clerk is offered a repair,
what is sent to credit, where a refusal is said, and how a repair reads in its own words (整改情况,
准予修复 / 不予修复) beside an objection to an error."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx

from services.console import clock
from tests.unit.console.test_objection_pages import OPEN, console, forms, line, person

LATER = (clock.now() + timedelta(days=30)).isoformat()
REPAIR = OPEN | {
    "objection_id": "obj_r", "event_id": "ev_major", "ground": "repaired", "commitment": True,
    "statement": "已更换电子秤并培训员工",
}  # fmt: skip
LEDGER = [
    line("merchant.registered", 0, "ev_reg"),
    # Credit says which entries may be repaired and from when (domain/objections.py).
    line("inspection.finding.minor", -5, "ev_minor", disputable=True, repairable=True,
         repairable_from="2026-08-01T09:00:00+08:00"),
    line("complaint.substantiated", -5, "ev_fresh", disputable=True, repairable=False,
         repairable_from=LATER, repair_opens_at=LATER),
    line("inspection.finding.critical", -30, "ev_critical", disputable=True, repairable=False,
         repairable_from=None),
    line("inspection.finding.major", -15, "ev_major", objection=REPAIR),
]  # fmt: skip


def credit_of(ledger: list[dict[str, Any]], post: Any = None) -> Any:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return post(request) if post is not None else None
        if request.url.path == "/merchants/mer_1/credit":
            return httpx.Response(200, json={
                "merchant_id": "mer_1", "market_id": "mkt_1", "district": "zhifu", "score": 75,
                "grade": "B", "policy_version": "2026-12", "as_of": "2026-11-05T09:00:00+08:00",
                "next_fade_at": None, "ledger": ledger,
            })  # fmt: skip
        return None

    return answer


def repair_form(html: str, anchor: str) -> str:
    start = html.index(f'id="f-repair-{anchor}"')
    return html[html.rindex("<form", 0, start) : html.index("</form>", start)]


async def test_a_clerk_is_offered_a_repair_where_credit_takes_one_and_told_when_it_will() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk", "c-zhou"), asked, credit_of(LEDGER)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    # A repair beside the minor finding only; the fresh one says when; the critical one nothing.
    assert page.count('<details class="repair-new"') == 1
    assert 'id="f-repair-entry-ev_minor-inspection-finding-minor"' in page
    assert re.search(r"\d{4}-\d\d-\d\d 起可申请信用修复", page)
    assert page.count("起可申请信用修复") == 1
    # The repair asked for reads in its own words, and is decided 准予修复 or 不予修复.
    repair = page[page.index('id="objection-obj_r"') :]
    assert 'data-ground="repaired"' in repair[:200]
    assert "信用修复" in repair and "整改情况：已更换电子秤并培训员工" in repair
    assert "已收到信用承诺书" in repair
    assert 'value="repaired"> 准予修复' in repair and 'value="upheld"> 不予修复' in repair
    assert "/staff/objections/obj_r/decision" in forms(page)
    async with console(person("leader"), asked, credit_of(LEDGER)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert forms(page) == [] and "repair-new" not in page


async def test_a_repair_is_sent_with_the_commitment_and_its_refusal_said_beside_the_box() -> None:
    asked: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body["commitment"]:
            errors = [{"field": "commitment",
                       "reason": "a repair needs the merchant's written commitment"}]  # fmt: skip
            return httpx.Response(422, json={"error": "invalid_input", "message": "commitment",
                                             "errors": errors})  # fmt: skip
        return httpx.Response(201, json=REPAIR | {"objection_id": "obj_2"})

    form = {"csrf": "x", "event_id": "ev_minor", "kind": "inspection.finding.minor",
            "ground": "repaired", "statement": " 已整改到位 "}  # fmt: skip
    async with console(person("clerk"), asked, credit_of(LEDGER, refuse)) as client:
        refused = await client.post("/staff/merchants/mer_1/objections", data=form)
        done = await client.post(
            "/staff/merchants/mer_1/objections", data=form | {"commitment": "yes"}
        )
    assert refused.status_code == 422
    mine = repair_form(refused.text, "entry-ev_minor-inspection-finding-minor")
    assert "请确认已收到商户签署的信用承诺书" in mine and ">已整改到位</textarea>" in mine
    assert '<details class="repair-new" open>' in refused.text
    assert '<details class="objection-new" open>' not in refused.text
    assert done.status_code == 303 and done.headers["location"] == (
        "/staff/merchants/mer_1?done=repair#entry-ev_minor-inspection-finding-minor"
    )
    sent = [json.loads(q.content) for q in asked if q.method == "POST"]
    assert sent == [
        {"event_id": "ev_minor", "kind": "inspection.finding.minor", "statement": "已整改到位",
         "ground": "repaired", "commitment": commitment}
        for commitment in (False, True)
    ]  # fmt: skip


async def test_a_repair_decided_comes_back_in_its_words_and_a_refused_one_reads_so() -> None:
    asked: list[httpx.Request] = []

    def granted(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=REPAIR | {"state": "repaired"})

    form = {"csrf": "x", "merchant_id": "mer_1", "ground": "repaired", "decision": "repaired",
            "reasoning": "整改到位"}  # fmt: skip
    async with console(person("clerk", "c-zhou"), asked, credit_of(LEDGER, granted)) as client:
        r = await client.post("/staff/objections/obj_r/decision", data=form)
        assert r.status_code == 303 and r.headers["location"] == (
            "/staff/merchants/mer_1?done=repair_repaired#entry-ev_major-inspection-finding-major"
        )
        shown = (await client.get(r.headers["location"])).text
    assert "已准予信用修复" in shown
    [sent] = [q for q in asked if q.method == "POST"]
    assert json.loads(sent.content) == {"decision": "repaired", "reasoning": "整改到位"}
    upheld = REPAIR | {"state": "upheld", "reasoning": "整改不到位",
                       "decided_at": "2026-11-06T09:00:00+08:00",
                       "decided_by": {"subject": "c-zhou", "name": "周登记"}}  # fmt: skip
    refused = [line("inspection.finding.major", -15, "ev_major", objection=upheld)]
    async with console(person("leader"), asked, credit_of(refused)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    assert "不予修复" in page and "维持原记录" not in page


async def test_the_list_asks_only_for_the_recently_closed_and_points_to_the_ledger() -> None:
    asked: list[httpx.Request] = []
    async with console(person("leader"), asked) as client:
        page = (await client.get("/staff/objections")).text
    [listed] = [q for q in asked if q.url.host == "credit" and q.url.path == "/objections"]
    assert listed.url.params["closed_within_days"] == "90"
    assert "近 90 天决定或撤回的" in page
    older = page[page.index('id="older"') :]
    assert 'href="/staff/ledgers"' in older[: older.index("</p>")]


async def test_a_refused_repair_says_when_to_ask_again_and_a_filing_too_soon_says_why() -> None:
    asked: list[httpx.Request] = []
    upheld = REPAIR | {"state": "upheld", "reasoning": "整改不到位",
                       "decided_at": "2026-11-06T09:00:00+08:00",
                       "decided_by": {"subject": "c-zhou", "name": "周登记"}}  # fmt: skip
    refused = [
        line("inspection.finding.major", -15, "ev_major", objection=upheld, disputable=False,
             repairable=False, repair_opens_at="2026-12-06T09:00:00+08:00"),
        line("inspection.finding.minor", -5, "ev_minor", disputable=True, repairable=True),
    ]  # fmt: skip

    def too_soon(request: httpx.Request) -> httpx.Response:
        errors = [{"field": "event_id", "reason": (
            "entry ev_minor (inspection.finding.minor) was refused a repair on "
            "2026-11-06T01:00:00+00:00: it may be asked again 30 days after, from "
            "2026-12-06T01:00:00+00:00")}]  # fmt: skip
        return httpx.Response(409, json={"error": "conflict", "message": "x", "errors": errors})

    async with console(person("clerk"), asked, credit_of(refused, too_soon)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
        form = {"csrf": "x", "event_id": "ev_minor", "kind": "inspection.finding.minor",
                "ground": "repaired", "statement": "已整改", "commitment": "yes"}  # fmt: skip
        r = await client.post("/staff/merchants/mer_1/objections", data=form)
    major = page[page.index('id="entry-ev_major-inspection-finding-major"') :]
    assert "2026-12-06 起可再次申请信用修复" in major[: major.index("</li>")]
    assert r.status_code == 409
    mine = repair_form(r.text, "entry-ev_minor-inspection-finding-minor")
    assert "不予修复后满 30 日才能再次申请信用修复" in mine


async def test_an_entry_of_another_registration_of_the_business_links_there_with_no_forms() -> None:
    """信用主体: the entry recorded when the business traded at another stall counts here, and
    its objections and repairs are handled on that registration's page."""
    asked: list[httpx.Request] = []
    elsewhere = OPEN | {"merchant_id": "mer_old"}
    ledger = [
        line("merchant.registered", 0, "ev_reg", merchant_id="mer_1", another_registration=False),
        line("inspection.finding.major", -15, "ev_old", merchant_id="mer_old",
             another_registration=True, objection=elsewhere),
    ]  # fmt: skip
    async with console(person("clerk", "c-zhou"), asked, credit_of(ledger)) as client:
        page = (await client.get("/staff/merchants/mer_1")).text
    old = page[page.index('id="entry-ev_old-inspection-finding-major"') :]
    old = old[: old.index("</li>")]
    assert "记于同一统一社会信用代码的另一登记，计入本商户信用" in old
    assert 'href="/staff/merchants/mer_old"' in old
    assert "objection-obj_1" not in old and "<form" not in old
    own = page[page.index('id="entry-ev_reg-merchant-registered"') :]
    assert "另一登记" not in own[: own.index("</li>")]
