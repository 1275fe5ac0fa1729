"""A renovation project's quality and safety checks as the console shows and records them: the
checks newest first with their state (整改中, 逾期未整改, 已整改), the form a clerk records one
on (what it sends, where each refusal lands), and the task inspection opened for a failed one
saying what the check found."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from services.console.backend import ApiError
from services.console.clock import today
from services.console.views.renovations import check_errors
from services.runtime.auth import Principal
from tests.unit.console import support
from tests.unit.console.support import words

FAILED = {
    "check_id": "chk_late",
    "kind": "safety",
    "result": "fail",
    "checked_on": "2026-01-05",
    "inspector": "市住建局质安站 刘工",
    "findings": ["临时用电线路裸露"],
    "rectify_by": "2026-01-20",
    "recorded_at": "2026-01-05T02:00:00Z",
    "resolved_by": None,
    "note": None,
}
RESOLVED = FAILED | {"check_id": "chk_fixed", "kind": "quality", "resolved_by": "chk_pass"}
PASSED = FAILED | {
    "check_id": "chk_pass",
    "kind": "quality",
    "result": "pass",
    "checked_on": "2026-02-01",
    "findings": [],
    "rectify_by": None,
}
PROJECT = {
    "id": "rnv_1",
    "market_id": "mkt_1",
    "district": "zhifu",
    "kind": "old_market_upgrade",
    "title": "幸福农贸市场提升改造工程",
    "stage": "under_construction",
    "scope_items": [],
    "budget": [],
    "budget_total_yuan": "0",
    "created_at": "2026-01-01T00:00:00Z",
    "checks": [FAILED, RESOLVED, PASSED],
}


def campaign(project: dict[str, Any], sent: list[Any] | None = None, refusal: Any = None) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/renovations/rnv_1/checks":
            if sent is not None:
                sent.append(json.loads(request.content))
            if refusal is not None:
                return httpx.Response(refusal[0], json=refusal[1])
            return httpx.Response(201, json={"check": {}, "resolved": [], "project": project})
        if path == "/renovations/rnv_1":
            return httpx.Response(200, json=project)
        if path == "/renovations":
            return httpx.Response(200, json={"items": [project]})
        if path == "/markets":
            return httpx.Response(200, json={"items": [{"id": "mkt_1", "name": "幸福农贸市场"}]})
        return httpx.Response(404, json={"error": "not_found", "message": path})

    return answer


Answer = Callable[[httpx.Request], httpx.Response]
CLERK = Principal("c-1", "clerk", "zhifu", name="王晓燕")


async def test_the_checks_newest_first_each_with_where_its_rectification_stands() -> None:
    async with support.console(campaign(PROJECT), CLERK) as client:
        r = await client.get("/staff/renovations/rnv_1")
    assert r.status_code == 200, r.text
    order = re.findall(r'data-check="(\w+)"', r.text)
    assert order == ["chk_pass", "chk_late", "chk_fixed"]  # by day; the same day as recorded
    late = re.search(r'<li class="is-overdue" data-check="chk_late">(.*?)</li>\s*<li', r.text, re.S)
    assert late and "逾期未整改" in words(late[1]) and "临时用电线路裸露" in words(late[1])
    fixed = r.text.split('data-check="chk_fixed">')[1].split("</ul>\n</ul>")[0]
    assert "已整改（复查合格）" in words(fixed) and "逾期" not in words(fixed)
    assert 'id="check-form"' in r.text


async def test_a_planned_project_takes_no_check_and_a_leader_records_none() -> None:
    planned = PROJECT | {"stage": "planned", "checks": []}
    async with support.console(campaign(planned), CLERK) as client:
        r = await client.get("/staff/renovations/rnv_1")
    assert r.status_code == 200 and 'id="check-form"' not in r.text
    assert "方案批复后记录施工质量、安全检查" in words(r.text)
    leader = Principal("l-1", "leader", "zhifu", name="刘国强")
    async with support.console(campaign(PROJECT), leader) as client:
        r = await client.get("/staff/renovations/rnv_1")
    assert r.status_code == 200 and 'id="check-form"' not in r.text
    assert 'data-check="chk_late"' in r.text


async def test_the_form_sends_the_check_as_typed_and_lands_on_the_checks() -> None:
    sent: list[Any] = []
    form = {
        "kind": "safety",
        "result": "fail",
        "checked_on": "2026-01-05",
        "inspector": " 市住建局质安站 刘工 ",
        "findings": "施工区未设围挡\n\n 消防通道堆放建材 ",
        "note": "",
        "rectify_by": "",
    }
    async with support.console(campaign(PROJECT, sent), CLERK) as client:
        r = await client.post("/staff/renovations/rnv_1/checks", data=form)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=checked#checks")
    assert sent == [
        {
            "kind": "safety",
            "result": "fail",
            "checked_on": "2026-01-05",
            "inspector": "市住建局质安站 刘工",
            "findings": ["施工区未设围挡", "消防通道堆放建材"],
            "note": None,
            "rectify_by": None,
        }
    ]


async def test_a_refused_check_is_shown_beside_its_fields_with_what_was_typed() -> None:
    errors = [
        {"field": "kind", "reason": "must be quality or safety"},
        {"field": "findings", "reason": "a failed check names what was found"},
    ]
    refusal = (422, {"error": "invalid_input", "message": "invalid", "errors": errors})
    form = {"kind": "", "result": "fail", "checked_on": today().isoformat(), "inspector": "刘工"}
    async with support.console(campaign(PROJECT, [], refusal), CLERK) as client:
        r = await client.post("/staff/renovations/rnv_1/checks", data=form)
    assert r.status_code == 422
    assert '<span class="field-error" id="err-kind" role="alert">请选择检查类型</span>' in r.text
    assert "不合格时须写明发现的问题" in r.text
    assert 'value="刘工"' in r.text and "<details open>" in r.text.replace("\n", "")


def test_where_each_refusal_of_a_check_lands() -> None:
    sent = {
        "kind": "",
        "result": "",
        "checked_on": "2026-01-05",
        "inspector": "",
        "findings": "a\n \nb",
        "note": "",
        "rectify_by": "",
    }
    refusal = ApiError(
        422,
        "invalid",
        [
            {"field": "kind", "reason": "must be quality or safety"},
            {"field": "result", "reason": "must be pass or fail"},
            {"field": "inspector", "reason": "must not be blank"},
            {"field": "findings.1", "reason": "must not be blank"},
            {"field": "checked_on", "reason": "2099-01-01 is in the future"},
            {"field": "rectify_by", "reason": "is before the check"},
        ],
    )
    assert check_errors(refusal, sent) == {
        "kind": "请选择检查类型",
        "result": "请选择检查结果",
        "inspector": "必填",
        "findings": "必填",
        "checked_on": "2099-01-01 还没到，检查日期不能晚于今天",
        "rectify_by": "整改期限不能早于检查日期",
    }
    stage = ApiError(409, "checks are recorded once the project is approved", [])
    assert check_errors(stage, sent) == {"check": "方案批复后才能记录检查"}


# -- the task a failed check opened ---------------------------------------------------------------
def inspection(check_id: str) -> Answer:
    task = {
        "task_id": "tsk_1",
        "id": "tsk_1",
        "reason_kind": "renovation",
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": None,
        "stall_no": None,
        "state": "open",
        "due_at": "2026-01-20T16:00:00Z",
        "created_at": "2026-01-05T02:00:00Z",
        "triggers": [
            {"kind": "renovation_check", "id": check_id, "attached_at": "2026-01-05T02:00:00Z"}
        ],
        "due_rule": {"basis": "renovation", "key": "safety", "within_s": None},
        "findings": [],
        "photos": [],
    }
    projects = campaign(PROJECT)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tasks/tsk_1":
            return httpx.Response(200, json=task)
        if request.url.path == "/public/districts":
            return httpx.Response(200, json=[])
        if request.url.host == "campaign" or request.url.path == "/markets":
            return projects(request)
        return httpx.Response(200, json={"items": []})

    return answer


async def test_the_task_says_what_the_failed_check_found_and_a_leader_reaches_its_project() -> None:
    inspector = Principal("i-1", "inspector", "zhifu", name="李建军")
    async with support.console(inspection("chk_late"), inspector) as client:
        r = await client.get("/staff/tasks/tsk_1")
    assert r.status_code == 200, r.text
    trigger = re.search(r'<section class="card trigger">(.*?)</section>', r.text, re.S)
    assert trigger, r.text
    said = words(trigger[1])
    assert "安全检查不合格 · 2026-01-05 · 市住建局质安站 刘工" in said
    assert "临时用电线路裸露" in said and "整改期限 2026-01-20" in said
    assert "幸福农贸市场提升改造工程" in said
    assert 'data-why="renovation"' not in trigger[1]  # the project's page is not an inspector's
    leader = Principal("l-1", "leader", "zhifu", name="刘国强")
    async with support.console(inspection("chk_late"), leader) as client:
        r = await client.get("/staff/tasks/tsk_1")
    assert '<a href="/staff/renovations/rnv_1#checks" data-why="renovation">' in r.text


async def test_a_check_the_market_no_longer_has_is_said_so() -> None:
    inspector = Principal("i-1", "inspector", "zhifu", name="李建军")
    async with support.console(inspection("chk_gone"), inspector) as client:
        r = await client.get("/staff/tasks/tsk_1")
    assert r.status_code == 200, r.text
    assert "未找到这次检查的记录" in r.text


async def test_acceptance_is_offered_under_construction_and_refused_while_a_failure_stands() -> (
    None
):
    """竣工验收 was missing: a project stopped at 施工中 on the console."""
    project = campaign(PROJECT)
    reason = "cannot accept the project with unresolved failed checks: safety check chk_late"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/renovations/rnv_1/stage":
            assert json.loads(request.content) == {"stage": "accepted"}
            body = {"error": "conflict", "message": reason, "current_stage": "under_construction"}
            return httpx.Response(409, json=body)
        return project(request)

    async with support.console(answer, CLERK) as client:
        page = await client.get("/staff/renovations/rnv_1")
        assert '<input type="hidden" name="stage" value="accepted">' in page.text
        assert ">竣工验收</button>" in page.text
        r = await client.post("/staff/renovations/rnv_1/stage", data={"stage": "accepted"})
    assert r.status_code == 409
    assert 'id="err-stage" role="alert">还有未整改合格的质量或安全检查，不能验收<' in r.text
    accepted = PROJECT | {"stage": "accepted"}
    async with support.console(campaign(accepted), CLERK) as client:
        page = await client.get("/staff/renovations/rnv_1")
    assert 'id="stage-form"' not in page.text  # the last stage


# -- what waits on the clerk: failed checks not yet put right -------------------------------------
def projects_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/public/districts":
        return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
    if request.url.host == "campaign" and request.url.path == "/renovations":
        resolved = PROJECT | {"id": "rnv_2", "checks": [RESOLVED, PASSED]}
        return httpx.Response(200, json={"items": [PROJECT, resolved]})
    return campaign(PROJECT)(request)


async def test_a_failed_check_not_put_right_is_flagged_on_the_list_and_the_clerks_card() -> None:
    async with support.console(projects_answer, CLERK) as client:
        listed = await client.get("/staff/renovations")
        home = await client.get("/staff/")
    assert listed.status_code == 200, listed.text
    assert 'id="unresolved-count">1 项检查不合格尚未整改<' in listed.text
    rows = dict(re.findall(r'data-project="(\w+)">(.*?)</li>', listed.text, re.S))
    assert "检查不合格 1 项未整改" in words(rows["rnv_1"])
    assert "未整改" not in words(rows["rnv_2"])  # its failure was resolved by a passing check
    assert home.status_code == 200, home.text
    assert support.card(home.text, "改造项目") == "改造项目 2 1 项检查不合格未整改"


def closing(project: dict[str, Any], markets: list[dict[str, Any]], stage: list[str]) -> Answer:
    """The campaign as `campaign` answers, the registry with `markets`; a stage change refused
    as the service refuses it for a closed market's project (recorded in `stage`)."""
    base = campaign(project)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/markets":
            return httpx.Response(200, json={"items": markets})
        if request.url.path == "/renovations/rnv_1/stage":
            stage.append(json.loads(request.content)["stage"])
            reason = "market 'mkt_1' closed on 2026-03-12; its project goes no further"
            error = {"field": "market_id", "reason": reason}
            return httpx.Response(
                409, json={"error": "conflict", "message": reason, "errors": [error]}
            )
        return base(request)

    return answer


