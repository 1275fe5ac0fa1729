"""What the leader's walk through the demo tripped over (总览 and a market's page): the score's
open-risk part is credit's count of open food-safety risks, so it is worded as such; shown as
未解除风险 0 it sat beside a risk board (one click away) listing the market's two open crowding
and transaction risks. A renovation's budget read 2350000.50 元."""

from __future__ import annotations

import json
import re

import httpx

from services.console.web import yuan
from services.runtime.auth import Principal
from tests.unit.console import support
from tests.unit.console.support import words

ASSESSMENT: dict[str, object] = {
    "market_id": "mkt_1",
    "market_name": "莱山农贸市场",
    "district": "laishan",
    "share_ab": 1.0,
    "inspection_pass_rate": None,
    "rectification_on_time_rate": None,
    "complaints_within_limit_rate": None,
    "open_risks": 0,
    "score": 100.0,
    "rank": 1,
    "ranked": 1,
}
ASSESSMENT["district_assessment"] = ASSESSMENT | {"market_id": None, "rank": None}


def services(request: httpx.Request) -> httpx.Response:
    host, path = request.url.host, request.url.path
    if (host, path) == ("registry", "/markets"):
        body: object = {"items": [{"id": "mkt_1", "name": "莱山农贸市场", "district": "laishan"}]}
    elif (host, path) == ("credit", "/markets/mkt_1/assessment"):
        body = ASSESSMENT
    elif (host, path) == ("credit", "/assessments"):
        body = {"markets": [ASSESSMENT], "districts": [ASSESSMENT["district_assessment"]]}
    elif path in ("/risks", "/complaints", "/tasks", "/campaigns"):
        body = {"items": []}
    else:
        return httpx.Response(404, json={"error": "not_found", "message": path})
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_the_rankings_open_risks_say_they_are_food_safety_risks() -> None:
    async with support.console(services, Principal("u-1", "leader", "laishan")) as client:
        r = await client.get("/staff/overview")
    assert r.status_code == 200, r.text
    ranking = re.search(r'<ol class="list" id="ranking">(.*?)</ol>', r.text, re.S)
    assert ranking, r.text
    assert "未解除食品安全风险 0" in words(ranking.group(1))
    district = re.search(r'<ul class="stats" aria-label="区县考核">(.*?)</ul>', r.text, re.S)
    assert district, r.text
    assert "未解除食品安全风险 0" in words(district.group(1))
    assert "未解除风险" not in words(r.text)


# -- amounts of yuan grouped by thousands --------------------------------------------------------
def test_yuan_are_grouped_by_thousands_with_their_fen_when_they_have_any() -> None:
    assert yuan("2350000.50") == "2,350,000.50"
    assert yuan("1200000.00") == "1,200,000"
    assert yuan(500) == "500"
    assert yuan(None) == "—" and yuan("") == "—"
    assert yuan("不详") == "不详"


def renovations(request: httpx.Request) -> httpx.Response:
    if (request.url.host, request.url.path) == ("campaign", "/renovations"):
        project = {"id": "ren_1", "market_id": "mkt_1", "title": "提升改造工程",
                   "stage": "under_construction", "budget_total_yuan": "2350000.50",
                   "created_at": "2026-04-01T00:00:00Z"}  # fmt: skip
        return httpx.Response(200, json={"items": [project]})
    return services(request)


async def test_a_renovations_budget_reads_in_thousands() -> None:
    async with support.console(renovations, Principal("u-1", "leader", "laishan")) as client:
        r = await client.get("/staff/renovations")
    assert r.status_code == 200, r.text
    assert "预算 2,350,000.50 元" in words(r.text)


# -- the staff home's 风险看板 card counts the open risks -----------------------------------------
def with_risks(*severities: str) -> support.Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        asked = (request.url.host, request.url.path, request.url.params.get("state"))
        if asked == ("telemetry", "/risks", "open"):
            risks = [{"risk_id": f"r{i}", "severity": s} for i, s in enumerate(severities)]
            return httpx.Response(200, json={"items": risks})
        return services(request)

    return answer


card = support.card


async def test_the_risk_boards_card_counts_the_open_risks_the_serious_in_red() -> None:
    leader = Principal("u-1", "leader", "laishan")
    async with support.console(with_risks("major", "minor"), leader) as client:
        two = await client.get("/staff/")
    async with support.console(with_risks(), leader) as client:
        none = await client.get("/staff/")
    assert card(two.text, "风险看板") == "风险看板 2 1 项较重及以上，未解除"
    assert '<span class="count alert">2</span>' in two.text
    assert card(none.text, "风险看板") == "风险看板 0 没有未解除的风险"


def no_telemetry(request: httpx.Request) -> httpx.Response:
    if request.url.host == "telemetry":
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})
    return services(request)


async def test_without_telemetry_the_risk_card_only_links() -> None:
    async with support.console(no_telemetry, Principal("u-1", "clerk", "laishan")) as client:
        r = await client.get("/staff/")
    assert r.status_code == 200, r.text
    assert card(r.text, "风险看板") == "风险看板 实时风险，按市场、等级、规则筛选"


