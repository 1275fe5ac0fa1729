"""What the clerk's walk through the demo tripped over, registering a merchant: 该摊位已有商户
stood beside 摊位号 while it was typed, and was gone once the form was submitted with a wrong
credit code too (the registry answers a malformed field's 422 before a taken stall's 409), so
the clerk would meet it only on the next try."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import httpx
import pytest

from services.console import clock
from services.runtime.auth import Principal
from tests.unit.console import support

MARKET = support.REGISTRY_MARKET
TAKEN = "stall 'A-02' of market mkt_1 has a merchant"


def registry(request: httpx.Request) -> httpx.Response:
    """A registry whose stall A-02 is taken, answering as the real one does: the malformed
    credit code first on registering, the taken stall when only the stall is checked."""
    path = request.url.path
    if request.url.host != "registry":
        return httpx.Response(200, json={"items": []})
    if path == "/markets/mkt_1":
        return httpx.Response(200, json=MARKET)
    if path == "/public/districts":
        return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
    if request.method == "GET":  # the market's merchants and terminals: none yet
        return httpx.Response(200, json={"items": []})
    sent = json.loads(request.content)
    if path == "/merchants" and request.method == "POST":
        reason = "校验位为“0”，按 GB 32100-2015 应为“L”"
        errors = [{"field": "credit_code", "reason": reason}]
        return httpx.Response(422, json={"error": "invalid", "message": "x", "errors": errors})
    if path == "/merchants/validate" and set(sent) == {"market_id", "stall_no"}:
        if sent["stall_no"] == "A-02":
            errors = [{"field": "stall_no", "reason": TAKEN}]
            body = {"error": "conflict", "message": TAKEN, "errors": errors}
            return httpx.Response(409, json=body)
        return httpx.Response(200, json={"ok": True})
    return httpx.Response(404, json={"error": "not_found", "message": path})


def beside(page: str, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{field}"[^>]*>(.*?)</span>', page, re.S)
    assert found, f"no error span for {field}"
    return found.group(1).strip()


FORM = {
    "name": "鲜丰水产",
    "credit_code": "91370602MA00001230",
    "food_licence": "JY13706020000099",
    "licence_valid_until": "2027-12-20",
    "categories": "水产",
}


async def test_a_taken_stall_is_said_beside_it_with_the_other_fields_refusal() -> None:
    clerk = Principal("u-clerk", "clerk", "zhifu")
    async with support.console(registry, clerk) as client:
        r = await client.post(
            "/staff/registry/markets/mkt_1/merchants", data=FORM | {"stall_no": "A-02"}
        )
    assert r.status_code == 422, r.text
    assert "GB 32100" in beside(r.text, "credit_code")
    assert beside(r.text, "stall_no") == "该摊位已有商户"
    assert 'value="A-02"' in r.text and 'value="鲜丰水产"' in r.text


async def test_a_free_stall_is_not_flagged() -> None:
    clerk = Principal("u-clerk", "clerk", "zhifu")
    async with support.console(registry, clerk) as client:
        r = await client.post(
            "/staff/registry/markets/mkt_1/merchants", data=FORM | {"stall_no": "B-07"}
        )
    assert r.status_code == 422, r.text
    assert "GB 32100" in beside(r.text, "credit_code")
    assert beside(r.text, "stall_no") == ""


# -- the clerk's home: 登记 counts the licences running out ------------------------------------
def merchant(mid: str, until: date) -> dict[str, object]:
    return {"id": mid, "name": mid, "market_id": "mkt_1", "stall_no": "A-1",
            "licence_valid_until": until.isoformat(), "status": "active"}  # fmt: skip


def licences(*merchants: dict[str, object]) -> support.Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/public/districts":
            return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
        if (request.url.host, path) == ("registry", "/merchants"):
            # The whole list: the registry's filter counts from today, leaving out the ended.
            assert "expiring_within_days" not in request.url.params
            return httpx.Response(200, json={"items": list(merchants)})
        return httpx.Response(200, json={"items": []})

    return answer


async def test_the_clerks_registry_card_counts_licences_running_out_the_ended_in_red(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    today = date(2026, 12, 6)
    monkeypatch.setattr(clock, "today", lambda: today)
    found = licences(
        merchant("mer_soon", today + timedelta(days=14)),
        merchant("mer_ended", today - timedelta(days=2)),
        merchant("mer_later", today + timedelta(days=200)),  # the registry's filter missed it
    )
    async with support.console(found, Principal("u-clerk", "clerk", "zhifu")) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    assert support.card(r.text, "登记") == "登记 2 证照即将到期，其中 1 户已过期"
    assert 'href="/staff/registry#expiring"' in r.text
    assert re.search(r'<span class="count alert">2</span>', r.text)


async def test_without_the_registry_the_card_only_links() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        if request.url.host == "registry" and request.url.path == "/merchants":
            return httpx.Response(503, json={"error": "unavailable", "message": "down"})
        return licences()(request)

    async with support.console(down, Principal("u-clerk", "clerk", "zhifu")) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    assert support.card(r.text, "登记") == "登记 市场、商户、终端，证照即将到期"


# -- the registry's forms are the clerks' -------------------------------------------------------
TERMINAL = {"id": "trm_1", "kind": "cold_chain", "market_id": "mkt_1", "merchant_id": None,
            "stall_no": "A-1", "profile": "frozen", "interval_s": 60, "key_version": 1,
            "status": "active"}  # fmt: skip


def a_market_with_a_terminal(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/public/districts":
        return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
    if path == "/markets/mkt_1":
        return httpx.Response(200, json=MARKET)
    if path == "/terminals" and request.url.host == "registry":
        return httpx.Response(200, json={"items": [TERMINAL]})
    if path == "/markets":
        return httpx.Response(200, json={"items": [MARKET]})
    return httpx.Response(200, json={"items": []})


FORMS = (
    'action="/staff/registry/markets"',
    "/task-force",
    "/location",
    '/merchants"',
    "/rotate-key",
    '/terminals"',
)


def forms_on(*pages: str) -> list[str]:
    """The registry's forms on the pages, read in the form tags (the menu's 商户 and 终端 links
    end as two of the actions do)."""
    tags = [tag for page in pages for tag in re.findall(r"<form[^>]*>", page)]
    return [f for f in FORMS if any(f in tag for tag in tags)]


async def test_a_leader_reads_the_registry_without_the_clerks_forms() -> None:
    leader = Principal("u-leader", "leader", "zhifu")
    async with support.console(a_market_with_a_terminal, leader) as client:
        index = await client.get("/staff/registry")
        market = await client.get("/staff/registry/markets/mkt_1")
        rotated = await client.post("/staff/registry/terminals/trm_1/rotate-key")
    assert index.status_code == market.status_code == 200
    assert "幸福农贸市场" in index.text and "冷链" in market.text
    assert forms_on(index.text, market.text) == []
    assert rotated.status_code == 403 and "由登记员登记" in rotated.text
    clerk = Principal("u-clerk", "clerk", "zhifu")
    async with support.console(a_market_with_a_terminal, clerk) as client:
        index = await client.get("/staff/registry")
        market = await client.get("/staff/registry/markets/mkt_1")
    assert forms_on(index.text, market.text) == list(FORMS)


# -- 更新许可证: from 证照即将到期 to the renewed licence -----------------------------
SOON = {"id": "mer_1", "name": "鲜丰水产", "market_id": "mkt_1", "stall_no": "B-07",
        "credit_code": "91370602MA0000123L", "food_licence": "JY13706020000099",
        "licence_valid_until": "2026-12-20", "status": "active"}  # fmt: skip


def renewing(sent: list[httpx.Request]) -> support.Answer:
    """A registry with one merchant whose licence runs out in 14 days; a renewal to a day in
    the past is refused as the registry does."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if (request.method, path) == ("PUT", "/merchants/mer_1/licence"):
            sent.append(request)
            if json.loads(request.content)["licence_valid_until"] < "2026-12-06":
                reason = "licence expired on 2026-11-30"
                errors = [{"field": "licence_valid_until", "reason": reason}]
                body = {"error": "invalid", "message": reason, "errors": errors}
                return httpx.Response(422, json=body)
            return httpx.Response(200, json=SOON | {"licence_valid_until": "2031-12-20"})
        if path == "/public/districts":
            return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET)
        if path in ("/merchants", "/markets"):
            return httpx.Response(200, json={"items": [SOON] if path == "/merchants" else [MARKET]})
        return httpx.Response(200, json={"items": []})

    return answer


