"""Telemetry's own metrics, beside the runtime's (names and bounded labels: docs/architecture.md,
"Conventions").

The counters count what happened in this process; the gauge `sentinel_telemetry_open_risks`
counts what is open in the database now, recounted at start-up, every
`TELEMETRY_GAUGE_REFRESH_INTERVAL_S` and after each risk change (services/runtime/gauges.py), so
it is right after a restart and on every replica.
"""

from __future__ import annotations

from contracts.telemetry import RISK_RULES, SEVERITIES
from services.runtime.gauges import LabelledCounts, Labels
from services.runtime.metrics import Metrics


class TelemetryMetrics:
    def __init__(self, base: Metrics) -> None:
        # Names under the service's prefix, `sentinel_telemetry_` (services/runtime/metrics.py).
        self.readings = base.counter(
            "readings_total",
            "Readings by kind and outcome (accepted, rejected)",
            ["kind", "outcome"],
        )
        self.rejections = base.counter(
            "rejections_total", "Rejected readings by reason", ["reason"]
        )
        self.risks = base.counter(
            "risk_transitions_total",
            "Risk decisions by rule, severity and transition (raise, escalate, clear)",
            ["rule", "severity", "transition"],
            # Every rule and severity's raises, for SentinelRiskRateSpiking
            # (deploy/prometheus/alerts.yml).
            at_zero=[(rule, severity, "raise") for rule in RISK_RULES for severity in SEVERITIES],
        )
        self.state_writes = base.counter(
            "state_writes_total",
            "Terminal state rows written (one upsert each; pending states are written together)",
        )
        self.open_risks = base.gauge(
            "open_risks",
            "Risks open now, by rule and severity, as last counted in the database",
            ["rule", "severity"],
        )
        self._open_risks_counts = LabelledCounts(self.open_risks)
        self.batch_size = base.histogram(
            "batch_size_readings",
            "Readings per consumed batch",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
        )
        self.batch_seconds = base.histogram(
            "batch_duration_seconds",
            "Time to verify, evaluate and persist one batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.event_lag = base.histogram(
            "reading_lag_seconds",
            "Per batch: clock time at processing minus the oldest accepted reading's event time",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )

    def count_open_risks(self, found: list[tuple[str, str, int]]) -> None:
        """Set the open-risks gauge from a recount (rule, severity, count)."""
        counts: dict[Labels, float] = {(rule, severity): n for rule, severity, n in found}
        self._open_risks_counts.set(counts)
