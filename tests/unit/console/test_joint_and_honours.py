"""Joint meetings, joint enforcement and the honour and warning list as the console words them
(issue 17): the new-meeting form's rows and where the service's field errors land, the decision
sent for a case, the list's rules in Chinese, and the citizens' 红黑榜 page in-process with its
services answered by a stub (nothing personal on it)."""

from __future__ import annotations

import json
from datetime import date

import httpx
from starlette.datastructures import FormData

from services.console import labels
from services.console.app import build
from services.console.backend import ApiError
from services.console.settings import ConsoleSettings
from services.console.views.honours import ended_months, month_zh
from services.console.views.joint import MeetingForm, days_left, decision_body, form_errors


def test_empty_decision_rows_are_left_out_and_errors_land_on_the_row_typed() -> None:
    form = FormData(
        [
            ("title", " 第二季度联席会议 "),
            ("held_on", "2026-05-06"),
            ("departments", "health"),
            ("departments", "market_regulation"),
            ("minutes", "纪要"),
            ("decision_0", ""),
            ("department_0", ""),
            ("deadline_0", ""),
            ("decision_1", "排查冷链"),
            ("department_1", "health"),
            ("deadline_1", "2026-05-01"),
            ("decision_3", "复查"),
            ("department_3", "market_regulation"),
            ("deadline_3", ""),
        ]
    )
    parsed = MeetingForm.parse(form, "zhifu")
    assert parsed.body["district"] == "zhifu" and parsed.body["title"] == "第二季度联席会议"
    assert parsed.body["departments"] == ["health", "market_regulation"]
    assert parsed.rows == [1, 3]
    assert [d["decision"] for d in parsed.body["decisions"]] == ["排查冷链", "复查"]
    assert parsed.body["decisions"][1]["deadline"] is None
    refusal = ApiError(
        422,
        "invalid",
        [
            {
                "field": "decisions.0.deadline",
                "reason": "must not be before the meeting (2026-05-06)",
            },
            {"field": "decisions.1.deadline", "reason": "Input should be a valid date"},
            {"field": "departments.1", "reason": "unknown department 'x'; known: health"},
        ],
    )
    errors = form_errors(refusal, parsed.field, parsed.values)
    assert errors == {
        "deadline_1": "不得早于会议召开日期（2026-05-06）",
        "deadline_3": "必填",
        "departments": "不在部门目录中",
    }


def test_a_refusal_naming_no_field_of_the_form_goes_beside_the_button() -> None:
    conflict = ApiError(409, "case c1 is closed; cannot decide it", [])
    assert form_errors(conflict, lambda f: "decide", {}, "decide") == {
        "decide": "当前状态不允许此操作"
    }
    typed = ApiError(
        422, "x", [{"field": "suspension_days", "reason": "Input should be a valid integer"}]
    )
    sent = {"suspension_days": "三天"}
    assert form_errors(typed, lambda f: f, sent) == {"suspension_days": "应为 1–365 的整数天数"}


def test_only_the_chosen_sanction_carries_its_amount() -> None:
    typed = {"sanction": "fine", "fine_yuan": "2000.50", "suspension_days": "7", "reasoning": "r"}
    assert decision_body(typed) == {"sanction": "fine", "fine_yuan": "2000.50", "reasoning": "r"}
    suspended = typed | {"sanction": "suspension"}
    assert decision_body(suspended) == {
        "sanction": "suspension",
        "suspension_days": 7,
        "reasoning": "r",
    }
    assert decision_body({"sanction": "", "reasoning": ""}) == {"sanction": None, "reasoning": ""}


def test_deadlines_and_months_in_words() -> None:
    on = date(2026, 5, 6)
    assert days_left("2026-05-09", on) == "剩余 3 天"
    assert days_left("2026-05-06", on) == "今天到期"
    assert days_left("2026-05-04", on) == "逾期 2 天"
    assert ended_months(date(2026, 1, 15), 3) == ["2025-12", "2025-11", "2025-10"]
    assert month_zh("2026-03") == "2026 年 3 月"


def test_the_rules_an_entry_met_read_in_chinese() -> None:
    assert labels.honour_reason("critical_findings: 2 in 2026-06..2026-11") == (
        "2026-06 至 2026-11 检查发现严重问题 2 次"
    )
    assert labels.honour_reason("score: 55.5 below 60") == "考核得分 55.5（低于 60）"
    assert labels.honour_reason("rank: 1 of 4 in the district") == "区内考核排名第 1 / 4"
    assert labels.honour_reason("something new: 3") == "something new: 3"


HONOURS = {
    "month": "2026-04",
    "district": None,
    "drawing_id": "d1",
    "policy_version": "2026-03",
    "period": {"from": "2026-03-31T16:00:00+00:00", "to": "2026-04-30T16:00:00+00:00"},
    "drawn_at": "2026-05-01T00:10:00+00:00",
    "honour": [
        {"list": "honour", "entity": "market", "entity_id": "mkt_1", "name": "幸福农贸市场",
         "market_id": "mkt_1", "market_name": "幸福农贸市场", "district": "zhifu",
         "reasons": ["score: 95 at least 90", "rank: 1 of 7 in the district"]},
    ],
    "warning": [
        {"list": "warning", "entity": "merchant", "entity_id": "mer_1", "name": "老王鲜肉",
         "market_id": "mkt_1", "market_name": "幸福农贸市场", "district": "zhifu",
         "reasons": ["critical_findings: 2 in 2025-11..2026-04"]},
    ],
}  # fmt: skip


NOT_DRAWN = ended_months()[1]  # a month the page offers, with no list drawn


def stub(request: httpx.Request) -> httpx.Response:
    assert "authorization" not in request.headers, "public calls carry no token"
    if request.url.path == "/public/honours":
        if request.url.params.get("month") == NOT_DRAWN:
            return httpx.Response(404, json={"error": "not_found", "message": "no list"})
        return httpx.Response(200, content=json.dumps(HONOURS).encode())
    if request.url.path == "/public/districts":
        return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
    return httpx.Response(404, json={"detail": "Not Found"})


def client() -> httpx.AsyncClient:
    settings = ConsoleSettings(
        oidc_issuer="http://idp.invalid/realms/x",
        session_secret="s" * 32,
        registry_url="http://registry",
        credit_url="http://credit",
    )
    app = build(settings, httpx.MockTransport(stub))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def test_the_public_page_lists_names_and_reasons_and_nothing_else() -> None:
    async with client() as portal:
        r = await portal.get("/honours")
        assert r.status_code == 200
        page = r.text
        assert "红榜" in page and "黑榜" in page and "2026 年 4 月" in page
        assert "幸福农贸市场" in page and "老王鲜肉" in page and "芝罘区" in page
        assert "2025-11 至 2026-04 检查发现严重问题 2 次" in page
        assert 'href="/merchants/mer_1"' in page and "/staff/" not in page
        missing = await portal.get("/honours", params={"month": NOT_DRAWN})
        assert missing.status_code == 200
        assert f"{month_zh(NOT_DRAWN)}的红黑榜尚未公布" in missing.text
