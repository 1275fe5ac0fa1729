"""Every route of every service, walked: the public ones are exactly the documented ones, and
every other one refuses a missing, expired or badly signed token (401) and a role it does not
admit (403) before it does anything. A route someone forgot to protect fails here.

The apps (tests/support/service_apps.py) are built, not started: authorisation runs before any
handler touches Kafka or Postgres, so a refusal needs neither.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.runtime.auth import ROLES
from tests.support.service_apps import APPS, PROTECTED, ROUTES, SIGNER
from tests.support.signing import LocalSigner

# docs/identity.md and the issues: what anyone may call. Health, metrics and the API documents too.
PUBLIC = {
    ("POST", "/ingest"),
    ("POST", "/complaints"),
    # A citizen's photo, uploaded for the complaint filed after it (docs/integration.md).
    ("POST", "/complaints/photos"),
    ("GET", "/complaints/track/{tracking_code}"),
    ("GET", "/public/merchants/{merchant_id}"),
    # Issue 16: the public directory, open data and suggestions.
    ("GET", "/public/districts"),
    ("GET", "/public/markets"),
    ("GET", "/public/markets/{market_id}"),
    ("GET", "/public/markets/{market_id}/merchants"),
    ("GET", "/public/markets/{market_id}/grades"),
    ("GET", "/public/merchants"),
    ("GET", "/public/merchants.csv"),
    ("GET", "/public/honours"),
    ("GET", "/public/consultations"),
    ("GET", "/public/consultations/{project_id}"),
    ("POST", "/suggestions"),
    ("GET", "/suggestions/track/{tracking_code}"),
    ("GET", "/public/suggestions"),
    ("GET", "/public/disclosures"),
    ("GET", "/public/disclosures/{disclosure_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/asyncapi.yaml"),
    ("GET", "/asyncapi.json"),
    ("GET", "/schemas/{name}"),
}


def test_the_public_routes_are_exactly_the_documented_ones() -> None:
    unprotected = {(m, p) for _, m, p, roles in ROUTES if roles is None}
    assert unprotected <= PUBLIC, f"routes without a role check: {unprotected - PUBLIC}"
    assert len(PROTECTED) >= 25  # every service's work API is in the walk


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def _call(app: Any, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as http:
        return await http.request(method, _url(path), headers=headers, json={})


BAD_TOKENS = {
    "missing": {},
    "not bearer": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "expired": SIGNER.bearer("admin", "*", ttl_s=-3600),
    "badly signed": LocalSigner(kid=SIGNER.kid).bearer("admin", "*"),
    "another issuer": SIGNER.bearer("admin", "*", issuer="http://elsewhere/realms/sentinel"),
    "garbage": {"Authorization": "Bearer not.a.jwt"},
}


@pytest.mark.parametrize(
    ("service", "method", "path", "roles"),
    PROTECTED,
    ids=[f"{s}:{m}:{p}" for s, m, p, _ in PROTECTED],
)
async def test_a_protected_route_refuses_bad_tokens_and_other_roles(
    service: str, method: str, path: str, roles: tuple[str, ...]
) -> None:
    app = APPS[service]
    for name, headers in BAD_TOKENS.items():
        r = await _call(app, method, path, headers)
        assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
        assert r.json()["error"] == "unauthorized"
    for role in ROLES:
        if role == "admin" or role in roles:
            continue
        r = await _call(app, method, path, SIGNER.bearer(role, "*"))
        assert r.status_code == 403, f"role {role}: {r.status_code} {r.text}"
        assert r.json()["error"] == "forbidden"
