"""What a handler's failure means: every handler is wrapped by `Dispatcher`, which decides.

- the message is proven wrong (undecodable bytes, not JSON, breaks its contract, or a handler's
  explicit `PoisonMessage`): park it on `<topic>.dlq` with the error and its source coordinates,
  then commit, so the partition keeps moving;
- the infrastructure is away (database or broker unreachable): retry with backoff, and after a
  while nack, so FastStream seeks back and the message comes again; nothing is committed;
- anything else (a consistency check, a corrupt stored row, a bug): nothing proves the message
  wrong, so it is never dead-lettered. It is retried with backoff (`retry_backoff_s` doubling to
  `retry_backoff_max_s`), and after `handler_max_attempts` tries its partition *stalls*: the
  consumer pauses that partition at the message (no commit past it), logs at error level and sets
  `sentinel_<service>_consumer_stalled{topic,partition,group}` to 1 (alert
  SentinelConsumerStalled) while the other partitions go on. The partition is tried again every
  `stalled_retry_s` (and after a restart or a rebalance); the first success resumes it and sets
  the gauge back to 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError

from services.runtime.clock import utc_now
from services.runtime.delivery import (
    BatchHandler,
    Delivery,
    Handler,
    PartitionStalled,
    PoisonMessage,
)
from services.runtime.metrics import Metrics

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    KafkaConnectionError,
    KafkaError,
)

# Errors that prove the message itself wrong: retrying cannot help. A message that breaks its
# contract is reported by `Delivery.envelope` as PoisonMessage; a bare pydantic ValidationError or
# ValueError raised elsewhere in a handler (building an event from a stored row, a consistency
# check) proves nothing about the message and is retried, then stalls its partition.
POISON: tuple[type[BaseException], ...] = (
    PoisonMessage,
    UnicodeDecodeError,
    json.JSONDecodeError,  # orjson.JSONDecodeError is one
)


class Dispatcher:
    """Runs one handler on one delivery with the failure policy described above."""

    def __init__(
        self,
        metrics: Metrics,
        dead_letter: Callable[[Delivery, BaseException, str], Awaitable[None]],
        *,
        max_attempts: int = 10,
        backoff_s: float = 0.2,
        backoff_max_s: float = 5.0,
        transient_budget_s: float = 30.0,
    ) -> None:
        self.metrics, self.dead_letter = metrics, dead_letter
        self.max_attempts, self.backoff_s = max(1, max_attempts), backoff_s
        self.backoff_max_s = backoff_max_s
        self.transient_budget_s = transient_budget_s
        # (group, topic, partition) of the partitions this replica holds stalled.
        self.stalled: set[tuple[str, str, int]] = set()

    async def dispatch(self, handler: Handler, delivery: Delivery, group: str) -> None:
        """Handle one delivery; raise PartitionStalled when its partition must stop at it."""

        async def park(exc: BaseException) -> None:
            await self._park(delivery, exc, group)

        async def stall(exc: BaseException) -> None:
            self._stall(delivery, exc, group)
            raise PartitionStalled([delivery], exc) from exc

        where = _at(delivery) | {"group": group}
        await self._run(lambda: handler(delivery), delivery.topic, 1, park, stall, where)
        self._resumed(group, delivery.topic, (delivery.partition,))

    async def dispatch_batch(
        self, handler: BatchHandler, deliveries: Sequence[Delivery], group: str
    ) -> None:
        """A batch that cannot be handled is retried record by record, so only poison is parked
        and only the partition of a record that keeps failing stops (at that record; the records
        behind it on the same partition wait, those of other partitions are handled)."""
        if len(deliveries) <= 1:
            await self._one_by_one(handler, deliveries, group)
            return

        async def one_by_one(exc: BaseException) -> None:
            log.warning("batch failed, handling it record by record", extra={"error": repr(exc)})
            await self._one_by_one(handler, deliveries, group)

        where = _at(deliveries[0]) | {"batch": len(deliveries), "group": group}
        # A failing batch goes record by record at once: each record gets its own retries.
        await self._run(
            lambda: handler(deliveries),
            deliveries[0].topic,
            len(deliveries),
            one_by_one,
            one_by_one,
            where,
            attempts=1,
        )
        self._resumed(group, deliveries[0].topic, {d.partition for d in deliveries})

    async def _one_by_one(
        self, handler: BatchHandler, deliveries: Sequence[Delivery], group: str
    ) -> None:
        stopped: dict[tuple[str, int], Delivery] = {}
        cause: BaseException | None = None
        for delivery in deliveries:
            if (delivery.topic, delivery.partition) in stopped:
                continue  # behind a stalled record: order within a partition is kept
            try:
                await self.dispatch(lambda d: handler([d]), delivery, group)
            except PartitionStalled as exc:
                stopped[(delivery.topic, delivery.partition)] = delivery
                cause = exc.cause
        if cause is not None:
            raise PartitionStalled(list(stopped.values()), cause)

    async def _run(
        self,
        call: Callable[[], Awaitable[None]],
        topic: str,
        count: int,
        on_poison: Callable[[BaseException], Awaitable[None]],
        on_exhausted: Callable[[BaseException], Awaitable[None]],
        where: dict[str, Any],
        attempts: int | None = None,
    ) -> None:
        attempts = attempts or self.max_attempts
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.metrics.handler_seconds.labels(topic).time():
                    await call()
                self.metrics.consumed.labels(topic, "handled").inc(count)
                return
            except POISON as exc:
                await on_poison(exc)
                return
            except TRANSIENT as exc:
                self.metrics.handler_retries.labels(topic, "transient").inc()
                if time.monotonic() - started > self.transient_budget_s:
                    # Give the message back: FastStream nacks, seeks, and it comes again.
                    log.warning("infrastructure unavailable, handing back", extra=where | _err(exc))
                    raise
                await asyncio.sleep(self._backoff(attempt))
            except Exception as exc:
                if attempt >= attempts:
                    await on_exhausted(exc)
                    return
                self.metrics.handler_retries.labels(topic, "error").inc()
                log.warning(
                    "handler failed (attempt %d of %d), retrying",
                    attempt,
                    attempts,
                    extra=where | _err(exc),
                )
                await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s))

    def _stall(self, delivery: Delivery, exc: BaseException, group: str) -> None:
        self.stalled.add((group, delivery.topic, delivery.partition))
        self.metrics.consumer_stalled.labels(delivery.topic, str(delivery.partition), group).set(1)
        log.error(
            "partition stalled: the handler failed %d times on a message nothing proves wrong; "
            "its partition stops there (not committed past it, not dead-lettered) and is tried "
            "again later",
            self.max_attempts,
            exc_info=exc,
            extra=_at(delivery) | {"group": group} | _err(exc),
        )

    def _resumed(self, group: str, topic: str, partitions: Any) -> None:
        """A message handled on a stalled partition: it moves again."""
        if not self.stalled:
            return
        for partition in partitions:
            if (group, topic, partition) in self.stalled:
                self.clear(group, topic, partition)
                log.info(
                    "stalled partition resumed",
                    extra={"topic": topic, "partition": partition, "group": group},
                )

    def clear(self, group: str, topic: str, partition: int) -> None:
        """Forget a stall (resumed, or the partition went to another replica)."""
        self.stalled.discard((group, topic, partition))
        self.metrics.consumer_stalled.labels(topic, str(partition), group).set(0)

    async def _park(self, delivery: Delivery, exc: BaseException, group: str) -> None:
        await self.dead_letter(delivery, exc, group)
        self.metrics.dead_lettered.labels(delivery.topic).inc()
        self.metrics.consumed.labels(delivery.topic, "dead_lettered").inc()
        log.warning("message dead-lettered", extra=_at(delivery) | _err(exc))


def _at(delivery: Delivery) -> dict[str, Any]:
    return {"topic": delivery.topic, "partition": delivery.partition, "offset": delivery.offset}


def _err(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {exc}"}


def dlq_headers(delivery: Delivery, exc: BaseException, group: str) -> list[tuple[str, bytes]]:
    """The original headers plus where the message came from and why it was parked."""
    return [
        *delivery.headers,
        ("dlq.error", str(exc).encode()[:4000]),
        ("dlq.error_type", type(exc).__name__.encode()),
        ("dlq.source_topic", delivery.topic.encode()),
        ("dlq.source_partition", str(delivery.partition).encode()),
        ("dlq.source_offset", str(delivery.offset).encode()),
        ("dlq.consumer_group", group.encode()),
        ("dlq.failed_at", utc_now().isoformat().encode()),
    ]
