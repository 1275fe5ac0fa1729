"""Every rule and severity's count of raised risks exists at 0 from the start, in one process
and across workers: SentinelRiskRateSpiking sees a first raise by increase() from that 0, where
workers export no `_created` series for the rule's other way (deploy/prometheus/alerts.yml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.telemetry import RISK_RULES, SEVERITIES
from services.runtime.metrics import Metrics
from services.telemetry.metrics import TelemetryMetrics

NAME = "sentinel_telemetry_risk_transitions_total"


def test_each_rule_and_severity_has_its_raises_at_zero_before_the_first() -> None:
    base = Metrics("telemetry")
    metrics = TelemetryMetrics(base)
    for rule in RISK_RULES:
        for severity in SEVERITIES:
            labels = {"rule": rule, "severity": severity, "transition": "raise"}
            assert base.registry.get_sample_value(NAME, labels) == 0
    metrics.risks.labels("monitoring_gap", "minor", "raise").inc()
    labels = {"rule": "monitoring_gap", "severity": "minor", "transition": "raise"}
    assert base.registry.get_sample_value(NAME, labels) == 1


WORKER = """
from services.runtime.metrics import Metrics
from services.telemetry.metrics import TelemetryMetrics

TelemetryMetrics(Metrics("telemetry"))
"""


def test_a_worker_exports_every_raise_count_at_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = Metrics("telemetry").render().decode()
    for rule in RISK_RULES:
        for severity in SEVERITIES:
            series = f'{NAME}{{rule="{rule}",severity="{severity}",transition="raise"}} 0.0'
            assert series in text
    assert "_created" not in text  # what the alert cannot rely on here
