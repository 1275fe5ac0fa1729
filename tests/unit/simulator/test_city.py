"""City files (the simulator's and the demo's), identifiers, and provisioning against a fake
registry that checks request bodies the way the real one does."""

from __future__ import annotations

import itertools
import json
import stat
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.registry.api import MarketIn, MerchantIn, TerminalIn
from services.registry.domain.identifiers import validate_credit_code, validate_food_licence
from simulator.city import (
    CityError,
    CityPlan,
    credit_code,
    enrich,
    food_licence,
    load_city,
    organisation_code,
    parse_city,
    provision,
    save_city,
)
from tests.support.simulator_cities import city

DEMO_FILE = [  # what deploy/local/demo.py writes to .run/demo/terminals.json
    {"id": "trm_a", "kind": "footfall", "market_id": "mkt_1", "key": "aa" * 32},
    {
        "id": "trm_b",
        "kind": "cold_chain",
        "market_id": "mkt_1",
        "merchant_id": "mer_1",
        "profile": "frozen",
        "key": "bb" * 32,
    },
    {
        "id": "trm_c",
        "kind": "payment",
        "market_id": "mkt_2",
        "merchant_id": "mer_2",
        "profile": None,
        "key": "cc" * 32,
    },
]


def test_the_demo_launchers_terminal_list_loads_with_market_details_assumed() -> None:
    loaded = parse_city(DEMO_FILE)
    assert [t.id for t in loaded.terminals] == ["trm_a", "trm_b", "trm_c"]
    assert loaded.terminals[1].key == bytes.fromhex("bb" * 32)
    assert loaded.terminals[1].profile == "frozen" and loaded.terminals[0].interval_s == 60
    assert set(loaded.markets) == {"mkt_1", "mkt_2"}
    assert not any(m.known for m in loaded.markets.values())
    assert loaded.markets["mkt_1"].capacity == 800


def test_a_saved_city_is_private_and_loads_back_the_same(tmp_path: Path) -> None:
    original = city()
    path = tmp_path / "sim" / "city.json"
    save_city(original, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_city(path) == original
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["markets"][0]["opening_hours"] == {"open": "06:00", "close": "19:00"}
    # Saving over a file that was readable by others makes it private too.
    path.chmod(0o644)
    save_city(original, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "no terminals"),
        ("nope", "a list of terminals"),
        ([{"id": "t", "kind": "toaster", "market_id": "m", "key": "00"}], "kind 'toaster'"),
        ([{"id": "t", "kind": "cold_chain", "market_id": "m", "key": "00"}], "profile"),
        ([{"id": "t", "kind": "payment", "market_id": "m"}], "missing 'key'"),
        ([{"id": "t", "kind": "payment", "market_id": "m", "key": "xyz"}], "terminal #0"),
    ],
)
def test_bad_city_files_say_what_is_wrong(data: Any, problem: str) -> None:
    with pytest.raises(CityError, match=problem):
        parse_city(data)


def test_an_unreadable_file_is_a_city_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(CityError, match="cannot read"):
        load_city(tmp_path / "broken.json")
    with pytest.raises(CityError, match="cannot read"):
        load_city(tmp_path / "missing.json")


def test_credit_codes_and_licences_pass_the_registrys_checks() -> None:
    codes = {credit_code() for _ in range(300)}
    assert len(codes) == 300
    for code in codes:
        assert validate_credit_code(code) == code and code.startswith("92370602")
    # 1·3 + 2·7 + 3·9 + 4·10 + 5·5 + 6·8 + 7·4 + 8·2 = 201; 11 − 201 mod 11 = 8
    assert organisation_code("12345678") == "123456788"
    assert organisation_code("00000000") == "000000000"
    assert validate_food_licence(food_licence()).startswith("JY1370602")


