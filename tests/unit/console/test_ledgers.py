"""台账导出: a month, quarter or year of complaints or inspections as an Excel sheet — the period
asked for read in the city's calendar, every page of the service's listing followed by its
`next`, the rows as the office reads them, nothing personal about a complainant, a refused period
beside its field."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from services.console import clock, ledgers
from services.console.ledgers import (
    GRADE_UNAVAILABLE,
    Period,
    PeriodRefused,
    complaint_row,
    inspection_row,
    merchant_row,
    offered,
    period,
    rectification_row,
)
from services.console.sessions import Session
from services.console.workbook import Column, workbook
from services.runtime.auth import Principal
from tests.unit.console import support

CITY = timezone(timedelta(hours=8))
TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
MARKETS = {"mkt_1": "幸福农贸市场", "mkt_2": "只楚果蔬批发市场"}
MERCHANTS = {"mer_1": "老王鲜肉"}

CLOSED = {
    "id": "cmp_1",
    "received_at": "2026-11-03T09:30:00+08:00",
    "channel": "hotline_12345",
    "market_id": "mkt_1",
    "stall_no": "A-01",
    "merchant_id": "mer_1",
    "category": "short_weight",
    "facts": "称重少了二两",
    "complainant": {"name": "张三", "phone": "13800138000"},
    "state": "closed",
    "running_clock": None,
    "acceptance_deadline": "2026-11-12T09:30:00+08:00",
    "accepted_at": "2026-11-04T10:00:00+08:00",
    "mediation_deadline": "2027-01-08T10:00:00+08:00",
    "closed_at": "2026-11-20T16:00:00+08:00",
    "outcome": "refunded",
    "substantiated": True,
    "satisfaction": None,
    "transfers": [
        {"from_market_id": "mkt_2", "to_market_id": "mkt_1", "at": "2026-11-03T10:00:00+08:00"}
    ],
}  # fmt: skip


def named_by(columns: tuple[Column, ...], row: list[Any]) -> dict[str, Any]:
    """A ledger's row by its columns' headers."""
    return dict(zip([c.header for c in columns], row, strict=True))


def test_a_month_is_the_city_s_from_its_first_midnight_to_the_next_month_s() -> None:
    december = period("2025-12", TODAY)
    assert december.start == datetime(2025, 12, 1, tzinfo=CITY)
    assert december.end == datetime(2026, 1, 1, tzinfo=CITY)
    assert period("2026-12", TODAY).end == datetime(2027, 1, 1, tzinfo=CITY)


@pytest.mark.parametrize(
    ("value", "start", "end", "label", "months"),
    [
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "2026年第四季度", 3),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1), "2026年第一季度", 3),
        ("2025", date(2025, 1, 1), date(2026, 1, 1), "2025年", 12),
        ("2026-03", date(2026, 3, 1), date(2026, 4, 1), "2026年3月", 1),
    ],
)
def test_a_quarter_or_a_year_is_its_months_in_the_city_s_calendar(
    value: str, start: date, end: date, label: str, months: int
) -> None:
    asked = period(value, TODAY)
    assert (asked.start, asked.end) == (
        datetime.combine(start, datetime.min.time(), tzinfo=CITY),
        datetime.combine(end, datetime.min.time(), tzinfo=CITY),
    )
    assert (asked.text, asked.label) == (value, label)
    assert len(asked.month_texts()) == months
    assert asked.month_texts()[0] == start.strftime("%Y-%m")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "请选择期间"),
        ("", "请选择期间"),
        ("2026-13", "请选择月份、季度或年份，例如 2026-11、2026-Q4 或 2026"),
        ("2026-Q5", "请选择月份、季度或年份，例如 2026-11、2026-Q4 或 2026"),
        ("november", "请选择月份、季度或年份，例如 2026-11、2026-Q4 或 2026"),
        ("0000", "请选择月份、季度或年份，例如 2026-11、2026-Q4 或 2026"),
        ("2027-01", "不能晚于本月"),
        ("2027-Q1", "不能晚于本季度"),
        ("2027", "不能晚于今年"),
    ],
)
def test_a_period_the_form_cannot_export_says_why(value: str | None, reason: str) -> None:
    with pytest.raises(PeriodRefused, match=reason):
        period(value, TODAY)


def test_the_form_offers_months_quarters_and_years_up_to_the_one_under_way() -> None:
    months, quarters, years = offered(TODAY)
    assert [kind for kind, _ in (months, quarters, years)] == ["月度", "季度", "年度"]
    assert [p.text for p in months[1][:3]] == ["2026-12", "2026-11", "2026-10"]
    assert months[1][-1].text == "2025-01" and len(months[1]) == 24
    assert [p.text for p in quarters[1][:5]] == [
        "2026-Q4",
        "2026-Q3",
        "2026-Q2",
        "2026-Q1",
        "2025-Q4",
    ]
    assert [p.text for p in years[1]] == ["2026", "2025", "2024"]
    # Each offered value is read back as the period it names.
    assert all(
        period(p.text, TODAY) == p for _, listed in (months, quarters, years) for p in listed
    )
    assert ledgers.last_month(date(2026, 1, 15)) == Period(date(2025, 12, 1))


def test_a_closed_complaint_reads_as_the_office_files_it_with_nobody_s_name_or_phone() -> None:
    row = complaint_row(CLOSED, MARKETS, MERCHANTS, NOW)
    named = named_by(ledgers.COMPLAINT_COLUMNS, row)
    assert named["收到时间（北京时间）"] == datetime(2026, 11, 3, 9, 30, tzinfo=CITY)
    assert (named["市场"], named["摊位号"], named["商户"]) == ("幸福农贸市场", "A-01", "老王鲜肉")
    assert (named["渠道"], named["类别"], named["状态"]) == ("12345 热线", "缺斤短两", "已办结")
    assert (named["受理情况"], named["调解情况"]) == ("按期受理", "按期办结")
    assert (named["办结结果"], named["是否属实"], named["满意度"]) == (
        "退款退货",
        "属实",
        "未能回访",
    )
    assert named["移送"] == "自只楚果蔬批发市场移送至幸福农贸市场"
    assert not any(isinstance(v, str) and ("张三" in v or "13800138000" in v) for v in row)


def test_an_open_complaint_past_its_acceptance_deadline_reads_overdue_and_unclosed() -> None:
    late = {**CLOSED, "state": "received", "running_clock": "acceptance", "accepted_at": None,
            "mediation_deadline": None, "closed_at": None, "outcome": None, "transfers": [],
            "substantiated": None}  # fmt: skip
    named = named_by(ledgers.COMPLAINT_COLUMNS, complaint_row(late, MARKETS, {}, NOW))
    assert named["受理情况"] == "逾期"
    assert (named["办结结果"], named["是否属实"], named["满意度"], named["移送"]) == (
        "",
        "",
        "",
        "",
    )


def test_an_inspection_lists_each_finding_on_a_line_and_says_it_was_late() -> None:
    task = {
        "id": "tsk_1", "reason_kind": "complaint", "market_id": "mkt_1", "stall_no": "A-01",
        "merchant_id": "mer_1", "outcome": "major",
        "findings": [{"code": "WGT-01", "title_zh": "计量器具未检定", "note": "电子秤无检定标志"},
                     {"code": "HYG-02", "title_zh": "摊位不洁"}],
        "departments": ["market_regulation", "health"],
        "completed_actor": {"subject": "u-9", "name": "郑检查"},
        "due_at": "2026-11-05T10:00:00+08:00", "completed_at": "2026-11-05T11:00:00+08:00",
        "rectification_id": "rct_1", "note": None,
    }  # fmt: skip
    named = named_by(ledgers.INSPECTION_COLUMNS, inspection_row(task, MARKETS, MERCHANTS))
    assert named["检查发现"] == "WGT-01 计量器具未检定（电子秤无检定标志）\nHYG-02 摊位不洁"
    assert (named["检查类型"], named["检查结果"]) == ("投诉", "较重问题")
    assert (named["参与部门"], named["检查员"]) == ("市场监管、卫生健康", "郑检查")
    assert (named["是否按期"], named["整改通知"], named["备注"]) == ("逾期", "已下达", "")
    on_time = inspection_row(
        {**task, "completed_at": task["due_at"], "rectification_id": None}, MARKETS, {}
    )
    assert (on_time[11], on_time[12], on_time[5]) == ("按期", "", "")


def test_the_workbook_keeps_codes_as_text_and_instants_in_the_city_s_time() -> None:
    body = workbook(
        "投诉台账 2026-11",
        [Column("编号"), Column("时间"), Column("数")],
        [["913501000000000000", datetime(2026, 11, 30, 17, 5, 59, tzinfo=UTC), 3]],
    )
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet.title == "投诉台账 2026-11"
    assert [c.value for c in sheet[1]] == ["编号", "时间", "数"]
    assert sheet[1][0].font.b
    code, when, count = (c.value for c in sheet[2])
    assert code == "913501000000000000" and sheet[2][0].data_type == "s"
    assert when == datetime(2026, 12, 1, 1, 5)  # the city's wall time, to the minute
    assert count == 3
    assert sheet.freeze_panes == "A2"


def test_an_order_reads_what_it_ordered_and_what_became_of_it() -> None:
    order = {
        "id": "rct_1", "task_id": "tsk_1", "market_id": "mkt_1", "stall_no": "A-01",
        "merchant_id": "mer_1", "severity": "critical", "suspension": True,
        "findings": [{"code": "CCH-01", "title_zh": "冷链温度超标", "note": "9℃"}],
        "ordered_at": "2026-11-05T11:00:00+08:00", "deadline": None, "state": "verified",
        "overdue_at": "2026-11-12T00:00:00+08:00", "failed_verifications": 1,
        "verified_at": "2026-11-20T10:00:00+08:00",
        "verified_actor": {"subject": "u-9", "name": "郑检查"},
    }  # fmt: skip
    row = rectification_row(order, MARKETS, MERCHANTS)
    named = named_by(ledgers.RECTIFICATION_COLUMNS, row)
    assert (named["检查编号"], named["商户"], named["问题程度"]) == (
        "tsk_1",
        "老王鲜肉",
        "严重问题",
    )
    assert named["检查发现"] == "CCH-01 冷链温度超标（9℃）"
    assert (named["整改期限"], named["责令暂停经营"], named["状态"]) == (None, "是", "已复查通过")
    assert (named["是否逾期"], named["复查未通过次数"], named["复查人"]) == ("逾期", 1, "郑检查")
    assert named["复查通过时间"] == datetime(2026, 11, 20, 10, tzinfo=CITY)
    lapsed = {**order, "state": "lapsed", "lapse_reason": "merchant_left", "overdue_at": None}
    named = named_by(ledgers.RECTIFICATION_COLUMNS, rectification_row(lapsed, MARKETS, {}))
    assert (named["状态"], named["终止原因"], named["复查人"]) == ("已终止", "商户已退出经营", "")
    assert named["复查通过时间"] is None and named["是否逾期"] == ""


OBJECTION = {
    "objection_id": "obj_1", "merchant_id": "mer_1", "market_id": "mkt_1", "district": "zhifu",
    "event_id": "ev_1", "kind": "inspection.finding.major", "delta": -15,
    "occurred_at": "2026-11-03T09:00:00+08:00", "statement": "电子秤已检定",
    "filed_at": "2026-11-05T09:30:00+08:00", "filed_by": {"subject": "c-1", "name": "张登记"},
    "due_at": "2026-11-19T23:59:59.999999+08:00", "state": "corrected", "reasoning": "属实",
    "decided_at": "2026-11-20T10:00:00+08:00", "decided_by": {"subject": "c-2", "name": "周登记"},
    "working_days_left": None, "nearing": False, "overdue": False, "decided_late": True,
}  # fmt: skip


def test_an_objection_reads_its_entry_its_deadline_and_its_decision() -> None:
    named = named_by(
        ledgers.OBJECTION_COLUMNS, ledgers.objection_row(OBJECTION, MARKETS, MERCHANTS)
    )
    assert (named["商户"], named["异议的记录"], named["记录分值"]) == (
        "老王鲜肉",
        "检查发现较重问题",
        -15,
    )
    assert (named["登记人"], named["决定或撤回人"], named["决定或撤回理由"]) == (
        "张登记",
        "周登记",
        "属实",
    )
    assert named["登记时间（北京时间）"] == datetime(2026, 11, 5, 9, 30, tzinfo=CITY)
    assert (named["处理情况"], named["状态"]) == ("逾期决定", "已更正")
    waiting = OBJECTION | {
        "state": "open", "decided_at": None, "decided_by": None, "reasoning": None,
        "working_days_left": 2, "nearing": True, "decided_late": False,
    }  # fmt: skip
    named = named_by(ledgers.OBJECTION_COLUMNS, ledgers.objection_row(waiting, MARKETS, {}))
    assert (named["处理情况"], named["状态"]) == ("临期 · 剩余 2 个工作日", "待决定")
    assert (named["决定或撤回时间"], named["决定或撤回人"], named["商户"]) == (None, "", "")


def test_a_repair_reads_as_one_and_a_refused_one_as_not_repaired() -> None:
    named = named_by(ledgers.OBJECTION_COLUMNS, ledgers.objection_row(OBJECTION, MARKETS, {}))
    assert named["类型"] == "信用异议"  # what credit stored before repairs had a ground
    refused = OBJECTION | {"ground": "repaired", "state": "upheld"}
    named = named_by(ledgers.OBJECTION_COLUMNS, ledgers.objection_row(refused, MARKETS, {}))
    assert (named["类型"], named["状态"]) == ("信用修复", "不予修复")
    granted = refused | {"state": "repaired"}
    named = named_by(ledgers.OBJECTION_COLUMNS, ledgers.objection_row(granted, MARKETS, {}))
    assert named["状态"] == "已修复"


# -- the pages ---------------------------------------------------------------------------------


def page_of(cases: list[dict[str, Any]], size: int) -> dict[int, dict[str, Any]]:
    """The listing's pages of `size`, by the offset each starts at; `next` names the next's."""
    pages = {}
    for i in range(0, len(cases), size):
        more = i + size < len(cases)
        pages[i] = {"items": cases[i : i + size], "next": f"p{i + size}" if more else None}
    return pages


def console(role: str, asked: list[httpx.Request], answer: Any = None) -> httpx.AsyncClient:
    cases = [{**CLOSED, "id": f"cmp_{i}"} for i in range(5)]
    pages = page_of(cases, 2)

    def services(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if answer is not None:
            return answer(request)
        if (request.url.host, request.url.path) == ("complaints", "/complaints"):
            after = request.url.params.get("after")
            return httpx.Response(200, json=pages[int(after[1:]) if after else 0])
        if (request.url.host, request.url.path) == ("inspection", "/inspections"):
            return httpx.Response(200, json={"items": [], "next": None})
        if request.url.path == "/markets":
            return httpx.Response(
                200, json={"items": [{"id": k, "name": v} for k, v in MARKETS.items()]}
            )
        if request.url.path == "/merchants":
            return httpx.Response(
                200, json={"items": [{"id": k, "name": v} for k, v in MERCHANTS.items()]}
            )
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    who = Principal("u-1", role, "zhifu", name="李处理", roles=frozenset({role}))
    app = support.app_of(services)
    app.state.sign_in = support.SignedIn(Session("sid", who, "tok", "r", time.time() + 3600))
    return support.client_of(app)


@pytest.fixture(autouse=True)
def city_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "wall", lambda: NOW)


async def test_the_complaints_ledger_follows_every_page_of_the_month() -> None:
    asked: list[httpx.Request] = []
    async with console("handler", asked) as client:
        r = await client.get("/staff/ledgers/complaints.xlsx", params={"month": "2026-11"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])[1])
    assert name == "投诉台账-zhifu-2026-11.xlsx"
    listings = [q.url.params for q in asked if q.url.path == "/complaints"]
    assert [p.get("after") for p in listings] == [None, "p2", "p4"]
    assert {p["received_from"] for p in listings} == {"2026-11-01T00:00:00+08:00"}
    assert {p["received_before"] for p in listings} == {"2026-12-01T00:00:00+08:00"}
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        f"cmp_{i}" for i in range(5)
    ]


async def test_a_period_refused_is_said_beside_its_field_and_nothing_is_asked() -> None:
    asked: list[httpx.Request] = []
    async with console("handler", asked) as client:
        r = await client.get("/staff/ledgers/complaints.xlsx", params={"period": "2027-Q1"})
        # A link kept from when the form sent `month` is still read.
        kept = await client.get("/staff/ledgers/complaints.xlsx", params={"month": "2027-01"})
    assert r.status_code == 422 and kept.status_code == 422
    assert re.search(r'id="err-complaints-period"[^>]*>不能晚于本季度<', r.text)
    assert re.search(r'id="err-complaints-period"[^>]*>不能晚于本月<', kept.text)
    assert 'aria-invalid="true" aria-describedby="err-complaints-period"' in r.text
    assert not [q for q in asked if q.url.path == "/complaints"]


async def test_a_quarter_of_complaints_is_asked_for_by_its_first_and_last_midnight() -> None:
    asked: list[httpx.Request] = []
    async with console("handler", asked) as client:
        r = await client.get("/staff/ledgers/complaints.xlsx", params={"period": "2026-Q3"})
    assert r.status_code == 200, r.text
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])[1])
    assert name == "投诉台账-zhifu-2026-Q3.xlsx"
    listings = [q.url.params for q in asked if q.url.path == "/complaints"]
    assert {p["received_from"] for p in listings} == {"2026-07-01T00:00:00+08:00"}
    assert {p["received_before"] for p in listings} == {"2026-10-01T00:00:00+08:00"}


async def test_a_service_that_does_not_answer_is_said_above_the_form() -> None:
    asked: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})

    async with console("inspector", asked, down) as client:
        r = await client.get("/staff/ledgers/inspections.xlsx", params={"month": "2026-11"})
    assert r.status_code == 503
    assert 'id="err-inspections-form"' in r.text


async def test_each_person_is_offered_the_ledgers_of_their_work() -> None:
    ledgers_of_a_leader = (
        "inspections", "complaints", "merchants", "rectifications", "assessments", "objections"
    )  # fmt: skip
    asked: list[httpx.Request] = []
    async with console("inspector", asked) as client:
        page = (await client.get("/staff/ledgers")).text
        refused = await client.get("/staff/ledgers/complaints.xlsx", params={"month": "2026-11"})
    assert 'id="ledger-inspections"' in page and 'id="ledger-complaints"' not in page
    assert 'id="ledger-rectifications"' in page and 'id="ledger-assessments"' not in page
    # Last month by default; this month, quarter and year so far are offered as such.
    assert 'value="2026-11" selected' in page and "2026年12月（截至目前）" in page
    assert 'value="2026-Q4">2026年第四季度（截至目前）' in page and 'value="2025">2025年<' in page
    assert 'href="/staff/ledgers"' in page  # in the menu
    assert refused.status_code == 403
    async with console("clerk", asked) as client:
        page = (await client.get("/staff/ledgers")).text
    assert 'id="ledger-merchants"' in page and 'id="ledger-complaints"' not in page
    assert 'id="ledger-objections"' in page
    assert 'id="f-merchants-period"' not in page and "截至今天（2026-12-07）" in page
    async with console("department", asked) as client:
        assert (await client.get("/staff/ledgers")).status_code == 403
    async with console("leader", asked) as client:
        page = (await client.get("/staff/ledgers")).text
    assert all(f'id="ledger-{key}"' in page for key in ledgers_of_a_leader)


MERCHANT = {
    "id": "mer_1", "name": "老王鲜肉", "market_id": "mkt_1", "stall_no": "A-01",
    "credit_code": "913706020000000000", "food_licence": "JY13706020000001",
    "licence_valid_until": "2026-12-20", "categories": ["肉类", "禽蛋"], "status": "active",
}  # fmt: skip
LEFT = {**MERCHANT, "id": "mer_2", "name": "张记冻品", "stall_no": "A-03", "status": "left",
        "left_on": "2026-11-30", "left_reason": "合同到期"}  # fmt: skip


def test_a_merchant_reads_with_its_licence_s_days_left_and_its_grade() -> None:
    row = merchant_row(MERCHANT, MARKETS, {"mer_1": "B"}, TODAY)
    named = named_by(ledgers.MERCHANT_COLUMNS, row)
    assert (named["市场"], named["摊位号"], named["商户名称"]) == (
        "幸福农贸市场",
        "A-01",
        "老王鲜肉",
    )
    assert named["统一社会信用代码"] == "913706020000000000"
    assert (named["许可证有效期至"], named["证照状态"]) == (date(2026, 12, 20), "剩余 13 天")
    assert (named["经营类别"], named["经营状态"], named["信用等级"]) == (
        "肉类、禽蛋",
        "正常经营",
        "B",
    )
    assert merchant_row(MERCHANT, MARKETS, None, TODAY)[-1] == GRADE_UNAVAILABLE


def test_a_merchant_who_left_reads_when_and_why_and_no_licence_standing_or_grade() -> None:
    row = merchant_row(LEFT, MARKETS, {"mer_2": "A"}, TODAY)
    named = named_by(ledgers.MERCHANT_COLUMNS, row)
    assert (named["经营状态"], named["退出日期"], named["退出原因"]) == (
        "已退出",
        date(2026, 11, 30),
        "合同到期",
    )
    assert (named["证照状态"], named["信用等级"]) == ("", "")


def registry_and_credit(credit_down: bool) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/merchants":
            other = {**MERCHANT, "id": "mer_3", "market_id": "mkt_2", "stall_no": "B-1"}
            return httpx.Response(200, json={"items": [other, LEFT, MERCHANT]})
        if request.url.path == "/markets":
            items = [{"id": k, "name": v} for k, v in MARKETS.items()]
            return httpx.Response(200, json={"items": items})
        if request.url.path == "/public/merchants.csv" and not credit_down:
            text = "\ufeffid,name,grade\r\nmer_1,老王鲜肉,A\r\nmer_3,x,C\r\n"
            return httpx.Response(200, content=text.encode(), headers={"content-type": "text/csv"})
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})

    return answer


@pytest.mark.parametrize("credit_down", [False, True])
async def test_the_merchants_ledger_is_as_registered_today_by_market_and_stall(
    credit_down: bool,
) -> None:
    asked: list[httpx.Request] = []
    async with console("clerk", asked, registry_and_credit(credit_down)) as client:
        r = await client.get("/staff/ledgers/merchants.xlsx")
    assert r.status_code == 200, r.text
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])[1])
    assert name == "商户台账-zhifu-2026-12-07.xlsx"
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    # 只楚 (zhǐ) after 幸福 (xìng) in pinyin order; stalls in order within a market.
    assert [(row[0], row[1]) for row in rows] == [
        ("幸福农贸市场", "A-01"), ("幸福农贸市场", "A-03"), ("只楚果蔬批发市场", "B-1")
    ]  # fmt: skip
    grades = [row[-1] for row in rows]
    assert grades == (
        [GRADE_UNAVAILABLE, None, GRADE_UNAVAILABLE] if credit_down else ["A", None, "C"]
    )
    csv_asks = [q for q in asked if q.url.path == "/public/merchants.csv"]
    assert [q.url.params.get("district") for q in csv_asks] == ["zhifu"]


# -- 考核台账 -----------------------------------------------------------------------------------


def assessed(market_id: str | None, district: str, score: float, **more: Any) -> dict[str, Any]:
    return {
        "market_id": market_id, "market_name": MARKETS.get(market_id or ""),
        "district": district, "scope": "market" if market_id else "district", "score": score,
        "merchants": 4, "grades": {"A": 1, "B": 2, "C": 1, "D": 0}, "share_ab": 0.75,
        "inspection_pass_rate": 0.5, "rectification_on_time_rate": None,
        "complaints_within_limit_rate": 1.0, "open_risks": 2, "self_inspection_rate": 0.9,
        "report_on_time_rate": None, "certified_share": 1.0, "rank": None, "ranked": None,
        "city_rank": None, "city_ranked": None,
    } | more  # fmt: skip


RANKING = {
    "markets": [
        assessed("mkt_1", "zhifu", 61.25, rank=2, ranked=2),
        assessed("mkt_2", "zhifu", 80.0, rank=1, ranked=2),
        assessed("mkt_9", "laishan", 90.0, rank=1, ranked=1, market_name="莱山市场"),
    ],
    "districts": [
        assessed(None, "zhifu", 70.6, city_rank=2, city_ranked=2),
        assessed(None, "laishan", 90.0, city_rank=1, city_ranked=2),
    ],
}
HONOURS = {
    "month": "2026-11",
    "honour": [{"entity": "market", "entity_id": "mkt_9", "reasons": ["grade: A"]}],
    "warning": [
        {"entity": "market", "entity_id": "mkt_1", "reasons": ["rank: 2 of 2 in the district",
                                                              "score: 61.25 below 65"]},
        {"entity": "merchant", "entity_id": "mkt_2", "reasons": ["grade: D"]},
    ],
}  # fmt: skip
DISTRICTS = {"zhifu": "芝罘区", "laishan": "莱山区"}


def test_the_assessment_reads_each_district_s_markets_by_rank_then_the_district() -> None:
    honours = [("2026-11", ledgers.market_honours(HONOURS))]
    rows = ledgers.assessment_rows(RANKING, honours, lambda code: DISTRICTS[code])
    named = [named_by(ledgers.ASSESSMENT_COLUMNS, row) for row in rows]
    # laishan stands first in the city; each district's own line after its markets.
    assert [(n["本区排名"], n["市场"], n["区县"]) for n in named] == [
        ("1/1", "莱山市场", "莱山区"),
        ("全市第 1/2", "全区", "莱山区"),
        ("1/2", "只楚果蔬批发市场", "芝罘区"),
        ("2/2", "幸福农贸市场", "芝罘区"),
        ("全市第 2/2", "全区", "芝罘区"),
    ]
    last = named[3]
    assert (last["综合得分"], last["商户数"], last["A 级商户"], last["C 级商户"]) == (61.2, 4, 1, 1)
    assert (last["A/B 级商户占比"], last["按期整改率"]) == (0.75, ledgers.NOT_RATED)
    assert last["未解除食品安全风险（项）"] == 2
    assert (last["红黑榜"], last["上榜理由"]) == (
        "黑榜", "区内考核排名第 2 / 2；考核得分 61.25（低于 65）"
    )  # fmt: skip
    # A merchant on the list does not put the market with its id on it.
    assert (named[2]["红黑榜"], named[2]["上榜理由"]) == ("", "")
    assert named[0]["红黑榜"] == "红榜"
    not_drawn = ledgers.assessment_rows(RANKING, [("2026-12", None)], lambda code: code)
    assert {named_by(ledgers.ASSESSMENT_COLUMNS, r)["红黑榜"] for r in not_drawn} == {
        ledgers.HONOURS_NOT_DRAWN, ""
    }  # fmt: skip


OCTOBER = {
    "month": "2026-10",
    "honour": [{"entity": "market", "entity_id": "mkt_1", "reasons": ["grade: A"]}],
    "warning": [],
}


def test_over_a_quarter_a_market_says_how_often_it_was_on_each_list_and_why() -> None:
    quarter = [
        ("2026-10", ledgers.market_honours(OCTOBER)),
        ("2026-11", ledgers.market_honours(HONOURS)),
        ("2026-12", None),
    ]
    rows = ledgers.assessment_rows(RANKING, quarter, lambda code: DISTRICTS[code])
    named = {
        (n["区县"], n["市场"]): n for n in (named_by(ledgers.ASSESSMENT_COLUMNS, r) for r in rows)
    }
    twice = named["芝罘区", "幸福农贸市场"]
    assert (twice["红黑榜"], twice["上榜理由"]) == (
        "红榜 1 次、黑榜 1 次",
        "2026-10 红榜：信用等级 A。2026-11 黑榜：区内考核排名第 2 / 2；考核得分 61.25（低于 65）",
    )
    assert named["芝罘区", "只楚果蔬批发市场"]["红黑榜"] == ""
    assert named["莱山区", "莱山市场"]["红黑榜"] == "红榜 1 次"
    # Each district's line says how many of the quarter's lists there were to count.
    assert {named[d, "全区"]["红黑榜"] for d in ("芝罘区", "莱山区")} == {"已发布 2/3 个月"}
    none_drawn = ledgers.assessment_rows(RANKING, [("2026-12", None)] * 2, lambda code: code)
    assert {r[-2] for r in none_drawn} == {ledgers.HONOURS_NOT_DRAWN, "已发布 0/2 个月"}


HONOURS_BY_MONTH = {
    "2026-10": httpx.Response(200, json=OCTOBER),
    "2026-11": httpx.Response(200, json=HONOURS),
}


def credit_ranking(drawn: bool) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/assessments":
            zhifu = {
                "markets": RANKING["markets"][:2], "districts": RANKING["districts"][:1]
            }  # fmt: skip
            return httpx.Response(200, json=zhifu)
        if request.url.path == "/honours" and drawn and request.url.params["month"] < "2026-12":
            return HONOURS_BY_MONTH.get(request.url.params["month"], httpx.Response(200, json={}))
        if request.url.path == "/honours":
            body = {"error": "not_found", "message": "no honour and warning list drawn"}
            return httpx.Response(404, json=body)
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})

    return answer


async def test_a_leader_takes_a_month_s_assessment_with_its_honour_list() -> None:
    asked: list[httpx.Request] = []
    async with console("leader", asked, credit_ranking(drawn=True)) as client:
        r = await client.get("/staff/ledgers/assessments.xlsx", params={"month": "2026-11"})
    assert r.status_code == 200, r.text
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])[1])
    assert name == "考核台账-zhifu-2026-11.xlsx"
    [ranking] = [q.url.params for q in asked if q.url.path == "/assessments"]
    assert (ranking["from"], ranking["to"]) == (
        "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"
    )  # fmt: skip
    assert [q.url.params["month"] for q in asked if q.url.path == "/honours"] == ["2026-11"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2))
    assert [(row[1].value, row[-2].value) for row in rows] == [
        ("只楚果蔬批发市场", None), ("幸福农贸市场", "黑榜"), ("全区", None)
    ]  # fmt: skip
    share = rows[0][named_index("A/B 级商户占比")]
    assert (share.value, share.number_format) == (0.75, "0.0%")


async def test_a_leader_takes_a_quarter_with_each_month_s_lists_and_a_year_to_now() -> None:
    asked: list[httpx.Request] = []
    async with console("leader", asked, credit_ranking(drawn=True)) as client:
        quarter = await client.get("/staff/ledgers/assessments.xlsx", params={"period": "2026-Q4"})
        year = await client.get("/staff/ledgers/assessments.xlsx", params={"period": "2026"})
    assert quarter.status_code == 200 and year.status_code == 200, quarter.text
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", quarter.headers["content-disposition"])[1])
    assert name == "考核台账-zhifu-2026-Q4.xlsx"
    rankings = [q.url.params for q in asked if q.url.path == "/assessments"]
    assert [(r["from"], datetime.fromisoformat(r["to"])) for r in rankings] == [
        ("2026-10-01T00:00:00+08:00", NOW), ("2026-01-01T00:00:00+08:00", NOW)
    ]  # fmt: skip
    months = [q.url.params["month"] for q in asked if q.url.path == "/honours"]
    assert sorted(months) == sorted(
        ["2026-10", "2026-11", "2026-12"] + [f"2026-{m:02d}" for m in range(1, 13)]
    )
    sheet = load_workbook(io.BytesIO(quarter.content)).active
    assert sheet is not None
    verdicts = [(row[1], row[-2]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert verdicts == [
        ("只楚果蔬批发市场", None),
        ("幸福农贸市场", "红榜 1 次、黑榜 1 次"),
        ("全区", "已发布 2/3 个月"),
    ]


def named_index(header: str) -> int:
    return [c.header for c in ledgers.ASSESSMENT_COLUMNS].index(header)


async def test_this_month_s_assessment_runs_to_now_and_says_its_list_is_not_out() -> None:
    asked: list[httpx.Request] = []
    async with console("leader", asked, credit_ranking(drawn=False)) as client:
        r = await client.get("/staff/ledgers/assessments.xlsx", params={"month": "2026-12"})
        refused = await client.get("/staff/ledgers/assessments.xlsx", params={"month": "2027-01"})
    assert r.status_code == 200, r.text
    [ranking] = [q.url.params for q in asked if q.url.path == "/assessments"]
    assert datetime.fromisoformat(ranking["to"]) == NOW
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    verdicts = [row[-2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert verdicts == [ledgers.HONOURS_NOT_DRAWN, ledgers.HONOURS_NOT_DRAWN, None]
    assert (
        refused.status_code == 422 and len([q for q in asked if q.url.path == "/assessments"]) == 1
    )


async def test_an_inspector_is_not_given_the_assessment() -> None:
    asked: list[httpx.Request] = []
    async with console("inspector", asked, credit_ranking(drawn=True)) as client:
        r = await client.get("/staff/ledgers/assessments.xlsx", params={"month": "2026-11"})
    assert r.status_code == 403
    assert not [q for q in asked if q.url.host == "credit"]


async def test_the_objections_ledger_asks_credit_for_the_period_page_by_page() -> None:
    asked: list[httpx.Request] = []
    pages = page_of([OBJECTION | {"objection_id": f"obj_{i}"} for i in range(3)], 2)

    def credit(request: httpx.Request) -> httpx.Response:
        if (request.url.host, request.url.path) == ("credit", "/objections/filed"):
            after = request.url.params.get("after")
            return httpx.Response(200, json=pages[int(after[1:]) if after else 0])
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    async with console("clerk", asked, credit) as client:
        r = await client.get("/staff/ledgers/objections.xlsx", params={"period": "2026-Q4"})
    assert r.status_code == 200, r.text
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])[1])
    assert name == "信用异议台账-zhifu-2026-Q4.xlsx"
    listings = [q.url.params for q in asked if q.url.path == "/objections/filed"]
    assert [p.get("after") for p in listings] == [None, "p2"]
    assert {p["filed_from"] for p in listings} == {"2026-10-01T00:00:00+08:00"}
    assert {p["filed_before"] for p in listings} == {"2027-01-01T00:00:00+08:00"}
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "obj_0", "obj_1", "obj_2"
    ]  # fmt: skip
