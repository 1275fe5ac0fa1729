"""The staff home's 待复查 card counts the open rectification orders, the overdue in red, from the
same listing the inspector's 复查 rows come from (services/console/views/home.py)."""

from __future__ import annotations

import json
import re
import time

import httpx

from services.console.sessions import Session
from services.runtime.auth import Principal
from tests.unit.console import support

ORDERS = [
    {"id": "rct_1", "market_id": "mkt_1", "severity": "major", "state": "open",
     "deadline": "2026-01-01T00:00:00Z", "overdue_at": "2026-01-01T00:05:00Z"},
    {"id": "rct_2", "market_id": "mkt_1", "severity": "minor", "state": "open",
     "deadline": "2099-01-01T00:00:00Z", "overdue_at": None},
    {"id": "rct_3", "market_id": "mkt_1", "severity": "minor", "state": "open",
     "deadline": "2099-01-02T00:00:00Z", "overdue_at": None},
]  # fmt: skip


def home(role: str, asked: list[httpx.Request], down: tuple[str, ...] = ()) -> httpx.AsyncClient:
    def services(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.url.host in down:
            return httpx.Response(503, json={"error": "unavailable", "message": "down"})
        if (request.url.host, request.url.path) == ("inspection", "/rectifications"):
            return httpx.Response(200, content=json.dumps({"items": ORDERS}).encode())
        if request.url.path in ("/tasks", "/action-items", "/enforcement-cases", "/markets"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(404, json={"error": "not_found", "message": "none"})

    who = Principal("u-1", role, "zhifu", name="郑检查", roles=frozenset({role}))
    app = support.app_of(services)
    app.state.sign_in = support.SignedIn(Session("sid", who, "tok", "r", time.time() + 3600))
    return support.client_of(app)


def orders_card(page: str) -> tuple[str | None, str]:
    found = re.search(
        r'<strong>待复查</strong>\s*(?:<span class="count[^"]*">(\d+)</span>\s*)?'
        r'<span class="muted">([^<]*)</span>',
        page,
    )
    assert found, "no 待复查 card"
    return found[1], found[2]


async def home_page(role: str, asked: list[httpx.Request], down: tuple[str, ...] = ()) -> str:
    async with home(role, asked, down) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    return r.text


async def test_the_card_counts_the_open_orders_and_says_how_many_are_overdue() -> None:
    asked: list[httpx.Request] = []
    page = await home_page("inspector", asked)
    assert orders_card(page) == ("3", "1 项逾期未复查")
    # One listing for the card and the inspector's 复查 rows.
    listings = [q for q in asked if q.url.path == "/rectifications"]
    assert len(listings) == 1 and listings[0].url.params["state"] == "open"
    assert page.count("/staff/rectifications#r-") == 3


async def test_a_leader_sees_the_count_without_the_rows() -> None:
    page = await home_page("leader", [])
    assert orders_card(page) == ("3", "1 项逾期未复查")
    assert "/staff/rectifications#r-" not in page


async def test_while_inspection_does_not_answer_the_card_only_links() -> None:
    page = await home_page("inspector", [], down=("inspection",))
    assert orders_card(page) == (None, "到期的整改通知与复查")
