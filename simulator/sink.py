"""Where readings go: Kafka (`telemetry.readings.v1`, key = terminal id), the telemetry service's
HTTP ingest endpoint, or stdout as JSON lines.

On a broker that requires SASL/SCRAM the Kafka sink logs in as the `terminals` principal
(`KAFKA_SECURITY_PROTOCOL`, `TERMINALS_KAFKA_SASL_USERNAME` / `_PASSWORD`: the services' names,
services/runtime/kafka_login.py).

Sinks take batches and pipeline them: a batch is handed over while the previous one is still
being acknowledged, and `close()` waits until everything handed over is delivered.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Mapping, Sequence
from typing import IO, Any, Protocol

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts.topics import TELEMETRY_READINGS
from services.runtime.kafka_login import TERMINALS, explain_failure
from simulator.engine import Emission

log = logging.getLogger("simulator.sink")
READINGS_TOPIC = TELEMETRY_READINGS.name
# The longest a producer's start may take: a broker that drops a client without a login never
# answers, and the simulator must say so instead of hanging.
START_TIMEOUT_S = 20.0


class SinkError(Exception):
    """A sink cannot start; the message says why (a refused login, an unreachable broker)."""


class Sink(Protocol):
    name: str

    async def start(self) -> None: ...

    async def emit(self, batch: Sequence[Emission]) -> None: ...

    async def close(self) -> None: ...

    def stats(self) -> dict[str, int]: ...


class KafkaSink:
    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        topic: str = READINGS_TOPIC,
        login: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.login = dict(login or {})  # aiokafka's SASL options ({} for PLAINTEXT)
        self._producer: AIOKafkaProducer | None = None
        self._pending: list[Awaitable[Any]] = []
        self.sent = 0

    async def start(self) -> None:
        # Idempotent with acks=all: retries never reorder or duplicate a terminal's readings.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="sentinel-simulator",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=15000,
            **self.login,
        )
        try:
            await asyncio.wait_for(self._producer.start(), START_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            producer, self._producer = self._producer, None
            await producer.stop()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            why = await explain_failure(self.bootstrap, self.login, TERMINALS)
            raise SinkError(f"Kafka at {self.bootstrap} is not reachable: {reason}; {why}") from exc

    async def emit(self, batch: Sequence[Emission]) -> None:
        assert self._producer is not None, "start() first"
        futures = [
            await self._producer.send(self.topic, e.value, key=e.terminal_id.encode())
            for e in batch
        ]
        await self._settle()
        self._pending = futures
        self.sent += len(batch)

    async def _settle(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)

    async def close(self) -> None:
        if self._producer is None:
            return
        try:
            await self._producer.flush()
            await self._settle()
        finally:
            await self._producer.stop()
            self._producer = None

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent}


class HttpIngestSink:
    """POSTs JSON arrays of readings to the telemetry service's `/ingest`."""

    name = "ingest"

    def __init__(
        self,
        url: str,
        *,
        chunk: int = 200,
        attempts: int = 5,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = url.rstrip("/")
        self.url = url if url.endswith("/ingest") else f"{url}/ingest"
        self.chunk, self.attempts, self.backoff_s = chunk, attempts, backoff_s
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.sent = self.accepted = self.rejected = self.failed = 0
        self.reasons: Counter[str] = Counter()  # what telemetry said of the rejected ones

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=30, transport=self._transport)

    async def emit(self, batch: Sequence[Emission]) -> None:
        for i in range(0, len(batch), self.chunk):
            await self._post(batch[i : i + self.chunk])

    async def _post(self, chunk: Sequence[Emission]) -> None:
        assert self._client is not None, "start() first"
        # The readings are JSON already; the array is built from their bytes as signed.
        body = b"[" + b",".join(e.value for e in chunk) + b"]"
        headers = {"content-type": "application/json"}
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    self._count(chunk, response)
                    return
                problem = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        self.failed += len(chunk)
        log.error(
            "ingest_failed",
            extra={"url": self.url, "readings": len(chunk), "error": problem},
        )

    def _count(self, chunk: Sequence[Emission], response: httpx.Response) -> None:
        self.sent += len(chunk)
        if response.status_code >= 400:
            self.rejected += len(chunk)
            log.warning(
                "ingest_refused",
                extra={"status": response.status_code, "body": response.text[:500]},
            )
            return
        reasons = rejections(response)
        self.reasons.update(reasons)
        self.rejected += reasons.total()
        self.accepted += len(chunk) - reasons.total()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def stats(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "failed": self.failed,
        } | {f"rejected_{reason}": n for reason, n in sorted(self.reasons.items())}


def rejections(response: httpx.Response) -> Counter[str]:
    """Rejected readings by reason in an ingest answer: telemetry's
    `{"accepted", "rejected", "results": [{"index", "status", "reason"}]}`, or a bare list of
    per-reading outcomes (`accepted: false`, a `reason`, or `status: rejected`)."""
    try:
        body = response.json()
    except ValueError:
        return Counter()
    if isinstance(body, dict):
        body = body.get("results", body.get("items", []))
    if not isinstance(body, list):
        return Counter()
    reasons: Counter[str] = Counter()
    for item in body:
        if not isinstance(item, dict):
            continue
        if item.get("accepted") is False or item.get("status") == "rejected" or item.get("reason"):
            reasons[str(item.get("reason") or "unknown")] += 1
    return reasons


class StdoutSink:
    name = "stdout"

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout.buffer
        self.sent = 0

    async def start(self) -> None:
        return None

    async def emit(self, batch: Sequence[Emission]) -> None:
        self.stream.write(b"".join(e.value + b"\n" for e in batch))
        self.stream.flush()
        self.sent += len(batch)

    async def close(self) -> None:
        self.stream.flush()

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent}
