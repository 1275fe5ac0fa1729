"""Every service as its own process on the real stack, each with consumer groups and a schema of
its own: started once per module that asks for it, and stopped at the module's end. (Not for the
whole package: a running city's telemetry would also judge the readings other modules send, with
the same terminals and secrets, and double their risks on the shared topic.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.process import ServiceProcess, service_process

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit")
# Each service's main consumer group reads these; they start at the topic's end so the run sees
# only its own traffic (the registry's compacted topics are read from the beginning, as always).
INPUTS = {
    "registry": ("inspection.events.v1",),
    "telemetry": ("telemetry.readings.v1",),
    "inspection": ("telemetry.risks.v1", "complaints.events.v1"),
    "complaints": ("complaints.intake.v1", "inspection.events.v1"),
    "credit": (
        "inspection.events.v1",
        "complaints.events.v1",
        "registry.merchants.v1",
        "telemetry.risks.v1",
    ),
}


@dataclass
class City:
    urls: dict[str, str]
    producer: AIOKafkaProducer
    processes: dict[str, ServiceProcess]
    tag: str

    def groups(self, service: str) -> str:
        """The prefix of every consumer group of `service` in this run."""
        return f"loop-{service}-{self.tag}"

    def client(self, service: str, role: str = "admin", district: str = "*") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.urls[service], auth=identity.current().auth(role, district), timeout=10
        )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("closed-loop")


@pytest.fixture(scope="module")
def processes(
    service_env: dict[str, str], kafka: str, run_dir: Path
) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    tag = uuid.uuid4().hex[:6]
    env = dict(service_env)
    for name in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_CONSUMER_GROUP"] = f"loop-{name}-{tag}"
        env[f"{prefix}_DB_SCHEMA"] = f"loop_{name}_{tag}"
        env[f"{prefix}_OUTBOX_POLL_INTERVAL_S"] = "0.1"
    env["INSPECTION_PATROL_CHECK_INTERVAL_S"] = "1"
    with ExitStack() as stack:
        started = {
            name: stack.enter_context(service_process(name, env, run_dir)) for name in SERVICES
        }
        yield started, tag


@pytest.fixture(scope="module")
async def city(
    processes: tuple[dict[str, ServiceProcess], str], kafka: str, service_env: dict[str, str]
) -> AsyncIterator[City]:
    started, tag = processes
    # Before the consumers join: their groups then begin at the end of the shared topics.
    for name, topics in INPUTS.items():
        for topic in topics:
            await start_group_at_end(kafka, f"loop-{name}-{tag}", topic)
    await start_group_at_end(kafka, f"loop-inspection-{tag}-scores", "credit.scores.v1")
    for process in started.values():
        await process.ready(within=120)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        yield City(
            {n: p.url for n, p in started.items()},
            producer,
            started,
            tag,
        )
    finally:
        await producer.stop()
