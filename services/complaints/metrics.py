"""Complaints' own metrics, beside the runtime's (names as docs/operations.md gives them, bounded
labels)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.runtime.metrics import Metrics

# Acceptance is decided within days: from an hour to past the 7 working days.
DAY = 86400
DECISION_BUCKETS = (3600, 4 * 3600, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 10 * DAY, 14 * DAY)


class ComplaintsMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_complaints"
        self.transitions = Counter(
            f"{p}_transitions_total",
            "Complaints entering a state (received, accepted, rejected, closed), by category and "
            "channel",
            ["category", "channel", "state"],
            registry=r,
        )
        self.cases = Gauge(
            f"{p}_cases",
            "Complaint cases by state and category, as the clock last counted them",
            ["state", "category"],
            registry=r,
        )
        self.closed = Counter(
            f"{p}_closed_total",
            "Closed complaints by whether mediation ended within its limit (true, false)",
            ["within_limit"],
            registry=r,
        )
        self.overdue = Counter(
            f"{p}_overdue_total",
            "Complaints marked overdue, by clock (acceptance, mediation)",
            ["clock"],
            registry=r,
        )
        self.duplicates = Counter(
            f"{p}_duplicates_linked_total",
            "Complaints linked to an earlier one as duplicates, by category",
            ["category"],
            registry=r,
        )
        self.time_to_acceptance = Histogram(
            f"{p}_time_to_acceptance_seconds",
            "From receipt to the acceptance decision (accepted or rejected)",
            ["decision"],
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.satisfaction = Counter(
            f"{p}_satisfaction_total",
            "Complainants' satisfaction (1-5) recorded at closing",
            ["score"],
            registry=r,
        )
        self.intake_rejected = Counter(
            f"{p}_intake_rejected_total",
            "Submissions refused for invalid input, by channel of arrival (http, topic) and field",
            ["via", "field"],
            registry=r,
        )
