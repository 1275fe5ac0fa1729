"""The markets of a person's district, as the registry, exposures, renovations and overview
pages ask for them: the person's district, or the whole city for city-wide staff (`*`) and
for an admin whatever district their token names, by district and name."""

from __future__ import annotations

import httpx

from services.console.backend import Backend
from services.console.sessions import Session
from services.console.web import markets_of
from services.runtime.auth import Principal

MARKETS = [
    {"id": "mkt_2", "name": "幸福农贸市场", "district": "zhifu"},
    {"id": "mkt_3", "name": "莱山批发市场", "district": "laishan"},
    {"id": "mkt_1", "name": "东方农贸市场", "district": "zhifu"},
]


async def test_a_district_s_markets_or_the_city_s_by_district_and_name() -> None:
    asked: list[str | None] = []

    def registry(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get("district"))
        return httpx.Response(200, json={"items": MARKETS})

    services = Backend({"registry": "http://registry"}, 2.0, httpx.MockTransport(registry))
    city = Session("sid-1", Principal("sub-1", "leader", "*"), "token", "refresh", 0.0)
    zhifu = Session("sid-2", Principal("sub-2", "clerk", "zhifu"), "token", "refresh", 0.0)
    admin = Session("sid-3", Principal("sub-3", "admin", "zhifu"), "token", "refresh", 0.0)
    found = await markets_of(services, city)
    await markets_of(services, zhifu)
    await markets_of(services, admin)
    await services.close()
    assert asked == [None, "zhifu", None]
    assert [m["id"] for m in found] == ["mkt_3", "mkt_1", "mkt_2"]
