"""The campaign's own metrics, beside the runtime's (names and bounded labels: docs/architecture.md,
"Conventions")."""

from __future__ import annotations

from services.runtime.metrics import Metrics


class CampaignMetrics:
    def __init__(self, base: Metrics) -> None:
        self.milestones = base.counter(
            "milestones_total",
            "Campaign milestones by scope and what happened (recorded, flagged_late)",
            ["scope", "change"],
        )
        self.renovations = base.counter(
            "renovation_changes_total",
            "Renovation project changes (created, amended, stage_changed, check_recorded)",
            ["change"],
        )
        self.disclosures = base.counter(
            "disclosures_total",
            "Public disclosures by kind and change (opened, reopened, resolved)",
            ["kind", "change"],
        )
