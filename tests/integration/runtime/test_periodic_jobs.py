"""A periodic job of each replica (`every(..., each_replica=True)`, telemetry's silence check,
which judges the terminals of the partitions its replica holds) runs in every replica at once;
a shared job takes an advisory lock by its name in the service's schema, which would keep the
second replica out while the first is inside."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.poll import until


async def test_a_job_of_each_replica_runs_in_two_replicas_at_once(make_service, started) -> None:  # type: ignore[no-untyped-def]
    inside: set[int] = set()
    release = asyncio.Event()

    def job_of(replica: int):  # type: ignore[no-untyped-def]
        async def job(_: Any) -> None:
            inside.add(replica)
            await release.wait()  # held until both are in

        return job

    for replica in range(2):
        svc = make_service()  # one schema for both: the lock would be shared
        svc.every(0.01, job_of(replica), "held", each_replica=True)
        started.append(svc)
        await svc.start()
    try:
        await until(lambda: inside == {0, 1}, within=30, what="both replicas inside the job")
    finally:
        release.set()
