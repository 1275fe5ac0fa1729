"""/readyz's Kafka check asks every known broker at once and is satisfied by any one: one broker
of three away, killed or frozen, is not the cluster away (tests/faults/test_failover.py found a
service unready while a frozen broker held its metadata request)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import NodeNotReadyError

from services.runtime import messaging
from services.runtime.metrics import Metrics


@dataclass
class Broker:
    nodeId: int


@dataclass
class FakeClient:
    """Node 1 frozen (never answers), node 2 down (refuses), node 3 answers, unless left out."""

    nodes: list[int]
    asked: list[int] = field(default_factory=list)
    metadata_updates: int = 0

    @property
    def cluster(self) -> Any:
        nodes = self.nodes

        class Cluster:
            def brokers(self) -> list[Broker]:
                return [Broker(n) for n in nodes]

        return Cluster()

    async def send(self, node: int, request: Any) -> object:
        self.asked.append(node)
        if node == 1:
            await asyncio.Event().wait()
        if node == 2:
            raise NodeNotReadyError("refused")
        return object()

    async def force_metadata_update(self) -> bool:
        self.metadata_updates += 1
        return True


@dataclass
class FakeProducer:
    client: FakeClient


def bus_with(client: FakeClient) -> messaging.Messaging:
    bus = messaging.Messaging(
        "unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={}
    )
    bus._producer = FakeProducer(client)  # type: ignore[assignment]
    return bus


async def test_one_broker_answering_is_enough_whatever_the_others_do() -> None:
    client = FakeClient([1, 2, 3])
    assert await bus_with(client).ping(timeout_s=5)
    assert sorted(client.asked) == [1, 2, 3]


async def test_no_broker_answering_is_not_ready() -> None:
    client = FakeClient([1, 2])
    assert not await bus_with(client).ping(timeout_s=0.2)


async def test_before_any_metadata_the_bootstrap_update_answers() -> None:
    client = FakeClient([])
    assert await bus_with(client).ping()
    assert client.metadata_updates == 1 and client.asked == []


async def test_not_started_is_not_ready() -> None:
    bus = messaging.Messaging(
        "unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={}
    )
    assert not await bus.ping()
