"""Complaints' own metrics, beside the runtime's (names as docs/operations.md gives them, bounded
labels)."""

from __future__ import annotations

from services.runtime.metrics import Metrics

# Acceptance is decided within days: from an hour to past the 7 working days.
DAY = 86400
# The `score` of a closing whose complainant could not be reached for a rating (未能回访).
UNREACHED = "unreached"
DECISION_BUCKETS = (3600, 4 * 3600, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 10 * DAY, 14 * DAY)


class ComplaintsMetrics:
    def __init__(self, base: Metrics) -> None:
        self.transitions = base.counter(
            "transitions_total",
            "Complaints entering a state (received, accepted, rejected, closed), by category and "
            "channel",
            ["category", "channel", "state"],
        )
        self.cases = base.gauge(
            "cases",
            "Complaint cases by state and category, as the clock last counted them",
            ["state", "category"],
        )
        self.closed = base.counter(
            "closed_total",
            "Closed complaints by whether mediation ended within its limit (true, false)",
            ["within_limit"],
        )
        self.overdue = base.counter(
            "overdue_total",
            "Complaints marked overdue, by clock (acceptance, mediation)",
            ["clock"],
            at_zero=[("acceptance",), ("mediation",)],
        )
        self.transferred = base.counter(
            "transferred_total",
            "Received complaints moved (移送) to another market, by category and whether the "
            "market is in another district (true, false)",
            ["category", "across_districts"],
        )
        self.duplicates = base.counter(
            "duplicates_linked_total",
            "Complaints linked to an earlier one as duplicates, by category",
            ["category"],
        )
        self.time_to_acceptance = base.histogram(
            "time_to_acceptance_seconds",
            "From receipt to the acceptance decision (accepted or rejected)",
            ["decision"],
            buckets=DECISION_BUCKETS,
        )
        self.satisfaction = base.counter(
            "satisfaction_total",
            "Complainants' satisfaction (1-5) recorded at closing; `unreached` when they could "
            "not be reached for it",
            ["score"],
        )
        self.intake_rejected = base.counter(
            "intake_rejected_total",
            "Submissions refused for invalid input, by channel of arrival (http, topic) and field",
            ["via", "field"],
        )
