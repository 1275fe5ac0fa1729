"""Every service as its own process on the real stack, each with consumer groups and a schema of
its own (`loop-<service>-<tag>`, `loop_<service>_<tag>`): what the end-to-end and the browser
tests run against. `start_processes` launches them; `running_city` makes their groups begin at
the end of the shared topics, waits until each is ready and hands back a `City`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from tests.support import identity
from tests.support.city import start_group_at_end
from tests.support.process import ServiceProcess, service_process

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")
# Each service's main consumer group reads these; they start at the topic's end so the run sees
# only its own traffic (the registry's compacted topics are read from the beginning, as always).
INPUTS = {
    "registry": ("inspection.events.v1", "registry.campaign.v1"),
    "telemetry": ("telemetry.readings.v1",),
    "inspection": ("telemetry.risks.v1", "complaints.events.v1", "registry.campaign.v1"),
    "complaints": ("complaints.intake.v1", "inspection.events.v1"),
    "credit": (
        "inspection.events.v1",
        "complaints.events.v1",
        "registry.merchants.v1",
        "telemetry.risks.v1",
    ),
    "campaign": ("inspection.events.v1",),
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


def city_env(service_env: dict[str, str], tag: str) -> dict[str, str]:
    """`service_env` with this run's own consumer groups and schemas, and quick outboxes."""
    env = dict(service_env)
    for name in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_CONSUMER_GROUP"] = f"loop-{name}-{tag}"
        env[f"{prefix}_DB_SCHEMA"] = f"loop_{name}_{tag}"
        env[f"{prefix}_OUTBOX_POLL_INTERVAL_S"] = "0.1"
    env["INSPECTION_PATROL_CHECK_INTERVAL_S"] = "1"
    return env


@contextmanager
def start_processes(
    service_env: dict[str, str], run_dir: Path
) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    """Launch every service (logs in `run_dir`); the processes and the run's tag. Killed on exit."""
    tag = uuid.uuid4().hex[:6]
    env = city_env(service_env, tag)
    with ExitStack() as stack:
        started = {
            name: stack.enter_context(service_process(name, env, run_dir)) for name in SERVICES
        }
        yield started, tag


@asynccontextmanager
async def running_city(
    processes: tuple[dict[str, ServiceProcess], str], kafka: str
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
        yield City({n: p.url for n, p in started.items()}, producer, started, tag)
    finally:
        await producer.stop()
