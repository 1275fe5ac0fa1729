"""The metrics of joint meetings and enforcement (names and bounded labels: docs/architecture.md,
"Conventions")."""

from __future__ import annotations

from services.runtime.metrics import Metrics


class JointMetrics:
    def __init__(self, base: Metrics) -> None:
        self.meetings = base.counter("joint_meetings_total", "Joint meetings recorded")
        self.items = base.counter(
            "action_items_total",
            "Action items of joint meetings by change (created, done_on_time, done_late, "
            "flagged_late)",
            ["change"],
        )
        self.cases = base.counter(
            "enforcement_cases_total",
            "Joint enforcement cases by change (opened, decided, closed) and origin kind",
            ["change", "origin"],
        )
