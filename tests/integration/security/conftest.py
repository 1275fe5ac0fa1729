"""The secured broker for these tests: the local stack's `secure` profile (SASL/SCRAM listener on
127.0.0.1:21092, StandardAuthorizer, the catalog's ACLs; PostgreSQL on 21432).

It never comes from the environment or testcontainers: what is under test is this broker's
configuration. The session starts it with `stack.py --profile secure up` and, if it was not
running before, stops it at the end (`.ci/run` stops it too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.kafka.security import client_options, password_var, username_var
from deploy.local import stack
from tests.support.databases import own_database

ROOT = Path(__file__).resolve().parents[3]
STACK = [sys.executable, str(ROOT / "deploy/local/stack.py"), "--profile", "secure"]


@dataclass(frozen=True)
class SecureStack:
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def login(self, principal: str) -> dict[str, Any]:
        """aiokafka options to authenticate as `principal` (from the stack's env file)."""
        return client_options(self.env[username_var(principal)], self.env[password_var(principal)])


def _running(profile: stack.Profile) -> bool:
    return stack.Kafka(profile).pid() is not None or stack.Postgres(profile).pid() is not None


@pytest.fixture(scope="session")
def secure_stack() -> Iterator[SecureStack]:
    profile = stack.profiles()["secure"]
    was_running = _running(profile)
    run = subprocess.run(
        [*STACK, "up", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        raise RuntimeError(f"the secure stack did not start:\n{run.stderr[-4000:]}")
    env = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\nsecure stack: kafka={env['KAFKA_BOOTSTRAP_SERVERS']} (SASL/SCRAM, ACLs)")
    try:
        yield SecureStack(env)
    finally:
        if not was_running:
            subprocess.run([*STACK, "down"], cwd=ROOT, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
async def secure_database_url(secure_stack: SecureStack) -> AsyncIterator[str]:
    """A database of this session's own on the secure stack's PostgreSQL."""
    async with own_database(secure_stack.database_url, "sentinel_sec") as url:
        yield url
