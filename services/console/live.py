"""Live risks for the risk board: one consumer of `telemetry.risks.v1` per console process,
fanned out to the people watching, each told only of risks of their own district.

The consumer joins no group and commits nothing: it reads from the end of the topic, as a
screen does (what happened before the page opened is in the list the page fetched). It starts
with the first watcher, restarts after a broker failure, and stops with the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from contracts import topics
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)
ALL_DISTRICTS = "*"
QUEUE_SIZE = 100
RETRY_S = 5.0


@dataclass(eq=False)
class Watcher:
    district: str
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )

    def sees(self, district: str | None) -> bool:
        return self.district == ALL_DISTRICTS or district == self.district


def summary(raw: bytes) -> dict[str, Any] | None:
    """What a watcher is told of one event: its type, the risk, its district. None: not a risk."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return None
    data = event["data"]
    kind = str(event.get("type") or "").rsplit(".", 1)[-1]
    return {
        "type": kind,
        "risk_id": data.get("risk_id"),
        "district": data.get("district"),
        "market_id": data.get("market_id"),
        "severity": data.get("severity"),
        "rule": data.get("rule"),
    }


class RiskFeed:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.watchers: set[Watcher] = set()
        self._task: asyncio.Task[None] | None = None
        # Set once the consumer knows where the end of each partition is: from then on, no
        # event is missed.
        self.positioned = asyncio.Event()

    def publish(self, item: dict[str, Any]) -> None:
        for watcher in list(self.watchers):
            if watcher.sees(item.get("district")):
                with contextlib.suppress(asyncio.QueueFull):  # a stalled page: it refetches anyway
                    watcher.queue.put_nowait(item)

    @contextlib.asynccontextmanager
    async def watch(self, district: str) -> AsyncIterator[Watcher]:
        watcher = Watcher(district)
        self.watchers.add(watcher)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="console-risk-feed")
        try:
            yield watcher
        finally:
            self.watchers.discard(watcher)

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        while True:
            consumer = AIOKafkaConsumer(
                topics.TELEMETRY_RISKS.name,
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="latest",
                client_id="sentinel-console-risk-board",
                **self.settings.kafka_client_options(),
            )
            try:
                await consumer.start()
                await self._position(consumer)
                async for message in consumer:
                    item = summary(message.value or b"")
                    if item is not None:
                        self.publish(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker away: the board still works, only not live
                log.warning(
                    "risk feed interrupted", extra={"error": f"{type(exc).__name__}: {exc}"}
                )
            finally:
                self.positioned.clear()
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(RETRY_S)

    async def _position(self, consumer: Any) -> None:
        """Resolve "the end" of every partition now, not at the first fetch."""
        for _ in range(50):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        for partition in consumer.assignment():
            await consumer.position(partition)
        self.positioned.set()

    async def ready(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.positioned.wait(), within)
        return self.positioned.is_set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
