"""The campaign's progress on 总览 covers the person's scope as the services draw it: a
district's leader reads their district, an admin and a `*` token the whole city."""

from __future__ import annotations

import httpx

from services.console.backend import Backend
from services.console.sessions import Session
from services.console.views.overview import _campaign
from services.runtime.auth import Principal

PROGRESS = {
    "districts": [
        {"district": "zhifu", "milestone_items": []},
        {"district": "laishan", "milestone_items": []},
    ]
}


def campaign(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/campaigns":
        return httpx.Response(200, json={"items": [{"id": "cmp_1", "year": 2026}]})
    return httpx.Response(200, json=PROGRESS)


async def districts_read_by(principal: Principal) -> list[str]:
    services = Backend({"campaign": "http://campaign"}, 2.0, httpx.MockTransport(campaign))
    found = await _campaign(services, Session("sid", principal, "token", "refresh", 0.0))
    await services.close()
    assert found is not None
    return [d["district"] for d in found["districts"]]


async def test_a_district_reads_its_own_and_an_admin_or_the_city_reads_every_district() -> None:
    assert await districts_read_by(Principal("l", "leader", "zhifu")) == ["zhifu"]
    assert await districts_read_by(Principal("c", "leader", "*")) == ["zhifu", "laishan"]
    assert await districts_read_by(Principal("a", "admin", "zhifu")) == ["zhifu", "laishan"]
