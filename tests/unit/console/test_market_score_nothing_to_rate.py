"""A market's page explains its score by the parts that count (docs/console.md); a market with
nothing to rate in any part scores credit's middle, 50 (docs/rules.md, market assessment), and
the page says that rather than a weighted mean of no parts."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support

PARTS = ["share_ab", "inspection_pass_rate", "rectification_on_time_rate",
         "complaints_within_limit_rate", "open_risks", "self_inspection_rate",
         "report_on_time_rate", "certified_share"]  # fmt: skip
ANSWERS: dict[tuple[str, str], Any] = {
    ("registry", "/public/markets/mkt_1"): {
        "id": "mkt_1", "name": "东山农贸市场", "district": "zhifu", "kind": "farmers",
        "address": "东山路9号",
    },
    ("credit", "/markets/mkt_1/assessment"): {
        "market_id": "mkt_1", "market_name": "东山农贸市场", "district": "zhifu", "score": 50.0,
        "rank": 3, "ranked": 3, "open_risks": 0, "merchants": 0, "policy_version": "2026-12",
        "parts": [{"part": p, "value": None, "weight": 0.1} for p in PARTS],
    },
}  # fmt: skip


def services(request: httpx.Request) -> httpx.Response:
    body = ANSWERS.get((request.url.host, request.url.path))
    if body is None:
        return httpx.Response(404, json={"error": "not_found", "message": request.url.path})
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_a_market_with_nothing_to_rate_says_its_50_is_the_middle_not_a_mean() -> None:
    async with support.console(services, Principal("u-1", "leader", "zhifu")) as client:
        r = await client.get("/staff/markets/mkt_1")
    assert r.status_code == 200, r.text
    how = re.search(r'<p class="muted" id="score-how">(.*?)</p>', r.text, re.S)
    assert how, r.text
    said = re.sub(r"<[^>]+>", "", how.group(1))
    assert "中间值 50.0 分" in said and "计入各项的数值" not in said, said
