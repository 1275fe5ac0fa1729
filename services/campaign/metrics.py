"""The campaign's own metrics, beside the runtime's (names and bounded labels: docs/architecture.md,
"Conventions")."""

from __future__ import annotations

from prometheus_client import Counter

from services.runtime.metrics import Metrics


class CampaignMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_campaign"
        self.milestones = Counter(
            f"{p}_milestones_total",
            "Campaign milestones by scope and what happened (recorded, flagged_late)",
            ["scope", "change"],
            registry=r,
        )
        self.renovations = Counter(
            f"{p}_renovation_changes_total",
            "Renovation project changes (created, amended, stage_changed, check_recorded)",
            ["change"],
            registry=r,
        )
        self.disclosures = Counter(
            f"{p}_disclosures_total",
            "Public disclosures by kind and change (opened, reopened, resolved)",
            ["kind", "change"],
            registry=r,
        )
