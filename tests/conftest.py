"""Session-wide infrastructure for integration and end-to-end tests (see support/infra.py).

Every session gets its own database on the server, so two runs never see each other's rows;
Kafka topics are shared, so tests match the records they caused by their own ids (except by a
session on the beside profile's broker, which shares none with the rest: support/infra.py).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings

from deploy.identity.keycloak import KeycloakAdmin
from tests.support import identity
from tests.support.databases import own_database
from tests.support.identity import Tokens
from tests.support.infra import BESIDE_STACK, Endpoints, infrastructure

# Hypothesis fails an example that runs longer than its deadline (200 ms by default): a timing
# assertion, which a busy 2-core machine trips on correct code. The examples' properties are what
# the tests assert; how long one takes is the benchmarks' business (bench/).
settings.register_profile("sentinel", deadline=None)
settings.load_profile("sentinel")


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with infrastructure() as found:
        print(f"\ninfrastructure: {found.origin} kafka={found.kafka}")
        yield found


@pytest.fixture(scope="session")
def kafka(endpoints: Endpoints) -> str:
    return endpoints.kafka


@pytest.fixture(scope="session")
async def database_url(endpoints: Endpoints) -> AsyncIterator[str]:
    async with own_database(endpoints.database_url, "sentinel_test") as url:
        yield url


@pytest.fixture(scope="session")
def tokens(endpoints: Endpoints) -> Iterator[Tokens]:
    """People signed in at the test stack's identity provider (tests/support/identity.py)."""
    if not endpoints.identity_url:
        raise RuntimeError(f"no identity provider among the {endpoints.origin} endpoints")
    with KeycloakAdmin(endpoints.identity_url, *endpoints.identity_admin) as admin:
        admin.ensure_realm()
        # One password for the test people of a stack, derived from its admin secret: test
        # sessions that share a stack (two shells, a helper beside a run) would otherwise reset
        # each other's people to their own random password and fail to sign in.
        secret = endpoints.identity_admin[1].encode()
        password = hmac.new(secret, b"sentinel test people", hashlib.sha256).hexdigest()[:24]
        found = Tokens(endpoints.identity_url, admin, password=password)
        identity.use(found)
        yield found
        identity.use(None)


@pytest.fixture(scope="session")
def oidc_issuer(tokens: Tokens) -> str:
    return tokens.issuer


@pytest.fixture(scope="session")
def secrets_env(oidc_issuer: str) -> dict[str, str]:
    """The stack-wide settings every service reads: the terminal master secret, and the identity
    provider whose tokens it accepts (no service holds a key that signs one)."""
    return {
        "SENTINEL_TERMINAL_MASTER_SECRET": secrets.token_hex(32),
        "OIDC_ISSUER": oidc_issuer,
    }


@pytest.fixture(scope="session")
def service_env(kafka: str, database_url: str, secrets_env: dict[str, str]) -> dict[str, str]:
    """What a service process needs, as `.run/env` would give it; and the shortest session
    timeout Kafka takes, so that a service restarted after a SIGKILL gets its partitions back
    6 s after the kill rather than 10 (three SIGKILL tests: 87 -> 68 s)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database_url,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        **secrets_env,
    }


@pytest.fixture
def env_for(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> dict[str, str]:
    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    return service_env


def pytest_report_header() -> list[str]:
    given = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"))
    apart = os.environ.get(BESIDE_STACK) == "1"
    return [
        f"infrastructure from environment: {given}",
        f"Kafka and PostgreSQL of the beside profile ({BESIDE_STACK}): {apart}",
    ]
