"""Counters whose first increment an alert must see (deploy/prometheus/alerts.yml) exist at 0
from the start, in one process and across workers, where no `_created` series is exported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.complaints.metrics import ComplaintsMetrics
from services.inspection.metrics import InspectionMetrics
from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics


async def _ignore(_: object) -> None:
    return None


def test_a_consumed_topic_has_its_dead_letter_count_at_zero() -> None:
    metrics = Metrics("unit")
    bus = Messaging("unit", "127.0.0.1:1", metrics, group_id="g", kafka_options={})
    bus.subscribe("some.topic.v1", _ignore)
    bus.subscribe_batch("other.topic.v1", _ignore)
    name = "sentinel_unit_dlq_messages_total"
    for topic in ("some.topic.v1", "other.topic.v1"):
        assert metrics.registry.get_sample_value(name, {"topic": topic}) == 0


def test_a_counter_has_the_series_declared_at_zero_and_no_others() -> None:
    metrics = Metrics("unit")
    things = metrics.counter(
        "things_total", "Things by kind and way", ["kind", "way"], at_zero=[("a", "x"), ("b", "y")]
    )
    name = "sentinel_unit_things_total"
    assert metrics.registry.get_sample_value(name, {"kind": "a", "way": "x"}) == 0
    assert metrics.registry.get_sample_value(name, {"kind": "b", "way": "y"}) == 0
    assert metrics.registry.get_sample_value(name, {"kind": "a", "way": "y"}) is None
    things.labels("a", "x").inc()
    assert metrics.registry.get_sample_value(name, {"kind": "a", "way": "x"}) == 1


def test_the_overdue_counters_start_at_zero_for_each_kind() -> None:
    inspection, complaints = Metrics("inspection"), Metrics("complaints")
    InspectionMetrics(inspection)
    ComplaintsMetrics(complaints)
    for entity in ("task", "rectification"):
        value = inspection.registry.get_sample_value(
            "sentinel_inspection_overdue_marked_total", {"entity": entity}
        )
        assert value == 0
    for clock in ("acceptance", "mediation"):
        value = complaints.registry.get_sample_value(
            "sentinel_complaints_overdue_total", {"clock": clock}
        )
        assert value == 0


WORKER = """
from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics

async def ignore(_):
    return None

bus = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
bus.subscribe("some.topic.v1", ignore)
"""


def test_a_worker_exports_the_dead_letter_count_at_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = Metrics("unit").render().decode()
    assert 'sentinel_unit_dlq_messages_total{topic="some.topic.v1"} 0.0' in text
    assert "_created" not in text  # what the alert cannot rely on here
