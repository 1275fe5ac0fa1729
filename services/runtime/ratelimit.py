"""Rate limits for the public endpoints (`POST /ingest`, `POST /complaints`, lookups).

A token bucket per (endpoint, client address): `rate` requests a second on average, bursts of up
to `burst`. Past it the answer is 429 with `Retry-After`. Buckets live in the process, so with
several replicas each allows its share; put the same limit at the load balancer for a hard cap.
Idle buckets are dropped, so the table stays as small as the set of recent clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from services.runtime.errors import ServiceError


class TooManyRequests(ServiceError):
    code = "too_many_requests"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limit reached; retry in {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}
        self._swept = clock()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        # A bucket idle long enough to be full again holds nothing worth keeping.
        full_after = self.burst / self.rate
        if now - self._swept < full_after:
            return
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full_after}
        self._swept = now

    def __len__(self) -> int:
        return len(self._buckets)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limited(name: str) -> Callable[[Request], None]:
    """A FastAPI dependency limiting one public endpoint per client address, with the rate and
    burst of the service's settings (`public_rate_per_s`, `public_burst`)."""

    def check(request: Request) -> None:
        limits: dict[str, TokenBuckets] = request.app.state.rate_limits
        buckets = limits.get(name)
        if buckets is None:
            settings = request.app.state.service.settings
            buckets = limits[name] = TokenBuckets(settings.public_rate_per_s, settings.public_burst)
        wait = buckets.take(client_of(request))
        if wait > 0:
            raise TooManyRequests(wait)

    return check
