"""Market names come from the registry's staff listing alone, in one request: every role of the
pages that show them may read it (部门人员 too, docs/identity.md), so no page pages through the
citizens' directory any more."""

from __future__ import annotations

import httpx

from services.console.backend import Backend
from services.console.web import market_names


def _registry(status: int, asked: list[str]) -> Backend:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if status != 200:
            return httpx.Response(
                status, json={"error": "forbidden", "message": "no", "errors": []}
            )
        return httpx.Response(200, json={"items": [{"id": "mkt_1", "name": "幸福农贸市场"}]})

    return Backend({"registry": "http://registry"}, 5.0, httpx.MockTransport(answer))


async def test_market_names_are_the_registrys_listing_in_one_request() -> None:
    asked: list[str] = []
    backend = _registry(200, asked)
    try:
        assert await market_names(backend, "token") == {"mkt_1": "幸福农贸市场"}
    finally:
        await backend.close()
    assert asked == ["/markets"]


async def test_a_refused_listing_gives_no_names_and_reads_no_public_directory() -> None:
    asked: list[str] = []
    backend = _registry(403, asked)
    try:
        assert await market_names(backend, "token") is None
    finally:
        await backend.close()
    assert asked == ["/markets"]
