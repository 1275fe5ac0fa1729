"""Bearer tokens from the identity provider: verified here, never minted here.

People sign in at the OpenID Connect provider (Keycloak in the local stack, realm `sentinel`);
machines use its client-credentials grant. A service only checks what the provider signed: the
signature against the provider's JWKS (cached, fetched again when a token names an unknown
`kid`), the issuer, the audience and the expiry. No service holds a key that can sign a token.

The claims a token must carry (docs/identity.md): `roles` (the realm roles; the first of
`ROLES` it holds is the principal's role), `district` (a district code, or `*` for the whole
city), for an operator `market_id`, for a department member `department` (the code of the one
department they belong to; a token without it stays valid, and the service that needs it refuses
the action), and `name` / `preferred_username` for the actor recorded
with every change a person makes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, TypeVar, get_args

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.people import Actor
from services.runtime.errors import Forbidden, NotFound, ServiceError, Unauthorized

log = logging.getLogger(__name__)

Role = Literal["clerk", "inspector", "handler", "admin", "leader", "department", "operator"]
ROLES: tuple[str, ...] = get_args(Role)
ALL_DISTRICTS = "*"
ALGORITHMS = ("RS256", "ES256")
DEFAULT_AUDIENCE = "sentinel-api"


class IdentityUnavailable(ServiceError):
    """The provider's keys could not be fetched: nobody can be verified until it answers."""

    code = "identity_unavailable"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    district: str
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    market_id: str | None = None
    department: str | None = None

    def __post_init__(self) -> None:
        if not self.roles:
            object.__setattr__(self, "roles", frozenset({self.role}))

    @property
    def display_name(self) -> str:
        return self.name or self.subject

    def holds(self, *roles: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)

    def department_only(self, *others: str) -> bool:
        """Whether the person acts as a department member only: `department` among their roles
        and none of `others` (the roles that may do the action for any department) nor admin.
        Such a person acts on their own department's work only, the token's `department`."""
        return "department" in self.roles and not self.holds(*others)

    def may_act_in(self, district: str) -> bool:
        # Any role held, not only the first: as `holds` reads them.
        return "admin" in self.roles or self.district in (ALL_DISTRICTS, district)

    def require_district(self, district: str) -> None:
        if not self.may_act_in(district):
            raise Forbidden(f"token is scoped to district {self.district!r}, not {district!r}")

    @property
    def city_wide(self) -> bool:
        """Whether the person's scope is the whole city: an admin, or a `*` token."""
        return self.may_act_in(ALL_DISTRICTS)

    def listing_district(self, asked: str | None = None) -> str | None:
        """The district a listing covers: the one `asked` for (403 outside the caller's scope),
        else the caller's own; None for the whole city (a city-wide caller asking for none)."""
        if asked:
            self.require_district(asked)
            return asked
        return None if self.city_wide else self.district


class Districted(Protocol):
    @property
    def district(self) -> str: ...


D = TypeVar("D", bound=Districted)


def within(who: Principal, found: D | None, what: str, key: str) -> D:
    """What was `found` under `key`, if anything was (404 naming it otherwise), in the caller's
    district (403 otherwise)."""
    if found is None:
        raise NotFound(f"no {what} {key!r}")
    who.require_district(found.district)
    return found


def within_or_absent(who: Principal, found: D | None, what: str, key: str) -> D:
    """What was `found` under `key` in the caller's district; 404 naming it otherwise, another
    district's record answering exactly as a missing one. For records whose existence elsewhere
    is not the caller's business (an inspection task or order, a terminal): `within`'s 403 would
    tell that one exists under that key."""
    if found is not None and not who.may_act_in(found.district):
        found = None
    return within(who, found, what, key)


