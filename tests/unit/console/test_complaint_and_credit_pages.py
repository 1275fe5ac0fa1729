"""The handler's clocks and the merchant's credit explanation as the console words them: which
clock runs, 临期 and 逾期, how a stopped clock ended; each ledger entry's links to its task,
complaint or risk; the licence's validity."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import httpx

from services.console import labels
from services.console.views.complaints import clocks, timeline, urgency
from services.console.views.merchants import explain, licence, links, risk_root
from services.runtime.auth import Principal
from tests.unit.console import support

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


def case(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "cmp_1",
        "state": "received",
        "channel": "hotline_12345",
        "received_at": "2026-05-04T01:00:00+00:00",
        "acceptance_deadline": "2026-05-13T15:59:59.999999+00:00",
        "mediation_deadline": None,
        "accepted_at": None,
        "rejected_at": None,
        "closed_at": None,
        "acceptance_overdue_at": None,
        "mediation_overdue_at": None,
        "running_clock": "acceptance",
        "current_deadline": "2026-05-13T15:59:59.999999+00:00",
        "working_days_left": 5,
        "nearing": False,
    }
    return base | changes


def test_a_received_case_runs_the_acceptance_clock_and_mediation_waits() -> None:
    acceptance, mediation = clocks(case(), NOW)
    assert (acceptance.name, acceptance.rule) == ("受理期限", "收到后 7 个工作日")
    assert acceptance.running and acceptance.status == "剩余 5 个工作日"
    assert (mediation.name, mediation.rule) == ("调解期限", "受理后 45 个工作日")
    assert not mediation.running and mediation.status == "受理后起算"
    assert urgency(case(), NOW) == ""


def test_nearing_and_overdue_are_marked_on_the_running_clock() -> None:
    near = case(nearing=True, working_days_left=1)
    assert clocks(near, NOW)[0].status == "临期 · 剩余 1 个工作日"
    assert clocks(near, NOW)[0].css == "nearing" and urgency(near, NOW) == "nearing"
    late = case(
        current_deadline="2026-05-05T15:59:59+00:00",
        acceptance_deadline="2026-05-05T15:59:59+00:00",
        working_days_left=-1,
    )
    assert (clocks(late, NOW)[0].status, clocks(late, NOW)[0].css) == ("逾期", "overdue")
    assert urgency(late, NOW) == "overdue"
    # Marked overdue by the service's clock: overdue even if the page's clock disagrees.
    marked = case(acceptance_overdue_at="2026-05-06T00:00:00+00:00")
    assert urgency(marked, NOW) == "overdue"


def test_an_accepted_case_shows_how_acceptance_ended_and_runs_mediation() -> None:
    accepted = case(
        state="accepted",
        accepted_at="2026-05-14T01:00:00+00:00",  # after the acceptance deadline
        mediation_deadline="2026-07-20T15:59:59+00:00",
        running_clock="mediation",
        current_deadline="2026-07-20T15:59:59+00:00",
        working_days_left=44,
    )
    acceptance, mediation = clocks(accepted, NOW)
    assert (acceptance.status, acceptance.css) == ("逾期受理", "overdue")
    assert mediation.running and mediation.status == "剩余 44 个工作日"


def test_a_closed_or_rejected_case_has_no_running_clock() -> None:
    closed = case(
        state="closed",
        accepted_at="2026-05-05T01:00:00+00:00",
        mediation_deadline="2026-07-20T15:59:59+00:00",
        closed_at="2026-05-20T01:00:00+00:00",
        running_clock=None,
        current_deadline=None,
        working_days_left=None,
    )
    assert [c.status for c in clocks(closed, NOW)] == ["按期受理", "按期办结"]
    assert urgency(closed, NOW) == ""
    rejected = case(
        state="rejected",
        rejected_at="2026-05-05T01:00:00+00:00",
        running_clock=None,
        current_deadline=None,
    )
    assert [c.status for c in clocks(rejected, NOW)] == ["按期决定", "不予受理，无调解"]


def test_the_timeline_names_who_decided_in_order() -> None:
    closed = case(
        state="closed",
        accepted_at="2026-05-05T01:00:00+00:00",
        accepted_actor={"subject": "s1", "name": "张丽娟"},
        closed_at="2026-05-20T01:00:00+00:00",
        closed_actor={"subject": "s1", "name": "张丽娟"},
        outcome="refunded",
        substantiated=True,
        satisfaction=4,
    )
    done = [{"task_id": "tsk_1", "outcome": "minor", "completed_at": "2026-05-08T01:00:00+00:00"}]
    steps = timeline(closed, done)
    assert [s["what"] for s in steps] == ["收到投诉", "受理", "检查完成", "办结"]
    assert steps[1]["by"] == "张丽娟" and steps[2]["task_id"] == "tsk_1"
    assert steps[3]["note"] == "退款退货 · 属实 · 满意度 4/5"


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "inspection.finding.major",
        "delta": -15,
        "reason": "inspection found major problems (task tsk_ab12: major (CCH-01)): -15 under "
        "policy 2026-01",
        "occurred_at": "2026-05-05T01:00:00+00:00",
        "counting": True,
        "root": None,
    }
    return base | changes


def test_an_adjustment_links_to_its_task_and_the_complaint_at_its_root() -> None:
    found = links(entry(root={"kind": "complaint", "id": "cmp_9", "category": "short_weight"}))
    assert found == [
        {"kind": "task", "text": "检查任务", "href": "/staff/tasks/tsk_ab12"},
        {"kind": "complaint", "text": "投诉（缺斤短两）", "href": "/staff/complaints/cmp_9"},
    ]
    substantiated = entry(
        kind="complaint.substantiated",
        reason="substantiated complaint (complaint cmp_7 (price) substantiated): -5 under policy",
    )
    assert links(substantiated) == [
        {"kind": "complaint", "text": "投诉（价格）", "href": "/staff/complaints/cmp_7"}
    ]


def test_a_confirmed_risk_is_named_from_the_root_or_the_reason() -> None:
    root = {"kind": "risk", "id": "r1", "rule": "cold_chain_excursion", "severity": "major"}
    assert risk_root(entry(root=root)) == root
    confirmed = entry(
        kind="food_safety_risk.confirmed",
        reason="food-safety risk confirmed by inspection (task tsk_1 (major) confirmed risk "
        "r1, r2): -10 under policy 2026-01",
    )
    assert risk_root(confirmed) == {"kind": "risk", "id": "r1"}
    assert links(confirmed)[-1] == {
        "kind": "risk",
        "text": "风险（食品安全）",
        "href": "/staff/risks/r1",
    }
    assert links(entry(root=root))[-1]["text"] == "风险（冷链温度超标）"
    assert risk_root(entry()) is None


def test_the_explanation_is_newest_first_with_the_sign_of_each_delta() -> None:
    credit = {
        "ledger": [
            entry(
                kind="merchant.registered",
                delta=0,
                reason="registered",
                occurred_at="2026-01-01T00:00:00+00:00",
            ),
            entry(),
            entry(
                kind="inspection.pass",
                delta=2,
                reason="passed",
                occurred_at="2026-06-01T00:00:00+00:00",
            ),
        ]
    }
    assert [(e["kind"], e["sign"]) for e in explain(credit)] == [
        ("inspection.pass", "up"),
        ("inspection.finding.major", "down"),
        ("merchant.registered", "zero"),
    ]
    assert all(kind in labels.CREDIT_KIND for kind in (e["kind"] for e in explain(credit)))


def test_the_licence_validity_in_words() -> None:
    today = date(2026, 5, 6)
    assert licence({"licence_valid_until": "2027-01-01"}, today)["status"] == "有效"
    assert licence({"licence_valid_until": "2026-05-20"}, today)["status"] == "剩余 14 天"
    expired = licence({"licence_valid_until": "2026-05-01"}, today)
    assert (expired["status"], expired["css"]) == ("已过期 5 天", "overdue")


async def handlers_page(
    found: dict[str, Any], market: dict[str, Any] | None = None, **merchant: Any
) -> httpx.Response:
    """The complaint `found` (cmp_1) as a handler of zhifu sees it; its merchant mer_1 is 海鲜李
    (with `merchant`'s other fields); the registry answers `market` for mkt_1, if given."""

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/cmp_1":
            return httpx.Response(200, json=found)
        if request.url.path == "/merchants/mer_1":
            return httpx.Response(200, json={"id": "mer_1", "name": "海鲜李"} | merchant)
        if request.url.path == "/markets/mkt_1" and market is not None:
            return httpx.Response(200, json=market)
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    who = Principal("sub-1", "handler", "zhifu", name="张丽娟")
    async with support.console(services, who) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert r.status_code == 200, r.text
    return r


async def test_a_complaints_merchant_links_to_its_credit_by_the_words_for_it() -> None:
    """The link read 信用 alone (海鲜李 · 摊位 A-02 信用); the page it opens is the merchant's
    信用等级 and its explanation, as a task's link says."""
    found = case(market_id="mkt_1", merchant_id="mer_1", stall_no="A-02", category="price")
    r = await handlers_page(found)
    assert '<a href="/staff/merchants/mer_1">信用等级</a>' in r.text


async def test_a_case_about_a_merchant_who_left_tells_the_handler_no_inspection_will_come() -> None:
    """Inspection opens no task about a merchant who left its stall (退出经营): said before the
    handler accepts or closes, so the case is not left waiting for one."""
    found = case(market_id="mkt_1", merchant_id="mer_1", stall_no="A-02", category="price")
    r = await handlers_page(found, status="left", left_on="2026-05-03")
    notice = re.search(r'<p class="notice warn" id="merchant-left">(.*?)</p>', r.text)
    assert notice is not None and notice.group(1).startswith("该商户已于 2026-05-03 退出经营")
    assert "不再派出检查任务（已派出的已撤销）" in notice.group(1)
    assert 'id="merchant-left"' not in (await handlers_page(found, status="active")).text


async def test_a_case_about_a_closed_market_tells_the_handler_no_inspection_will_come() -> None:
    """停业: inspection opens no task about the market; said in place of the merchant's leaving
    (it left first), while the case is received or accepted."""
    found = case(market_id="mkt_1", merchant_id="mer_1", stall_no="A-02", category="price")
    closed = {"id": "mkt_1", "name": "幸福农贸市场", "kind": "farmers"}
    closed |= {"status": "closed", "closed_on": "2026-05-04"}
    r = await handlers_page(found, closed, status="left", left_on="2026-05-03")
    notice = re.search(r'<p class="notice warn" id="market-closed">(.*?)</p>', r.text)
    assert notice is not None and notice.group(1).startswith("该市场已于 2026-05-04 停业")
    assert 'id="merchant-left"' not in r.text
    done = await handlers_page(found | {"state": "closed"}, closed, status="left")
    assert 'id="market-closed"' not in done.text


async def test_the_rejection_reason_says_the_complainant_reads_it() -> None:
    """The reason goes to the public tracking page as typed (phones masked there, names not): the
    handler is told so beside the field, which a screen reader announces with it."""
    r = await handlers_page(case(market_id="mkt_1", category="price"))
    assert 'id="reason-hint">投诉人凭查询码可见，请勿写入任何人的姓名或电话。<' in r.text
    assert 'aria-describedby="reason-hint"' in r.text


# -- 未能回访: a closing with no rating ------------------------------------------------------------
def test_a_closing_with_no_rating_says_the_complainant_was_not_reached() -> None:
    closed = case(
        state="closed",
        accepted_at="2026-05-05T01:00:00+00:00",
        closed_at="2026-05-20T01:00:00+00:00",
        outcome="mediated",
        substantiated=False,
        satisfaction=None,
    )
    assert timeline(closed, [])[-1]["note"] == "调解成功 · 不属实 · 未能回访"


async def closing_sent(form: dict[str, str]) -> tuple[dict[str, Any] | None, httpx.Response]:
    """What the close form `form` sends to the complaints service (None: nothing), and the page;
    the service refuses a closing without `satisfaction` as pydantic does."""
    sent: list[dict[str, Any]] = []

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/cmp_1/close":
            body = json.loads(request.content)
            sent.append(body)
            if "satisfaction" not in body:
                error = {"field": "satisfaction", "reason": "Field required"}
                return httpx.Response(422, json={"error": "invalid_input", "errors": [error]})
            return httpx.Response(200, json=case(state="closed", closed_at=NOW.isoformat()))
        if request.url.path == "/complaints/cmp_1":
            accepted = case(state="accepted", accepted_at=NOW.isoformat(), market_id="mkt_1")
            return httpx.Response(200, json=accepted | {"category": "price"})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    who = Principal("sub-1", "handler", "zhifu", name="张丽娟")
    async with support.console(services, who) as client:
        r = await client.post("/staff/complaints/cmp_1/close", data=form)
    return (sent[0] if sent else None), r


async def test_not_reached_is_sent_as_a_null_satisfaction_and_nothing_picked_is_asked_for() -> None:
    reached = {"outcome": "mediated", "substantiated": "false", "satisfaction": "4"}
    body, r = await closing_sent(reached)
    assert body == {"outcome": "mediated", "substantiated": False, "satisfaction": 4}
    assert r.status_code == 303, r.text
    body, r = await closing_sent(reached | {"satisfaction": "unreached"})
    assert body == {"outcome": "mediated", "substantiated": False, "satisfaction": None}
    assert r.status_code == 303, r.text
    body, r = await closing_sent({"outcome": "mediated", "substantiated": "false"})
    assert body == {"outcome": "mediated", "substantiated": False}
    assert r.status_code == 422 and "请选择满意度" in r.text
    assert 'value="unreached"' in r.text  # the form offers 未能回访 beside the scale
