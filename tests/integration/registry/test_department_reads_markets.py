"""Department staff (部门人员) read the markets of their district by name, as a leader does — they
join its joint inspections, meetings and enforcement (docs/identity.md) — and nothing else of the
registry: a merchant's record carries more than a name."""

from __future__ import annotations

from tests.integration.registry.conftest import Api, district_with_market
from tests.support.registry_api import market_body, merchant_body


async def test_department_staff_read_their_districts_markets_and_nothing_else(api: Api) -> None:
    home, market = await district_with_market(api, "部门看得到的市场")
    other, elsewhere = await district_with_market(api)
    merchant = await api.post("/merchants", merchant_body(market["id"], "P-01"))
    assert merchant.status_code == 201, merchant.text
    terminal = await api.post("/terminals", {"kind": "footfall", "market_id": market["id"]})
    assert terminal.status_code == 201, terminal.text

    listed = await api.get("/markets", "department", home)
    assert listed.status_code == 200, listed.text
    listing = [(m["id"], m["name"]) for m in listed.json()["items"]]
    assert listing == [(market["id"], "部门看得到的市场")]
    assert (await api.get(f"/markets?district={home}", "department", home)).status_code == 200
    one = await api.get(f"/markets/{market['id']}", "department", home)
    assert (one.status_code, one.json()["name"]) == (200, "部门看得到的市场")

    # Scoped to the district, like a leader.
    assert (await api.get(f"/markets?district={other}", "department", home)).status_code == 403
    assert (await api.get(f"/markets/{elsewhere['id']}", "department", home)).status_code == 403

    # Merchants, terminals and districts stay refused; and a department changes nothing.
    for path in (
        "/merchants",
        f"/merchants?market_id={market['id']}",
        f"/merchants/{merchant.json()['id']}",
        f"/terminals?market_id={market['id']}",
        f"/terminals/{terminal.json()['id']}",
        "/districts",
    ):
        assert (await api.get(path, "department", home)).status_code == 403, path
    r = await api.post("/markets", market_body(home, "部门登记的市场"), "department", home)
    assert r.status_code == 403
    r = await api.put(
        f"/markets/{market['id']}/task-force", {"leader": "部门", "members": []}, "department", home
    )
    assert r.status_code == 403
