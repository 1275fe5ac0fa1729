"""移送 on the handler's case page, in process against a scripted complaints service and
registry: the city's markets offered by district, what the form sends, where a moved case leads,
each refusal beside its field, the timeline's words and the citizen's tracking page."""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.console.views.complaints import clocks, timeline
from services.runtime.auth import Principal
from tests.unit.console import support
from tests.unit.console.test_complaint_and_credit_pages import NOW, case

HANDLER = Principal("sub-1", "handler", "zhifu", name="张丽娟")
MARKETS = [
    {"id": "mkt_1", "name": "幸福农贸市场", "district": "zhifu", "district_name": "芝罘区"},
    {"id": "mkt_3", "name": "只楚农贸市场", "district": "zhifu", "district_name": "芝罘区"},
    {"id": "mkt_2", "name": "莱山批发市场", "district": "laishan", "district_name": "莱山区"},
]
RECEIVED = case(market_id="mkt_1", category="price")


class Scripted:
    """The services the page calls: the case, the public directory (in pages of `page`), and the
    transfer's answer."""

    def __init__(self, answer: httpx.Response | None = None, page: int = 100) -> None:
        self.sent: list[dict[str, Any]] = []
        self.answer, self.page, self.directory_calls = answer, page, 0
        self.markets = MARKETS

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/complaints/cmp_1/transfer":
            self.sent.append(json.loads(request.content))
            return self.answer or httpx.Response(200, json=RECEIVED)
        if path == "/complaints/cmp_1":
            return httpx.Response(200, json=RECEIVED)
        if path == "/public/markets":
            self.directory_calls += 1
            offset = int(request.url.params["offset"])
            limit = min(self.page, int(request.url.params["limit"]))
            items = self.markets[offset : offset + limit]
            return httpx.Response(200, json={"items": items, "total": len(self.markets)})
        if path.startswith("/public/markets/"):
            found = [m for m in MARKETS if m["id"] == path.rsplit("/", 1)[1]]
            if found:
                return httpx.Response(200, json=found[0])
        return httpx.Response(404, json={"error": "not_found", "message": "none"})


async def transferred(answer: httpx.Response, **form: str) -> tuple[Scripted, httpx.Response]:
    """The handler's transfer form posted with `form`, the complaints service answering
    `answer`: what it was sent, and the console's answer."""
    services = Scripted(answer)
    async with support.console(services, HANDLER) as client:
        r = await client.post("/staff/complaints/cmp_1/transfer", data=form)
    return services, r


async def test_the_form_offers_every_other_market_of_the_city_by_district() -> None:
    services = Scripted()
    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert r.status_code == 200, r.text
    assert 'id="transfer-box" >' in r.text  # folded: 受理 is the next action of most cases
    form = r.text[r.text.index('id="transfer"') : r.text.index('id="reject"')]
    assert '<optgroup label="芝罘区">' in form and '<optgroup label="莱山区">' in form
    assert 'value="mkt_3"' in form and 'value="mkt_2"' in form
    assert 'value="mkt_1"' not in form  # the market it already names
    assert form.index("芝罘区") < form.index("只楚农贸市场") < form.index("莱山区")


async def test_the_directory_is_read_page_by_page_to_its_end() -> None:
    services = Scripted(page=1)
    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert services.directory_calls == len(MARKETS)
    assert 'value="mkt_2"' in r.text and 'value="mkt_3"' in r.text


async def test_a_linked_case_is_not_offered_a_transfer_and_says_why() -> None:
    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/cmp_1":
            return httpx.Response(200, json=RECEIVED | {"duplicates": ["cmp_2"]})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert 'id="transfer"' not in r.text
    assert "重复投诉及其首件不能移送" in r.text