# -- the staff home's 投诉队列 card counts the open complaints ------------------------------------
def complaint(cid: str, state: str, **clock: object) -> dict[str, object]:
    return {"id": cid, "state": state, "market_id": "mkt_1", "category": "short_weight",
            "running_clock": "acceptance" if state == "received" else "mediation",
            "current_deadline": "2099-01-01T00:00:00+00:00", **clock}  # fmt: skip


OPEN_COMPLAINTS = {
    "received": [
        complaint("c1", "received", acceptance_overdue_at="2026-12-01T00:00:00+00:00"),
        complaint("c2", "received", nearing=True),
    ],
    "accepted": [complaint("c3", "accepted")],
}


def with_complaints(request: httpx.Request) -> httpx.Response:
    if (request.url.host, request.url.path) == ("complaints", "/complaints"):
        state = request.url.params.get("state")
        return httpx.Response(200, json={"items": OPEN_COMPLAINTS.get(state or "", [])})
    return services(request)


async def test_the_complaint_queues_card_counts_the_open_ones_the_late_in_red() -> None:
    async with support.console(with_complaints, Principal("u-1", "leader", "laishan")) as client:
        leader = await client.get("/staff/")
    assert card(leader.text, "投诉队列") == "投诉队列 3 1 件逾期，1 件临期"
    assert '<span class="count alert">3</span>' in leader.text
    async with support.console(with_complaints, Principal("u-2", "handler", "laishan")) as client:
        handler = await client.get("/staff/")
    assert card(handler.text, "投诉队列") == "投诉队列 3 1 件逾期，1 件临期"
    # The handler's 待办 rows come from the same listing: 受理 twice, 办结 once.
    assert handler.text.count('href="/staff/complaints/c') >= 3
    assert all(f'href="/staff/complaints/{c}"' in handler.text for c in ("c1", "c2", "c3"))


# -- the districts' standing in the city ---------------------------------------------------------
def of_two_districts(request: httpx.Request) -> httpx.Response:
    """Two districts of one market each; laishan stands first in the city."""
    host, path = request.url.host, request.url.path

    def assessed(market_id: str, name: str, district: str, score: float, city_rank: int) -> dict:
        market = ASSESSMENT | {"market_id": market_id, "market_name": name, "district": district}
        market["score"] = score
        market["district_assessment"] = market | {
            "market_id": None, "rank": None, "city_rank": city_rank, "city_ranked": 2,
        }  # fmt: skip
        return market

    if (host, path) == ("registry", "/public/districts"):
        body: object = [{"code": "zhifu", "name": "芝罘区"}, {"code": "laishan", "name": "莱山区"}]
    elif (host, path) == ("registry", "/markets"):
        markets = [{"id": "mkt_1", "name": "幸福农贸市场", "district": "zhifu"},
                   {"id": "mkt_2", "name": "莱山农贸市场", "district": "laishan"}]  # fmt: skip
        asked = request.url.params.get("district")
        body = {"items": [m for m in markets if asked in (None, m["district"])]}
    elif (host, path) == ("credit", "/assessments"):
        # Credit's ranking of the district asked for (the whole city's when none).
        everywhere = [
            assessed("mkt_1", "幸福农贸市场", "zhifu", 71.5, 2),
            assessed("mkt_2", "莱山农贸市场", "laishan", 88.0, 1),
        ]
        asked = request.url.params.get("district")
        markets = [m for m in everywhere if asked in (None, m["district"])]
        districts = [m.pop("district_assessment") for m in markets]
        body = {"markets": markets, "districts": districts}
    else:
        return services(request)
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_a_city_reader_sees_each_district_named_with_its_standing_best_first() -> None:
    """The demo's admin read two blocks of 区县得分 on 总览 and could not tell which district
    either was, nor how they stood: each is named, with 全市第 n 名, best first, and each market
    of the ranking says its district."""
    async with support.console(of_two_districts, Principal("a-1", "admin", "*")) as client:
        r = await client.get("/staff/overview")
    assert r.status_code == 200, r.text
    standings = re.findall(r'<h3 class="standing" data-district="(\w+)">(.*?)</h3>', r.text, re.S)
    assert [(code, words(heading)) for code, heading in standings] == [
        ("laishan", "莱山区 全市第 1 名 /2"),
        ("zhifu", "芝罘区 全市第 2 名 /2"),
    ]
    ranking = re.search(r'<ol class="list" id="ranking">(.*?)</ol>', r.text, re.S)
    assert ranking, r.text
    rows = re.findall(r'<span class="rank">(.*?)</span></span>', ranking[1], re.S)
    assert [words(row) for row in rows] == ["莱山区 第 1 名 /1", "芝罘区 第 1 名 /1"]


async def test_a_district_leader_reads_the_districts_standing_and_no_district_per_market() -> None:
    async with support.console(of_two_districts, Principal("l-1", "leader", "zhifu")) as client:
        r = await client.get("/staff/overview")
    assert r.status_code == 200, r.text
    standings = re.findall(r'<h3 class="standing" data-district="(\w+)">(.*?)</h3>', r.text, re.S)
    assert [(code, words(heading)) for code, heading in standings] == [
        ("zhifu", "芝罘区 全市第 2 名 /2")
    ]
    ranking = re.search(r'<ol class="list" id="ranking">(.*?)</ol>', r.text, re.S)
    assert ranking and "芝罘区" not in ranking[1] and "莱山农贸市场" not in ranking[1]
