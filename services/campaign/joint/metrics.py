"""The metrics of joint meetings and enforcement (names and bounded labels: docs/architecture.md,
"Conventions")."""

from __future__ import annotations

from prometheus_client import Counter

from services.runtime.metrics import Metrics


class JointMetrics:
    def __init__(self, base: Metrics) -> None:
        r, p = base.registry, "sentinel_campaign"
        self.meetings = Counter(f"{p}_joint_meetings_total", "Joint meetings recorded", registry=r)
        self.items = Counter(
            f"{p}_action_items_total",
            "Action items of joint meetings by change (created, done_on_time, done_late, "
            "flagged_late)",
            ["change"],
            registry=r,
        )
        self.cases = Counter(
            f"{p}_enforcement_cases_total",
            "Joint enforcement cases by change (opened, decided, closed) and origin kind",
            ["change", "origin"],
            registry=r,
        )
