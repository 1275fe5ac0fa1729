"""A joint enforcement case's page links its market to the market's page: 部门人员, who join
the case and may read their district's markets (docs/console.md), reach the market from it."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support

CASE = {
    "id": "enf_1", "market_id": "mkt_1", "market_name": "幸福农贸市场", "district": "zhifu",
    "merchant_id": None, "merchant_name": None, "state": "open",
    "origin": {"kind": "complaint", "id": "cmp_1"}, "departments": ["health"],
    "facts": "冷柜温度超标", "opened_at": "2026-12-01T08:00:00+08:00", "opened_actor": None,
    "decision": None,
}  # fmt: skip
ANSWERS: dict[tuple[str, str], Any] = {("campaign", "/enforcement-cases/enf_1"): CASE}


def services(request: httpx.Request) -> httpx.Response:
    body = ANSWERS.get((request.url.host, request.url.path))
    if body is None:
        return httpx.Response(404, json={"error": "not_found", "message": request.url.path})
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_department_staff_read_a_case_with_its_market_linked_by_name() -> None:
    async with support.console(services, Principal("u-1", "department", "zhifu")) as client:
        r = await client.get("/staff/enforcement/enf_1")
    assert r.status_code == 200, r.text
    assert re.search(r'<a href="/staff/markets/mkt_1" id="market">幸福农贸市场</a>', r.text)
