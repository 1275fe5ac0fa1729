"""Fakes of what the runtime uses of aiokafka and asyncpg, shared by the runtime's unit tests
(import them from here: test modules do not import each other)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


class FakeConsumer:
    """What `Messaging._hold` and `Messaging.measure_lag` use of aiokafka's consumer: a paused
    partition keeps the high watermark of its last fetch; only `end_offsets` asks the broker."""

    def __init__(
        self,
        *,
        assigned: set[Any] | None = None,
        highwater: dict[Any, int] | None = None,
        ends: dict[Any, int] | None = None,
        positions: dict[Any, int] | None = None,
    ) -> None:
        self._paused: set[Any] = set()
        self.seeks: list[tuple[Any, int]] = []
        self.assigned = assigned or set()
        self.highwaters = highwater or {}
        self.ends = ends or {}
        self.positions = positions or {}
        self.end_offsets_asked: list[list[Any]] = []

    def pause(self, *tps: Any) -> None:
        self._paused.update(tps)

    def paused(self) -> set[Any]:
        return set(self._paused)

    def resume(self, *tps: Any) -> None:
        self._paused.difference_update(tps)

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.positions[tp] = offset

    def assignment(self) -> set[Any]:
        return set(self.assigned)

    def highwater(self, tp: Any) -> int | None:
        return self.highwaters.get(tp)

    async def position(self, tp: Any) -> int:
        return self.positions[tp]

    async def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        self.end_offsets_asked.append(list(tps))
        return {tp: self.ends[tp] for tp in tps}


@dataclass
class FakeSubscriber:
    consumer: Any


class SilentProducer:
    """An aiokafka producer whose broker takes the records and never acknowledges them (a
    frozen broker, or one away: the idempotent producer retries for ever)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[Any]:
        self.sent.append((topic, value))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


@dataclass
class OutboxTable:
    """The outbox table of one schema, as the relay's SQL sees it; times on the loop's clock."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    stamped: list[int] = field(default_factory=list)

    def add(self, topic: str, value: bytes) -> None:
        self.rows.append(
            {
                "id": len(self.rows) + 1,
                "event_id": f"e{len(self.rows) + 1}",
                "topic": topic,
                "key": b"k",
                "value": value,
                "headers": [["content-type", "application/cloudevents+json"]],
                "created_at": asyncio.get_running_loop().time(),
                "published": False,
            }
        )

    def pending(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if not r["published"]]

    async def fetchrow(self, sql: str, *args: Any) -> tuple[int, float]:
        assert "count(*)" in sql and "published_at IS NULL" in sql, sql
        pending = self.pending()
        now = asyncio.get_running_loop().time()
        return len(pending), (now - min(r["created_at"] for r in pending)) if pending else 0.0


class FakeRelayConnection:
    """The relay's own connection: the advisory lock is always free."""

    def __init__(self, table: OutboxTable) -> None:
        self.table = table

    async def fetchval(self, sql: str, *args: Any) -> Any:
        assert "pg_try_advisory_lock" in sql, sql
        return True

    async def add_listener(self, channel: str, callback: Any) -> None:
        return None

    async def fetch(self, sql: str, limit: int) -> list[dict[str, Any]]:
        assert "published_at IS NULL" in sql, sql
        return self.table.pending()[:limit]

    async def execute(self, sql: str, ids: list[int]) -> None:
        assert sql.startswith("UPDATE outbox SET published_at"), sql
        for row in self.table.rows:
            if row["id"] in ids:
                row["published"] = True
                self.table.stamped.append(row["id"])

    async def fetchrow(self, sql: str, *args: Any) -> tuple[int, float]:
        return await self.table.fetchrow(sql, *args)

    async def close(self) -> None:
        return None
