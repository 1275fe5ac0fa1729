from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import BaseModel

from services.runtime.app import Service
from services.runtime.settings import ServiceSettings
from tests.support.kafka import create_topics, unique_topic


class Payload(BaseModel):
    n: int


@pytest.fixture
async def topic(kafka: str) -> str:
    name = unique_topic("rt")
    await create_topics(kafka, name, f"{name}.dlq")
    return name


@pytest.fixture
def make_service(kafka: str, database_url: str) -> Callable[..., Service]:
    schema = f"rt_{uuid.uuid4().hex[:10]}"

    def make(group: str | None = None) -> Service:
        settings = ServiceSettings(
            kafka_bootstrap_servers=kafka,
            database_url=database_url,
            db_schema=schema,
            consumer_group=group or f"g-{uuid.uuid4().hex[:8]}",
            retry_backoff_s=0.05,
            outbox_poll_interval_s=0.1,
        )
        return Service(settings)

    return make


@pytest.fixture
async def started() -> AsyncIterator[list[Service]]:
    """Services a test started; stopped at the end even when the test fails."""
    running: list[Service] = []
    yield running
    for svc in running:
        if svc.started:
            await svc.stop()
