"""The secured broker for these tests: the local stack's `secure` profile (SASL/SCRAM listener on
127.0.0.1:21092, StandardAuthorizer, the catalog's ACLs; PostgreSQL on 21432).

It never comes from the environment or testcontainers: what is under test is this broker's
configuration. The session starts it with `stack.py --profile secure up` and, if it was not
running before, stops it at the end (`.ci/run` stops it too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from deploy.kafka.security import client_options, password_var, username_var
from tests.support.databases import own_database
from tests.support.profiles import ProfileStack, profile_stack


@dataclass(frozen=True)
class SecureStack(ProfileStack):
    def login(self, principal: str) -> dict[str, Any]:
        """aiokafka options to authenticate as `principal` (from the stack's env file)."""
        return client_options(self.env[username_var(principal)], self.env[password_var(principal)])


@pytest.fixture(scope="session")
def secure_stack() -> Iterator[SecureStack]:
    with profile_stack("secure") as env:
        print(f"\nsecure stack: kafka={env['KAFKA_BOOTSTRAP_SERVERS']} (SASL/SCRAM, ACLs)")
        yield SecureStack(env)


@pytest.fixture(scope="session")
async def secure_database_url(secure_stack: SecureStack) -> AsyncIterator[str]:
    """A database of this session's own on the secure stack's PostgreSQL."""
    async with own_database(secure_stack.database_url, "sentinel_sec") as url:
        yield url
