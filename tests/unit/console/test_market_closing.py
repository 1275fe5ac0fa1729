"""停业 on the clerk's market page, over mocked services: while a merchant trades there the page
says each must leave first and offers no form; once none does, the form says what closing does,
sends the day and the reason, and a refusal stands beside its field or above the form; a closed
market's page says so and offers no form; the citizens' page of a closed market says so and
offers no complaint."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support

MARKET = support.REGISTRY_MARKET
CLERK = Principal("sub-1", "clerk", "zhifu", name="王登记")
GATE = {
    "id": "trm_gate", "kind": "footfall", "market_id": "mkt_1", "merchant_id": None,
    "stall_no": None, "profile": None, "interval_s": 60, "key_version": 1, "status": "active",
}  # fmt: skip
LEFT = {
    "id": "mer_0", "name": "老王鲜肉", "market_id": "mkt_1", "district": "zhifu",
    "stall_no": "A-01", "status": "left", "credit_code": "91370602MA3C4XYZ0T",
    "food_licence": "JY13706020012345", "licence_valid_until": "2099-12-31",
    "left_on": "2026-04-15", "left_reason": "租约到期",
}  # fmt: skip


def registry(
    merchants: list[dict[str, Any]],
    sent: list[dict[str, Any]] | None = None,
    refusal: tuple[int, dict[str, Any]] | None = None,
    market: dict[str, Any] = MARKET,
):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "telemetry":
            return httpx.Response(200, json={"items": []})
        if request.method == "POST" and path == "/markets/mkt_1/close":
            (sent if sent is not None else []).append(json.loads(request.read()))
            if refusal is not None:
                return httpx.Response(refusal[0], json=refusal[1])
            return httpx.Response(200, json=market | {"status": "closed"})
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=market)
        if path == "/merchants":
            return httpx.Response(200, json={"items": merchants})
        if path == "/terminals":
            return httpx.Response(200, json={"items": [GATE]})
        if path in ("/districts", "/public/districts"):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"items": []})

    return answer


def section(page: str) -> str:
    found = re.search(r'<details class="card" id="close-market"[^>]*>(.*?)</details>', page, re.S)
    assert found is not None, "no 市场停业 section"
    return found.group(1)


async def test_a_market_with_merchants_trading_says_they_must_leave_first() -> None:
    trading = LEFT | {"id": "mer_1", "status": "active", "left_on": None, "left_reason": None}
    async with support.console(registry([trading, LEFT]), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    closing = section(page)
    assert "尚有 1 个商户在经营" in closing and "<form" not in closing


async def test_closing_says_what_it_does_and_sends_the_day_and_the_reason() -> None:
    sent: list[dict[str, Any]] = []
    async with support.console(registry([LEFT], sent), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
        effect = re.search(r"data-close-effect>([^<]*)<", section(page))
        assert effect is not None and "其 1 台终端一并停用" in effect.group(1)
        assert "不再出现在市民查询中" in effect.group(1)
        done = await client.post(
            "/staff/registry/markets/mkt_1/close",
            data={"closed_on": "", "reason": "整体搬迁至新址"},
        )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=closed#closed")
    assert sent == [{"reason": "整体搬迁至新址", "closed_on": None}]


async def test_a_refused_closing_stands_beside_its_field_or_above_the_form() -> None:
    body = {
        "error": "invalid_input",
        "message": "refused",
        "errors": [{"field": "reason", "reason": "must not be blank"}],
    }
    async with support.console(registry([LEFT], refusal=(422, body)), CLERK) as client:
        r = await client.post("/staff/registry/markets/mkt_1/close", data={"reason": " "})
    assert r.status_code == 422
    closing = section(r.text)
    assert '<details class="card" id="close-market" open>' in r.text
    assert re.search(r'id="err-c-reason" role="alert">必填<', closing)
    conflict = {
        "error": "conflict",
        "message": "1 merchant(s) still trade at market mkt_1; record their leaving first",
    }
    async with support.console(registry([LEFT], refusal=(409, conflict)), CLERK) as client:
        r = await client.post("/staff/registry/markets/mkt_1/close", data={"reason": "搬迁"})
    assert "尚有 1 个商户在经营：请先为每个商户办理退出经营" in section(r.text)


async def test_a_closed_market_s_page_says_so_and_offers_no_form() -> None:
    closed = MARKET | {"status": "closed", "closed_on": "2026-05-01", "closed_reason": "整体搬迁"}
    async with support.console(registry([LEFT], market=closed), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    notice = re.search(r'<p class="notice warn" id="closed">([^<]*)<', page)
    assert notice is not None
    assert notice.group(1).startswith("该市场已于 2026-05-01 停业：整体搬迁")
    assert "<form" not in page.split("</header>", 1)[-1].replace('action="/logout"', "")
    # Not located: no call to locate it, for a market citizens are no longer sent to.
    assert "尚未标注位置" not in page
