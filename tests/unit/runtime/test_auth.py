"""The verifier: what a token must be for a service to accept it, checked against a key set.

These run without the identity provider: tests/support/signing.py signs stand-in tokens with a
key whose public half is the verifier's JWKS. tests/integration/identity proves the same
against the real provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.runtime import errors
from services.runtime.auth import (
    IdentityUnavailable,
    Principal,
    TokenVerifier,
    principal_from_claims,
    require,
    within,
    within_or_absent,
)
from services.runtime.errors import Forbidden, NotFound, Unauthorized, status_of
from tests.support.signing import AUDIENCE, ISSUER, LocalSigner

SIGNER = LocalSigner()
VERIFIER = TokenVerifier(ISSUER, AUDIENCE, jwks=SIGNER.jwks())


async def test_a_token_of_the_provider_carries_subject_name_roles_and_district() -> None:
    token = SIGNER.token("clerk", "zhifu", subject="u-1", name="王登记")
    principal = await VERIFIER.verify(token)
    assert principal == Principal(
        "u-1", "clerk", "zhifu", name="王登记", roles=frozenset({"clerk"})
    )
    assert principal.display_name == "王登记"


async def test_an_operator_carries_its_market() -> None:
    principal = await VERIFIER.verify(SIGNER.token("operator", "zhifu", market_id="mkt_1"))
    assert (principal.role, principal.market_id) == ("operator", "mkt_1")


async def test_a_department_member_carries_their_department_and_others_none() -> None:
    member = await VERIFIER.verify(SIGNER.token("department", "zhifu", department="health"))
    assert (member.role, member.department) == ("department", "health")
    # A token without it stays valid: other roles have none, and a department member's missing
    # one is refused by the service that needs it, not by the verifier.
    assert (await VERIFIER.verify(SIGNER.token("clerk", "zhifu"))).department is None
    assert (await VERIFIER.verify(SIGNER.token("department", "zhifu"))).department is None
    blank = principal_from_claims({"sub": "u", "roles": ["department"], "district": "zhifu",
                                   "department": ""})  # fmt: skip
    assert blank.department is None


OTHER = LocalSigner(kid=SIGNER.kid)  # the same key id, another key: a forgery


# Made when the test runs, not at collection: a long session would otherwise find them expired.
BAD: dict[str, tuple[Callable[[], str], str]] = {
    "expired": (lambda: SIGNER.token("clerk", "zhifu", ttl_s=-60), "expired"),
    "forged": (lambda: OTHER.token("clerk", "zhifu"), "Signature verification failed"),
    "unknown-kid": (lambda: LocalSigner().token("clerk", "zhifu"), "unknown key"),
    "issuer": (
        lambda: SIGNER.token("clerk", "zhifu", issuer="http://elsewhere/realms/x"),
        "Invalid issuer",
    ),
    "audience": (lambda: SIGNER.token("clerk", "zhifu", audience="account"), "Audience"),
    "no-role": (lambda: SIGNER.token("clerk", "zhifu", roles=["offline_access"]), "role"),
    "no-district": (lambda: SIGNER.token("clerk", ""), "district"),
    "bad": (lambda: "not.a.token", "invalid"),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_bad_tokens_are_unauthorized(case: str) -> None:
    make, reason = BAD[case]
    with pytest.raises(Unauthorized) as err:
        await VERIFIER.verify(make())
    assert reason in err.value.message


async def test_a_symmetric_token_is_refused_even_with_the_public_key_as_secret() -> None:
    import jwt

    forged = jwt.encode({"sub": "x", "roles": ["admin"], "district": "*"}, "k" * 32, "HS256")
    with pytest.raises(Unauthorized, match="algorithm"):
        await VERIFIER.verify(forged)


def test_roles_come_from_realm_access_when_no_roles_claim() -> None:
    claims = {"sub": "s", "realm_access": {"roles": ["leader", "x"]}, "district": "*"}
    principal = principal_from_claims(claims)
    assert principal.role == "leader" and principal.roles == frozenset({"leader"})


def test_admin_speaks_first_among_several_roles() -> None:
    claims = {"sub": "s", "roles": ["inspector", "admin"], "district": "zhifu"}
    assert principal_from_claims(claims).role == "admin"


async def test_keys_are_fetched_from_the_provider_and_again_for_an_unknown_kid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, rotated = LocalSigner(), LocalSigner()
    published = {"keys": first.jwks()["keys"]}
    fetches: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        fetches.append(request.url.path)
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"jwks_uri": "http://identity.test/certs"})
        return httpx.Response(200, json=published)

    transport = httpx.MockTransport(provider)
    real_client = httpx.AsyncClient
    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real_client(transport=transport, **kw))
    verifier = TokenVerifier(ISSUER, AUDIENCE, refetch_after_s=0)
    assert (await verifier.verify(first.token("clerk", "zhifu"))).role == "clerk"
    await verifier.verify(first.token("clerk", "zhifu"))
    assert len(fetches) == 2  # discovery + keys, once: the second token used the cache
    published = {"keys": first.jwks()["keys"] + rotated.jwks()["keys"]}
    assert (await verifier.verify(rotated.token("inspector", "zhifu"))).role == "inspector"
    assert len(fetches) == 4


async def test_an_unreachable_provider_is_503_not_401() -> None:
    verifier = TokenVerifier("http://127.0.0.1:1/realms/sentinel", AUDIENCE, timeout_s=0.5)
    with pytest.raises(IdentityUnavailable) as err:
        await verifier.verify(SIGNER.token("clerk", "zhifu"))
    assert status_of(err.value) == 503


def test_district_scope() -> None:
    clerk = Principal("c", "clerk", "zhifu")
    assert clerk.may_act_in("zhifu") and not clerk.may_act_in("laishan")
    with pytest.raises(Forbidden):
        clerk.require_district("laishan")
    assert Principal("a", "admin", "zhifu").may_act_in("laishan")
    assert Principal("c", "inspector", "*").may_act_in("laishan")
    # An admin among a person's roles reaches every district, as it may every action.
    both = Principal("b", "clerk", "zhifu", roles=frozenset({"clerk", "admin"}))
    assert both.holds("inspector") and both.may_act_in("laishan") and both.city_wide


def test_a_listing_covers_the_district_asked_for_else_the_callers_own_or_the_city() -> None:
    clerk = Principal("c", "clerk", "zhifu")
    admin = Principal("a", "admin", "zhifu")
    city = Principal("l", "leader", "*")
    assert not clerk.city_wide and admin.city_wide and city.city_wide
    assert [p.listing_district() for p in (clerk, admin, city)] == ["zhifu", None, None]
    assert [p.listing_district("") for p in (clerk, admin, city)] == ["zhifu", None, None]
    assert clerk.listing_district("zhifu") == "zhifu"
    assert admin.listing_district("laishan") == city.listing_district("laishan") == "laishan"
    with pytest.raises(Forbidden, match=r"zhifu.*laishan"):
        clerk.listing_district("laishan")


@dataclass(frozen=True)
class _Market:
    id: str
    district: str


def test_within_is_what_was_found_in_the_callers_district_404_without_it_403_elsewhere() -> None:
    clerk = Principal("c", "clerk", "zhifu")
    market = _Market("mkt_1", "zhifu")
    assert within(clerk, market, "market", "mkt_1") is market
    with pytest.raises(NotFound, match="no market 'mkt_2'"):
        within(clerk, None, "market", "mkt_2")
    with pytest.raises(Forbidden):
        within(clerk, _Market("mkt_3", "laishan"), "market", "mkt_3")
    assert within(Principal("a", "admin", "zhifu"), _Market("mkt_3", "laishan"), "m", "mkt_3")


def test_within_or_absent_answers_another_districts_record_404_as_if_there_were_none() -> None:
    inspector = Principal("i", "inspector", "zhifu")
    task = _Market("tsk_1", "zhifu")
    assert within_or_absent(inspector, task, "task", "tsk_1") is task
    with pytest.raises(NotFound, match="no task 'tsk_2'") as missing:
        within_or_absent(inspector, None, "task", "tsk_2")
    with pytest.raises(NotFound) as elsewhere:
        within_or_absent(inspector, _Market("tsk_2", "laishan"), "task", "tsk_2")
    assert elsewhere.value.body() == missing.value.body()
    city = _Market("tsk_3", "laishan")
    assert within_or_absent(Principal("c", "inspector", "*"), city, "task", "tsk_3") is city
    assert within_or_absent(Principal("a", "admin", "zhifu"), city, "task", "tsk_3") is city


def _app() -> TestClient:
    app = FastAPI()
    app.state.verifier = VERIFIER
    errors.install(app)

    @app.get("/clerks-only")
    def clerks_only(who: Principal = Depends(require("clerk"))) -> dict[str, str]:  # noqa: B008
        return {"sub": who.subject}

    return TestClient(app)


def test_http_401_without_token_403_with_wrong_role_200_for_clerk_and_admin() -> None:
    client = _app()
    missing = client.get("/clerks-only")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    for role in ("inspector", "leader"):
        refused = client.get("/clerks-only", headers=SIGNER.bearer(role, "zhifu"))
        assert refused.status_code == 403
    for role in ("clerk", "admin"):
        ok = client.get("/clerks-only", headers=SIGNER.bearer(role, "zhifu", subject=role))
        assert ok.status_code == 200 and ok.json() == {"sub": role}


async def test_a_jwks_url_is_used_instead_of_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=SIGNER.jwks())

    real_client = httpx.AsyncClient
    monkeypatch.setattr(
        httpx,
        "AsyncClient",
        lambda **kw: real_client(transport=httpx.MockTransport(provider), **kw),
    )
    verifier = TokenVerifier(ISSUER, AUDIENCE, jwks_url="http://keycloak:8080/certs")
    assert (await verifier.verify(SIGNER.token("handler", "zhifu"))).role == "handler"
    assert asked == ["http://keycloak:8080/certs"]
