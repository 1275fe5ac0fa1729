"""The failure policy of every consumer, without a broker: what is retried, what is parked."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from services.runtime.messaging import Delivery, Dispatcher, PartitionStalled, PoisonMessage
from services.runtime.metrics import Metrics

DELIVERY = Delivery(topic="t.v1", partition=0, offset=5, key=b"k", value=b"{}")


class Recorder:
    def __init__(self) -> None:
        self.parked: list[str] = []

    async def __call__(self, delivery: Delivery, exc: BaseException, group: str) -> None:
        self.parked.append(type(exc).__name__)


class Failing:
    """A handler that raises `error` on its first `times` calls (on every call when None) and
    counts the calls it got."""

    def __init__(self, error: Exception, times: int | None = None) -> None:
        self.error, self.times, self.calls = error, times, 0

    async def __call__(self, _: Delivery) -> None:
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            raise self.error


def _dispatcher(**kw: float) -> tuple[Dispatcher, Recorder, Metrics]:
    metrics, dlq = Metrics("unit"), Recorder()
    return Dispatcher(metrics, dlq, max_attempts=3, backoff_s=0.0, **kw), dlq, metrics


def _count(metrics: Metrics, outcome: str) -> float:
    return (
        metrics.registry.get_sample_value(
            "sentinel_unit_events_consumed_total", {"topic": "t.v1", "outcome": outcome}
        )
        or 0.0
    )


async def test_poison_is_parked_at_once_without_retry() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    handler = Failing(PoisonMessage("data.n: not an int"))
    await dispatcher.dispatch(handler, DELIVERY, "g")
    assert (handler.calls, dlq.parked) == (1, ["PoisonMessage"])
    assert _count(metrics, "dead_lettered") == 1


async def test_unexpected_error_is_retried_then_stalls_its_partition_not_parked() -> None:
    dispatcher, dlq, _metrics = _dispatcher()
    handler = Failing(KeyError("bug"))
    with pytest.raises(PartitionStalled) as stalled:
        await dispatcher.dispatch(handler, DELIVERY, "g")
    assert (handler.calls, dlq.parked) == (3, [])
    assert stalled.value.deliveries == (DELIVERY,)


async def test_transient_error_is_retried_until_it_passes() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    # Four failures, more than max_attempts: transient errors are not counted against it.
    handler = Failing(asyncpg.CannotConnectNowError("database restarting"), times=4)
    await dispatcher.dispatch(handler, DELIVERY, "g")
    assert (handler.calls, dlq.parked) == (5, [])
    assert _count(metrics, "handled") == 1


async def test_transient_error_past_its_budget_hands_the_message_back_uncommitted() -> None:
    dispatcher, dlq, _ = _dispatcher(transient_budget_s=0.0)
    with pytest.raises(ConnectionRefusedError):
        await dispatcher.dispatch(Failing(ConnectionRefusedError("broker away")), DELIVERY, "g")
    assert dlq.parked == []


async def test_a_failing_batch_is_retried_record_by_record_and_only_poison_parked() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    batch = [Delivery("t.v1", 0, n, b"k", b"bad" if n == 2 else b"ok") for n in range(5)]
    handled: list[int] = []

    async def handler(deliveries: Sequence[Delivery]) -> None:
        if any(d.value == b"bad" for d in deliveries):
            raise PoisonMessage("offset 2 is not a reading")
        handled.extend(d.offset for d in deliveries)

    await dispatcher.dispatch_batch(handler, batch, "g")
    assert handled == [0, 1, 3, 4]
    assert dlq.parked == ["PoisonMessage"]
    assert (_count(metrics, "handled"), _count(metrics, "dead_lettered")) == (4, 1)


async def test_a_good_batch_is_handled_in_one_call() -> None:
    dispatcher, dlq, metrics = _dispatcher()
    calls: list[int] = []

    async def handler(deliveries: Sequence[Delivery]) -> None:
        calls.append(len(deliveries))

    await dispatcher.dispatch_batch(
        handler, [Delivery("t.v1", 0, n, None, b"") for n in range(3)], "g"
    )
    assert calls == [3] and dlq.parked == [] and _count(metrics, "handled") == 3