CLOSED_MARKET = {
    "id": "mkt_1",
    "name": "幸福农贸市场",
    "status": "closed",
    "closed_on": "2026-03-12",
}
COMMENTED = PROJECT | {
    "stage": "approved",
    "consultation": {
        "opens_on": "2026-03-01",
        "closes_on": "2026-03-10",
        "open": False,
        "closed": True,
        "unanswered": 1,
        "comments": [{"suggestion_id": "sug_1", "text": "保留早市", "answer": None}],
    },
}


async def test_a_closed_markets_project_says_so_and_offers_only_the_answers() -> None:
    """停业: the project goes no further — no stage, check or consultation form; a comment made
    before may still be answered; the list tags it. An open market's project keeps its forms."""
    stage: list[str] = []
    async with support.console(closing(COMMENTED, [CLOSED_MARKET], stage), CLERK) as client:
        page = await client.get("/staff/renovations/rnv_1")
        listed = await client.get("/staff/renovations")
        refused = await client.post("/staff/renovations/rnv_1/stage", data={"stage": "accepted"})
    assert page.status_code == 200, page.text
    notice = re.search(r'<p class="notice warn" id="market-closed">(.*?)</p>', page.text, re.S)
    assert notice and "该市场已于 2026-03-12 停业" in notice[1]
    for form in ("stage-form", "check-form", "consultation-form"):
        assert f'id="{form}"' not in page.text
    assert "/comments/sug_1/answer" in page.text
    assert "市场已停业 · 2026-03-12" in words(listed.text)
    # A page opened before the closing: the stage refused, the page again saying why.
    assert stage == ["accepted"] and refused.status_code == 409
    assert 'id="market-closed"' in refused.text and 'id="stage-form"' not in refused.text
    open_market = CLOSED_MARKET | {"status": "open", "closed_on": None}
    async with support.console(closing(COMMENTED, [open_market], stage), CLERK) as client:
        page = await client.get("/staff/renovations/rnv_1")
        listed = await client.get("/staff/renovations")
    assert 'id="market-closed"' not in page.text and 'id="stage-form"' in page.text
    assert 'id="check-form"' in page.text and "停业" not in words(listed.text)
