"""The registry's own metrics, beside the runtime's (`sentinel_registry_*` names, bounded
labels)."""

from __future__ import annotations

from prometheus_client import Counter

from services.runtime.metrics import Metrics


class RegistryMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_registry"
        self.suspensions = Counter(
            f"{p}_merchant_suspensions_total",
            "Merchant status changes ordered by inspection (suspended, lifted)",
            ["change"],
            registry=r,
        )
        self.renovation_statuses = Counter(
            f"{p}_market_renovation_status_changes_total",
            "Markets whose renovation status followed the campaign's renovation projects, by the "
            "status reached (planned, in_progress, completed, not_planned)",
            ["status"],
            registry=r,
        )
