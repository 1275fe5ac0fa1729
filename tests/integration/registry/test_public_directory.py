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
