"""A department member's staff home (docs/console.md, Pages, `/staff/`): 待办 holds the open
议定事项 they may report done, by deadline day with the late ones first in red, and the
联合执法 cases waiting for a decision, each with the one link that moves it on; their district's
markets are named and linked; a service that does not answer leaves only its part out."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from typing import Any

import httpx

from services.console import clock
from services.console.agenda import agenda
from services.console.sessions import Session
from services.console.views.department_home import cases_due, items_due
from services.runtime.auth import Principal
from tests.unit.console import support

TODAY = clock.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def item(item_id: str, deadline: str, district: str = "zhifu", **more: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "meeting_id": f"mtg_{district}",
        "meeting_title": "第二季度联席会议",
        "held_on": day(-30),
        "district": district,
        "decision": f"决定 {item_id}",
        "department": "health",
        "deadline": deadline,
        "state": "open",
        "late": date.fromisoformat(deadline) < TODAY,
        **more,
    }


CASE = {
    "id": "enf_1",
    "state": "open",
    "district": "zhifu",
    "market_id": "mkt_1",
    "market_name": "幸福农贸市场",
    "merchant_name": "老王冻品",
    "departments": ["market_regulation", "health"],
    "origin": {"kind": "finding", "id": "tsk_9"},
    "opened_at": "2026-05-01T08:00:00+08:00",
}
SERVICES: dict[tuple[str, str], Any] = {
    ("campaign", "/action-items"): {
        "items": [
            item("itm_later", day(14)),
            item("itm_late", day(-3)),
            item("itm_today", day(0)),
            # A city meeting's item: only a city-wide token reports it done.
            item("itm_city", day(-5), district="city"),
            # Another department's: not theirs to report done (the service leaves it out of a
            # listing asked for their department; the home would not offer it either).
            item("itm_env", day(-4), department="environment"),
        ]
    },
    ("campaign", "/meetings"): {"items": []},
    ("campaign", "/meetings/mtg_zhifu"): {
        "id": "mtg_zhifu",
        "district": "zhifu",
        "title": "第二季度联席会议",
        "held_on": day(-30),
        "departments": ["health", "environment"],
        "minutes": "研究部署",
        "recorded_at": "2026-05-01T08:00:00+08:00",
        "action_items": [
            item("itm_late", day(-3)),
            item("itm_env", day(-4), department="environment"),
        ],
    },
    ("campaign", "/enforcement-cases"): {"items": [CASE]},
    ("campaign", "/enforcement-cases/enf_1"): CASE,
    ("registry", "/markets"): {
        "items": [
            {"id": "mkt_2", "name": "只楚果蔬批发市场", "district": "zhifu", "kind": "wholesale"},
            {"id": "mkt_1", "name": "幸福农贸市场", "district": "zhifu", "kind": "farmers"},
        ]
    },
    # The inspection tasks of the district, which a department member reads but never claims.
    ("inspection", "/tasks"): {
        "items": [
            {"task_id": "tsk_1", "state": "open", "market_id": "mkt_1", "reason_kind": "risk",
             "due_at": "2020-01-01T00:00:00+00:00", "overdue_at": "2020-01-01T00:00:00+00:00"},
        ]
    },
}  # fmt: skip


def session(
    role: str = "department", district: str = "zhifu", department: str | None = "health"
) -> Session:
    """A person of `role` in `district`; a department member of `department` (the token's)."""
    roles = frozenset({role})
    who = Principal("u-dept", role, district, name="赵文静", roles=roles, department=department)
    return Session("sid-1", who, "tok", "refresh", time.time() + 3600)


def console(
    role: str = "department",
    down: tuple[str, ...] = (),
    asked: list[httpx.Request] | None = None,
    who: Session | None = None,
) -> httpx.AsyncClient:
    """The console signed in as `role` of zhifu; the services in `down` do not answer, the
    others answer from SERVICES (a listing filtered by its `state`)."""

    def services(request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        (asked if asked is not None else []).append(request)
        if host in down:
            return httpx.Response(503, json={"error": "unavailable", "message": "down"})
        body = SERVICES.get((host, path))
        if body is None:
            return httpx.Response(404, json={"error": "not_found", "message": f"no {path}"})
        for param, default in (("state", "open"), ("department", None)):
            wanted = request.url.params.get(param)
            if wanted is not None:
                kept = [i for i in body["items"] if i.get(param, default) == wanted]
                body = {"items": kept}
        return httpx.Response(200, content=json.dumps(body).encode())

    app = support.app_of(services)
    app.state.sign_in = support.SignedIn(who or session(role))
    return support.client_of(app)


def section(page: str, element_id: str) -> str:
    found = re.search(rf'<ul class="list" id="{element_id}">(.*?)</ul>', page, re.S)
    assert found, f"no #{element_id}"
    return found.group(1)


def rows(page: str) -> list[tuple[str, str, str]]:
    """The 待办 rows: (class, kind, the action's href) in the order shown."""
    return re.findall(
        r'<li class="([^"]*)" data-due="([^"]+)">.*?<a class="button primary" href="([^"]+)"',
        section(page, "due"),
        re.S,
    )


def test_open_items_are_reported_done_on_their_meetings_page_late_ones_in_red() -> None:
    listed = SERVICES[("campaign", "/action-items")]["items"]
    done = item("itm_done", day(-9)) | {"state": "done"}
    due = {
        d.href.split("?")[0] + "|" + d.place: d
        for d in items_due([*listed, done], session(), TODAY)
    }
    assert set(due) == {
        "/staff/meetings/mtg_zhifu|决定 itm_later",
        "/staff/meetings/mtg_zhifu|决定 itm_late",
        "/staff/meetings/mtg_zhifu|决定 itm_today",
    }  # the city meeting's item, the environment's and the done one are not theirs to do
    late = due["/staff/meetings/mtg_zhifu|决定 itm_late"]
    assert (late.action, late.href, late.post) == (
        "办结",
        "/staff/meetings/mtg_zhifu?item=itm_late#item-itm_late",
        False,
    )
    assert (late.what, late.overdue, late.left) == ("议定事项 · 卫生健康", True, "逾期 3 天")
    today = due["/staff/meetings/mtg_zhifu|决定 itm_today"]
    assert (today.overdue, today.left) == (False, "今天到期")
    # The deadline day ends at midnight in the city (UTC+8), written in UTC like every row's.
    assert today.deadline == f"{day(0)}T15:59:59+00:00"
    # A city-wide token may report a city meeting's item done too.
    city_wide = items_due(listed, session(district="*"), TODAY)
    assert {d.place for d in city_wide} >= {"决定 itm_city"}
    assert "决定 itm_env" not in {d.place for d in city_wide}
    # A member of the environment department: their item only.
    environment = items_due(listed, session(department="environment"), TODAY)
    assert [d.place for d in environment] == ["决定 itm_env"]
    # A department member whose token names no department may report none done.
    assert items_due(listed, session(department=None), TODAY) == []


def test_cases_waiting_for_a_decision_come_after_every_dated_row() -> None:
    decided = CASE | {"id": "enf_2", "state": "decided"}
    (case,) = cases_due([CASE, decided], session())
    assert (case.action, case.href) == ("处罚决定", "/staff/enforcement/enf_1#decide")
    assert case.place == "幸福农贸市场 · 老王冻品"
    assert case.what == "联合执法 · 待决定 · 市场监管、卫生健康"
    items = items_due(SERVICES[("campaign", "/action-items")]["items"], session(), TODAY)
    shown, more = agenda(cases_due([CASE], session()), items)
    assert [d.place for d in shown] == [
        "决定 itm_late",
        "决定 itm_today",
        "决定 itm_later",
        "幸福农贸市场 · 老王冻品",
    ]
    assert more == 0


async def test_a_department_member_arrives_at_their_items_and_cases_then_their_markets() -> None:
    asked: list[httpx.Request] = []
    async with console(asked=asked) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    assert 'id="due-title"' in r.text
    assert rows(r.text) == [
        ("is-overdue", "action-item", "/staff/meetings/mtg_zhifu?item=itm_late#item-itm_late"),
        ("", "action-item", "/staff/meetings/mtg_zhifu?item=itm_today#item-itm_today"),
        ("", "action-item", "/staff/meetings/mtg_zhifu?item=itm_later#item-itm_later"),
        ("", "enforcement", "/staff/enforcement/enf_1#decide"),
    ]
    due = section(r.text, "due")
    assert due.index("决定 itm_late") < due.index("决定 itm_today") < due.index("决定 itm_later")
    assert '<span class="overdue">逾期 3 天</span>' in due and "今天到期" in due
    assert "办结" in due and "处罚决定" in due and "议定事项 · 卫生健康" in due
    assert "itm_city" not in due and "itm_env" not in due
    assert "认领" not in due and "/staff/tasks/" not in due  # tasks are the inspectors'
    # Their district's markets, by name, each linked to its page; no id to read.
    markets = section(r.text, "markets")
    assert re.findall(
        r'href="(/staff/markets/[^"]+)" data-link="market"><strong>([^<]+)<', markets
    ) == [
        ("/staff/markets/mkt_1", "幸福农贸市场"),
        ("/staff/markets/mkt_2", "只楚果蔬批发市场"),
    ]  # as web.markets_of orders them, by name in pinyin order (xing before zhi)
    assert "农贸市场" in markets and ">mkt_" not in markets
    # Open work only, asked for by state, with the person's token.
    campaign = {(q.url.path, q.url.params.get("state")) for q in asked if q.url.host == "campaign"}
    assert {("/action-items", "open"), ("/enforcement-cases", "open")} <= campaign
    # Their own department's items, asked for by the token's department.
    departments = {q.url.params.get("department") for q in asked if q.url.path == "/action-items"}
    assert "health" in departments and "environment" not in departments
    staff_calls = [q for q in asked if not q.url.path.startswith("/public/")]
    assert all(q.headers["authorization"] == "Bearer tok" for q in staff_calls)
    # The markets are read once: their names are the list's, the rows name none by id.
    assert [q.url.path for q in staff_calls if q.url.host == "registry"] == ["/markets"]


async def test_a_service_that_does_not_answer_leaves_only_its_part_out() -> None:
    async with console(down=("campaign",)) as client:
        no_campaign = await client.get("/staff/")
    async with console(down=("registry",)) as client:
        no_registry = await client.get("/staff/")
    assert no_campaign.status_code == no_registry.status_code == 200
    assert 'id="due-none"' in no_campaign.text  # nothing due it could read
    assert "幸福农贸市场" in section(no_campaign.text, "markets")
    assert 'id="markets"' not in no_registry.text
    assert len(rows(no_registry.text)) == 4


async def test_a_long_list_of_markets_folds_after_the_first_eight() -> None:
    many = [
        {"id": f"mkt_{n:02d}", "name": f"第{n:02d}农贸市场", "district": "zhifu", "kind": "farmers"}
        for n in range(11)
    ]
    saved = SERVICES[("registry", "/markets")]
    SERVICES[("registry", "/markets")] = {"items": many}
    try:
        async with console() as client:
            r = await client.get("/staff/")
    finally:
        SERVICES[("registry", "/markets")] = saved
    assert len(re.findall("data-market=", section(r.text, "markets"))) == 8
    assert "<summary>其余 3 个市场</summary>" in r.text and "第10农贸市场" in r.text


async def test_other_roles_homes_are_unchanged() -> None:
    async with console("handler") as client:
        handler = await client.get("/staff/")
    assert handler.status_code == 200
    assert 'id="markets"' not in handler.text
    assert 'data-due="action-item"' not in handler.text


def test_a_member_decides_only_the_cases_their_department_is_involved_in() -> None:
    assert [c.href for c in cases_due([CASE], session(department="environment"))] == []
    assert cases_due([CASE], session(department=None)) == []
    assert len(cases_due([CASE], session(department="market_regulation"))) == 1


async def test_a_clerk_who_is_also_a_department_member_is_asked_every_departments_items() -> None:
    """A clerk reports any item done: their home asks for no department."""
    both = session()
    both.principal = Principal(
        "u-both", "clerk", "zhifu", roles=frozenset({"clerk", "department"}), department="health"
    )
    asked: list[httpx.Request] = []
    async with console(asked=asked, who=both) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200
    assert all("department" not in q.url.params for q in asked if q.url.path == "/action-items")
    assert "决定 itm_env" in section(r.text, "due")


def done_forms(page: str) -> list[str]:
    """The items a page offers 办结 for: the item ids its forms post to."""
    return re.findall(r'action="/staff/meetings/mtg_zhifu/items/([^/"]+)/done"', page)


async def test_the_meeting_page_offers_done_on_their_own_departments_items_only() -> None:
    async with console() as client:
        member = await client.get("/staff/meetings/mtg_zhifu")
    assert member.status_code == 200, member.text
    assert 'id="item-itm_late"' in member.text and 'id="item-itm_env"' in member.text
    assert done_forms(member.text) == ["itm_late"]
    async with console(who=session(department=None)) as client:
        none = await client.get("/staff/meetings/mtg_zhifu")
    assert done_forms(none.text) == []
    async with console("clerk") as client:
        clerk = await client.get("/staff/meetings/mtg_zhifu")
    assert done_forms(clerk.text) == ["itm_late", "itm_env"]
    async with console("leader") as client:
        leader = await client.get("/staff/meetings/mtg_zhifu")
    assert done_forms(leader.text) == []


async def test_the_meetings_list_offers_done_on_their_own_departments_items_only() -> None:
    async with console() as client:
        r = await client.get("/staff/meetings")
    assert r.status_code == 200, r.text
    assert sorted(done_forms(r.text)) == ["itm_late", "itm_later", "itm_today"]


async def test_the_case_page_offers_the_decision_to_a_member_of_a_department_involved() -> None:
    async with console() as client:
        health = await client.get("/staff/enforcement/enf_1")
    async with console(who=session(department="environment")) as client:
        environment = await client.get("/staff/enforcement/enf_1")
    async with console("inspector") as client:
        inspector = await client.get("/staff/enforcement/enf_1")
    assert health.status_code == environment.status_code == inspector.status_code == 200
    assert 'id="decide"' in health.text and 'id="decide"' in inspector.text
    assert 'id="decide"' not in environment.text


def card(page: str, title: str) -> tuple[int, str]:
    """A home card's (count, note)."""
    found = re.search(
        rf'<strong>{title}</strong>\s*<span class="count[^"]*">(\d+)</span>\s*'
        r'<span class="muted">([^<]*)</span>',
        page,
    )
    assert found, f"no card {title}"
    return int(found[1]), found[2]


async def test_the_joint_work_cards_count_a_members_own_departments_work_as_their_rows_do() -> None:
    """The 联席会议 and 联合执法 cards agree with the member's 待办: their department's items
    (the late ones said) and the cases it is involved in; a clerk's count every department's."""
    pages = {}
    for name, who in (
        ("health", session(department="health")),
        ("environment", session(department="environment")),
        ("clerk", session("clerk")),
    ):
        async with console(who=who) as client:
            r = await client.get("/staff/")
        assert r.status_code == 200, r.text
        pages[name] = r.text
    assert card(pages["health"], "联席会议") == (4, "议定事项 2 项逾期")
    assert card(pages["health"], "联合执法")[0] == 1
    assert card(pages["environment"], "联席会议") == (1, "议定事项 1 项逾期")
    assert card(pages["environment"], "联合执法")[0] == 0
    assert card(pages["clerk"], "联席会议") == (5, "议定事项 3 项逾期")


async def test_a_member_without_a_department_is_told_why_nothing_is_theirs() -> None:
    async with console(who=session(department=None)) as client:
        none = await client.get("/staff/")
    async with console(who=session(department="health")) as client:
        health = await client.get("/staff/")
    assert 'id="no-department"' in none.text and "未设置所属部门" in none.text
    assert rows(none.text) == []  # no item nor case is theirs to move on
    assert 'id="no-department"' not in health.text
    assert "部门人员 · 卫生健康 ·" in health.text  # who they are, under their name


async def test_the_home_reads_the_open_items_and_cases_once_for_its_cards_and_its_rows() -> None:
    """The 联席会议 and 联合执法 cards and the 待办 rows are the same listings: asked for once
    each a home, and both shown from that one answer."""
    asked: list[httpx.Request] = []
    async with console(asked=asked) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    campaign = [q.url.path for q in asked if q.url.host == "campaign"]
    assert campaign.count("/action-items") == 1 and campaign.count("/enforcement-cases") == 1
    assert card(r.text, "联席会议")[0] == 4 and card(r.text, "联合执法")[0] == 1
    assert len(rows(r.text)) == 4
