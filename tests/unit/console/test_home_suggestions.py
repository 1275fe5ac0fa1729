"""The 意见建议 card on a handler's and a leader's home counts the citizens' suggestions waiting
for an answer, as the 待答复 list shows them (a renovation plan's comments are 改造项目's); when
the complaints service does not answer, the card only links."""

from __future__ import annotations

import json
import re
import time

import httpx

from services.console.sessions import Session
from services.runtime.auth import Principal
from tests.unit.console import support

SUGGESTIONS = [
    {"id": "sug_1", "state": "received", "market_id": "mkt_1"},
    {"id": "sug_2", "state": "received", "market_id": None},
    {"id": "sug_3", "state": "answered", "market_id": "mkt_1"},
    {"id": "sug_4", "state": "received", "project_id": "rnv_1"},  # a plan's comment
]


def console(role: str, complaints_answer: bool = True) -> httpx.AsyncClient:
    def services(request: httpx.Request) -> httpx.Response:
        if request.url.host == "complaints" and request.url.path == "/suggestions":
            if not complaints_answer:
                return httpx.Response(503, json={"error": "unavailable", "message": "down"})
            state = request.url.params.get("state")
            items = [s for s in SUGGESTIONS if state is None or s["state"] == state]
            return httpx.Response(200, content=json.dumps({"items": items}).encode())
        return httpx.Response(404, json={"error": "not_found", "message": "not here"})

    app = support.app_of(services)
    who = Principal("u-1", role, "zhifu", name="韩处理", roles=frozenset({role}))
    app.state.sign_in = support.SignedIn(Session("sid-1", who, "tok", "r", time.time() + 3600))
    return support.client_of(app)


def card(page: str, title: str) -> str:
    found = re.search(rf"<strong>{title}</strong>(.*?)</a>", page, re.S)
    assert found, f"no card {title}"
    return found.group(1)


async def test_a_handler_sees_how_many_suggestions_wait_for_an_answer() -> None:
    async with console("handler") as client:
        page = (await client.get("/staff/")).text
    shown = card(page, "意见建议")
    assert '<span class="count">2</span>' in shown, shown
    assert "2 条待答复" in shown


async def test_without_the_complaints_service_the_card_only_links() -> None:
    async with console("handler", complaints_answer=False) as client:
        page = (await client.get("/staff/")).text
    shown = card(page, "意见建议")
    assert 'class="count' not in shown and "市民的意见建议，答复后凭查询码可查" in shown
