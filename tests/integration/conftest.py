"""Fixtures every integration test folder may use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from tests.support.store_suite import BACKENDS, backend_database


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> str | None:
    """A store suite's backend: the test database's URL, or None for the in-memory fakes."""
    return backend_database(request)


@pytest.fixture(scope="module")
async def producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    """An idempotent producer acknowledged by all in-sync replicas, as the services' outbox relay
    publishes (services/runtime/messaging.py): for tests that feed a service another's events."""
    p = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await p.start()
    yield p
    await p.stop()
