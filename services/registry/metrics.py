"""The registry's own metrics, beside the runtime's (bounded labels); `base` prefixes each
name with `sentinel_registry_`."""

from __future__ import annotations

from services.runtime.metrics import Metrics


class RegistryMetrics:
    def __init__(self, base: Metrics) -> None:
        self.suspensions = base.counter(
            "merchant_suspensions_total",
            "Merchant status changes ordered by inspection (suspended, lifted)",
            ["change"],
        )
        self.renovation_statuses = base.counter(
            "market_renovation_status_changes_total",
            "Markets whose renovation status followed the campaign's renovation projects, by the "
            "status reached (planned, in_progress, completed, not_planned)",
            ["status"],
        )
