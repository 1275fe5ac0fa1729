"""A one-off command (`once`, e.g. the registry's `expire-licences`) runs its job with the
service started but not its periodic jobs: the service's own copy of the command would race it
and, cancelled mid-transaction when the command stops the service, log a failure after the
command's answer."""

from __future__ import annotations

from typing import Any

import pytest

from services.runtime.commands import once
from tests.support.poll import until


async def test_a_one_off_run_does_its_job_and_no_periodic_one(make_service, started) -> None:
    ticks: list[str] = []

    async def tick(_: Any) -> None:
        ticks.append("tick")

    async def job() -> int:
        # Absence needs a window: a periodic job due every 10 ms would have run in it.
        with pytest.raises(TimeoutError):
            await until(lambda: ticks, within=1.0, what="a periodic job run")
        return 42

    svc = make_service()
    svc.every(0.01, tick, "tick")
    assert await once(svc, job) == 42
    assert not svc.started and ticks == []

    # The same service served as usual runs it.
    served = make_service()
    served.every(0.01, tick, "tick")
    started.append(served)
    await served.start()
    await until(lambda: ticks, within=10, what="the periodic job ran")
