"""Operators' self-inspection, task-force reports and training as the console words them
(issue 17): where the campaign service's field errors land, which markets come first on the
reports page, the service's reasons in Chinese, and the operator's home showing its market's
assessment (考核) from credit — or saying there is none, or that credit did not answer."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from services.console import labels
from services.console.backend import ApiError, Unavailable
from services.console.views.duties import due_order, lines, report_field, schedule_row
from services.console.views.self_inspection import item_errors
from services.console.views.training import held_sessions
from services.runtime.auth import Principal
from tests.unit.console import support

CODES = ["hygiene", "cold_chain", "scales"]


def test_a_refused_self_inspection_lands_beside_the_item_it_names() -> None:
    refusal = ApiError(
        422,
        "invalid",
        [
            {
                "field": "items.1.note",
                "reason": "cold_chain (冷链设施) failed: a note of what was seen is required",
            },
            {"field": "items", "reason": "scales (计量器具) is not answered"},
            {"field": "day", "reason": "2026-05-01 is in the future (today is 2026-04-30)"},
        ],
    )
    assert item_errors(refusal, CODES) == {
        "note-cold_chain": "不合格须写明看到的问题",
        "item-scales": "请选择合格或不合格",
        "form": "2026-05-01 还没到",
    }
    down = Unavailable(503, "campaign 服务暂时无法访问")
    assert item_errors(down, CODES) == {"form": "campaign 服务暂时无法访问"}


def test_report_lines_and_fields() -> None:
    assert lines(" 排水沟改造滞后 \n\n部分摊位未公示证照\n") == [
        "排水沟改造滞后",
        "部分摊位未公示证照",
    ]
    assert report_field("problems.3") == "problems"
    assert report_field("period") == "form"
    assert labels.reason_zh("reporting starts on 2026-05-01") == "汇报从 2026-05-01 开始"


def test_late_markets_come_first_then_by_due_day_and_nothing_due_last() -> None:
    def row(name: str, due: str | None, late: bool = False) -> dict[str, object]:
        schedule = None if due is None else {"next_due_on": due, "next_is_late": late}
        items = [{"state": "late"}] if late else []
        return schedule_row({"id": name, "name": name}, {"schedule": schedule, "items": items})

    rows = [row("a", "2026-05-20"), row("b", None), row("c", "2026-05-01", late=True)]
    rows.append(row("d", "2026-05-10"))
    assert [r["market"]["name"] for r in sorted(rows, key=due_order)] == ["c", "d", "a", "b"]


def test_attendance_is_offered_for_sessions_held_already_latest_first() -> None:
    courses = [
        {
            "id": "c1",
            "title": "食品安全",
            "sessions": [
                {"id": "s1", "held_on": "2026-04-01"},
                {"id": "s2", "held_on": "2026-05-02"},
                {"id": "s3", "held_on": "2026-04-20"},
            ],
        }
    ]
    held = held_sessions(courses, "2026-05-01")
    assert [s["id"] for s in held] == ["s3", "s1"]
    assert held[0]["course_title"] == "食品安全"


# --- the operator's home: its market's assessment ----------------------------------------------
ASSESSMENT = {
    "market_id": "mkt_1", "district": "zhifu", "score": 87.46, "rank": 2, "ranked": 5,
    "share_ab": 0.75, "inspection_pass_rate": 0.9, "rectification_on_time_rate": 1.0,
    "complaints_within_limit_rate": None, "open_risks": 1,
}  # fmt: skip
CAMPAIGN: dict[str, Any] = {
    "/self-inspection-checklist": {"items": [{"code": "hygiene", "label_zh": "环境卫生"}]},
    "/markets/mkt_1/self-inspections": {"items": []},
    "/markets/mkt_1/follow-ups": {"items": []},
    "/markets/mkt_1/duties": {
        "self_inspection_rate": 0.8, "self_inspected_days": 24, "opening_days": 30,
        "report_on_time_rate": 1.0, "reports_due": 1, "reports_late": 0,
        "certified_share": 0.5, "managers_certified": 1, "managers": 2, "window_days": 30,
    },
}  # fmt: skip


MARKET = {"id": "mkt_1", "name": "幸福农贸市场", "status": "open", "closed_on": None}
CLOSED = MARKET | {"status": "closed", "closed_on": "2026-05-01"}


def operator_console(
    credit: httpx.Response,
    asked: list[httpx.Request] | None = None,
    market: dict[str, Any] = MARKET,
) -> httpx.AsyncClient:
    """The console signed in as mkt_1's operator; credit answers `credit`, each call to it kept
    in `asked`; the registry's public view of mkt_1 is `market`."""

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "credit":
            (asked if asked is not None else []).append(request)
            return credit
        if request.url.host == "registry" and path == "/public/markets/mkt_1":
            return httpx.Response(200, json=market)
        if request.url.host == "campaign" and path in CAMPAIGN:
            return httpx.Response(200, content=json.dumps(CAMPAIGN[path]).encode())
        return httpx.Response(404, json={"detail": "Not Found"})

    principal = Principal("op-1", "operator", "zhifu", name="赵主办", market_id="mkt_1")
    return support.console(services, principal, token="op-token")


