"""Issue 18, point 6: each service's API documents work offline and say how to authenticate.

/docs (Swagger UI), its OAuth2 redirect page and /redoc reference nothing but the service
itself, and every script, style sheet and icon they reference is served by it. The OpenAPI
document declares the bearer scheme (JWT), and exactly the routes that refuse an anonymous call
(the route-table walk that test_route_auth checks) declare it, so Swagger UI has an Authorize
button and a public route is not shown as needing a token.

The real service apps, built and not started, as test_route_auth takes them
(tests/support/service_apps.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.service_apps import APPS, PROTECTED, ROUTES

BASE = "http://svc"
SERVICES = sorted(APPS)
PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")
# An absolute or protocol-relative URL anywhere in a page.
ABSOLUTE = re.compile(r"""(?:[a-z][a-z0-9+.-]*:)?//[^\s"'<>()]+""", re.IGNORECASE)
# What a page loads: scripts, style sheets, icons, and the document Swagger UI / ReDoc read.
REFERENCES = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


@pytest.fixture(params=SERVICES)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APPS[request.param])
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


def _references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCES.findall(html)]


@pytest.mark.parametrize("page", PAGES)
async def test_the_documentation_pages_reference_no_outside_host(
    client: httpx.AsyncClient, page: str
) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    outside = [u for u in ABSOLUTE.findall(answer.text) if not u.startswith(f"{BASE}/")]
    assert outside == [], f"{page} loads from elsewhere: {outside}"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_a_page_references_is_served_with_its_type(
    client: httpx.AsyncClient, page: str
) -> None:
    html = (await client.get(page)).text
    references = _references(html)
    scripts = [r for r in references if r.endswith(".js")]
    assert scripts, f"{page} loads no script: {references}"
    assert "/openapi.json" in references
    if page == "/docs":
        assert {r.rsplit(".", 1)[-1] for r in references} >= {"js", "css", "png", "json"}
    for reference in references:
        assert reference.startswith("/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, f"{reference}: {asset.status_code}"
        suffix = "." + reference.rsplit(".", 1)[-1]
        content_type = asset.headers["content-type"].split(";")[0].strip()
        assert content_type in CONTENT_TYPES[suffix], f"{reference}: {content_type}"
        assert asset.content


async def test_the_swagger_ui_asks_no_online_validator(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html
    assert "oauth2RedirectUrl" in html and "/docs/oauth2-redirect" in html


def _scheme(document: dict[str, Any]) -> str:
    schemes = document["components"]["securitySchemes"]
    bearer = [
        name
        for name, scheme in schemes.items()
        if scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    ]
    assert len(bearer) == 1, schemes
    assert schemes[bearer[0]]["bearerFormat"] == "JWT"
    return bearer[0]


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_declares_the_bearer_scheme_on_exactly_the_protected_routes(
    service: str,
) -> None:
    document = APPS[service].openapi()
    scheme = _scheme(document)
    walked = [(m, p, roles) for s, m, p, roles in ROUTES if s == service]
    assert any(roles is not None for _, _, roles in walked)
    for method, path, roles in walked:
        operation = document["paths"][path][method.lower()]
        declared = operation.get("security", [])
        if roles is None:
            assert declared == [], f"public {method} {path} declares {declared}"
        else:
            assert declared == [{scheme: []}], f"{method} {path} declares {declared}"


@pytest.mark.parametrize("service", SERVICES)
async def test_an_anonymous_call_still_gets_the_services_401(service: str) -> None:
    """The scheme declared by FastAPI's HTTPBearer changes no refusal: still the services'
    error body and `WWW-Authenticate: Bearer`, never FastAPI's own `Not authenticated`."""
    method, path = next((m, p) for s, m, p, _ in PROTECTED if s == service)
    url = re.sub(r"\{[^}]+\}", "x", path)
    transport = httpx.ASGITransport(app=APPS[service])
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic eDp5"}):
            answer = await client.request(method, url, headers=headers, json={})
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
            body = answer.json()
            assert body == {
                "error": "unauthorized",
                "message": "missing bearer token",
                "errors": [],
            }
