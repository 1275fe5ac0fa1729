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


@pytest.mark.parametrize(
    ("path", "way_back"),
    [("/track", 'href="/markets"'), ("/markets/mkt_1/qrcode", 'href="/markets"')],
)
async def test_an_address_with_no_page_says_so_in_chinese_with_the_way_back(
    path: str, way_back: str
) -> None:
    """A mistyped or cut-off address (a QR code's, say) gave the framework's English JSON
    {"detail":"Not Found"}; the public gets a page of its portal with the way to the search."""
    async with support.console(services) as client:
        r = await client.get(path)
    assert r.status_code == 404
    assert "找不到该页面" in r.text and way_back in r.text and "Not Found" not in r.text
    assert r.headers["content-type"].startswith("text/html")


async def test_a_forms_address_opened_in_the_browser_says_so_in_chinese() -> None:
    """Reloading 认领's address (a POST) gave {"detail":"Method Not Allowed"}."""
    async with support.console(services, Principal("sub-1", "inspector", "zhifu")) as client:
        r = await client.get("/staff/tasks/tsk_1/claim")
        absent = await client.get("/staff/no-such-page")
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    assert "该地址只用于提交表单" in r.text and 'href="/staff/"' in r.text
    assert "Method Not Allowed" not in r.text
    assert absent.status_code == 404 and "找不到该页面" in absent.text
    assert 'href="/staff/"' in absent.text
