"""A market for staff (`/staff/markets/{id}`): the score's parts as the console explains them,
open work by deadline and severity, and the page over mocked services — names not ids, each
part standing alone when its service does not answer or does not admit the role, another
district's market absent, an operator never reaching it."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from services.console.sessions import Session
from services.console.views.markets import by_deadline, by_severity, score_parts
from services.runtime.auth import Principal
from tests.unit.console import support

# Credit's answer: 2026-12's weights; no complaint to rate, so that part is left out.
PARTS = [
    {"part": "share_ab", "value": 0.75, "weight": 0.25},
    {"part": "inspection_pass_rate", "value": 0.5, "weight": 0.2},
    {"part": "rectification_on_time_rate", "value": 1.0, "weight": 0.15},
    {"part": "complaints_within_limit_rate", "value": None, "weight": 0.1},
    {"part": "open_risks", "value": 0.5, "weight": 0.1},
    {"part": "self_inspection_rate", "value": 0.8, "weight": 0.1},
    {"part": "report_on_time_rate", "value": 1.0, "weight": 0.05},
    {"part": "certified_share", "value": 0.5, "weight": 0.05},
]
COUNTED = 0.9  # the weights of the parts with a value
SCORE = round(
    100 * sum(p["weight"] * p["value"] for p in PARTS if p["value"] is not None) / COUNTED, 2
)
ASSESSMENT = {
    "market_id": "mkt_1", "market_name": "幸福农贸市场", "district": "zhifu", "score": SCORE,
    "rank": 2, "ranked": 5, "share_ab": 0.75, "inspection_pass_rate": 0.5,
    "rectification_on_time_rate": 1.0, "complaints_within_limit_rate": None, "open_risks": 1,
    "policy_version": "2026-12", "parts": PARTS, "merchants": 20,
}  # fmt: skip


def test_the_parts_points_add_up_to_the_score_and_a_left_out_part_scores_nothing() -> None:
    parts = {p["part"]: p for p in score_parts(ASSESSMENT)}
    assert list(parts) == [p["part"] for p in PARTS]
    assert parts["share_ab"]["label"] == "A/B 级商户占比" and parts["share_ab"]["weight"] == 0.25
    # Its weight goes to the others: the most a part gives is its share of the counted weights.
    assert parts["share_ab"]["most"] == round(100 * 0.25 / COUNTED, 1)
    assert parts["share_ab"]["points"] == round(100 * 0.25 * 0.75 / COUNTED, 1)
    left_out = parts["complaints_within_limit_rate"]
    assert (left_out["counts"], left_out["points"], left_out["most"]) == (False, None, None)
    assert parts["open_risks"]["open"] == 1 and parts["share_ab"]["open"] is None
    counted = [p for p in parts.values() if p["counts"]]
    assert sum(p["points"] for p in counted) == pytest.approx(SCORE, abs=0.3)
    assert sum(p["most"] for p in counted) == pytest.approx(100, abs=0.3)


def test_no_parts_from_credit_explains_nothing_rather_than_guessing() -> None:
    assert score_parts({"score": 80.0}) == []
    assert score_parts({"parts": [{"part": "something_new", "value": 1, "weight": 1}]}) == []


def test_open_work_by_deadline_and_risks_by_severity() -> None:
    tasks = [
        {"task_id": "t-late", "due_at": "2026-05-02T10:00:00+08:00"},
        {"task_id": "t-none", "due_at": None},
        {"task_id": "t-first", "due_at": "2026-05-01T09:00:00+08:00"},
    ]
    assert [t["task_id"] for t in by_deadline(tasks, "due_at")] == ["t-first", "t-late", "t-none"]
    risks = [
        {"id": "r-minor", "severity": "minor", "raised_at": "2026-05-01T08:00:00+08:00"},
        {"id": "r-new", "severity": "critical", "raised_at": "2026-05-01T09:00:00+08:00"},
        {"id": "r-old", "severity": "critical", "raised_at": "2026-05-01T07:00:00+08:00"},
    ]
    assert [r["id"] for r in by_severity(risks)] == ["r-old", "r-new", "r-minor"]


SERVICES: dict[tuple[str, str], Any] = {
    ("registry", "/public/markets/mkt_1"): {
        "id": "mkt_1", "name": "幸福农贸市场", "district": "zhifu", "district_name": "芝罘区",
        "kind": "farmers", "address": "幸福路1号",
    },
    ("registry", "/public/markets/mkt_9"): {
        "id": "mkt_9", "name": "别区市场", "district": "laishan", "kind": "farmers", "address": "",
    },
    ("registry", "/public/markets/mkt_1/merchants"): {
        "items": [{"id": "mer_1", "name": "老王冻品", "stall_no": "A-1"}]
    },
    ("credit", "/markets/mkt_1/assessment"): ASSESSMENT,
    # 总览's ranking: the district's markets as credit ranks them, in one call.
    ("credit", "/assessments"): {"markets": [ASSESSMENT], "districts": []},
    ("credit", "/public/markets/mkt_1/grades"): {
        "shares": {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0}, "merchants": 20, "rank": None,
    },
    ("campaign", "/markets/mkt_1/duties"): {
        "self_inspection_rate": 0.8, "self_inspected_days": 24, "opening_days": 30,
        "report_on_time_rate": 1.0, "reports_due": 1, "reports_late": 0,
        "certified_share": 0.5, "managers_certified": 1, "managers": 2, "window_days": 30,
    },
    ("telemetry", "/risks"): {"items": [
        {"id": "rsk_1", "market_id": "mkt_1", "merchant_id": "mer_1", "stall_no": "A-1",
         "rule": "cold_chain_excursion", "severity": "major",
         "raised_at": "2026-05-01T08:00:00+08:00"},
    ]},
    ("inspection", "/tasks"): {"items": [
        {"task_id": "tsk_1", "market_id": "mkt_1", "merchant_id": "mer_1", "stall_no": "A-1",
         "state": "open", "reason_kind": "risk", "triggers": [{"rule": "cold_chain_excursion"}],
         "due_at": "2020-01-01T08:00:00+08:00"},
    ]},
    ("complaints", "/complaints"): {"items": [
        {"id": "cmp_1", "market_id": "mkt_1", "merchant_id": "mer_1", "stall_no": "A-1",
         "category": "short_weight", "state": "received", "running_clock": "acceptance",
         "current_deadline": "2099-01-01T00:00:00+08:00", "nearing": False,
         "received_at": "2026-05-01T08:00:00+08:00"},
    ]},
    ("campaign", "/renovations"): {"items": [
        {"id": "rnv_1", "market_id": "mkt_1", "title": "幸福农贸市场提升改造工程",
         "stage": "under_construction",
         "checks": [{"check_id": "chk_1", "result": "fail", "resolved_by": None},
                    {"check_id": "chk_2", "result": "fail", "resolved_by": "chk_3"},
                    {"check_id": "chk_3", "result": "pass", "resolved_by": None}]},
    ]},
}  # fmt: skip


def console(
    role: str = "leader",
    district: str = "zhifu",
    down: tuple[str, ...] = (),
    asked: list[httpx.Request] | None = None,
    refusing: tuple[str, ...] = (),
    answers: dict[tuple[str, str], httpx.Response] | None = None,
    **principal: Any,
) -> httpx.AsyncClient:
    """The console signed in as `role` of `district`; the services in `down` do not answer,
    those in `refusing` refuse the role (403), the others answer from SERVICES (the task and
    complaint lists for their open states)."""

    def services(request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        (asked if asked is not None else []).append(request)
        if host in down:
            return httpx.Response(503, json={"error": "unavailable", "message": "down"})
        if host in refusing:
            return httpx.Response(403, json={"error": "forbidden", "message": "role"})
        if (host, path) in (answers or {}):
            return (answers or {})[(host, path)]
        body = SERVICES.get((host, path))
        state = request.url.params.get("state")
        if body is not None and "items" in body and state is not None:
            body = {"items": [i for i in body["items"] if i.get("state", "open") == state]}
        if body is None:
            return httpx.Response(404, json={"error": "not_found", "message": f"no {path}"})
        return httpx.Response(200, content=json.dumps(body).encode())

    app = support.app_of(services)
    who = Principal("u-1", role, district, name="刘领导", **principal)
    app.state.sign_in = support.SignedIn(
        Session("sid-1", who, "tok", "refresh", time.time() + 3600)
    )
    return support.client_of(app)


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+) [^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


async def test_a_leader_reads_the_market_by_name_with_its_score_explained_and_work_linked() -> None:
    asked: list[httpx.Request] = []
    async with console(asked=asked) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200, r.text
    assert "<h1>幸福农贸市场</h1>" in r.text and "芝罘区" in r.text
    assert f"{SCORE:.1f} 分" in text_of(r.text, "assessment-score")
    assert text_of(r.text, "assessment-rank") == "第 2 名"
    parts = text_of(r.text, "assessment-parts")
    assert "A/B 级商户占比 75% 权重 25%" in parts and "未解除食品安全风险 1 项 权重 10%" in parts
    assert "投诉按期办理率 — 权重 10% 不计分" in parts
    for href in ("/staff/risks/rsk_1", "/staff/tasks/tsk_1", "/staff/complaints/cmp_1"):
        assert f'href="{href}"' in r.text
    assert 'href="/staff/duties/mkt_1"' in r.text
    assert "老王冻品" in text_of(r.text, "tasks") and "mer_1" not in text_of(r.text, "tasks")
    assert 'class="is-overdue" data-task="tsk_1"' in r.text  # due in 2020: 逾期, in red
    assert 'data-grade="A"' in r.text and "50%" in text_of(r.text, "grades")
    # Open work only, asked for by state, with the person's token.
    states = {
        (q.url.host, q.url.params.get("state"))
        for q in asked
        if q.url.host in ("inspection", "complaints")
    }
    assert states == {
        ("inspection", "open"),
        ("inspection", "claimed"),
        ("complaints", "received"),
        ("complaints", "accepted"),
    }
    staff_calls = [q for q in asked if not q.url.path.startswith("/public/")]
    assert staff_calls and all(q.headers["authorization"] == "Bearer tok" for q in staff_calls)


@pytest.mark.parametrize(
    ("down", "said", "still"),
    [
        ("telemetry", ("risks", "风险暂时无法获取。"), ("assessment-parts", "tasks", "complaints")),
        ("credit", ("assessment", "考核暂时无法获取。"), ("risks", "tasks", "complaints")),
        ("inspection", ("tasks", "检查任务暂时无法获取。"), ("assessment-parts", "risks")),
    ],
)  # fmt: skip
async def test_a_service_not_answering_leaves_only_its_part_saying_so(
    down: str, said: tuple[str, str], still: tuple[str, ...]
) -> None:
    async with console(down=(down,)) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200
    assert text_of(r.text, said[0]) == said[1]
    for part in still:
        assert "暂时无法获取" not in text_of(r.text, part)
    assert "<h1>幸福农贸市场</h1>" in r.text


async def test_a_closed_market_is_said_to_be_assessed_no_more() -> None:
    closed = {"error": "conflict", "message": "market mkt_1 closed on 2026-05-01"}
    answers = {("credit", "/markets/mkt_1/assessment"): httpx.Response(409, json=closed)}
    async with console(answers=answers) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200
    assert text_of(r.text, "assessment-none") == "考核不再进行：该市场已停业。"


async def test_open_work_the_role_may_not_see_is_left_out_and_the_rest_stands() -> None:
    async with console("clerk", refusing=("inspection", "complaints")) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200
    assert 'id="tasks"' not in r.text and 'id="complaints"' not in r.text
    assert "检查任务" not in r.text and "未办结" not in r.text and "无权" not in r.text
    assert "老王冻品" in text_of(r.text, "risks") and 'href="/staff/risks/rsk_1"' in r.text


async def test_without_the_registry_the_name_comes_from_the_assessment() -> None:
    async with console(down=("registry",)) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200 and "<h1>幸福农贸市场</h1>" in r.text
    assert 'href="/staff/tasks/tsk_1"' in r.text


async def test_another_districts_market_or_none_reads_as_absent() -> None:
    async with console() as client:
        elsewhere = await client.get("/staff/markets/mkt_9")
        none = await client.get("/staff/markets/mkt_404")
    assert elsewhere.status_code == none.status_code == 404
    assert "找不到该市场" in elsewhere.text and "别区市场" not in elsewhere.text


async def test_an_operator_never_reaches_it() -> None:
    async with console("operator", market_id="mkt_1") as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 404 and "幸福农贸市场" not in r.text


async def test_the_overview_ranking_links_each_market_to_its_page() -> None:
    async with console() as client:
        r = await client.get("/staff/overview")
    assert r.status_code == 200
    ranking = re.search(r'<ol class="list" id="ranking">(.*?)</ol>', r.text, re.S)
    assert ranking, "no ranking"
    assert '<a href="/staff/markets/mkt_1" data-link="market"><strong>幸福农贸市场' in ranking[1]
    assert 'href="/staff/risks?market_id=mkt_1"' in ranking[1]


async def test_a_leader_arrives_at_the_overview_with_each_areas_card_below() -> None:
    async with console() as client:
        home = await client.get("/staff/")
    async with console("inspector") as client:
        inspector = await client.get("/staff/")
    assert home.status_code == 200
    main = home.text.split('id="work-title"')
    assert 'id="ranking"' in main[0] and "幸福农贸市场" in main[0]  # 总览 first
    cards = re.findall(r'<a class="card-link" href="([^"]+)"', main[1])
    assert "/staff/tasks" in cards and "/staff/meetings" in cards
    assert "/staff/overview" not in cards  # the page it is on
    # Someone who does the work still arrives at what is due, not at the overview.
    assert 'id="ranking"' not in inspector.text and 'id="due-title"' in inspector.text


async def test_the_markets_renovation_with_a_failed_check_not_put_right_is_flagged() -> None:
    """A leader drilling into a market saw its 改造检查 task but not the project behind it."""
    async with console() as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200, r.text
    assert text_of(r.text, "renovations").startswith("施工中 检查不合格 1 项未整改")
    assert '<a href="/staff/renovations/rnv_1"><strong>幸福农贸市场提升改造工程' in r.text
    async with console("inspector") as client:  # the project's page is not an inspector's
        r = await client.get("/staff/markets/mkt_1")
    assert "幸福农贸市场提升改造工程" in text_of(r.text, "renovations")
    assert 'href="/staff/renovations/rnv_1"' not in r.text
    async with console("department", refusing=("campaign",), department="health") as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200 and 'id="renovations"' not in r.text
