"""Prometheus metrics every service exposes, named `sentinel_<service>_<what>_<unit>`.

Each service gets its own registry so several services (or test instances) can live in one
process. Labels are bounded: topics, routes, outcomes, reasons — never entity ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        p = f"sentinel_{service}"
        r = self.registry
        self.consumed = Counter(
            f"{p}_events_consumed_total",
            "Messages taken from Kafka, by topic and outcome (handled, duplicate, dead_lettered)",
            ["topic", "outcome"],
            registry=r,
        )
        self.handler_retries = Counter(
            f"{p}_handler_retries_total",
            "Handler attempts that failed and were retried, by topic and error kind",
            ["topic", "kind"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            f"{p}_handler_duration_seconds",
            "Time to handle one message, including its database transaction",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.dead_lettered = Counter(
            f"{p}_dlq_messages_total",
            "Messages parked on a dead-letter topic, by source topic",
            ["topic"],
            registry=r,
        )
        self.outbox_published = Counter(
            f"{p}_outbox_published_total",
            "Events the outbox relay published, by topic",
            ["topic"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            f"{p}_outbox_pending_events",
            "Events written to the outbox and not yet published",
            registry=r,
        )
        self.outbox_oldest_seconds = Gauge(
            f"{p}_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox event (0 when none)",
            registry=r,
        )
        self.consumer_lag = Gauge(
            f"{p}_consumer_lag_messages",
            "Messages behind the end of each partition this replica holds",
            ["topic", "partition"],
            registry=r,
        )
        self.consumer_stalled = Gauge(
            f"{p}_consumer_stalled",
            "1 while a partition this replica holds is stopped at a message its handler keeps "
            "failing on (retried, not dead-lettered; services/runtime/messaging.py)",
            ["topic", "partition", "group"],
            registry=r,
        )
        self.http_requests = Counter(
            f"{p}_http_requests_total",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            f"{p}_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
