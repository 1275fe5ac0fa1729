"""The three-broker cluster for tests/faults/test_failover.py: the local stack's `cluster`
profile (three KRaft nodes on 127.0.0.1:23092/23094/23096 on port slot 0, every topic at
replication factor 3 and min.insync.replicas 2; PostgreSQL on 23432).

It never comes from the environment or testcontainers: what is under test is what the services
do when one broker of this cluster goes away. The session starts it with `stack.py --profile
cluster up` and, if it was not running before, stops it at the end (`.ci/run` stops it too).
People's tokens come from the test stack's identity provider, like every other test's
(tests/conftest.py, `secrets_env`): the services only verify them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from deploy.local import stack
from tests.support.databases import own_database
from tests.support.profiles import ProfileStack, profile_stack


@dataclass(frozen=True)
class ClusterStack(ProfileStack):
    profile: stack.Profile

    def nodes(self) -> list[stack.Kafka]:
        return stack.kafka_nodes(self.profile)


@pytest.fixture(scope="session")
def cluster_stack() -> Iterator[ClusterStack]:
    with profile_stack("cluster") as env:
        print(f"\ncluster stack: kafka={env['KAFKA_BOOTSTRAP_SERVERS']} (RF 3, min ISR 2)")
        # Read again: `up` may have claimed another port slot than the one recorded before.
        yield ClusterStack(env, stack.profiles()["cluster"])


@pytest.fixture(scope="session")
async def cluster_database_url(cluster_stack: ClusterStack) -> AsyncIterator[str]:
    """A database of this session's own on the cluster stack's PostgreSQL."""
    async with own_database(cluster_stack.database_url, "sentinel_failover") as url:
        yield url
