"""Sign-in through the real identity provider, as the services see it (issue 14).

The registry runs in-process on the test stack and trusts only the provider's keys. People are
created in the provider's `sentinel` realm and sign in through its direct-grant client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from typer.testing import CliRunner

from deploy.identity.keycloak import IdentityError, Person
from sentinel_cli.__main__ import app as cli
from sentinel_cli.identity import password_grant
from services.runtime.auth import decode_unverified
from tests.support.identity import Tokens
from tests.support.poll import until
from tests.support.registry_api import registry_settings, running_registry
from tests.support.signing import LocalSigner

SHORT_LIVED = "sentinel-cli-short"
SHORT_LIFESPAN_S = 10


@pytest.fixture(scope="module")
async def registry(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    group = f"identity-test-{uuid.uuid4().hex[:8]}"
    async with running_registry(
        registry_settings(kafka, database_url, secrets_env, consumer_group=group)
    ) as (_, client):
        yield client


def market(district: str) -> dict[str, object]:
    return {
        "name": "身份测试市场",
        "district": district,
        "kind": "farmers",
        "operator": "o",
        "address": "a",
        "capacity": 100,
        "opening_hours": {"open": "06:00", "close": "19:00"},
    }


async def districts(registry: httpx.AsyncClient, tokens: Tokens, n: int) -> list[str]:
    codes = [f"id{uuid.uuid4().hex[:8]}" for _ in range(n)]
    for code in codes:
        r = await registry.post(
            "/districts", json={"code": code, "name": code}, headers=tokens.bearer("admin", "*")
        )
        assert r.status_code == 201, r.text
    return codes


async def test_a_person_acts_in_their_district_and_is_refused_in_another(
    registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    own, other = await districts(registry, tokens, 2)
    clerk = tokens.bearer("clerk", own)
    claims = decode_unverified(clerk["Authorization"].removeprefix("Bearer "))
    assert claims["iss"] == tokens.issuer and claims["aud"] == "sentinel-api"
    assert claims["district"] == own and "clerk" in claims["roles"]
    assert jwt.get_unverified_header(clerk["Authorization"][7:])["alg"] == "RS256"

    ok = await registry.post("/markets", json=market(own), headers=clerk)
    assert ok.status_code == 201, ok.text
    refused = await registry.post("/markets", json=market(other), headers=clerk)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"

    # A leader reads its district and changes nothing.
    leader = tokens.bearer("leader", own)
    seen = await registry.get(f"/markets/{ok.json()['id']}", headers=leader)
    assert seen.status_code == 200
    assert (await registry.post("/markets", json=market(own), headers=leader)).status_code == 403


async def test_a_token_signed_by_another_key_is_401(
    registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    real = tokens.token("admin", "*")
    claims = decode_unverified(real)
    kid = jwt.get_unverified_header(real)["kid"]
    # The same claims and the provider's key id, signed by a key that is not the provider's.
    forged = LocalSigner(kid=kid).sign(claims)
    r = await registry.get("/districts", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and "Signature" in r.json()["message"]
    unknown = LocalSigner().sign(claims)
    r = await registry.get("/districts", headers={"Authorization": f"Bearer {unknown}"})
    assert r.status_code == 401 and "unknown key" in r.json()["message"]
    genuine = await registry.get("/districts", headers=tokens.bearer("admin", "*"))
    assert genuine.status_code == 200


async def test_a_disabled_person_can_do_nothing_once_their_token_has_expired(
    registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    (code,) = await districts(registry, tokens, 1)
    admin = tokens.admin
    admin.ensure_direct_grant_client(SHORT_LIVED, SHORT_LIFESPAN_S)
    username = f"withdrawn-{uuid.uuid4().hex[:6]}"
    admin.ensure_user(Person(username, ("clerk",), code, "撤销", "测试"), tokens.password)
    answer = password_grant(tokens.issuer, username, tokens.password, client_id=SHORT_LIVED)
    assert answer["expires_in"] == SHORT_LIFESPAN_S
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    assert (await registry.get("/districts", headers=headers)).status_code == 200

    admin.set_enabled(username, False)
    with pytest.raises(IdentityError, match="refused"):
        password_grant(tokens.issuer, username, tokens.password, client_id=SHORT_LIVED)

    async def refused() -> httpx.Response | None:
        r = await registry.get("/districts", headers=headers)
        return r if r.status_code != 200 else None

    r = await until(refused, within=SHORT_LIFESPAN_S + 30, every=0.5, what="the token expired")
    assert r.status_code == 401 and r.json()["message"] == "token expired"


async def test_sentinel_token_gets_a_persons_token_the_services_accept(
    registry: httpx.AsyncClient, tokens: Tokens, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    (code,) = await districts(registry, tokens, 1)
    username, subject = tokens.person("clerk", code)
    monkeypatch.setenv("SENTINEL_ENV_FILE", "/nonexistent")
    monkeypatch.setenv("OIDC_ISSUER", tokens.issuer)
    monkeypatch.setenv("SENTINEL_DEMO_PASSWORD", tokens.password)
    result = CliRunner().invoke(cli, ["token", "--user", username])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert decode_unverified(token)["sub"] == subject
    r = await registry.post(
        "/markets", json=market(code), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text
    wrong = CliRunner().invoke(cli, ["token", "--user", username, "--password", "wrong"])
    assert wrong.exit_code == 2 and "refused" in wrong.stderr


async def test_sign_ins_of_one_person_racing_each_other_each_get_a_token(tokens: Tokens) -> None:
    """The provider refuses a sign-in while another of the same person is in progress, with the
    400 of a wrong password (Keycloak's brute-force protector); `make test`'s sessions beside
    each other sign the same test people in, so the test support tries a refused one again."""
    who = f"race-{uuid.uuid4().hex[:6]}"
    username, _ = tokens.person("clerk", "race", who=who)

    async def raw() -> int:
        try:
            await asyncio.to_thread(password_grant, tokens.issuer, username, tokens.password)
        except IdentityError as exc:
            return exc.status or 0
        return 200

    statuses = await asyncio.gather(*(raw() for _ in range(4)))
    assert 400 in statuses and 200 in statuses, statuses  # the race the support must survive

    signed = await asyncio.gather(
        *(asyncio.to_thread(tokens.token, "clerk", "race", None, who) for _ in range(4))
    )
    assert all(decode_unverified(token)["preferred_username"] == username for token in signed)