async def test_a_clerk_renews_a_licence_running_out_from_the_list_of_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "today", lambda: date(2026, 12, 6))
    sent: list[httpx.Request] = []
    clerk = Principal("u-clerk", "clerk", "zhifu")
    async with support.console(renewing(sent), clerk) as client:
        listed = await client.get("/staff/registry")
        link = "/staff/registry/markets/mkt_1?licence=mer_1#m-mer_1"
        assert f'href="{link}"' in listed.text
        arrived = await client.get(link.split("#")[0])
        opened = re.search(r'<details data-renew="mer_1"([^>]*)>', arrived.text)
        assert opened and "open" in opened.group(1)
        # The merchant by name, on both lists, linked to its page (its licence, grade, credit).
        for page in (listed.text, arrived.text):
            assert '<a href="/staff/merchants/mer_1"><strong>鲜丰水产</strong></a>' in page
        form = {"market_id": "mkt_1", "food_licence": "JY13706020000199"}
        refused = await client.post(
            "/staff/registry/merchants/mer_1/licence",
            data=form | {"licence_valid_until": "2026-11-30"},
        )
        renewed = await client.post(
            "/staff/registry/merchants/mer_1/licence",
            data=form | {"licence_valid_until": "2031-12-20"},
        )
    assert refused.status_code == 422
    assert beside(refused.text, "l-mer_1-licence_valid_until") == "许可证已过期"
    assert 'value="JY13706020000199"' in refused.text  # what was typed is kept
    assert renewed.status_code == 303
    assert renewed.headers["location"] == "/staff/registry/markets/mkt_1?done=licence#m-mer_1"
    assert [json.loads(r.content) for r in sent][-1] == {
        "food_licence": "JY13706020000199",
        "licence_valid_until": "2031-12-20",
    }


