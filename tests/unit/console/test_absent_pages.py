"""A risk or a merchant that does not exist, or lies in another district, reads as absent:
the one 404 page every other staff page gives (web.OutOfScope)."""

from __future__ import annotations

import httpx
import pytest

from services.runtime.auth import Principal
from tests.unit.console import support


def services(request: httpx.Request) -> httpx.Response:
    """Lists are empty, and nothing is found by its id."""
    if request.url.path == "/risks":
        return httpx.Response(200, json={"items": []})
    return httpx.Response(404, json={"error": "not_found", "message": "not found"})


@pytest.mark.parametrize(
    ("path", "what"),
    [("/staff/risks/r_404", "风险"), ("/staff/merchants/mer_404", "商户")],
)
async def test_an_absent_risk_or_merchant_reads_as_absent(path: str, what: str) -> None:
    async with support.console(services, Principal("sub-1", "leader", "zhifu")) as client:
        r = await client.get(path)
    assert r.status_code == 404
    assert f"找不到该{what}" in r.text and f"该{what}不存在或不在您的辖区内。" in r.text
