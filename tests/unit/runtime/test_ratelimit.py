"""The token buckets behind the public endpoints' rate limits."""

from __future__ import annotations

import pytest

from services.runtime.ratelimit import TokenBuckets
from tests.support.clock import Clock


def test_a_burst_passes_then_the_rate_holds_per_client() -> None:
    clock = Clock(0.0)
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.at = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_a_bucket_refills_only_up_to_the_burst() -> None:
    clock = Clock(0.0)
    buckets = TokenBuckets(rate=1.0, burst=2, clock=clock)
    clock.at = 1000.0
    assert [buckets.take("a") > 0 for _ in range(3)] == [False, False, True]


def test_idle_clients_are_forgotten() -> None:
    clock = Clock(0.0)
    buckets = TokenBuckets(rate=10.0, burst=10, clock=clock)
    for i in range(100):
        buckets.take(f"client-{i}")
    assert len(buckets) == 100
    clock.at = 5.0  # long after every bucket would be full again
    buckets.take("late")
    assert len(buckets) == 1


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBuckets(rate=rate, burst=burst)
