"""Where the tests' Kafka, PostgreSQL and identity provider come from, in this order:

1. endpoints given in the environment (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, and the
   provider's `KEYCLOAK_URL` with its administrator `KEYCLOAK_ADMIN_USERNAME` /
   `KEYCLOAK_ADMIN_PASSWORD`);
2. testcontainers, where a Docker engine answers;
3. else the local stack's `test` profile (its own ports and folder, so it never fights a
   running `make demo`), started once and left running for the next session.

With `SENTINEL_TEST_BESIDE_STACK=1` the session takes Kafka and PostgreSQL from the `beside`
profile instead (started, and stopped at the end if it was not running), and only the identity
provider from the above: what `make test` runs beside the rest then shares no topic with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BESIDE_STACK = "SENTINEL_TEST_BESIDE_STACK"


@dataclass(frozen=True)
class Endpoints:
    kafka: str
    database_url: str
    origin: str
    # The identity provider (Keycloak) and its administrator, who creates the tests' people.
    identity_url: str = ""
    identity_admin: tuple[str, str] = ("", "")


def _identity(env: dict[str, str] | os._Environ[str]) -> dict[str, object]:
    return {
        "identity_url": env.get("KEYCLOAK_URL", ""),
        "identity_admin": (
            env.get("KEYCLOAK_ADMIN_USERNAME", ""),
            env.get("KEYCLOAK_ADMIN_PASSWORD", ""),
        ),
    }


def docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@contextmanager
def _containers() -> Iterator[Endpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka,
        PostgresContainer("postgres:15", driver=None) as pg,
    ):
        yield Endpoints(kafka.get_bootstrap_server(), pg.get_connection_url(), "testcontainers")


def _local_stack() -> Endpoints:
    run = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/stack.py"), "--profile", "test", "up", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"local test stack did not start:\n{run.stderr[-4000:]}")
    env = json.loads(run.stdout.strip().splitlines()[-1])
    return Endpoints(
        env["KAFKA_BOOTSTRAP_SERVERS"], env["DATABASE_URL"], "local stack (test)", **_identity(env)
    )


@contextmanager
def _shared() -> Iterator[Endpoints]:
    kafka, db = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and db and os.environ.get("KEYCLOAK_URL"):
        yield Endpoints(kafka, db, "environment", **_identity(os.environ))
    elif docker_engine_answers():
        with _containers() as endpoints:
            yield endpoints
    else:
        yield _local_stack()


@contextmanager
def infrastructure() -> Iterator[Endpoints]:
    with _shared() as shared:
        if os.environ.get(BESIDE_STACK) != "1":
            yield shared
            return
        from tests.support.profiles import profile_stack

        with profile_stack("beside") as env:
            yield replace(
                shared,
                kafka=env["KAFKA_BOOTSTRAP_SERVERS"],
                database_url=env["DATABASE_URL"],
                origin=f"the beside stack, and the identity provider of the {shared.origin}",
            )