async def test_a_move_to_another_district_sends_the_fields_and_leads_to_the_queue() -> None:
    moved = RECEIVED | {"market_id": "mkt_2", "district": "laishan"}
    services, r = await transferred(
        httpx.Response(200, json=moved),
        market_id="mkt_2",
        stall_no=" B-01 ",
        transfer_reason=" 摊位在莱山 ",
    )
    assert services.sent == [{"market_id": "mkt_2", "stall_no": "B-01", "reason": "摊位在莱山"}]
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/complaints?done=transferred"


async def test_a_move_within_the_district_leads_back_to_the_case() -> None:
    moved = RECEIVED | {"market_id": "mkt_3", "district": "zhifu"}
    services, r = await transferred(
        httpx.Response(200, json=moved),
        market_id="mkt_3",
        stall_no="",
        transfer_reason="选错市场",
    )
    assert services.sent[0]["stall_no"] is None
    assert r.headers["location"] == "/staff/complaints/cmp_1?done=transferred"


async def test_the_queue_says_where_a_moved_case_went() -> None:
    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path in ("/complaints", "/markets", "/merchants"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints?done=transferred")
    assert r.status_code == 200, r.text
    assert "已移送至所选市场所在区，由该区投诉处理员受理" in r.text


async def test_each_refusal_stands_beside_its_field_with_what_was_typed() -> None:
    errors = [
        {"field": "market_id", "reason": "Field required"},
        {"field": "reason", "reason": "String should have at least 1 character"},
    ]
    refused = httpx.Response(422, json={"error": "invalid_input", "errors": errors})
    _, r = await transferred(refused, market_id="", stall_no="B-07", transfer_reason="")
    assert r.status_code == 422
    page = r.text[r.text.index('id="transfer-box"') : r.text.index('id="reject"')]
    assert page.startswith('id="transfer-box" open>')  # the refused form unfolded
    assert 'id="market_id-error" role="alert">请选择要移送的市场<' in page
    assert 'id="transfer_reason-error" role="alert">必填<' in page
    assert 'value="B-07"' in page
    # The rejection's own reason field beside it is left alone.
    assert 'id="reason-error"' not in r.text


async def test_a_stall_the_new_market_has_no_merchant_at_is_said_in_chinese() -> None:
    errors = [{"field": "stall_no", "reason": "no merchant is registered at stall 'Z-9'"}]
    refused = httpx.Response(422, json={"error": "invalid_input", "errors": errors})
    _, r = await transferred(refused, market_id="mkt_2", stall_no="Z-9", transfer_reason="在莱山")
    assert 'id="stall_no-error" role="alert">该市场此摊位没有登记商户<' in r.text
    assert '<option value="mkt_2" selected>' in r.text


async def test_a_case_decided_meanwhile_is_said_above_the_page() -> None:
    reason = "complaint cmp_1 is accepted; cannot transfer"
    error = {
        "error": "conflict",
        "message": reason,
        "errors": [{"field": "state", "reason": reason}],
    }
    conflict = httpx.Response(409, json=error)
    _, r = await transferred(conflict, market_id="mkt_2", stall_no="", transfer_reason="在莱山")
    assert r.status_code == 409
    assert 'id="case-error">未能移送' in r.text


def test_the_timeline_names_both_markets_and_keeps_the_old_overdue_mark() -> None:
    moved = case(
        market_id="mkt_2",
        transfers=[
            {
                "from_market_id": "mkt_1",
                "from_district": "zhifu",
                "to_market_id": "mkt_2",
                "to_district": "laishan",
                "reason": "摊位在莱山",
                "actor": {"subject": "sub-1", "name": "张丽娟"},
                "at": "2026-05-14T02:00:00+00:00",
                "overdue_at": "2026-05-13T16:00:00+00:00",
            }
        ],
    )
    steps = timeline(moved, [], {"mkt_1": "幸福农贸市场", "mkt_2": "莱山批发市场"})
    assert [s["what"] for s in steps] == ["收到投诉", "受理逾期", "移送"]
    assert steps[2]["note"] == "自幸福农贸市场移送至莱山批发市场 · 理由：摊位在莱山"
    assert steps[2]["by"] == "张丽娟"
    assert timeline(moved, [])[2]["note"].startswith("自原市场移送至现市场")


async def test_the_citizen_reads_the_market_now_handling_it_and_when_it_moved() -> None:
    status = {
        "tracking_code": "ABCDEFGHJK",
        "state": "received",
        "category": "price",
        "channel": "web",
        "received_at": "2026-05-04T01:00:00+00:00",
        "acceptance_deadline": "2026-05-25T15:59:59.999999+00:00",
        "market_id": "mkt_2",
        "transferred_at": NOW.isoformat(),
        "overdue": False,
    }

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/track/ABCDEFGHJK":
            return httpx.Response(200, json=status)
        if request.url.path == "/public/markets/mkt_2":
            return httpx.Response(200, json=MARKETS[2])
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    async with support.console(services, None) as client:
        r = await client.get("/complaints/track/ABCDEFGHJK")
    assert r.status_code == 200, r.text
    assert 'id="market">莱山批发市场' in r.text
    assert "2026-05-06 移送至此" in r.text
    # Its deadline explained by the rule that set it: the clock restarted at the move.
    assert "（移送后 7 个工作日）" in r.text and "收到后 7 个工作日" not in r.text


MOVE = {
    "from_market_id": "mkt_1",
    "from_district": "zhifu",
    "to_market_id": "mkt_2",
    "to_district": "laishan",
    "reason": "摊位在莱山",
    "actor": {"subject": "sub-1", "name": "张丽娟"},
    "at": "2026-05-05T02:00:00+00:00",
    "overdue_at": None,
}


def test_a_moved_cases_acceptance_clock_names_the_move_as_its_start() -> None:
    [acceptance, mediation] = clocks(case(transfers=[MOVE]), NOW)
    assert (acceptance.rule, mediation.rule) == ("移送后 7 个工作日", "受理后 45 个工作日")
    assert clocks(case(), NOW)[0].rule == "收到后 7 个工作日"
    late = case(transfers=[MOVE], acceptance_overdue_at="2026-05-14T16:00:00+00:00")
    [overdue] = [s for s in timeline(late, []) if s["what"] == "受理逾期"]
    assert overdue["note"] == "超过受理期限（移送后 7 个工作日）"


async def test_the_receiving_queue_marks_a_moved_case_and_when_it_came() -> None:
    moved = RECEIVED | {"market_id": "mkt_2", "district": "laishan", "transfers": [MOVE]}

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints":
            found = [moved] if request.url.params.get("state") == "received" else []
            return httpx.Response(200, json={"items": found})
        if request.url.path in ("/markets", "/merchants"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    receiving = Principal("sub-2", "handler", "laishan", name="钱处理")
    async with support.console(services, receiving) as client:
        r = await client.get("/staff/complaints")
    row = r.text[r.text.index('data-complaint="cmp_1"') :]
    assert '<span class="tag">移送件</span>' in row
    assert "05-05 10:00 移送至此" in row


async def test_a_city_of_one_market_offers_no_transfer() -> None:
    services = Scripted()
    services.markets = MARKETS[:1]
    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert r.status_code == 200, r.text
    assert 'id="transfer-box"' not in r.text and 'id="accept"' in r.text


async def test_a_registry_that_does_not_answer_is_said_without_an_alert() -> None:
    """An alert on the page is the answer to a form sent: one here would keep a draft typed
    offline into the rejection's form from coming back (app.js)."""

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/cmp_1":
            return httpx.Response(200, json=RECEIVED)
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})

    async with support.console(services, HANDLER) as client:
        r = await client.get("/staff/complaints/cmp_1")
    assert 'role="status" id="no-destinations">暂时无法获取市场列表' in r.text
    assert 'id="market_id"' not in r.text
