"""The outbox relay against a broker that takes the connection and never answers (issue: a Kafka
outage raised no alert; the relay waited on the producer for the whole outage). The shared
broker must stay up, so the relay's producer reaches it through a proxy that can freeze, as a
stopped broker process or a hung host does: the connections stay open and nothing comes back.
aiokafka's idempotent producer then retries for ever without failing the send. The relay gives
the batch up and says so, the backlog gauges grow, and once the broker answers again the event
is published and its row stamped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator

import pytest

from contracts.envelope import make_event
from services.runtime.app import Service
from services.runtime.messaging import Messaging
from services.runtime.outbox import OutboxRelay, enqueue
from tests.integration.runtime.conftest import Payload
from tests.support.poll import until


class FreezingProxy:
    """Forwards Kafka's protocol to one broker and back, frame by frame. The broker's address in
    its answers (metadata, coordinators) is rewritten to the proxy's, so that the client's later
    connections come here too; `freeze` holds every frame both ways until `thaw`."""

    def __init__(self, broker: str) -> None:
        host, port = broker.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        own = self._server.sockets[0].getsockname()[1]
        address = self.host.encode()
        self._broker_at = address + struct.pack(">i", self.port)
        self._proxy_at = address + struct.pack(">i", own)
        return f"127.0.0.1:{own}"

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection(self.host, self.port)
        self._writers += [client_w, broker_w]
        for pump in (self._pump(client_r, broker_w, False), self._pump(broker_r, client_w, True)):
            task = asyncio.create_task(pump)
            self._tasks.add(task)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, answers: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                size = await source.readexactly(4)
                frame = await source.readexactly(struct.unpack(">i", size)[0])
                if answers:  # the same length, so the frame's size stays right
                    frame = frame.replace(self._broker_at, self._proxy_at)
                await self.flowing.wait()
                sink.write(size + frame)
                await sink.drain()
        sink.close()


@pytest.fixture
async def proxy(kafka: str) -> AsyncIterator[FreezingProxy]:
    found = FreezingProxy(kafka)
    yield found
    found.thaw()
    await found.close()


async def test_a_broker_that_never_answers_raises_the_backlog_gauges_and_the_relay_goes_on(
    make_service,
    started,
    topic: str,
    proxy: FreezingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc: Service = make_service()
    started.append(svc)
    await svc.start()
    svc.relay.stop()  # drive a relay by hand, with a short publish timeout
    bus = Messaging("rt", await proxy.start(), svc.metrics, group_id="unused", kafka_options={})
    await bus.start()
    relay = OutboxRelay(
        svc.pool,
        svc.settings.database_url,
        svc.schema,
        bus.publish_batch,
        svc.metrics,
        poll_interval_s=0.1,
        publish_timeout_s=2.0,
        observe_interval_s=0.2,
    )
    event = make_event(
        service="tests",
        event_type="tests.thing.happened",
        version=1,
        subject="s9",
        data=Payload(n=9),
    )
    pending, oldest = svc.metrics.outbox_pending, svc.metrics.outbox_oldest_seconds

    async def stamped() -> bool:
        return bool(
            await svc.pool.fetchval(
                "SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", event.id
            )
        )

    proxy.freeze()
    async with svc.pool.acquire() as conn, conn.transaction():
        await enqueue(conn, topic, event)
    task = asyncio.create_task(relay.run())
    try:
        with caplog.at_level(logging.WARNING, logger="services.runtime.outbox"):
            await until(lambda: pending._value.get() >= 1, within=20, what="pending > 0")
            first = oldest._value.get()
            await until(
                lambda: oldest._value.get() >= first + 3.0,
                within=20,
                what="the oldest pending age growing while the broker is frozen",
            )
            [record, *_] = await until(
                lambda: [r for r in caplog.records if r.getMessage() == "outbox relay interrupted"],
                within=20,
                what="the interrupted relay logged",
            )
        assert "TimeoutError" in record.error and record.pending == 1  # type: ignore[attr-defined]
        assert not await stamped()
        assert pending._value.get() == 1

        proxy.thaw()
        await until(stamped, within=60, what="the row published once the broker answers")
        await until(lambda: pending._value.get() == 0, within=20, what="the backlog gone")
    finally:
        proxy.thaw()
        relay.stop()
        await asyncio.wait_for(task, 30)
        await asyncio.wait_for(bus.stop(), 30)
