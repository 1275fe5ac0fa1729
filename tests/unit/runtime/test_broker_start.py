"""A service's consumers start together: aiokafka's `start` waits for its partitions, so
consumers of one group started one by one would each make the whole group rebalance again."""

from __future__ import annotations

import asyncio
from typing import Any

from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics


class _Subscriber:
    """Starts as aiokafka's consumer does: not before every member of its group has joined
    (here, every subscriber has begun to start)."""

    def __init__(self, joined: list[str], everyone: asyncio.Event, name: str, of: int) -> None:
        self.joined, self.everyone, self.name, self.of = joined, everyone, name, of

    async def start(self) -> None:
        self.joined.append(self.name)
        if len(self.joined) == self.of:
            self.everyone.set()
        await self.everyone.wait()


class _Broker:
    def __init__(self, subscribers: list[_Subscriber]) -> None:
        self.subscribers = subscribers
        self.publishers: list[Any] = []
        self.connected = self.running = False

    async def connect(self) -> None:
        self.connected = True


async def test_every_consumer_starts_at_once_after_the_connection() -> None:
    bus = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
    joined: list[str] = []
    everyone = asyncio.Event()
    names = ["inspection.events.v1", "complaints.events.v1", "registry.merchants.v1"]
    broker = _Broker([_Subscriber(joined, everyone, n, len(names)) for n in names])
    bus.broker = broker  # type: ignore[assignment]
    # One after another, the first would wait for the others for ever: the deadline says so.
    await asyncio.wait_for(bus._start_broker(), timeout=5)
    assert sorted(joined) == sorted(names)
    assert broker.connected and broker.running
