"""The duties' metrics (names and bounded labels as in docs/architecture.md, "Conventions":
event types, never market ids)."""

from __future__ import annotations

from services.runtime.metrics import Metrics


class DutiesMetrics:
    def __init__(self, base: Metrics) -> None:
        self.events = base.counter(
            "duties_events_total",
            "Duties events written (reports filed or late, self-inspections recorded or missed, "
            "follow-ups closed, training, certificates, standings), by event type",
            ["type"],
        )
