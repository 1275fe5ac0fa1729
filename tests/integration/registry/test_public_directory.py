"""The registry's public directory (issue 16) on real Postgres: districts, market search,
a market's page and its active merchants, with no token and nothing personal."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.registry.conftest import Api
from tests.support.personal import assert_nothing_personal
from tests.support.registry_api import market_body, merchant_body

MARKET_KEYS = {
    "id",
    "name",
    "district",
    "district_name",
    "kind",
    "address",
    "opening_hours",
    "renovation_status",
    # Where the market stands (null until a clerk sets it) and, with `near`, how far it is.
    "latitude",
    "longitude",
    "distance_m",
    # 停业: whether it closed for good, and when (a closed market is found by its id only).
    "status",
    "closed_on",
}
TASK_FORCE = ("赵大队长", "钱组员", "孙组员")


async def _city(api: Api) -> dict[str, Any]:
    """A district with two markets (farmers and wholesale, both named with a unique tag), a task
    force of people, and two merchants in the first."""
    tag = uuid.uuid4().hex[:6]
    code = f"p{tag}"
    r = await api.post("/districts", {"code": code, "name": f"公开区{tag}"})
    assert r.status_code == 201, r.text
    farmers = (await api.post("/markets", market_body(code, f"东山{tag}农贸市场"))).json()
    body = market_body(code, f"西城{tag}批发市场") | {"kind": "wholesale"}
    wholesale = (await api.post("/markets", body)).json()
    r = await api.put(
        f"/markets/{farmers['id']}/task-force",
        {"leader": TASK_FORCE[0], "members": list(TASK_FORCE[1:])},
    )
    assert r.status_code == 200, r.text
    merchants = []
    for stall in ("A-02", "A-01"):
        r = await api.post("/merchants", merchant_body(farmers["id"], stall))
        assert r.status_code == 201, r.text
        merchants.append(r.json())
    return {"tag": tag, "code": code, "farmers": farmers, "wholesale": wholesale, "m": merchants}


async def public(api: Api, path: str, seen: list[str], status: int = 200) -> Any:
    r = await api.client.get(path)  # no token
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    seen.append(r.text)
    return r.json()


async def test_a_citizen_finds_a_market_by_name_district_and_kind_without_a_token(
    api: Api,
) -> None:
    city = await _city(api)
    tag, code, seen = city["tag"], city["code"], []

    districts = await public(api, "/public/districts", seen)
    assert {"code": code, "name": f"公开区{tag}"} in districts
    assert all(set(d) == {"code", "name"} for d in districts)

    found = await public(api, f"/public/markets?q={tag}", seen)
    assert found["total"] == 2
    assert [m["name"] for m in found["items"]] == [f"东山{tag}农贸市场", f"西城{tag}批发市场"]
    first = found["items"][0]
    assert set(first) == MARKET_KEYS
    assert first == {
        "id": city["farmers"]["id"],
        "name": f"东山{tag}农贸市场",
        "district": code,
        "district_name": f"公开区{tag}",
        "kind": "farmers",
        "address": "幸福路1号",
        "opening_hours": {"open": "06:00", "close": "19:00"},
        "renovation_status": "not_planned",
        "latitude": None,
        "longitude": None,
        "distance_m": None,
        "status": "open",
        "closed_on": None,
    }
    wholesale = await public(api, f"/public/markets?q={tag}&kind=wholesale", seen)
    assert [m["id"] for m in wholesale["items"]] == [city["wholesale"]["id"]]
    by_district = await public(api, f"/public/markets?district={code}&limit=1&offset=1", seen)
    assert by_district["total"] == 2
    assert [m["id"] for m in by_district["items"]] == [city["wholesale"]["id"]]
    # Search text is matched literally: % and _ are not wildcards.
    assert (await public(api, f"/public/markets?q={tag}%25", seen))["total"] == 0
    assert (await public(api, "/public/markets?q=东山_", seen))["total"] == 0
    await public(api, "/public/markets?limit=101", seen, status=422)

    page = await public(api, f"/public/markets/{city['farmers']['id']}", seen)
    assert page == first
    await public(api, "/public/markets/mkt_nobody", seen, status=404)

    merchants = await public(api, f"/public/markets/{city['farmers']['id']}/merchants", seen)
    assert merchants == {
        "items": [
            {"id": city["m"][1]["id"], "name": "商户A-01", "stall_no": "A-01"},
            {"id": city["m"][0]["id"], "name": "商户A-02", "stall_no": "A-02"},
        ]
    }
    await public(api, "/public/markets/mkt_nobody/merchants", seen, status=404)

    for text in seen:
        assert_nothing_personal(text, TASK_FORCE, where="registry public")


async def test_a_suspended_merchant_is_not_offered_to_complain_about(api: Api) -> None:
    city = await _city(api)
    registry = api.app.state.registry  # type: ignore[attr-defined]
    changed = await registry.suspend(
        merchant_id=city["m"][0]["id"],
        rectification_id=f"rec_{uuid.uuid4().hex[:8]}",
        task_id="tsk_x",
    )
    assert changed is not None and changed.status == "suspended"
    r = await api.client.get(f"/public/markets/{city['farmers']['id']}/merchants")
    assert [m["stall_no"] for m in r.json()["items"]] == ["A-01"]


async def test_the_openapi_document_states_the_public_schemas(api: Api) -> None:
    doc = (await api.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert set(schemas["PublicMarket"]["properties"]) == MARKET_KEYS
    ok = doc["paths"]["/public/markets"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/PublicMarketPage")


async def test_a_citizen_near_two_located_markets_gets_the_nearest_first_with_its_distance(
    api: Api,
) -> None:
    city = await _city(api)
    tag, farmers, wholesale, seen = city["tag"], city["farmers"], city["wholesale"], []
    # A third market of the district is never located: it is left out of a search by distance.
    r = await api.post("/markets", market_body(city["code"], f"北门{tag}农贸市场"))
    assert r.status_code == 201, r.text
    for market, at in ((farmers, (37.5384, 121.3977)), (wholesale, (37.4946, 121.4452))):
        r = await api.put(
            f"/markets/{market['id']}/location", {"latitude": at[0], "longitude": at[1]}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["latitude"], r.json()["longitude"]) == at

    found = await public(api, f"/public/markets?q={tag}&near=37.50,121.44", seen)
    assert [(m["id"], m["distance_m"]) for m in found["items"]] == [
        (wholesale["id"], 756),
        (farmers["id"], 5670),
    ]
    assert found["total"] == 2
    plain = await public(api, f"/public/markets?q={tag}", seen)
    assert plain["total"] == 3 and {m["distance_m"] for m in plain["items"]} == {None}
    page = await public(api, f"/public/markets/{farmers['id']}", seen)
    assert (page["latitude"], page["longitude"]) == (37.5384, 121.3977)
    for text in seen:
        assert_nothing_personal(text, TASK_FORCE, where="registry public, near")

    for bad in ("37.5", "north,east", "91,121", "37.5,181"):
        refused = await public(api, f"/public/markets?near={bad}", seen, status=422)
        assert refused["errors"][0]["field"] == "near", refused


async def test_a_location_out_of_range_is_refused_naming_each_field_and_changes_nothing(
    api: Api,
) -> None:
    market = (await api.get(f"/markets/{(await _city(api))['farmers']['id']}")).json()
    r = await api.put(f"/markets/{market['id']}/location", {"latitude": 91, "longitude": -181})
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"latitude", "longitude"}
    r = await api.put(f"/markets/{market['id']}/location", {"latitude": 37.5})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "longitude", r.text
    after = (await api.get(f"/markets/{market['id']}")).json()
    assert (after["latitude"], after["longitude"], after["version"]) == (
        None,
        None,
        market["version"],
    )


async def test_a_market_registered_with_its_location_is_near_from_the_start(api: Api) -> None:
    city = await _city(api)
    body = market_body(city["code"], f"东门{city['tag']}农贸市场")
    r = await api.post("/markets", body | {"latitude": 37.5384})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["longitude"]
    r = await api.post("/markets", body | {"latitude": 95, "longitude": 121.4})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["latitude"]
    assert (await public(api, f"/public/markets?q=东门{city['tag']}", []))["total"] == 0

    r = await api.post("/markets", body | {"latitude": 37.4946, "longitude": 121.4452})
    assert r.status_code == 201, r.text
    assert (r.json()["latitude"], r.json()["longitude"], r.json()["version"]) == (
        37.4946,
        121.4452,
        1,
    )
    found = await public(api, f"/public/markets?q=东门{city['tag']}&near=37.50,121.44", [])
    assert [(m["id"], m["distance_m"]) for m in found["items"]] == [(r.json()["id"], 756)]
