"""People for the tests, signed in at the real identity provider of the test stack.

`tokens.bearer("inspector", district)` makes sure a person with that role and district exists
in the `sentinel` realm (through Keycloak's admin API), signs them in through the direct-grant
client and caches the access token until shortly before it expires. Nothing here signs a token:
the provider does (tests/support/signing.py signs only for unit tests, which run without it).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from deploy.identity.keycloak import KeycloakAdmin, Person
from sentinel_cli.identity import IdentityError, issuer, password_grant

# Sign in again this long before the cached token expires.
_MARGIN_S = 60.0
# How long a refused sign-in is tried again: the provider refuses one that races another sign-in
# of the same person (Tokens._sign_in).
RACED_S = 5.0
# A department member (部门人员) belongs to one department, which the provider puts in their
# token (docs/identity.md); a test person of the role is of this one unless the test says.
DEFAULT_DEPARTMENT = "health"


@dataclass
class Tokens:
    base_url: str
    admin: KeycloakAdmin
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _people: dict[str, str] = field(default_factory=dict)  # username -> subject
    _cache: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return issuer(self.base_url)

    @staticmethod
    def department_of(role: str, department: str | None = None) -> str | None:
        """The department a test person of `role` belongs to: `department`, else a department
        member's default one; None for the other roles unless given."""
        return department or (DEFAULT_DEPARTMENT if role == "department" else None)

    @staticmethod
    def username(
        role: str,
        district: str,
        market_id: str | None = None,
        who: str | None = None,
        department: str | None = None,
    ) -> str:
        place = "city" if district == "*" else district
        # The default department is left out: the name the person had before departments.
        other = department if department != Tokens.department_of(role) else None
        return "-".join(x for x in ("t", role, place, market_id, other, who) if x)

    def person(
        self,
        role: str,
        district: str,
        *,
        market_id: str | None = None,
        name: str | None = None,
        who: str | None = None,
        department: str | None = None,
    ) -> tuple[str, str]:
        """(username, subject) of the test person of `role` in `district` (one of several when
        `who` tells them apart), created if needed; a department member of `department` (by
        default DEFAULT_DEPARTMENT)."""
        department = self.department_of(role, department)
        username = self.username(role, district, market_id, who, department)
        if username not in self._people:
            self._people[username] = self.admin.ensure_user(
                Person(
                    username,
                    (role,),
                    district,
                    first_name=name or f"测试{role}",
                    last_name="全市" if district == "*" else district,
                    market_id=market_id,
                    department=department,
                ),
                self.password,
            )
        return username, self._people[username]

    def subject(self, role: str, district: str, who: str | None = None) -> str:
        return self.person(role, district, who=who)[1]

    def token(
        self,
        role: str,
        district: str,
        market_id: str | None = None,
        who: str | None = None,
        department: str | None = None,
    ) -> str:
        username, _ = self.person(
            role, district, market_id=market_id, who=who, department=department
        )
        cached = self._cache.get(username)
        # A token's expiry is wall-clock time (its `exp`): a machine paused and resumed has its
        # wall clock jump ahead while the monotonic one stood still, so the cache reads the wall.
        if cached and cached[1] - _MARGIN_S > time.time():
            return cached[0]
        answer = self._sign_in(username)
        token = str(answer["access_token"])
        self._cache[username] = (token, time.time() + float(answer["expires_in"]))
        return token

    def _sign_in(
        self, username: str, within_s: float = 60.0, raced_s: float = RACED_S
    ) -> dict[str, Any]:
        """The provider's answer, retried while it has trouble of its own (a 5xx or no answer
        for up to `within_s`: the fault tests restart the database it shares, and its first
        query after that fails), and for `raced_s` after a refusal: Keycloak's brute-force
        protector refuses a sign-in while another of the same person is in progress, with the
        400 of a wrong password, and the sessions beside each other in `make test` sign the
        same test people in (the password is the stack's, tests/conftest.py). A wrong password
        still fails, `raced_s` later."""
        started = time.monotonic()
        while True:
            try:
                return password_grant(self.issuer, username, self.password)
            except (IdentityError, httpx.HTTPError) as exc:
                waited = time.monotonic() - started
                status = exc.status if isinstance(exc, IdentityError) else None
                if isinstance(exc, httpx.HTTPError) or (status or 0) >= 500:
                    retry = waited < within_s
                else:
                    retry = status == 400 and waited < raced_s
                if not retry:
                    raise
            time.sleep(0.5)

    def bearer(
        self,
        role: str,
        district: str,
        market_id: str | None = None,
        who: str | None = None,
        department: str | None = None,
    ) -> dict[str, str]:
        token = self.token(role, district, market_id, who, department)
        return {"Authorization": f"Bearer {token}"}

    def auth(self, role: str, district: str) -> BearerAuth:
        """For a long-lived client: a fresh (cached) token on every request."""
        return BearerAuth(self, role, district)

    def forget(self, username: str) -> None:
        self._cache.pop(username, None)


class BearerAuth(httpx.Auth):
    def __init__(self, tokens: Tokens, role: str, district: str) -> None:
        self.tokens, self.role, self.district = tokens, role, district

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.tokens.token(self.role, self.district)}"
        yield request


_current: Tokens | None = None


def use(tokens: Tokens | None) -> None:
    """The session's provider (tests/conftest.py sets it) for helpers that are not fixtures."""
    global _current
    _current = tokens


def current() -> Tokens:
    if _current is None:
        raise RuntimeError("no identity provider for this test session (use the `tokens` fixture)")
    return _current


def bearer(
    role: str,
    district: str,
    market_id: str | None = None,
    who: str | None = None,
    department: str | None = None,
) -> dict[str, str]:
    return current().bearer(role, district, market_id, who, department)


def token(role: str, district: str) -> str:
    return current().token(role, district)
