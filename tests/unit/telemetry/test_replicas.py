"""Replicas of telemetry share the readings group and never the registry projections' groups."""

from __future__ import annotations

from services.telemetry.app import build
from services.telemetry.settings import TelemetrySettings


def _groups(**extra: str) -> dict[str, str]:
    settings = TelemetrySettings(
        terminal_master_secret="m" * 32,
        consumer_group="tel",
        **extra,  # type: ignore[arg-type]
    )
    app = build(settings)
    return {topic: group for topic, group, _ in app.state.service.messaging._subscribers}


def test_replicas_split_the_readings_but_each_reads_the_whole_registry() -> None:
    first, second = _groups(http_port="8102"), _groups(http_port="8112")
    assert first["telemetry.readings.v1"] == second["telemetry.readings.v1"] == "tel"
    for topic in ("registry.terminals.v1", "registry.markets.v1"):
        assert first[topic] != second[topic]
        assert first[topic].startswith("tel-") and second[topic].startswith("tel-")


def test_a_replica_keeps_its_projection_groups_across_restarts() -> None:
    assert _groups() == _groups()
    assert _groups(replica_id="pod-7") == _groups(replica_id="pod-7")
    assert _groups(replica_id="pod-7")["registry.terminals.v1"] == "tel-terminals-pod-7"
