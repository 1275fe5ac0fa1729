"""What the console's clerk pages need: a merchant checked as typed (`POST /merchants/validate`,
the very errors of `POST /merchants`, nothing stored or published) and the licences running out
soon (`GET /merchants?expiring_within_days=`)."""

from __future__ import annotations

from datetime import date, timedelta

from contracts import topics
from tests.integration.registry.conftest import Api, district_with_market
from tests.support.kafka import TopicWatcher
from tests.support.registry_api import merchant_body


async def test_validation_answers_as_registration_would_and_stores_nothing(
    api: Api, kafka: str
) -> None:
    district, market = await district_with_market(api)
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    outbox = "SELECT count(*) FROM outbox WHERE topic = $1"
    before = await pool.fetchval(outbox, topics.REGISTRY_MERCHANTS.name)

    async with TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as watcher:
        good = merchant_body(market["id"], "C-01")
        r = await api.post("/merchants/validate", good, "clerk", district)
        assert r.status_code == 200 and r.json() == {"ok": True}
        # One field as it is typed: only it is checked.
        r = await api.post(
            "/merchants/validate", {"credit_code": "914403001922038216"}, "clerk", district
        )
        assert r.json() == {"ok": True}

        wrong = merchant_body(market["id"], "C-02", "914403001922038217")  # wrong check character
        for body in (
            wrong,
            {"credit_code": "914403001922038217"},
            {"food_licence": "JY123"},
            merchant_body(market["id"], "C-03") | {"licence_valid_until": "2020-01-01"},
            merchant_body("mkt_nowhere", "C-04"),
        ):
            checked = await api.post("/merchants/validate", body, "clerk", district)
            assert checked.status_code == 422, checked.text
            if len(body) > 2:  # a whole merchant: registering it answers the very same
                registered = await api.post("/merchants", body, "clerk", district)
                assert (registered.status_code, registered.json()) == (422, checked.json())
        r = await api.post(
            "/merchants/validate", {"credit_code": "914403001922038217"}, "clerk", district
        )
        assert r.json()["errors"][0]["field"] == "credit_code"
        assert r.json()["errors"][0]["reason"].startswith("check character is '7'")
        assert r.json()["error"] == "invalid_input"

        # A taken stall and another district's market: as registration, too.
        taken = await api.post("/merchants", merchant_body(market["id"], "C-05"), "clerk", district)
        assert taken.status_code == 201
        r = await api.post(
            "/merchants/validate", merchant_body(market["id"], "C-05"), "clerk", district
        )
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "stall_no"
        elsewhere, _ = await district_with_market(api)
        r = await api.post("/merchants/validate", good, "clerk", elsewhere)
        assert r.status_code == 403
        # Clerks only (admin always may).
        r = await api.post("/merchants/validate", good, "inspector", district)
        assert r.status_code == 403
        await watcher.drain(settle_s=1.0)

    rows = await pool.fetch("SELECT stall_no FROM merchants WHERE market_id = $1", market["id"])
    assert [r["stall_no"] for r in rows] == ["C-05"]  # only what was registered
    assert await pool.fetchval(outbox, topics.REGISTRY_MERCHANTS.name) == before + 1
    published = [r.json()["data"] for r in watcher.records]
    assert [m["stall_no"] for m in published if m["market_id"] == market["id"]] == ["C-05"]


async def test_licences_expiring_within_days_of_my_district_soonest_first(api: Api) -> None:
    district, market = await district_with_market(api)
    other, other_market = await district_with_market(api)
    today = date.today()

    async def merchant(market_id: str, stall: str, days: int, where: str) -> str:
        body = merchant_body(market_id, stall) | {
            "licence_valid_until": (today + timedelta(days=days)).isoformat()
        }
        r = await api.post("/merchants", body, "clerk", where)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    in_20 = await merchant(market["id"], "E-1", 20, district)
    in_5 = await merchant(market["id"], "E-2", 5, district)
    await merchant(market["id"], "E-3", 90, district)
    await merchant(other_market["id"], "E-1", 3, other)

    r = await api.get("/merchants?expiring_within_days=30", "clerk", district)
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()["items"]] == [in_5, in_20]
    r = await api.get("/merchants?expiring_within_days=10", "leader", district)
    assert [m["id"] for m in r.json()["items"]] == [in_5]
    r = await api.get("/merchants", "clerk", district)
    assert len(r.json()["items"]) == 3
    r = await api.get("/merchants?expiring_within_days=-1", "clerk", district)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expiring_within_days"


async def test_validation_names_where_a_credit_code_is_registered_already(api: Api) -> None:
    """信用主体: credit counts every registration of one code as one business, so the clerk
    typing a code is told where it stands already — a registration that left among them."""
    district, market = await district_with_market(api)
    first = merchant_body(market["id"], "D-01")
    r = await api.post("/merchants", first, "clerk", district)
    assert r.status_code == 201, r.text
    left = await api.post(
        f"/merchants/{r.json()['id']}/leave", {"reason": "租约到期"}, "clerk", district
    )
    assert left.status_code == 200, left.text
    code = {"credit_code": first["credit_code"]}
    r = await api.post("/merchants/validate", code, "clerk", district)
    assert r.status_code == 200, r.text
    [found] = r.json()["same_credit_code"]
    assert (found["market_id"], found["market_name"], found["stall_no"], found["status"]) == (
        market["id"],
        market["name"],
        "D-01",
        "left",
    )
    assert found["left_on"] == date.today().isoformat()
    fresh = await api.post("/merchants/validate", merchant_body(market["id"], "D-02"), "clerk",
                           district)  # fmt: skip
    assert fresh.json() == {"ok": True}
