"""Tokens from the identity provider, for the CLI, the demo and the tests.

Nothing here signs a token: a person's comes from the provider's direct-grant client
(`sentinel-cli`, username and password), a machine's from its client-credentials grant.
"""

from __future__ import annotations

from typing import Any

import httpx

REALM = "sentinel"
CLI_CLIENT = "sentinel-cli"


class IdentityError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        # The provider's HTTP status: 4xx refuses the request, 5xx is the provider's own trouble.
        self.status = status


def issuer(base_url: str, realm: str = REALM) -> str:
    return f"{base_url.rstrip('/')}/realms/{realm}"


def token_endpoint(oidc_issuer: str) -> str:
    return f"{oidc_issuer.rstrip('/')}/protocol/openid-connect/token"


def password_grant(
    oidc_issuer: str,
    username: str,
    password: str,
    *,
    client_id: str = CLI_CLIENT,
    timeout: float = 10,
) -> dict[str, Any]:
    """A person's tokens (`access_token`, `refresh_token`, `expires_in`…)."""
    r = httpx.post(
        token_endpoint(oidc_issuer),
        data={
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
            "scope": "openid",
        },
        timeout=timeout,
    )
    if r.status_code != 200:
        raise IdentityError(
            f"sign-in of {username!r} refused: {r.status_code} {_why(r)}", r.status_code
        )
    answer: dict[str, Any] = r.json()
    return answer


def client_grant(oidc_issuer: str, client_id: str, secret: str, *, timeout: float = 10) -> str:
    """A machine client's access token (client credentials)."""
    r = httpx.post(
        token_endpoint(oidc_issuer),
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=timeout,
    )
    if r.status_code != 200:
        raise IdentityError(
            f"client {client_id!r} refused: {r.status_code} {_why(r)}", r.status_code
        )
    return str(r.json()["access_token"])


def client_secret_name(client_id: str) -> str:
    """The `.run/env` name of a client's secret: `sentinel-ops` → SENTINEL_OPS_CLIENT_SECRET."""
    return client_id.upper().replace("-", "_") + "_CLIENT_SECRET"


def demo_username(role: str, district: str) -> str:
    """The demo person of a role in a district (`inspector.zhifu`); the city's admin is `admin`."""
    return "admin" if role == "admin" else f"{role}.{district}"


def _why(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("error_description") or body.get("error") or body)
    except ValueError:
        return response.text[:200]