def actor(who: Principal) -> Actor:
    """The person behind a request, as records keep them and events carry them."""
    return Actor.of(who.subject, who.display_name)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token describes; 401 when it lacks a role or a district."""
    held = claims.get("roles")
    if not isinstance(held, list):
        realm_access = claims.get("realm_access")
        held = realm_access.get("roles") if isinstance(realm_access, Mapping) else None
    roles = frozenset(r for r in held or () if r in ROLES)
    district = claims.get("district")
    if not roles or not isinstance(district, str) or not district:
        raise Unauthorized("token lacks a valid role or district")
    # One role speaks for the principal where a single one is shown (admin first).
    role = next(r for r in ("admin", *ROLES) if r in roles)
    market = claims.get("market_id")
    department = claims.get("department")
    name = claims.get("name") or claims.get("preferred_username") or ""
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        district=district,
        name=str(name),
        roles=roles,
        market_id=market if isinstance(market, str) and market else None,
        department=department if isinstance(department, str) and department else None,
    )


class TokenVerifier:
    """Checks access tokens against the provider's published keys.

    `jwks` given (tests): those keys only. Otherwise the keys are fetched from `jwks_url`, or
    the one the provider's discovery document names, on first use and again when a token names
    a key not yet seen (a key rotation), at most once per `refetch_after_s`.
    """

    def __init__(
        self,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        *,
        jwks: Mapping[str, Any] | None = None,
        jwks_url: str = "",
        leeway_s: float = 5.0,
        refetch_after_s: float = 10.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.leeway_s = leeway_s
        self.refetch_after_s = refetch_after_s
        self.timeout_s = timeout_s
        self._static = jwks is not None
        self.jwks_url = jwks_url
        self._keys: dict[str, jwt.PyJWK] = self._parse(jwks) if jwks is not None else {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    @staticmethod
    def _parse(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in jwks.get("keys", ()):
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") not in ALGORITHMS:
                continue  # Keycloak also publishes its encryption key
            try:
                keys[str(jwk.get("kid", ""))] = jwt.PyJWK(dict(jwk))
            except jwt.PyJWTError:
                log.warning("ignoring a key the provider published", extra={"kid": jwk.get("kid")})
        return keys

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                url = self.jwks_url
                if not url:
                    meta = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                    meta.raise_for_status()
                    url = meta.json()["jwks_uri"]
                answer = await http.get(url)
                answer.raise_for_status()
                self._keys = self._parse(answer.json())
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise IdentityUnavailable(f"identity provider {self.issuer} did not answer") from exc
        finally:
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys or self._static:
            if kid in self._keys:
                return self._keys[kid]
            raise Unauthorized("invalid token: signed by an unknown key")
        async with self._lock:
            if kid not in self._keys and (
                time.monotonic() - self._fetched_at >= self.refetch_after_s or not self._keys
            ):
                await self._fetch()
        if kid not in self._keys:
            raise Unauthorized("invalid token: signed by an unknown key")
        return self._keys[kid]

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"invalid token: algorithm {header.get('alg')!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return principal_from_claims(claims)


# The OpenAPI security scheme every `require(...)` route declares (so /docs has an Authorize
# button). `auto_error=False`: a missing or non-bearer header comes back as None and is refused
# below, in the services' error format (401, `WWW-Authenticate: Bearer`), not FastAPI's.
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description=(
        "An access token of the identity provider (realm `sentinel`; docs/identity.md): "
        "`Authorization: Bearer <token>`."
    ),
    auto_error=False,
)


async def bearer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A FastAPI dependency: the caller must hold one of `roles` (admin always may)."""

    def check(principal: Annotated[Principal, Depends(bearer)]) -> Principal:
        if not principal.holds(*roles):
            raise Forbidden(f"role {principal.role!r} may not do this; needs {' or '.join(roles)}")
        return principal

    # The route-table test reads which roles each route admits.
    check.roles = roles  # type: ignore[attr-defined]
    return check


def decode_unverified(token: str) -> dict[str, Any]:
    """A token's claims without checking them: for showing who a token is for, never to trust."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


class _OidcSettings(Protocol):
    oidc_issuer: str
    oidc_audience: str
    oidc_jwks_url: str
    oidc_jwks: str


def token_verifier(settings: _OidcSettings) -> TokenVerifier:
    jwks = json.loads(settings.oidc_jwks) if settings.oidc_jwks else None
    return TokenVerifier(
        settings.oidc_issuer, settings.oidc_audience, jwks=jwks, jwks_url=settings.oidc_jwks_url
    )
