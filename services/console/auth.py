"""Sign-in: OpenID Connect authorization code + PKCE against the identity provider, through
Authlib's Starlette client (the public client `sentinel-console`, no client secret).

The access token the provider returns is checked like every service checks it
(services/runtime/auth.py) and kept in the server-side session; it is refreshed with the
refresh token shortly before it expires, and the person signs in again when that fails.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote, urlencode

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import Request
from starlette.responses import RedirectResponse, Response

from services.console.sessions import Session, SessionStore
from services.console.settings import ConsoleSettings
from services.runtime.auth import TokenVerifier, token_verifier
from services.runtime.errors import ServiceError

log = logging.getLogger(__name__)
PROVIDER = "sentinel"


class SignInNeeded(Exception):
    """Raised by a page that needs a person when nobody is signed in."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class SignIn:
    def __init__(self, settings: ConsoleSettings, store: SessionStore) -> None:
        self.settings = settings
        self.store = store
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.verifier: TokenVerifier = token_verifier(settings)
        self.oauth = OAuth()
        self.oauth.register(
            PROVIDER,
            client_id=settings.oidc_client_id,
            server_metadata_url=settings.oidc_metadata_url
            or f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid",
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "none",
            },
        )

    @property
    def client(self) -> Any:
        return self.oauth.create_client(PROVIDER)

    async def login(self, request: Request, next_url: str = "/staff/") -> Response:
        request.session["next"] = safe_next(next_url)
        redirect_uri = f"{self.settings.base_url}/auth/callback"
        response: Response = await self.client.authorize_redirect(request, redirect_uri)
        return response

    async def callback(self, request: Request) -> Response:
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as exc:
            log.warning("sign-in failed", extra={"error": exc.error})
            return RedirectResponse("/?signin=failed", status_code=303)
        session = await self._session(self.store.new_sid(), token)
        self.store.put(session)
        next_url = safe_next(request.session.pop("next", "/staff/"))
        request.session.clear()
        request.session["sid"] = session.sid
        return RedirectResponse(next_url, status_code=303)

    async def _session(self, sid: str, token: dict[str, Any]) -> Session:
        principal = await self.verifier.verify(token["access_token"])
        return Session(
            sid=sid,
            principal=principal,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token", ""),
            expires_at=time.time() + float(token.get("expires_in", 300)),
            id_token=token.get("id_token", ""),
        )

    async def current(self, request: Request) -> Session | None:
        sid = request.session.get("sid")
        session = self.store.get(sid)
        if session is None:
            return None
        if session.expiring():
            try:
                token = await self.client.fetch_access_token(
                    grant_type="refresh_token", refresh_token=session.refresh_token
                )
                fresh = await self._session(session.sid, dict(token))
                fresh.id_token = fresh.id_token or session.id_token
                self.store.put(fresh)
                return fresh
            except (OAuthError, ServiceError, KeyError, ValueError) as exc:
                log.info("session ended: refresh refused", extra={"error": str(exc)})
                self.store.drop(session.sid)
                return None
            except Exception as exc:  # the provider unreachable: the person signs in again
                log.warning("refresh failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.store.drop(session.sid)
                return None
        return session

    def logout(self, request: Request) -> Response:
        session = self.store.drop(request.session.get("sid"))
        request.session.clear()
        query = {
            "client_id": self.settings.oidc_client_id,
            "post_logout_redirect_uri": f"{self.settings.base_url}/",
        }
        if session and session.id_token:
            query["id_token_hint"] = session.id_token
        end = f"{self.issuer}/protocol/openid-connect/logout?{urlencode(query)}"
        return RedirectResponse(end, status_code=303)


def safe_next(url: str | None) -> str:
    """Only a path of this site: never an absolute or scheme-relative URL (an open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/staff/"
    return url


def login_url(next_url: str) -> str:
    return f"/login?next={quote(safe_next(next_url), safe='/')}"
