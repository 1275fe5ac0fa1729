"""Telemetry processes on shared in-memory stores, for the tests of what pending batches, a crash
and a restart leave behind: a `Node` is one process (its flush interval measured on `Ticks` it
owns, its consumer rewinds recorded), a restart is a new `Node` on the same stores, and the
`World` holds the stores, the clock and the terminal of telemetry_directory.py that sends the
readings. `Broken` is what a database that went away raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from services.telemetry.fakes import FakeOffsets, FakeTelemetryStore, fake_stores
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.projections import Directory
from services.telemetry.service import Telemetry
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import Stores
from tests.support.clock import Clock
from tests.support.readings import Terminal
from tests.support.telemetry_directory import MARKET, T0, TERMINAL

TOPIC = "telemetry.readings.v1"
KEY = (TOPIC, 0)


class Broken(RuntimeError):
    pass


class Ticks:
    """The monotonic clock the flush interval is measured on."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


class Consumer:
    """Where the readings consumer was rewound to."""

    def __init__(self) -> None:
        self.rewound: list[tuple[str, int, int]] = []

    async def rewind(self, topic: str, partition: int, offset: int) -> int:
        self.rewound.append((topic, partition, offset))
        return offset


class Node:
    """A telemetry process on shared fake stores: a restart is a new `Node` on the same ones."""

    def __init__(
        self, stores: Stores, uow: FakeUnitOfWork[Stores], clock: Clock[float], **config: Any
    ):
        directory = Directory(b"m" * 32)
        directory.terminals[TERMINAL.id] = TERMINAL
        directory.markets[MARKET.id] = MARKET
        settings = TelemetrySettings(terminal_master_secret="m" * 32, **config)
        self.metrics = TelemetryMetrics(Metrics("telemetry"))
        self.consumer, self.ticks = Consumer(), Ticks()
        self.telemetry = Telemetry(
            uow.factory(), settings, directory, self.metrics, clock, rewind=self.consumer.rewind
        )
        self.telemetry.monotonic = self.ticks

    @property
    def writes(self) -> float:
        return float(self.metrics.state_writes._value.get())


class World:
    def __init__(self, **config: Any) -> None:
        self.clock = Clock(T0.timestamp())
        self.stores = fake_stores({TERMINAL.id: TERMINAL}, self.clock)
        self.uow = FakeUnitOfWork(self.stores, snapshot(self.stores))
        assert isinstance(self.stores.telemetry, FakeTelemetryStore)
        assert isinstance(self.stores.offsets, FakeOffsets)
        self.store, self.offsets = self.stores.telemetry, self.stores.offsets
        self.config = config
        self.node = self.restart()
        self.terminal = Terminal(TERMINAL.id, Directory(b"m" * 32).key(TERMINAL).hex())
        self.offset = 0

    def restart(self) -> Node:
        self.node = Node(self.stores, self.uow, self.clock, **self.config)
        return self.node

    def deliveries(self, readings: list[dict[str, Any]], at: int | None = None) -> list[Delivery]:
        start = self.offset if at is None else at
        found = [
            Delivery(TOPIC, 0, start + i, b"trm_1", orjson.dumps(r)) for i, r in enumerate(readings)
        ]
        if at is None:
            self.offset += len(readings)
        return found

    def series(self, start_minutes_ago: int, temps: list[float]) -> list[dict[str, Any]]:
        start = datetime.fromtimestamp(self.clock.at, UTC) - timedelta(minutes=start_minutes_ago)
        return self.terminal.series(start, temps)

    async def batch(self, readings: list[dict[str, Any]]) -> None:
        await self.node.telemetry.handle_batch(self.deliveries(readings))

    def types(self) -> list[str]:
        return list(self.uow.event_types())
