"""The staff pages name a person's district (docs/console.md: names, not ids): read from the
registry's public list, kept for a while, and the code shown while the registry has not answered."""

from __future__ import annotations

import httpx

from services.console.backend import Backend
from services.console.district_names import DistrictNames
from services.runtime.auth import Principal
from tests.unit.console import support

DISTRICTS = [{"code": "zhifu", "name": "芝罘区"}, {"code": "laishan", "name": "莱山区"}]


class Registry:
    def __init__(self) -> None:
        self.calls, self.up = 0, True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/public/districts":
            return httpx.Response(404, json={"error": "not_found", "message": "stub"})
        self.calls += 1
        if not self.up:
            return httpx.Response(503, json={"error": "unavailable", "message": "down"})
        return httpx.Response(200, json=DISTRICTS)


async def test_names_are_read_once_a_period_and_kept_while_the_registry_is_away() -> None:
    registry, now = Registry(), [0.0]
    services = Backend({"registry": "http://registry"}, 2.0, httpx.MockTransport(registry))
    names = DistrictNames(ttl_s=600, clock=lambda: now[0])
    assert names.name("zhifu") == "zhifu" and names.name("*") == "全市"
    await names.refresh(services)
    await names.refresh(services)
    assert (names.name("zhifu"), registry.calls) == ("芝罘区", 1)
    registry.up, now[0] = False, 601.0
    await names.refresh(services)
    assert (names.name("laishan"), registry.calls) == ("莱山区", 2)  # held through the outage
    await names.refresh(services)
    assert registry.calls == 2  # one try a period, answered or not
    await services.close()


async def test_the_header_and_the_home_name_the_district() -> None:
    registry = Registry()
    who = Principal("sub-1", "clerk", "zhifu", name="王登记")
    async with support.console(registry, who) as client:
        page = (await client.get("/staff/")).text
    assert "登记员 · 芝罘区" in page and "· zhifu<" not in page
