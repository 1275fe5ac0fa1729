"""The clerk's market page (`/staff/registry/markets/{id}`) over mocked services: each terminal
says what it last reported (docs/console.md: a clerk sees a new terminal's first readings) — the
time and, for cold chain, the temperature; 尚未收到读数 before the first; 暂时无法获取 for every
terminal when telemetry does not answer — from one call to telemetry for the whole page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.console import clock
from services.runtime.auth import Principal
from tests.unit.console import support

MARKET = support.REGISTRY_MARKET


def terminal(tid: str, kind: str) -> dict[str, object]:
    return {
        "id": tid, "kind": kind, "market_id": "mkt_1", "merchant_id": None, "stall_no": "A-1",
        "profile": "frozen" if kind == "cold_chain" else None, "interval_s": 60,
        "key_version": 1, "status": "active",
    }  # fmt: skip


TERMINALS = [terminal("trm_fridge", "cold_chain"), terminal("trm_gate", "footfall")]
TERMINALS.append(terminal("trm_new", "cold_chain"))
# 2026-05-04 10:05 in the city.
LAST = {"seq": 3, "ts": "2026-05-04T02:05:00Z", "heard_at": "2026-05-04T02:05:01Z"}
REPORTS = {
    "items": [
        {"terminal_id": "trm_fridge", "last": LAST | {"temp_c": -18.5, "open_risks": 1}},
        {"terminal_id": "trm_gate", "last": LAST | {"temp_c": None, "open_risks": 0}},
        {"terminal_id": "trm_new", "last": None},
    ]
}

Telemetry = Callable[[httpx.Request], httpx.Response]


def console(telemetry: Telemetry, asked: list[httpx.Request]) -> httpx.AsyncClient:
    """The console signed in as a clerk of zhifu; the registry knows the market and its three
    terminals, telemetry answers with `telemetry` (every request to it kept in `asked`)."""

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "telemetry":
            asked.append(request)
            return telemetry(request)
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET)
        if path == "/merchants":
            return httpx.Response(200, json={"items": []})
        if path == "/terminals":
            return httpx.Response(200, json={"items": TERMINALS})
        return httpx.Response(404, json={"error": "not_found"})

    return support.console(services, Principal("sub-1", "clerk", "zhifu", name="王登记"))


def last_reports(page: str) -> dict[str, str]:
    found = re.findall(r'data-last-report="([^"]+)">(.*?)</div>', page, re.S)
    return {tid: " ".join(re.sub(r"<[^>]+>", "", text).split()) for tid, text in found}


async def test_each_terminal_says_what_it_last_reported_from_one_call_to_telemetry() -> None:
    asked: list[httpx.Request] = []
    async with console(lambda _: httpx.Response(200, json=REPORTS), asked) as client:
        r = await client.get("/staff/registry/markets/mkt_1")
    assert r.status_code == 200
    assert last_reports(r.text) == {
        "trm_fridge": "最近上报：05-04 10:05 · -18.5 °C · 未解除风险 1 项",
        "trm_gate": "最近上报：05-04 10:05",  # no temperature but for cold chain
        "trm_new": "最近上报：尚未收到读数",
    }
    assert [(q.url.path, dict(q.url.params)) for q in asked] == [
        ("/terminals", {"market_id": "mkt_1"})
    ]
    assert asked[0].headers["authorization"] == "Bearer token"  # the clerk's own token


async def test_telemetry_not_answering_is_said_and_the_page_still_stands() -> None:
    asked: list[httpx.Request] = []
    down = httpx.Response(500, json={"error": "internal", "message": "boom"})
    async with console(lambda _: down, asked) as client:
        r = await client.get("/staff/registry/markets/mkt_1")
    assert r.status_code == 200
    assert set(last_reports(r.text).values()) == {"最近上报：暂时无法获取"}
    assert len(last_reports(r.text)) == 3 and len(asked) == 1
    assert "轮换密钥" in r.text  # the rest of the terminals' part as ever


async def test_a_licence_s_days_are_counted_in_the_citys_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 01:00 on 1 June in China it is still 31 May in UTC: a licence valid until 31 May has
    expired by a day in the city, and the clerk's list and the market's page say so."""
    monkeypatch.setattr(clock, "wall", lambda: datetime(2026, 5, 31, 17, 0, tzinfo=UTC))
    merchant = {
        "id": "mer_1", "name": "老王冻品", "market_id": "mkt_1", "district": "zhifu",
        "stall_no": "A-1", "status": "active", "credit_code": "91370602MA3C4XYZ0T",
        "food_licence": "JY13706020012345", "licence_valid_until": "2026-05-31",
    }  # fmt: skip

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/markets":
            return httpx.Response(200, json={"items": [MARKET]})
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET)
        if path == "/merchants":
            return httpx.Response(200, json={"items": [merchant]})
        if path in ("/terminals", "/reports/last"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(404, json={"error": "not_found"})

    async with support.console(services, Principal("sub-1", "clerk", "zhifu")) as client:
        listed = (await client.get("/staff/registry")).text
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    expiring = re.search(r'<ul class="list" id="expiring">(.*?)</ul>', listed, re.S)
    assert expiring and "已过期 1 天" in expiring[1]
    row = re.search(r'<li [^>]*data-merchant="mer_1">(.*?)</li>', page, re.S)
    assert row and "证照已过期 1 天" in row[1]


async def test_an_admin_of_a_district_registers_a_market_in_any_district() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            request.read()
            sent.append(request)
            return httpx.Response(201, json=MARKET | {"id": "mkt_2", "district": "laishan"})
        if request.url.path in ("/districts", "/public/districts"):
            return httpx.Response(200, json=[{"code": "zhifu"}, {"code": "laishan"}])
        return httpx.Response(200, json={"items": []})

    admin = Principal("a", "admin", "zhifu")
    form = {
        "name": "莱山市场", "district": "laishan", "kind": "farmers", "operator": "莱山公司",
        "address": "莱山路1号", "capacity": "100", "open": "06:00", "close": "19:00",
    }  # fmt: skip
    async with support.console(answer, admin) as client:
        page = await client.get("/staff/registry")
        await client.post("/staff/registry/markets", data=form)
    assert 'value="laishan"' in page.text
    assert sent and json.loads(sent[0].content)["district"] == "laishan"


async def test_a_markets_merchants_stand_in_stall_order_as_people_count() -> None:
    """A10 after A2 and 12 after 3 (services/runtime/collation.py), whatever order the list
    came in: a clerk finds a stall where its number says."""
    stalls = ["A10", "12", "B1", "A2", "3"]
    merchants = [
        {
            "id": f"mer_{stall}",
            "name": f"商户{stall}",
            "market_id": "mkt_1",
            "district": "zhifu",
            "stall_no": stall,
            "status": "active",
            "credit_code": "91370602MA3C4XYZ0T",
            "food_licence": "JY13706020012345",
            "licence_valid_until": "2099-12-31",
        }
        for stall in stalls
    ]

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET)
        if path == "/merchants":
            return httpx.Response(200, json={"items": merchants})
        if path in ("/terminals", "/reports/last"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(404, json={"error": "not_found"})

    async with support.console(services, Principal("sub-1", "clerk", "zhifu")) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    shown = re.findall(r'<li [^>]*data-merchant="mer_([^"]+)">', page)
    assert shown == ["3", "12", "A2", "A10", "B1"]


def located(sent: list[httpx.Request], refusal: dict[str, object] | None = None) -> Telemetry:
    """The registry of `console`'s clerk: PUT …/location keeps each request in `sent` and answers
    `refusal` (a 422) when given, else the market located."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PUT" and path == "/markets/mkt_1/location":
            request.read()
            sent.append(request)
            if refusal is not None:
                return httpx.Response(422, json=refusal)
            return httpx.Response(200, json=MARKET | json.loads(request.content))
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET | {"latitude": None, "longitude": None})
        if path in ("/districts", "/public/districts"):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"items": []})

    return answer


async def test_a_clerk_locates_the_market_with_numbers_as_json_numbers() -> None:
    sent: list[httpx.Request] = []
    clerk = Principal("sub-1", "clerk", "zhifu", name="王登记")
    async with support.console(located(sent), clerk) as client:
        page = await client.get("/staff/registry/markets/mkt_1")
        r = await client.post(
            "/staff/registry/markets/mkt_1/location",
            data={"latitude": "37.538412", "longitude": " 121.3977 "},
        )
    assert "尚未标注位置" in page.text and "使用当前位置" in page.text
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/registry/markets/mkt_1?done=location"
    assert json.loads(sent[0].content) == {"latitude": 37.538412, "longitude": 121.3977}


async def test_a_refused_location_stands_beside_its_field_with_what_was_typed() -> None:
    sent: list[httpx.Request] = []
    refusal = {
        "error": "invalid_input",
        "message": "2 problems",
        "errors": [
            {"field": "latitude", "reason": "Input should be less than or equal to 90"},
            {"field": "longitude", "reason": "Input should be a valid number"},
        ],
    }
    clerk = Principal("sub-1", "clerk", "zhifu", name="王登记")
    async with support.console(located(sent, refusal), clerk) as client:
        r = await client.post(
            "/staff/registry/markets/mkt_1/location", data={"latitude": "95", "longitude": ""}
        )
    assert r.status_code == 422
    assert json.loads(sent[0].content) == {"latitude": 95.0, "longitude": None}
    errors = dict(re.findall(r'id="err-(latitude|longitude)" role="alert">([^<]*)<', r.text))
    assert errors == {"latitude": "不能大于 90", "longitude": "必填"}
    assert 'value="95"' in r.text


async def registered(
    form: dict[str, str], refusal: dict[str, Any] | None = None
) -> tuple[dict[str, Any], httpx.Response]:
    """What the 登记市场 form sends the registry, and the page it leads to (a 422 with
    `refusal`)."""
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.append(json.loads(request.read()))
            if refusal is not None:
                return httpx.Response(422, json=refusal)
            return httpx.Response(201, json=MARKET | {"id": "mkt_2"})
        if request.url.path in ("/districts", "/public/districts"):
            return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
        return httpx.Response(200, json={"items": []})

    base = {
        "name": "东门市场", "kind": "farmers", "operator": "东门公司", "address": "东门路1号",
        "capacity": "100", "open": "06:00", "close": "19:00",
    }  # fmt: skip
    async with support.console(answer, Principal("sub-1", "clerk", "zhifu")) as client:
        r = await client.post("/staff/registry/markets", data=base | form)
    return sent[0], r


async def test_a_market_registered_at_its_gate_sends_its_location() -> None:
    body, r = await registered({"latitude": "37.4946", "longitude": "121.4452"})
    assert (body["latitude"], body["longitude"]) == (37.4946, 121.4452)
    assert r.status_code == 303
    body, _ = await registered({"latitude": "", "longitude": ""})
    assert (body["latitude"], body["longitude"]) == (None, None)


async def test_the_registration_form_offers_the_phones_location_and_keeps_a_refused_one() -> None:
    refusal = {
        "error": "invalid_input",
        "errors": [{"field": "latitude", "reason": "must be from -90 to 90 degrees"}],
    }
    _, r = await registered({"latitude": "95", "longitude": "121.4"}, refusal)
    assert r.status_code == 422
    form = r.text[r.text.index('id="add-market-form"') :]
    assert 'data-locate="#add-market-form"' in form
    # Optional: a market registered anywhere but at its gate is not held back by the browser.
    latitude = re.search(r'<input id="f-latitude"[^>]*>', form)
    assert latitude is not None and " required" not in latitude[0]
    assert "应在 -90 到 90 度之间" in form
    assert 'value="95"' in form and 'value="121.4"' in form
