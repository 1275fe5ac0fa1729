"""附近的市场 on the citizens' portal, in-process with the registry answered by a stub: the
phone's point goes to the registry as `near` only when it is a point on the Earth, the list says
how far each market is, and the paging keeps the point; how a distance reads."""

from __future__ import annotations

import json

import httpx
import pytest

from services.console.labels import distance
from services.console.views.public import near_point
from tests.unit.console.portal_answers import MARKET
from tests.unit.console.test_portal import client, text


def test_a_distance_reads_in_metres_to_ten_then_in_kilometres() -> None:
    assert [distance(m) for m in (0, 4, 346, 994, 996, 2449, 12_345)] == [
        "约 10 米",
        "约 10 米",
        "约 350 米",
        "约 990 米",
        "约 1.0 公里",
        "约 2.4 公里",
        "约 12.3 公里",
    ]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("37.538,121.398", "37.538,121.398"),
        (" -33.9,18.4 ", "-33.9,18.4"),
        ("91,121", ""),
        ("37.5,181", ""),
        ("37.5", ""),
        ("37.5;121.4", ""),
        ("abc,def", ""),
        ("", ""),
    ],
)
def test_only_a_point_on_the_earth_is_passed_on(sent: str, kept: str) -> None:
    assert near_point(sent) == kept


async def test_the_nearest_markets_come_with_their_distance_and_the_paging_keeps_the_point() -> (
    None
):
    asked: list[httpx.QueryParams] = []
    near = [MARKET | {"id": f"mkt_{i}", "distance_m": 350 + 1000 * i} for i in range(20)]

    def registry(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/public/markets":
            asked.append(request.url.params)
            return httpx.Response(200, json={"items": near, "total": 25})
        return httpx.Response(200, content=json.dumps([]).encode())

    async with client(registry) as portal:
        r = await portal.get("/markets", params={"near": "37.538,121.398"})
        plain = await portal.get("/markets", params={"near": "north"})
    assert r.status_code == 200
    assert asked[0]["near"] == "37.538,121.398"
    page = text(r.text)
    assert "离您最近的市场在前，共 25 个已标注位置的市场" in page
    assert "约 350 米" in page and "约 1.4 公里" in page
    assert "near=37.538,121.398&offset=20" in r.text
    # No point, no `near`: the directory as always.
    assert plain.status_code == 200 and "near" not in asked[1]
    assert "共 25 个市场" in text(plain.text)
