"""Prometheus metrics every service exposes, named `sentinel_<service>_<what>_<unit>`.

Each service gets its own registry so several services (or test instances) can live in one
process. Labels are bounded: topics, routes, outcomes, reasons — never entity ids.

A service run as several worker processes (services/runtime/workers.py) keeps its metrics in
prometheus_client's multiprocess mode: each worker writes its values to files in the run's
directory (`PROMETHEUS_MULTIPROC_DIR`, set by the parent before the workers start) and `/metrics`,
whichever worker answers it, adds up every worker's. Counters and histograms are summed; a gauge
says how its workers' values combine (`mode`): the gauges counted from the shared database report
the same value in every worker, so their maximum (`livemax`, the default), a worker's own share
(consumer lag of the partitions it holds) their sum (`livesum`), a state every worker must be in
(its consumer's feed working) their minimum (`livemin`). The series keep the names and
labels a single process gives them, so the alert rules and the dashboards read them alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# How a gauge's values in several worker processes make one; `live`: of the workers running.
GaugeMode = Literal["livemax", "livesum", "livemin"]
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.prefix = f"sentinel_{service}"
        self.consumed = self.counter(
            "events_consumed_total",
            "Messages taken from Kafka, by topic and outcome (handled, duplicate, dead_lettered)",
            ["topic", "outcome"],
        )
        self.handler_retries = self.counter(
            "handler_retries_total",
            "Handler attempts that failed and were retried, by topic and error kind",
            ["topic", "kind"],
        )
        self.handler_seconds = self.histogram(
            "handler_duration_seconds",
            "Time to handle one message, including its database transaction",
            ["topic"],
        )
        self.dead_lettered = self.counter(
            "dlq_messages_total",
            "Messages parked on a dead-letter topic, by source topic",
            ["topic"],
        )
        self.dlq_unresolved = self.gauge(
            "dlq_unresolved_messages",
            "Records on <topic>.dlq not yet republished or discarded (`sentinel dlq`), by source "
            "topic: the dead-letter topic's end offset minus the resolved watermark "
            "(services/runtime/dead_letters.py)",
            ["topic"],
        )
        self.commits_refused = self.counter(
            "offset_commits_refused_total",
            "Offset commits Kafka refused because the group rebalanced first, by topic (the "
            "messages go again to the partition's owner, whose inbox skips them)",
            ["topic"],
        )
        self.outbox_published = self.counter(
            "outbox_published_total", "Events the outbox relay published, by topic", ["topic"]
        )
        self.outbox_pending = self.gauge(
            "outbox_pending_events", "Events written to the outbox and not yet published"
        )
        self.outbox_oldest_seconds = self.gauge(
            "outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox event (0 when none)",
        )
        self.consumer_lag = self.gauge(
            "consumer_lag_messages",
            "Messages behind the end of each partition this replica holds",
            ["topic", "partition"],
            mode="livesum",
        )
        self._lagging: set[tuple[str, int]] = set()
        self.consumer_stalled = self.gauge(
            "consumer_stalled",
            "1 while a partition this replica holds is stopped at a message its handler keeps "
            "failing on (retried, not dead-lettered; services/runtime/messaging.py)",
            ["topic", "partition", "group"],
        )
        self.feed_working = self.gauge(
            "consumer_feed_working",
            "1 while a watched subscription's feed works: it holds partitions, none stopped, "
            "each fetched lately (10 s by default), caught up since its last break "
            "(services/runtime/feed_health.py); 0 while not. Workers: the least of theirs",
            ["topic"],
            mode="livemin",
        )
        self.http_requests = self.counter(
            "http_requests_total",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
        )
        self.http_seconds = self.histogram(
            "http_request_duration_seconds", "HTTP request latency by route template", ["route"]
        )

    def report_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """The lag of each (topic, partition) held now. One lost since the last report (to another
        replica or worker in a rebalance) is dropped, so a sum across replicas or workers counts
        every partition once: set to 0 first, because in multiprocess mode a removed series
        keeps its last value in the worker's file."""
        for topic, partition in self._lagging - lags.keys():
            self.consumer_lag.labels(topic, str(partition)).set(0)
            self.consumer_lag.remove(topic, str(partition))
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic, str(partition)).set(lag)
        self._lagging = set(lags)

    # A service's own metrics are declared through these: the name gets the service's prefix and
    # the metric the service's registry, so a declaration is its name, help and labels.
    def counter(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        *,
        at_zero: Iterable[Sequence[str]] = (),
    ) -> Counter:
        """`at_zero`: the label values whose series exist at 0 from the start, so that an alert's
        increase() sees their first count (workers export no `_created` series to see it by)."""
        counter = Counter(f"{self.prefix}_{name}", help, list(labels), registry=self.registry)
        for values in at_zero:
            counter.labels(*values)
        return counter

    def gauge(
        self, name: str, help: str, labels: Sequence[str] = (), mode: GaugeMode = "livemax"
    ) -> Gauge:
        return Gauge(
            f"{self.prefix}_{name}",
            help,
            list(labels),
            registry=self.registry,
            multiprocess_mode=mode,
        )

    def histogram(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return Histogram(
            f"{self.prefix}_{name}", help, list(labels), buckets=buckets, registry=self.registry
        )

    def render(self) -> bytes:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, directory)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)
