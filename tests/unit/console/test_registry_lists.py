"""The clerk's 商户 and 终端 lists (`/staff/registry/merchants`, `/staff/registry/terminals`)
and their 更新许可证 rows on the home, over stubbed services. The console walk found merchants
and terminals only on each market's page, and the clerk's home with cards but no 待办."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta

import httpx
import pytest

from services.console import clock
from services.runtime.auth import Principal
from tests.unit.console import support

TODAY = date(2026, 12, 6)
CLERK = Principal("u-clerk", "clerk", "zhifu")
LEADER = Principal("u-leader", "leader", "zhifu")


def market(mid: str, name: str) -> dict[str, object]:
    return {"id": mid, "name": name, "district": "zhifu", "kind": "farmers"}


MARKETS = [market("mkt_1", "幸福农贸市场"), market("mkt_2", "东山市场")]


def merchant(mid: str, name: str, market_id: str, stall: str, code: str, until: date) -> dict:
    return {"id": mid, "name": name, "market_id": market_id, "stall_no": stall,
            "credit_code": code, "food_licence": "JY13706020000001",
            "licence_valid_until": until.isoformat(), "status": "active"}  # fmt: skip


MERCHANTS = [
    merchant("mer_1", "老王水产", "mkt_1", "A-10", "91370602MA3C1234X5", TODAY + timedelta(400)),
    merchant("mer_2", "李记蔬菜", "mkt_1", "A-2", "91370602MA3C5678Y6", TODAY + timedelta(12)),
    merchant("mer_3", "东山冻品", "mkt_2", "B-1", "91370602MA3C9999Z7", TODAY - timedelta(3)),
]


def terminal(tid: str, kind: str, market_id: str, **more: object) -> dict[str, object]:
    return {"id": tid, "kind": kind, "market_id": market_id, "merchant_id": None,
            "stall_no": None, "profile": None, "interval_s": 60, "key_version": 1,
            "status": "active"} | more  # fmt: skip


TERMINALS = [
    terminal("trm_fridge", "cold_chain", "mkt_1", merchant_id="mer_1", stall_no="A-10"),
    terminal("trm_gate", "footfall", "mkt_1", status="retired"),
    terminal("trm_pay", "payment", "mkt_2"),
]


def services(asked: list[httpx.Request]) -> support.Answer:
    """A registry of two markets, three merchants and three terminals of zhifu, filtering by
    market as the real one does; every request kept in `asked`."""

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        path, market_id = request.url.path, request.url.params.get("market_id")
        if request.url.host == "telemetry" and path == "/terminals":
            last = {"seq": 1, "ts": "2026-12-06T02:05:00Z", "heard_at": "2026-12-06T02:05:01Z"}
            items = [{"terminal_id": "trm_fridge", "last": last}]
            return httpx.Response(200, json={"items": items})
        if request.url.host == "credit" and path == "/public/merchants":
            grades = [{"id": "mer_1", "grade": "A"}, {"id": "mer_2", "grade": None}]
            found = [g for g in grades if market_id == "mkt_1"]
            return httpx.Response(200, json={"items": found, "total": len(found)})
        if request.url.host != "registry":
            return httpx.Response(200, json={"items": []})
        if path == "/public/districts":
            return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
        found = {"/markets": MARKETS, "/merchants": MERCHANTS, "/terminals": TERMINALS}.get(path)
        if found is None:
            return httpx.Response(404, json={"error": "not_found"})
        if market_id and path != "/markets":
            found = [x for x in found if x["market_id"] == market_id]
        return httpx.Response(200, json={"items": found})

    return answer


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def rows(page: str, attr: str) -> dict[str, str]:
    found = re.findall(rf'<li [^>]*data-{attr}="([^"]+)">(.*?)</li>', page, re.S)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", text).split()) for key, text in found}


async def get(path: str, who: Principal = CLERK, **headers: str) -> httpx.Response:
    asked: list[httpx.Request] = []
    async with support.console(services(asked), who) as client:
        return await client.get(path, headers=headers)


async def test_the_merchants_of_every_market_by_market_and_stall_the_licences_marked() -> None:
    r = await get("/staff/registry/merchants")
    assert r.status_code == 200, r.text
    found = rows(r.text, "merchant")
    # Markets in pinyin order (东山 before 幸福), stalls in natural order (A-2 before A-10).
    assert list(found) == ["mer_3", "mer_2", "mer_1"]
    assert "东山市场 · 摊位 B-1" in found["mer_3"] and "已过期 · 已过期 3 天" in found["mer_3"]
    assert "即将到期 · 剩余 12 天" in found["mer_2"]
    assert "到期" not in found["mer_1"] and "有效期至 2028-01-10" in found["mer_1"]
    assert 'href="/staff/merchants/mer_1"' in r.text
    assert "共 3 户" in r.text
    # No grade without a market chosen: a district's would take a call per 100 merchants.
    assert 'class="grade' not in r.text and "选择市场可看信用等级" in r.text


async def test_with_a_market_chosen_each_merchant_has_its_credit_grade() -> None:
    r = await get("/staff/registry/merchants?market=mkt_1")
    found = rows(r.text, "merchant")
    assert list(found) == ["mer_2", "mer_1"]
    assert 'aria-label="信用等级 A"' in r.text and 'aria-label="暂无信用等级"' in r.text
    assert found["mer_1"].startswith("老王水产 A")
    assert found["mer_2"].startswith("李记蔬菜 —")


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("q=91370602MA3C5678", ["mer_2"]),  # part of a credit code
        ("q=91370602ma3c5678y6", ["mer_2"]),  # in any case
        ("q=水产", ["mer_1"]),  # part of a name
        ("q=B-1", ["mer_3"]),  # a stall
        ("market=mkt_1", ["mer_2", "mer_1"]),
        ("market=mkt_1&q=东山", []),
    ],
)
async def test_the_search_box_and_the_market_filter_find_merchants(
    query: str, shown: list[str]
) -> None:
    r = await get(f"/staff/registry/merchants?{query}")
    assert r.status_code == 200, r.text
    assert list(rows(r.text, "merchant")) == shown
    if not shown:
        assert "没有符合条件的商户" in r.text


async def test_htmx_gets_the_rows_alone_a_form_without_js_the_whole_page() -> None:
    whole = await get("/staff/registry/merchants?q=水产")
    assert 'id="merchant-filters"' in whole.text and 'method="get"' in whole.text
    assert 'value="水产"' in whole.text
    rows_only = await get("/staff/registry/merchants?q=水产", **{"HX-Request": "true"})
    assert rows_only.text.lstrip().startswith('<div id="merchant-rows"')
    assert "merchant-filters" not in rows_only.text and list(rows(rows_only.text, "merchant")) == [
        "mer_1"
    ]


async def test_a_long_list_is_shown_fifty_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    many = [
        merchant(f"mer_{i:03}", f"商户{i}", "mkt_1", f"C-{i}", f"C{i:03}", TODAY + timedelta(400))
        for i in range(1, 121)
    ]
    monkeypatch.setattr(f"{__name__}.MERCHANTS", many)
    first = await get("/staff/registry/merchants")
    assert len(rows(first.text, "merchant")) == 50 and "第 1 / 3 页" in first.text
    assert 'href="/staff/registry/merchants?page=2"' in first.text
    last = await get("/staff/registry/merchants?page=3")
    assert list(rows(last.text, "merchant"))[-1] == "mer_120"
    assert len(rows(last.text, "merchant")) == 20
    assert "共 120 户" in last.text


async def test_the_terminals_with_kind_market_merchant_and_the_retired_marked() -> None:
    r = await get("/staff/registry/terminals")
    assert r.status_code == 200, r.text
    found = rows(r.text, "terminal")
    assert list(found) == ["trm_pay", "trm_fridge", "trm_gate"]
    assert found["trm_fridge"].startswith("冷链温度")
    assert "幸福农贸市场 · 老王水产 · 摊位 A-10" in found["trm_fridge"]
    assert "每 60 秒上报" in found["trm_fridge"]
    assert "已停用" in found["trm_gate"] and "已停用" not in found["trm_fridge"]
    assert 'href="/staff/registry/markets/mkt_1#t-trm_fridge"' in r.text
    # Without a market chosen, telemetry is not asked market by market.
    assert "data-last-report" not in r.text and "选择市场可看最近上报" in r.text


async def test_terminals_by_kind_id_and_with_a_market_what_each_last_reported() -> None:
    assert list(rows((await get("/staff/registry/terminals?kind=payment")).text, "terminal")) == [
        "trm_pay"
    ]
    assert list(rows((await get("/staff/registry/terminals?q=FRIDGE")).text, "terminal")) == [
        "trm_fridge"
    ]
    r = await get("/staff/registry/terminals?market=mkt_1")
    found = rows(r.text, "terminal")
    assert list(found) == ["trm_fridge", "trm_gate"]
    assert "最近上报：12-06 10:05" in found["trm_fridge"]
    assert "尚未收到读数" in found["trm_gate"]


async def test_a_leader_reads_the_lists_an_inspector_does_not() -> None:
    assert (await get("/staff/registry/merchants", LEADER)).status_code == 200
    inspector = Principal("u-ins", "inspector", "zhifu")
    assert (await get("/staff/registry/terminals", inspector)).status_code == 403


async def test_the_clerks_menu_has_the_lists() -> None:
    r = await get("/staff/registry/merchants")
    assert '<a href="/staff/registry/merchants"' in r.text
    assert '<a href="/staff/registry/terminals"' in r.text
    # Only 商户 is the current page: 登记's path begins the list's too.
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', r.text) == [
        "/staff/registry/merchants"
    ]
    registry = await get("/staff/registry")
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', registry.text) == [
        "/staff/registry"
    ]


# -- the clerk's home: 更新许可证 rows, the ended first --------------------------------------


async def test_the_clerks_home_lists_licences_to_renew_the_ended_first() -> None:
    r = await get("/staff/")
    assert r.status_code == 200, r.text
    due = re.findall(r'<li class="([^"]*)" data-due="licence">(.*?)</li>', r.text, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", t).split()) for _, t in due]
    assert len(texts) == 2, texts
    assert texts[0].startswith("食品经营许可证已过期 已过期 3 天 东山市场 · 摊位 B-1 · 东山冻品")
    assert due[0][0] == "is-overdue" and due[1][0] == ""
    assert texts[1].startswith("食品经营许可证即将到期 剩余 12 天 幸福农贸市场 · 摊位 A-2")
    assert 'href="/staff/registry/markets/mkt_2?licence=mer_3#m-mer_3"' in r.text
    assert "更新许可证" in texts[0] and "眼下没有待办事项" not in r.text


async def test_an_inspectors_home_has_no_licence_rows() -> None:
    r = await get("/staff/", Principal("u-ins", "inspector", "zhifu"))
    assert r.status_code == 200, r.text
    assert 'id="due"' in r.text and 'data-due="licence"' not in r.text


async def test_a_merchant_who_left_or_is_suspended_says_so_in_the_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo walk found merchants who had left (退出经营) listed like those trading: the
    status now stands beside the name, and a merchant who left names its 原摊位 and no licence
    running out."""
    gone = merchant("mer_9", "已走冻品", "mkt_2", "B-2", "91370602MA3C0000A1", TODAY - timedelta(3))
    gone |= {"status": "left", "left_on": "2026-11-30"}
    paused = merchant(
        "mer_8", "暂停海鲜", "mkt_2", "B-3", "91370602MA3C0000B2", TODAY + timedelta(99)
    )
    paused |= {"status": "suspended"}
    monkeypatch.setattr(sys.modules[__name__], "MERCHANTS", [*MERCHANTS, gone, paused])
    found = rows((await get("/staff/registry/merchants")).text, "merchant")
    assert "已退出 · 2026-11-30" in found["mer_9"] and "原摊位 B-2" in found["mer_9"]
    assert "过期" not in found["mer_9"] and "有效期" not in found["mer_9"]
    assert "暂停经营" in found["mer_8"] and "摊位 B-3" in found["mer_8"]
    assert "已退出" not in found["mer_1"] and "暂停" not in found["mer_1"]
