"""Every service as its own process on the real stack, each with consumer groups and a schema of
its own (tests/support/city_processes.py): started once per module that asks for it, and stopped
at the module's end. (Not for the whole package: a running city's telemetry would also judge the
readings other modules send, with the same terminals and secrets, and double their risks on the
shared topic.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.city_processes import INPUTS, SERVICES, City, running_city, start_processes
from tests.support.process import ServiceProcess

__all__ = ["INPUTS", "SERVICES", "City"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("closed-loop")


@pytest.fixture(scope="module")
def processes(
    service_env: dict[str, str], kafka: str, run_dir: Path
) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    with start_processes(service_env, run_dir) as started:
        yield started


@pytest.fixture(scope="module")
async def city(processes: tuple[dict[str, ServiceProcess], str], kafka: str) -> AsyncIterator[City]:
    async with running_city(processes, kafka) as found:
        yield found
