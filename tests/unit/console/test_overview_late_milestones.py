"""总览's late milestones (逾期节点) name the market they are late for; a leader drills into that
market from there as from the ranking (docs/console.md: a leader reads and drills into a
market)."""

from __future__ import annotations

import json
import re

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support

PROGRESS = {
    "campaign_id": "cmp_1",
    "name": "专项行动",
    "districts": [
        {
            "district": "zhifu",
            "name": "芝罘区",
            "milestones": {"expected": 2, "on_time": 0, "late": 0, "overdue": 2},
            "markets": {"total": 1, "with_task_force": 0},
            "renovations": {"total": 0, "by_stage": {}},
            "milestone_items": [
                {"kind": "task_force_set_up", "scope": "market", "market_id": "mkt_1",
                 "market_name": "东山农贸市场", "deadline": "2026-03-24", "achieved_on": None,
                 "status": "overdue"},
                {"kind": "work_plan_submitted", "scope": "district", "market_id": None,
                 "market_name": None, "deadline": "2026-03-11", "achieved_on": None,
                 "status": "overdue"},
            ],
        }
    ],
}  # fmt: skip


def services(request: httpx.Request) -> httpx.Response:
    host, path = request.url.host, request.url.path
    if (host, path) == ("campaign", "/campaigns"):
        body: object = {"items": [{"id": "cmp_1", "year": 2026}]}
    elif (host, path) == ("campaign", "/campaigns/cmp_1/progress"):
        body = PROGRESS
    elif path in ("/markets", "/risks", "/complaints", "/tasks"):
        body = {"items": []}
    else:
        return httpx.Response(404, json={"error": "not_found", "message": path})
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_a_late_market_milestone_links_its_market_and_a_districts_links_nothing() -> None:
    async with support.console(services, Principal("u-1", "leader", "zhifu")) as client:
        r = await client.get("/staff/overview")
    assert r.status_code == 200, r.text
    late = re.search(r'<ul class="list" id="late-milestones">(.*?)</ul>', r.text, re.S)
    assert late, r.text
    items = re.findall(r"<li.*?</li>", late.group(1), re.S)
    assert len(items) == 2
    [market] = [i for i in items if "东山农贸市场" in i]
    assert re.search(r'<a href="/staff/markets/mkt_1"[^>]*>东山农贸市场</a>', market), market
    [district] = [i for i in items if i is not market]
    assert "/staff/markets/" not in district


async def test_projects_stopped_by_a_market_closing_are_counted_apart() -> None:
    """停业: a closed market's project that goes no further is told apart from the others."""
    district = PROGRESS["districts"][0] | {
        "renovations": {"total": 1, "by_stage": {"planned": 1}, "stopped": 2}
    }
    progress = PROGRESS | {"districts": [district]}

    def with_stopped(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/campaigns/cmp_1/progress":
            return httpx.Response(200, json=progress)
        return services(request)

    async with support.console(with_stopped, Principal("u-1", "leader", "zhifu")) as client:
        r = await client.get("/staff/overview")
    assert "改造项目 1 个（计划 1） · 因市场停业终止 2 个" in support.words(r.text)
    async with support.console(services, Principal("u-1", "leader", "zhifu")) as client:
        r = await client.get("/staff/overview")
    assert "停业" not in support.words(r.text)
