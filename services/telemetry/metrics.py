"""Telemetry's own metrics, beside the runtime's (DESIGN §9 names, bounded labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.runtime.metrics import Metrics


class TelemetryMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_telemetry"
        self.readings = Counter(
            f"{p}_readings_total",
            "Readings by kind and outcome (accepted, rejected)",
            ["kind", "outcome"],
            registry=r,
        )
        self.rejections = Counter(
            f"{p}_rejections_total", "Rejected readings by reason", ["reason"], registry=r
        )
        self.risks = Counter(
            f"{p}_risk_transitions_total",
            "Risk decisions by rule, severity and transition (raise, escalate, clear)",
            ["rule", "severity", "transition"],
            registry=r,
        )
        self.batch_size = Histogram(
            f"{p}_batch_size_readings",
            "Readings per consumed batch",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
            registry=r,
        )
        self.batch_seconds = Histogram(
            f"{p}_batch_duration_seconds",
            "Time to verify, evaluate and persist one batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.event_lag = Histogram(
            f"{p}_reading_lag_seconds",
            "Per batch: clock time at processing minus the oldest accepted reading's event time",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=r,
        )
