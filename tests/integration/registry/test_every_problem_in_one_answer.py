"""Every problem of one request in one 422, each naming its field (the runtime's one error
format: services/runtime/errors.py), whether the body's model or the registry's rules found it,
and nothing stored; one problem is answered as it always was."""

from __future__ import annotations

from typing import Any

from tests.integration.registry.conftest import Api, district_with_market
from tests.support.registry_api import market_body, merchant_body

WRONG_CHECK = "914403001922038217"  # GB 32100-2015 gives 6 as the check character
PAST = "2020-01-01"


def _fields(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input"
    return [e["field"] for e in r.json()["errors"]]


async def test_a_wrong_check_character_and_an_expired_licence_in_one_422(api: Api) -> None:
    district, market = await district_with_market(api)
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    outbox = await pool.fetchval("SELECT count(*) FROM outbox")
    body = merchant_body(market["id"], "E-01", WRONG_CHECK) | {"licence_valid_until": PAST}

    r = await api.post("/merchants", body, "clerk", district)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": "invalid_input",
        "message": "credit_code: check character is '7', GB 32100-2015 gives '6'; "
        "licence_valid_until: licence expired on 2020-01-01",
        "errors": [
            {"field": "credit_code", "reason": "check character is '7', GB 32100-2015 gives '6'"},
            {"field": "licence_valid_until", "reason": "licence expired on 2020-01-01"},
        ],
    }
    # The check of a form as typed answers the very same, as does a second try.
    checked = await api.post("/merchants/validate", body, "clerk", district)
    assert (checked.status_code, checked.json()) == (422, r.json())
    # A blank name and an unknown market too: the model's problems and the registry's together.
    body |= {"name": "", "market_id": "mkt_nowhere"}
    r = await api.post("/merchants", body, "clerk", district)
    assert _fields(r) == ["name", "credit_code", "licence_valid_until", "market_id"]

    count = "SELECT count(*) FROM merchants WHERE market_id = $1"
    assert await pool.fetchval(count, market["id"]) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == outbox


async def test_one_problem_is_answered_as_before(api: Api) -> None:
    district, market = await district_with_market(api)
    r = await api.post(
        "/merchants",
        merchant_body(market["id"], "E-02") | {"licence_valid_until": PAST},
        "clerk",
        district,
    )
    assert (r.status_code, r.json()) == (
        422,
        {
            "error": "invalid_input",
            "message": "licence_valid_until: licence expired on 2020-01-01",
            "errors": [{"field": "licence_valid_until", "reason": "licence expired on 2020-01-01"}],
        },
    )
    r = await api.post("/merchants", merchant_body(market["id"], "E-02", WRONG_CHECK))
    assert _fields(r) == ["credit_code"]
    # A taken stall stays its own answer (409), once the fields are right.
    assert (await api.post("/merchants", merchant_body(market["id"], "E-03"))).status_code == 201
    r = await api.post("/merchants", merchant_body(market["id"], "E-03", WRONG_CHECK))
    assert _fields(r) == ["credit_code"]
    r = await api.post("/merchants", merchant_body(market["id"], "E-03"))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "stall_no"


async def test_a_market_a_terminal_and_a_renewal_name_every_problem(api: Api) -> None:
    _, market = await district_with_market(api)
    hours = {"opening_hours": {"open": "19:00", "close": "06:00"}}
    r = await api.post("/markets", market_body("nowhere") | hours | {"capacity": 0})
    assert _fields(r) == ["capacity", "opening_hours.close", "district"]
    r = await api.post("/markets", market_body("nowhere") | hours)
    assert _fields(r) == ["opening_hours.close", "district"]

    r = await api.post(
        "/terminals",
        {"kind": "cold_chain", "market_id": market["id"], "merchant_id": "mer_nowhere"},
    )
    assert _fields(r) == ["merchant_id", "profile"]
    r = await api.post("/terminals", {"kind": "thermometer", "market_id": "mkt_nowhere"})
    assert _fields(r) == ["kind", "market_id"]

    added = await api.post("/merchants", merchant_body(market["id"], "E-04"))
    assert added.status_code == 201, added.text
    licence = f"/merchants/{added.json()['id']}/licence"
    r = await api.put(licence, {"food_licence": "JY1", "licence_valid_until": PAST})
    assert _fields(r) == ["food_licence", "licence_valid_until"]

    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    assert await pool.fetchval("SELECT count(*) FROM markets WHERE district = 'nowhere'") == 0
    terminals = "SELECT count(*) FROM terminals WHERE market_id = $1"
    assert await pool.fetchval(terminals, market["id"]) == 0
    kept = "SELECT food_licence FROM merchants WHERE id = $1"
    assert await pool.fetchval(kept, added.json()["id"]) == "JY13706020012345"