class FakeRegistry:
    """Answers like the registry API: validates bodies with its own request models."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.markets: dict[str, dict[str, Any]] = {}
        self.districts: set[str] = {"existing"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        self.requests.append((request.method, path, body))
        assert request.headers["authorization"] == "Bearer t0ken"
        n = next(self.ids)
        if path == "/districts":
            if body["code"] in self.districts:
                return httpx.Response(409, json={"error": "conflict"})
            self.districts.add(body["code"])
            return httpx.Response(201, json=body)
        if path == "/markets":
            MarketIn.model_validate(body)
            market = body | {"id": f"mkt_{n}", "version": 1}
            self.markets[market["id"]] = market
            return httpx.Response(201, json=market)
        if path.endswith("/task-force"):
            return httpx.Response(200, json={})
        if path == "/merchants":
            merchant = MerchantIn.model_validate(body)
            assert merchant.licence_valid_until >= date.today() + timedelta(days=364)
            return httpx.Response(201, json=body | {"id": f"mer_{n}"})
        if path == "/terminals":
            terminal = TerminalIn.model_validate(body)
            out = terminal.model_dump() | {"id": f"trm_{n}", "key": f"{n:064x}"}
            return httpx.Response(201, json=out)
        if request.method == "GET" and path.startswith("/markets/"):
            market_id = path.rsplit("/", 1)[1]
            if market_id not in self.markets:
                return httpx.Response(404, json={"error": "not_found"})
            return httpx.Response(200, json=self.markets[market_id])
        return httpx.Response(404)


def client(registry: FakeRegistry) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(registry),
        base_url="http://registry",
        headers={"Authorization": "Bearer t0ken"},
    )


async def test_provisioning_builds_markets_stalls_and_their_terminals() -> None:
    registry = FakeRegistry()
    async with client(registry) as http:
        made = await provision(http, CityPlan(markets=3, stalls=6, district="existing"))
    paths = [p for _, p, _ in registry.requests]
    assert paths.count("/markets") == 3 and paths.count("/merchants") == 18
    assert sum(p.endswith("/task-force") for p in paths) == 3
    task_forces = [b for _, p, b in registry.requests if p.endswith("/task-force")]
    assert all(tf["leader"] and len(tf["members"]) == 2 for tf in task_forces)
    summary = made.summary()
    # Per market: a gate, and per six stalls 4 chilled fridges, 3 freezers and 6 tills.
    assert summary["by_kind"] == {"footfall": 3, "chilled": 12, "frozen": 9, "payment": 18}
    assert {m.kind for m in made.markets.values()} == {"farmers", "wholesale"}
    assert all(m.known and m.capacity > 0 for m in made.markets.values())
    for terminal in made.terminals:
        assert len(terminal.key) == 32 and terminal.interval_s == 60
        assert terminal.market_id in made.markets
        assert (terminal.merchant_id is None) == (terminal.kind == "footfall")
    codes = [b["credit_code"] for _, p, b in registry.requests if p == "/merchants"]
    assert len(set(codes)) == len(codes)


async def test_provisioning_creates_a_missing_district_and_reports_refusals() -> None:
    registry = FakeRegistry()
    async with client(registry) as http:
        await provision(http, CityPlan(markets=1, stalls=1, district="fresh"))
    assert "fresh" in registry.districts

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/markets":
            return httpx.Response(403, json={"error": "forbidden"})
        return registry(request)

    transport = httpx.MockTransport(refuse)
    headers = {"Authorization": "Bearer t0ken"}
    async with httpx.AsyncClient(transport=transport, base_url="http://r", headers=headers) as h:
        with pytest.raises(CityError, match="POST /markets: 403"):
            await provision(h, CityPlan(markets=1, stalls=1))


async def test_market_details_come_from_the_registry_when_the_file_lacks_them() -> None:
    registry = FakeRegistry()
    registry.markets["mkt_1"] = {
        "id": "mkt_1",
        "name": "莱山农贸市场",
        "kind": "wholesale",
        "capacity": 1500,
        "opening_hours": {"open": "05:00", "close": "18:00"},
        "district": "laishan",
    }
    loaded = parse_city(DEMO_FILE[:2])
    async with client(registry) as http:
        enriched = await enrich(loaded, http)
        assert enriched.markets["mkt_1"].capacity == 1500
        assert enriched.markets["mkt_1"].hours.opens == 5.0 and enriched.markets["mkt_1"].known
        with pytest.raises(CityError, match="404"):
            await enrich(parse_city(DEMO_FILE), http)  # mkt_2 is unknown to this registry
    assert orjson.loads(orjson.dumps(enriched.summary()))["terminals"] == 2
