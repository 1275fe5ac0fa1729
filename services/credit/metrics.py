"""Credit's own metrics, beside the runtime's (names and bounded labels: docs/architecture.md,
"Conventions")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from services.runtime.metrics import Metrics


class CreditMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_credit"
        self.adjustments = Counter(
            f"{p}_adjustments_total",
            "Ledger adjustments recorded, by kind (the policy's reason)",
            ["kind"],
            registry=r,
        )
        self.events = Counter(
            f"{p}_events_total",
            "Consumed events by topic and outcome (applied, duplicate, ignored)",
            ["topic", "outcome"],
            registry=r,
        )
        self.changes = Counter(
            f"{p}_score_changes_total",
            "Published score changes by reason (adjustment, fade)",
            ["reason"],
            registry=r,
        )
        self.grades = Gauge(
            f"{p}_merchants_by_grade",
            "Merchants holding each grade",
            ["grade"],
            registry=r,
        )
        self.honours = Counter(
            f"{p}_honour_entries_total",
            "Entries of the honour and warning lists drawn, by list, entity and change "
            "(listed, delisted)",
            ["list", "entity", "change"],
            registry=r,
        )
        self.assessments = Counter(
            f"{p}_assessments_published_total",
            "Assessments published, by scope (market, district)",
            ["scope"],
            registry=r,
        )
