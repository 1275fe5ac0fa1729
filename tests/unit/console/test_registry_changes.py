"""The clerk's changes on a market's page, over mocked services. 退出经营: each trading merchant
has the form, which says what leaving does (the stall freed, its terminals retired); what it
sends; a refusal beside its field with what was typed; those who left listed apart; and the
public page of a merchant who left says so and offers no complaint. 更正: the market's details
and each trading merchant's name and categories, filled in, put, and refused beside the field."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from services.console import clock
from services.runtime.auth import Principal
from tests.unit.console import support

MARKET = support.REGISTRY_MARKET
CLERK = Principal("sub-1", "clerk", "zhifu", name="王登记")


def merchant(mid: str, stall: str, **more: Any) -> dict[str, Any]:
    return {
        "id": mid, "name": f"商户{stall}", "market_id": "mkt_1", "district": "zhifu",
        "stall_no": stall, "status": "active", "credit_code": "91370602MA3C4XYZ0T",
        "food_licence": "JY13706020012345", "licence_valid_until": "2099-12-31",
        "left_on": None, "left_reason": None,
    } | more  # fmt: skip


MERCHANTS = [
    merchant("mer_1", "A-01"),
    merchant("mer_2", "A-02"),
    merchant("mer_0", "A-01", status="left", left_on="2026-03-01", left_reason="转让给他人"),
    merchant("mer_9", "B-09", status="left", left_on="2026-04-15", left_reason="租约到期"),
]
FRIDGE = {
    "id": "trm_fridge", "kind": "cold_chain", "market_id": "mkt_1", "merchant_id": "mer_1",
    "stall_no": "A-01", "profile": "chilled", "interval_s": 60, "key_version": 1,
    "status": "active",
}  # fmt: skip


def registry(sent: list[dict[str, Any]], refusal: tuple[int, dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "telemetry":
            return httpx.Response(200, json={"items": []})
        if request.method == "POST" and path == "/merchants/mer_1/leave":
            sent.append(json.loads(request.read()))
            if refusal is not None:
                return httpx.Response(refusal[0], json=refusal[1])
            return httpx.Response(200, json=MERCHANTS[0] | {"status": "left"})
        if path == "/markets/mkt_1":
            return httpx.Response(200, json=MARKET)
        if path == "/merchants":
            return httpx.Response(200, json={"items": MERCHANTS})
        if path == "/terminals":
            return httpx.Response(200, json={"items": [FRIDGE]})
        if path in ("/districts", "/public/districts"):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"items": []})

    return answer


async def test_each_trading_merchant_can_leave_and_those_who_left_are_listed_apart() -> None:
    async with support.console(registry([]), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    trading = re.findall(r'<li [^>]*data-merchant="(mer_\d)"', page)
    assert trading == ["mer_1", "mer_2"]
    assert re.findall(r'data-leave="(mer_\d)"', page) == ["mer_1", "mer_2"]
    effects = re.findall(r"data-leave-effect>([^<]*)<", page)
    assert effects[0].startswith("退出后摊位 A-01 可登记新商户，该商户的 1 台终端一并停用")
    assert "终端" not in effects[1]
    # What inspection does of the merchant's open work (docs/rules.md, Inspection).
    assert all("尚未办结的检查任务撤销、未整改的整改通知终止" in e for e in effects)
    # The day offered is the city's today, and no later day may be picked.
    today = clock.today().isoformat()
    day = re.search(r'<input id="f-x-mer_1-left_on"[^>]*>', page)
    assert day is not None and f'value="{today}"' in day[0] and f'max="{today}"' in day[0]
    apart = page[page.index('id="left-merchants"') :]
    assert re.findall(r'data-left="(mer_\d)"', apart) == ["mer_9", "mer_0"]  # latest first
    assert "2026-04-15 退出 · 租约到期" in apart and "原摊位 B-09" in apart
    assert '商户 <span class="muted">2 户</span>' in page


async def test_a_leaving_is_sent_and_the_clerk_lands_on_the_list_it_joined() -> None:
    sent: list[dict[str, Any]] = []
    async with support.console(registry(sent), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/leave",
            data={"market_id": "mkt_1", "left_on": "2026-04-30", "reason": "租约到期"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/staff/registry/markets/mkt_1?done=left#left-merchants"
        landed = (await client.get(r.headers["location"])).text
    assert sent == [{"reason": "租约到期", "left_on": "2026-04-30"}]
    assert "商户已退出经营" in landed
    assert re.search(r'<details class="card" id="left-merchants" open>', landed)
    # Left blank, the day is the registry's default (today).
    sent.clear()
    async with support.console(registry(sent), CLERK) as client:
        await client.post(
            "/staff/registry/merchants/mer_1/leave",
            data={"market_id": "mkt_1", "left_on": "", "reason": "转让"},
        )
    assert sent == [{"reason": "转让", "left_on": None}]


async def test_a_refused_leaving_stands_beside_its_fields_with_what_was_typed() -> None:
    refusal = {
        "error": "invalid_input",
        "errors": [
            {"field": "left_on", "reason": "must not be after today (2026-05-01)"},
            {"field": "reason", "reason": "must not be blank"},
        ],
    }
    async with support.console(registry([], (422, refusal)), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/leave",
            data={"market_id": "mkt_1", "left_on": "2026-05-09", "reason": " "},
        )
    assert r.status_code == 422
    form = r.text[r.text.index('data-leave="mer_1"') : r.text.index('data-leave="mer_2"')]
    assert form.startswith('data-leave="mer_1" open')
    errors = dict(re.findall(r'id="err-x-mer_1-(left_on|reason)" role="alert">([^<]*)<', form))
    assert errors == {"left_on": "不得晚于今天（2026-05-01）", "reason": "必填"}
    assert 'value="2026-05-09"' in form


async def test_a_merchant_who_left_already_is_told_above_the_form() -> None:
    refusal = {"error": "conflict", "message": "merchant mer_1 left the market on 2026-04-30"}
    async with support.console(registry([], (409, refusal)), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/leave",
            data={"market_id": "mkt_1", "left_on": "", "reason": "转让"},
        )
    assert r.status_code == 409
    assert "该商户已于 2026-04-30 退出经营" in r.text


async def test_the_public_page_of_a_merchant_who_left_says_so_and_offers_no_complaint() -> None:
    page = {
        "id": "mer_0", "merchant_id": "mer_0", "name": "商户A-01", "market_id": "mkt_1",
        "market_name": "幸福农贸市场", "market": "幸福农贸市场", "district": "zhifu",
        "stall_no": "A-01", "grade": "B", "graded_at": "2026-02-01T00:00:00Z",
        "last_inspection": "2026-02-01", "last_inspection_outcome": "minor",
        "open_rectifications": {"count": 0, "earliest_deadline": None},
    }  # fmt: skip

    def credit(left_on: str | None):  # type: ignore[no-untyped-def]
        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=page | {"left_on": left_on})

        return answer

    async with support.console(credit("2026-03-01"), None) as client:
        gone = (await client.get("/merchants/mer_0")).text
    async with support.console(credit(None), None) as client:
        trading = (await client.get("/merchants/mer_0")).text
    assert "该商户已于 2026-03-01 退出本市场经营" in gone and "投诉该商户" not in gone
    assert "退出" not in trading and "投诉该商户" in trading


async def test_the_public_page_says_a_record_is_disputed_and_nothing_of_it() -> None:
    page = {
        "id": "mer_0", "merchant_id": "mer_0", "name": "商户A-01", "market_id": "mkt_1",
        "market_name": "幸福农贸市场", "stall_no": "A-01", "grade": "B", "left_on": None,
        "open_rectifications": {"count": 0, "earliest_deadline": None},
    }  # fmt: skip

    def credit(disputed: int | None):  # type: ignore[no-untyped-def]
        # None: a credit service from before objections, which says nothing of them.
        body = page if disputed is None else page | {"objections_open": disputed}
        return lambda request: httpx.Response(200, json=body)

    async with support.console(credit(2), None) as client:
        disputed = (await client.get("/merchants/mer_0")).text
    assert "该商户对 2 条信用记录提出了异议，正在核实" in disputed
    for settled in (0, None):
        async with support.console(credit(settled), None) as client:
            assert "异议" not in (await client.get("/merchants/mer_0")).text


async def test_the_public_page_says_an_inspection_found_wrong_no_longer_counts() -> None:
    page = {
        "id": "mer_0", "merchant_id": "mer_0", "name": "商户A-01", "market_id": "mkt_1",
        "market_name": "幸福农贸市场", "stall_no": "A-01", "grade": "A", "left_on": None,
        "last_inspection": "2026-11-03", "last_inspection_outcome": "major",
        "open_rectifications": {"count": 0, "earliest_deadline": None},
    }  # fmt: skip

    def credit(corrected: bool | None):  # type: ignore[no-untyped-def]
        # None: a credit service from before, which says nothing of it.
        body = page if corrected is None else page | {"last_inspection_corrected": corrected}
        return lambda request: httpx.Response(200, json=body)

    async with support.console(credit(True), None) as client:
        shown = (await client.get("/merchants/mer_0")).text
    inspection = shown[shown.index('id="last-inspection"') :]
    inspection = inspection[: inspection.index("</dd>")]
    assert "2026-11-03" in inspection and "经商户异议核实有误，已更正" in inspection
    for stands in (False, None):
        async with support.console(credit(stands), None) as client:
            assert "已更正" not in (await client.get("/merchants/mer_0")).text


# -- 更正: the market's details and a merchant's name ------------------------------------------
def correcting(sent: list[tuple[str, dict[str, Any]]], refusal: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """The registry of the market page, taking PUTs to the market and its merchants (each kept
    in `sent`), answering `refusal` (a 422) when given."""
    page = registry([])

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            sent.append((request.url.path, json.loads(request.read())))
            if refusal is not None:
                return httpx.Response(422, json=refusal)
            return httpx.Response(200, json={})
        return page(request)

    return answer


async def test_the_market_page_offers_its_details_and_each_merchants_name_filled_in() -> None:
    async with support.console(registry([]), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    details = page[
        page.index('id="market-details"') : page.index(
            "</details>", page.index('id="market-details"')
        )
    ]
    shown = dict(re.findall(r'<input id="f-d-(\w+)"[^>]*value="([^"]*)"', details))
    assert shown == {
        "name": "幸福农贸市场",
        "operator": "幸福市场公司",
        "address": "幸福路1号",
        "capacity": "500",
        "open": "06:00",
        "close": "19:00",
    }
    assert re.findall(r'data-correct="(mer_\d)"', page) == ["mer_1", "mer_2"]  # trading only


async def test_a_correction_of_the_market_is_put_and_a_refusal_stands_beside_its_field() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    form = {
        "name": "幸福农贸市场（东区）", "operator": "幸福市场公司", "address": "幸福路1号",
        "capacity": "650", "open": "06:30", "close": "18:00",
    }  # fmt: skip
    async with support.console(correcting(sent), CLERK) as client:
        r = await client.post("/staff/registry/markets/mkt_1/details", data=form)
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/registry/markets/mkt_1?done=details"
    assert sent == [
        (
            "/markets/mkt_1",
            {
                "name": "幸福农贸市场（东区）", "operator": "幸福市场公司", "address": "幸福路1号",
                "capacity": 650, "opening_hours": {"open": "06:30", "close": "18:00"},
            },
        )
    ]  # fmt: skip

    refusal = {
        "error": "invalid_input",
        "errors": [{"field": "opening_hours.close", "reason": "must be later than open (19:00)"}],
    }
    sent.clear()
    async with support.console(correcting(sent, refusal), CLERK) as client:
        r = await client.post(
            "/staff/registry/markets/mkt_1/details", data=form | {"open": "19:00", "close": "06:00"}
        )
    assert r.status_code == 422
    assert '<details id="market-details" open>' in r.text
    assert re.search(r'id="err-d-close" role="alert">[^<]+<', r.text)
    assert re.search(r'<input id="f-d-open"[^>]*value="19:00"', r.text)
    assert re.search(r'<input id="f-d-capacity"[^>]*value="650"', r.text)


async def test_the_markets_kind_is_offered_as_it_stands_and_a_new_one_is_put() -> None:
    """类型 picked wrong at registration (农贸 for 批发): offered with the kind the market has,
    sent only when the clerk picks one."""
    async with support.console(registry([]), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    chosen = re.search(r'<select id="f-d-kind".*?</select>', page, re.S)
    assert chosen is not None
    assert re.findall(r'<option value="(\w+)" selected>', chosen.group(0)) == [MARKET["kind"]]
    sent: list[tuple[str, dict[str, Any]]] = []
    form = {
        "name": "幸福农贸市场", "kind": "wholesale", "operator": "幸福市场公司",
        "address": "幸福路1号", "capacity": "500", "open": "06:00", "close": "19:00",
    }  # fmt: skip
    async with support.console(correcting(sent), CLERK) as client:
        r = await client.post("/staff/registry/markets/mkt_1/details", data=form)
    assert r.status_code == 303
    [(_, body)] = sent
    assert body["kind"] == "wholesale"


async def test_a_merchants_correction_is_put_with_its_categories_as_words() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    async with support.console(correcting(sent), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/details",
            data={"market_id": "mkt_1", "name": "老王鲜肉铺", "categories": "猪肉、牛肉"},
        )
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/registry/markets/mkt_1?done=corrected#m-mer_1"
    assert sent == [("/merchants/mer_1", {"name": "老王鲜肉铺", "categories": ["猪肉", "牛肉"]})]


# -- 换摊位 --------------------------------------------------------------------------------------
async def test_a_move_is_posted_and_a_taken_stall_is_said_beside_the_new_stall() -> None:
    async with support.console(registry([]), CLERK) as client:
        page = (await client.get("/staff/registry/markets/mkt_1")).text
    assert re.findall(r'data-move="(mer_\d)"', page) == ["mer_1", "mer_2"]
    effect = re.findall(r"data-move-effect>([^<]*)<", page)[0]
    assert "信用记录和检查记录随之保留；该商户的 1 台终端随之登记到新摊位" in effect

    sent: list[tuple[str, Any]] = []

    def answer(refusal: tuple[int, dict[str, Any]] | None):  # type: ignore[no-untyped-def]
        page = registry([])

        def respond(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/merchants/mer_1/move":
                sent.append(json.loads(request.read()))
                if refusal is not None:
                    return httpx.Response(refusal[0], json=refusal[1])
                return httpx.Response(200, json=MERCHANTS[0] | {"stall_no": "B-07"})
            return page(request)

        return respond

    async with support.console(answer(None), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/move", data={"market_id": "mkt_1", "stall_no": "B-07"}
        )
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/registry/markets/mkt_1?done=moved#m-mer_1"
    assert sent == [{"stall_no": "B-07"}]

    taken = {
        "error": "conflict",
        "message": "stall 'A-02' of market mkt_1 has a merchant",
        "errors": [{"field": "stall_no", "reason": "stall 'A-02' of market mkt_1 has a merchant"}],
    }
    async with support.console(answer((409, taken)), CLERK) as client:
        r = await client.post(
            "/staff/registry/merchants/mer_1/move", data={"market_id": "mkt_1", "stall_no": "A-02"}
        )
    assert r.status_code == 409
    form = r.text[r.text.index('data-move="mer_1"') :]
    assert form.startswith('data-move="mer_1" open')
    error = re.search(r'id="err-s-mer_1-stall_no" role="alert">([^<]*)<', form)
    assert error is not None and error[1] == "该摊位已有商户"
    assert re.search(r'<input id="f-s-mer_1-stall_no"[^>]*value="A-02"', form)
