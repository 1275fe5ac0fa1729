"""The fault tests' own infrastructure, beside the test stack:

- the three-broker cluster for tests/faults/test_failover.py: the local stack's `cluster` profile
  (three KRaft nodes on 127.0.0.1:23092/23094/23096 on port slot 0, every topic at replication
  factor 3 and min.insync.replicas 2; PostgreSQL on 23432);
- the broker and PostgreSQL that tests/faults/test_chaos.py stops and starts again: the `chaos`
  profile (127.0.0.1:24092, PostgreSQL on 24432 on port slot 0), so that restarting them never
  takes the test stack from the tests running beside it (`make test`).

Neither comes from the environment or testcontainers: what is under test is what the services do
when these brokers and servers go away. The test module starts its profile with `stack.py
--profile NAME up` and, if it was not running before, stops it at its end (`.ci/run` stops it
too). People's tokens come from the test stack's identity provider, like every other test's
(tests/conftest.py, `secrets_env`): the services only verify them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from deploy.local import stack
from tests.support.databases import own_database
from tests.support.poll import until
from tests.support.process import low_free_port
from tests.support.profiles import ProfileStack, profile_stack


@dataclass(frozen=True)
class ClusterStack(ProfileStack):
    profile: stack.Profile

    def nodes(self) -> list[stack.Kafka]:
        return stack.kafka_nodes(self.profile)


# Module-scoped, as is the chaos stack: `make test` runs the fault tests one after the other
# in one session beside the rest, and three idle brokers would otherwise run on through the
# chaos test, on the same two cores as the rest.
@pytest.fixture(scope="module")
def cluster_stack() -> Iterator[ClusterStack]:
    with profile_stack("cluster") as env:
        print(f"\ncluster stack: kafka={env['KAFKA_BOOTSTRAP_SERVERS']} (RF 3, min ISR 2)")
        # Read again: `up` may have claimed another port slot than the one recorded before.
        yield ClusterStack(env, stack.profiles()["cluster"])


@pytest.fixture(scope="module")
async def cluster_database_url(cluster_stack: ClusterStack) -> AsyncIterator[str]:
    """A database of this module's own on the cluster stack's PostgreSQL."""
    async with own_database(cluster_stack.database_url, "sentinel_failover") as url:
        yield url


@dataclass(frozen=True)
class ChaosStack(ProfileStack):
    profile: stack.Profile

    def kafka(self) -> stack.Kafka:
        return stack.Kafka(self.profile)

    def postgres(self) -> stack.Postgres:
        return stack.Postgres(self.profile)


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator[ChaosStack]:
    with profile_stack("chaos") as env:
        print(f"\nchaos stack: kafka={env['KAFKA_BOOTSTRAP_SERVERS']}")
        # Read again: `up` may have claimed another port slot than the one recorded before.
        yield ChaosStack(env, stack.profiles()["chaos"])


@pytest.fixture(scope="module")
async def chaos_database_url(chaos_stack: ChaosStack) -> AsyncIterator[str]:
    """A database of this module's own on the chaos stack's PostgreSQL (which the test stops and
    starts again: the database is on its disk, so it is there afterwards)."""
    async with own_database(chaos_stack.database_url, "sentinel_chaos") as url:
        yield url


async def broker_answers(address: str, timeout_s: float = 1) -> bool:
    """Whether a broker answers at `address`: False while it starts, or is away or frozen."""
    try:
        return await stack.kafka_answers(address, None, timeout_s)
    except Exception:  # not up yet
        return False


@pytest.fixture
async def own_broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[stack.Kafka]:
    """A single KRaft broker of the test's own on free ports, with the catalog's topics: the
    test freezes it (SIGSTOP), which it could not do to the test stack's broker without taking
    it from every other session on it. Thawed and stopped at the end."""
    profile = stack.Profile(
        name="own",
        state=tmp_path_factory.mktemp("own-kafka"),
        kafka_port=low_free_port(),
        controller_port=low_free_port(),
        postgres_port=0,
        prometheus_port=None,
        kafka_heap="256m",
    )
    node = stack.Kafka(profile)
    node.start()
    try:
        await until(
            lambda: broker_answers(node.address), within=120, every=0.5, what="own broker up"
        )
        await stack.provision_topics(node.address, time.monotonic() + 120)
        yield node
    finally:
        if (pid := node.pid()) is not None:
            os.kill(pid, signal.SIGCONT)
            node.stop()