async def test_a_leader_is_not_offered_the_renewal() -> None:
    leader = Principal("u-leader", "leader", "zhifu")
    async with support.console(renewing([]), leader) as client:
        listed = await client.get("/staff/registry")
        market = await client.get("/staff/registry/markets/mkt_1?licence=mer_1")
        posted = await client.post(
            "/staff/registry/merchants/mer_1/licence",
            data={"market_id": "mkt_1", "food_licence": "JY1", "licence_valid_until": "2031-01-01"},
        )
    assert "更新许可证" not in listed.text and "更新许可证" not in market.text
    assert posted.status_code == 403


async def test_an_unlocated_market_is_said_on_the_registry_page_with_the_way_to_locate_it() -> None:
    located = MARKET | {
        "id": "mkt_2",
        "name": "莱山农贸市场",
        "latitude": 37.49,
        "longitude": 121.44,
    }

    def two_markets(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/markets":
            return httpx.Response(200, json={"items": [MARKET, located]})
        return a_market_with_a_terminal(request)

    async with support.console(two_markets, Principal("u-clerk", "clerk", "zhifu")) as client:
        index = await client.get("/staff/registry")
    assert index.status_code == 200
    flagged = re.findall(r'<p class="nearing" data-unlocated>.*?href="([^"]+)"', index.text, re.S)
    assert flagged == ["/staff/registry/markets/mkt_1#location"]
