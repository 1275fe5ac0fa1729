"""What the department member's walk through the demo tripped over: the meeting they had just
recorded said 召开单位 laishan, the district's code, as the registry's `/districts` refuses
department staff; the registry's public list of districts names it for everyone."""

from __future__ import annotations

import json
import re
import time

import httpx

from services.console import web
from services.console.sessions import Session
from services.runtime.auth import Principal
from tests.unit.console import support

MEETING = {
    "id": "mtg_1",
    "district": "laishan",
    "title": "第四季度联席会议",
    "held_on": "2026-12-05",
    "departments": ["market_regulation", "health"],
    "minutes": "研究冷链整治",
    "recorded_at": "2026-12-06T07:38:00+00:00",
    "action_items": [],
}


def services(request: httpx.Request) -> httpx.Response:
    host, path = request.url.host, request.url.path
    if (host, path) == ("campaign", "/meetings/mtg_1"):
        body: object = MEETING
    elif (host, path) == ("registry", "/public/districts"):
        body = [{"code": "laishan", "name": "莱山区"}, {"code": "zhifu", "name": "芝罘区"}]
    elif (host, path) == ("registry", "/districts"):
        # What the registry answers a department member (docs/identity.md).
        return httpx.Response(403, json={"error": "forbidden", "message": "role"})
    elif path in ("/departments",):
        body = {"items": []}
    else:
        return httpx.Response(404, json={"error": "not_found", "message": path})
    return httpx.Response(200, content=json.dumps(body).encode())


def department_member() -> Session:
    who = Principal(
        "u-dept",
        "department",
        "laishan",
        name="冯雪梅",
        roles=frozenset({"department"}),
        department="market_regulation",
    )
    return Session("sid-1", who, "tok", "refresh", time.time() + 3600)


async def test_a_department_member_reads_the_meetings_district_by_name() -> None:
    app = support.app_of(services)
    signed_in = department_member()
    app.dependency_overrides[web.person] = lambda: signed_in
    async with support.client_of(app) as client:
        r = await client.get("/staff/meetings/mtg_1")
    assert r.status_code == 200, r.text
    held_by = re.search(r"<dt>召开单位</dt><dd>(.*?)</dd>", r.text)
    assert held_by, r.text
    assert held_by.group(1) == "莱山区"


# -- 办结 from the home: the item's form open on arrival ----------------------------------------
ITEM = {
    "id": "itm_1", "meeting_id": "mtg_1", "district": "laishan", "decision": "全面排查冷冻柜温控",
    "department": "market_regulation", "deadline": "2026-12-08", "state": "open", "late": False,
}  # fmt: skip


def with_an_item(request: httpx.Request) -> httpx.Response:
    if (request.url.host, request.url.path) == ("campaign", "/meetings/mtg_1"):
        return httpx.Response(200, json=MEETING | {"action_items": [ITEM]})
    return services(request)


def details_of(page: str, item_id: str) -> str:
    found = re.search(rf'<li[^>]*id="item-{item_id}".*?<details([^>]*)>', page, re.S)
    assert found, page
    return found.group(1)


async def test_the_homes_done_button_arrives_at_the_items_form_open() -> None:
    app = support.app_of(with_an_item)
    signed_in = department_member()
    app.dependency_overrides[web.person] = lambda: signed_in
    async with support.client_of(app) as client:
        arrived = await client.get("/staff/meetings/mtg_1", params={"item": "itm_1"})
        browsing = await client.get("/staff/meetings/mtg_1")
    assert arrived.status_code == browsing.status_code == 200
    assert "open" in details_of(arrived.text, "itm_1")
    assert "open" not in details_of(browsing.text, "itm_1")


# -- 联合执法立案 with nothing to open a case on --------------------------------------------------
def no_findings(request: httpx.Request) -> httpx.Response:
    host, path = request.url.host, request.url.path
    if host == "complaints":  # complaints are not a department member's to read
        return httpx.Response(403, json={"error": "forbidden", "message": "role"})
    if path in ("/tasks", "/enforcement-cases", "/departments"):
        return httpx.Response(200, json={"items": []})
    return services(request)


async def test_a_department_member_is_told_there_is_no_finding_to_open_a_case_on() -> None:
    app = support.app_of(no_findings)
    signed_in = department_member()
    app.dependency_overrides[web.person] = lambda: signed_in
    async with support.client_of(app) as client:
        r = await client.get("/staff/enforcement/new")
    assert r.status_code == 200, r.text
    said = " ".join(re.sub(r"<[^>]+>", " ", r.text).split())
    assert "本辖区近期没有可立案的检查发现严重问题（已有未结案件的不再列出）" in said
    assert "已受理投诉：您的角色无权查看，不在此列出" in said


def critical(task_id: str, at: str) -> dict[str, object]:
    return {
        "task_id": task_id, "outcome": "critical", "completed_at": at, "market_id": "mkt_1",
        "merchant_id": "mer_1", "district": "zhifu", "stall_no": "A-01", "findings": [],
        "rectification_id": f"rct_{task_id}",
    }  # fmt: skip


async def test_a_critical_finding_found_wrong_is_not_offered_as_a_cases_origin() -> None:
    """Its order lapsed because a clerk corrected the finding (信用异议): no ground for a case.
    One whose merchant left still is."""
    lapsed = [
        {"task_id": "tsk_wrong", "lapse_reason": "finding_corrected"},
        {"task_id": "tsk_left", "lapse_reason": "merchant_left"},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/tasks":
            found = [critical(t, f"2026-05-0{i}T02:00:00+00:00") for i, t in enumerate(
                ("tsk_wrong", "tsk_left", "tsk_good"), start=1
            )]  # fmt: skip
            return httpx.Response(200, json={"items": found})
        if path == "/rectifications" and request.url.params.get("state") == "lapsed":
            return httpx.Response(200, json={"items": lapsed})
        return no_findings(request)

    app = support.app_of(answer)
    signed_in = department_member()
    app.dependency_overrides[web.person] = lambda: signed_in
    async with support.client_of(app) as client:
        r = await client.get("/staff/enforcement/new")
    assert r.status_code == 200, r.text
    offered = re.findall(r'<option value="finding:([^"]+)"', r.text)
    assert offered == ["tsk_good", "tsk_left"]
