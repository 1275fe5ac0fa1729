"""Credit's own metrics, beside the runtime's (names and bounded labels: docs/architecture.md,
"Conventions"); `base` prefixes each name with `sentinel_credit_`."""

from __future__ import annotations

from services.runtime.gauges import LabelledCounts
from services.runtime.metrics import Metrics


class CreditMetrics:
    def __init__(self, base: Metrics) -> None:
        self.adjustments = base.counter(
            "adjustments_total",
            "Ledger adjustments recorded, by kind (the policy's reason)",
            ["kind"],
        )
        self.events = base.counter(
            "events_total",
            "Consumed events by topic and outcome (applied, duplicate, ignored)",
            ["topic", "outcome"],
        )
        self.changes = base.counter(
            "score_changes_total",
            "Published score changes by reason (adjustment, fade)",
            ["reason"],
        )
        self.grades = base.gauge("merchants_by_grade", "Merchants holding each grade", ["grade"])
        self.honours = base.counter(
            "honour_entries_total",
            "Entries of the honour and warning lists drawn, by list, entity and change "
            "(listed, delisted)",
            ["list", "entity", "change"],
        )
        self.assessments = base.counter(
            "assessments_published_total",
            "Assessments published, by scope (market, district)",
            ["scope"],
        )
        # Counted from the database (Credit.refresh_objection_counts): right after a restart.
        self.objections_open = LabelledCounts(
            base.gauge(
                "objections_open",
                "Open objections to credit records (信用异议), by district and whether they are "
                "past their decision deadline (overdue: true, false)",
                ["district", "overdue"],
            )
        )
