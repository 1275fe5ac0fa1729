"""A stand-in signer for unit tests only, which run without the identity provider.

It makes an RSA key pair, publishes the public half as a JWKS for `TokenVerifier(jwks=…)` or a
service's `oidc_jwks` setting, and signs tokens shaped like the provider's (claims as
deploy/identity/sentinel-realm.json maps them). Integration and end-to-end tests use the real
provider (tests/support/identity.py).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from services.runtime.settings import ServiceSettings

ISSUER = "http://identity.test/realms/sentinel"
AUDIENCE = "sentinel-api"
S = TypeVar("S", bound=ServiceSettings)


class LocalSigner:
    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex[:12]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def jwks_json(self) -> str:
        return json.dumps(self.jwks())

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": kid or self.kid})

    def token(
        self,
        role: str,
        district: str,
        *,
        subject: str | None = None,
        name: str | None = None,
        ttl_s: int = 300,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        department: str | None = None,
        **extra: Any,
    ) -> str:
        """A token for a person of `role` in `district`; `department` (a department member's,
        as the realm's `department` mapper puts it) and `extra` claims when given."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": subject or f"{role}-{district}",
            "iat": now,
            "exp": now + ttl_s,
            "roles": [role, "default-roles-sentinel"],
            "district": district,
            "name": name or f"{role} {district}",
            "preferred_username": f"{role}.{district}",
        } | extra
        if department is not None:
            claims["department"] = department
        return self.sign(claims)

    def bearer(self, role: str, district: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, district, **kwargs)}"}

    def offline(self, settings: type[S], **more: Any) -> S:
        """A service's settings for its app built in process by a unit test: tokens this signer
        signs are verified, and Kafka and PostgreSQL point nowhere (the routes under test call
        use cases that a test replaces, or nothing that reaches them)."""
        return settings(
            kafka_bootstrap_servers="127.0.0.1:1",
            database_url="postgresql://nobody@127.0.0.1:1/none",
            oidc_issuer=ISSUER,
            oidc_jwks=self.jwks_json(),
            **more,
        )