def section(page: str) -> str:
    found = re.search(r'<section id="assessment"[^>]*>(.*?)</section>', page, re.S)
    assert found, "the page has no assessment section"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


async def test_the_operator_sees_its_markets_assessment_score_and_rank() -> None:
    asked: list[httpx.Request] = []
    async with operator_console(httpx.Response(200, json=ASSESSMENT), asked) as client:
        r = await client.get("/staff/self-inspection")
    assert r.status_code == 200
    shown = section(r.text)
    assert "考核得分 87.5 分" in shown and "本区排名 第 2 名 共 5 个市场" in shown
    assert "A/B 级商户 75%" in shown and "投诉按期办理 —" in shown
    assert "未解除食品安全风险 1" in shown
    assert "近 30 天" in r.text and "自查率" in r.text  # beside the duties, not instead
    (call,) = asked
    assert call.url.path == "/markets/mkt_1/assessment" and call.url.params["days"] == "30"
    assert call.headers["authorization"] == "Bearer op-token"


@pytest.mark.parametrize(
    ("credit", "said"),
    [
        (httpx.Response(404, json={"error": "not_found", "message": "no market 'mkt_1'"}),
         "本市场暂无考核结果。"),
        (httpx.Response(503, json={"error": "unavailable", "message": "down"}),
         "考核得分暂时无法获取。"),
        (httpx.Response(403, json={"error": "forbidden", "message": "role"}),
         "考核得分暂时无法获取。"),
    ],
)  # fmt: skip
async def test_no_assessment_yet_or_credit_not_answering_leaves_the_page_standing(
    credit: httpx.Response, said: str
) -> None:
    async with operator_console(credit) as client:
        r = await client.get("/staff/self-inspection")
    assert r.status_code == 200
    assert section(r.text) == said
    assert 'id="self-inspection-form"' in r.text and "自查率" in r.text


async def test_a_closed_markets_duty_pages_say_it_owes_nothing_more() -> None:
    """停业: the operator's home asks for no self-inspection; the clerk's reports list tags the
    market and its page offers no report form; its training page registers no manager."""
    assessed_no_more = httpx.Response(
        409, json={"error": "conflict", "message": "market 'mkt_1' closed on 2026-05-01"}
    )
    async with operator_console(assessed_no_more, market=CLOSED) as client:
        home = await client.get("/staff/self-inspection")
    assert home.status_code == 200
    assert "本市场已于 2026-05-01 停业" in support.words(home.text)
    assert "考核不再进行：本市场已停业。" in support.words(home.text)
    assert 'id="self-inspection-form"' not in home.text

    periods = [{"period_start": "2026-04-01", "due_on": "2026-04-15", "state": "late"}]
    answers = {
        "/markets": {"items": [CLOSED]},
        "/markets/mkt_1/reports": {"closed_on": "2026-05-01", "schedule": None, "items": periods},
        "/markets/mkt_1/managers": {"items": []},
        "/courses": {"items": []},
    }

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/public/markets/mkt_1":
            return httpx.Response(200, json=CLOSED)
        if path in answers:
            return httpx.Response(200, json=answers[path])
        return httpx.Response(404, json={"detail": "Not Found"})

    clerk = Principal("c-1", "clerk", "zhifu", name="王晓燕")
    async with support.console(services, clerk) as client:
        listed = await client.get("/staff/reports")
        report = await client.get("/staff/reports/mkt_1")
        training = await client.get("/staff/training/markets/mkt_1")
    assert "已停业 · 2026-05-01：不再需要汇报" in support.words(listed.text)
    assert 'id="late-count"' not in listed.text  # what it owed before stays on its own page
    assert "该市场已于 2026-05-01 停业，不再需要专班汇报" in support.words(report.text)
    assert 'id="report-form"' not in report.text and 'data-period="2026-04-01"' in report.text
    assert "不再登记管理人员" in support.words(training.text)
    assert 'action="/staff/training/markets/mkt_1/managers"' not in training.text
