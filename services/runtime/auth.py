"""Bearer tokens: HS256 JWTs carrying a role and a district scope, checked by every service.

A token's `district` is a district code, or `*` for the whole city (admin and city-level staff).
`python -m services.runtime.auth issue --role clerk --district zhifu` prints one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

import jwt
from fastapi import Depends, Request

from services.runtime.errors import Forbidden, Unauthorized

Role = Literal["clerk", "inspector", "handler", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ISSUER = "market-sentinel"
ALL_DISTRICTS = "*"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    district: str

    def may_act_in(self, district: str) -> bool:
        return self.role == "admin" or self.district in (ALL_DISTRICTS, district)

    def require_district(self, district: str) -> None:
        if not self.may_act_in(district):
            raise Forbidden(f"token is scoped to district {self.district!r}, not {district!r}")


def issue_token(*, secret: str, role: str, district: str, subject: str, ttl_s: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not secret:
        raise ValueError("an auth secret is needed to sign tokens (SENTINEL_AUTH_SECRET)")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "role": role,
        "district": district,
        "iat": now,
        "exp": now + ttl_s,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    role, district = claims.get("role"), claims.get("district")
    if role not in ROLES or not isinstance(district, str) or not district:
        raise Unauthorized("token lacks a valid role or district")
    return Principal(subject=str(claims["sub"]), role=role, district=district)


def bearer(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    secret: str = request.app.state.auth_secret
    return verify_token(token.strip(), secret)


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A FastAPI dependency: the caller must hold one of `roles` (admin always may)."""

    def check(principal: Annotated[Principal, Depends(bearer)]) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this; needs {' or '.join(roles)}")
        return principal

    # The route-table test reads which roles each route admits.
    check.roles = roles  # type: ignore[attr-defined]
    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-token", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="print a signed bearer token")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--district", required=True, help="district code, or * for all")
    issue.add_argument("--subject", default=None, help="who the token is for")
    issue.add_argument("--ttl", type=int, default=12 * 3600, help="seconds until it expires")
    args = parser.parse_args(argv)
    secret = os.environ.get("SENTINEL_AUTH_SECRET", "")
    if not secret:
        print("SENTINEL_AUTH_SECRET is not set (source .run/env first)", file=sys.stderr)
        return 2
    subject = args.subject or f"{args.role}@{args.district}"
    token = issue_token(
        secret=secret, role=args.role, district=args.district, subject=subject, ttl_s=args.ttl
    )
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
