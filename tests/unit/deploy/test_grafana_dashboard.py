"""The Grafana dashboard and its provisioning: valid JSON, queries that parse and name metrics the
services really expose, and provisioning that finds the dashboard where docker-compose mounts it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy.metric_names import references, unknown_metrics
from tests.unit.deploy.tools import run

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "market-sentinel.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
# Grafana's own variables, replaced by a plain range so that promtool can parse the query.
GRAFANA_VARIABLES = re.compile(r"\$__(rate_interval|interval|range)")


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def mounts(service: str) -> dict[str, str]:
    """host path → container path for a compose service's bind mounts."""
    out = {}
    for volume in COMPOSE["services"][service]["volumes"]:
        host, container, *_ = volume.split(":")
        out[host.removeprefix("./")] = container
    return out


# --- the dashboard ------------------------------------------------------------------------------
def test_the_dashboard_is_valid_json_with_a_stable_uid() -> None:
    dashboard = load()
    assert dashboard["uid"] == "market-sentinel"
    assert dashboard["title"] == "Market Sentinel"
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels(load()):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_panel_queries_prometheus_through_the_datasource_variable() -> None:
    dashboard = load()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel.get("targets"), panel
        assert panel["datasource"] == DATASOURCE_REF, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE_REF, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_every_query_names_metrics_the_services_expose() -> None:
    problems = {}
    for panel, target in queries(load()):
        if unknown := unknown_metrics(target["expr"]):
            problems[f"{panel['title']} ({target['refId']})"] = unknown
    assert not problems, f"dashboard panels name metrics no service exposes: {problems}"


def test_every_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (Grafana's variables set to 5m)."""
    rules = [
        {
            "record": f"dashboard:panel_{panel['id']}_{target['refId'].lower()}",
            "expr": GRAFANA_VARIABLES.sub("5m", target["expr"]),
        }
        for panel, target in queries(load())
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run(promtool, "check", "rules", path)


def test_the_dashboard_shows_what_operators_watch() -> None:
    used: set[str] = set()
    for _panel, target in queries(load()):
        refs = references(target["expr"])
        used |= refs.names | refs.patterns
    for needed in (
        "sentinel_telemetry_readings_total",  # throughput
        "sentinel_[a-z]+_events_consumed_total",  # events consumed per service
        "sentinel_[a-z]+_consumer_lag_messages",  # lag
        "sentinel_[a-z]+_consumer_feed_working",  # whether each replica's feed works
        "sentinel_telemetry_rejections_total",  # rejections by reason
        "sentinel_telemetry_risk_transitions_total",  # risks by rule and severity
        "sentinel_inspection_task_transitions_total",  # tasks
        "sentinel_complaints_cases",  # complaints by state and category
        "sentinel_credit_merchants_by_grade",  # grade distribution
        "sentinel_[a-z]+_dlq_messages_total",  # dead letters parked
        "sentinel_[a-z]+_dlq_unresolved_messages",  # and those not yet worked off
        "sentinel_[a-z]+_outbox_pending_events",  # outbox backlog
        "sentinel_telemetry_open_risks",  # open risks, counted from the database
        "sentinel_inspection_tasks",  # unfinished tasks by state and district
        "sentinel_inspection_rectifications_overdue",  # overdue rectifications by district
    ):
        assert needed in used, f"no panel shows {needed}"


# --- provisioning -------------------------------------------------------------------------------
def test_the_datasource_is_the_compose_prometheus() -> None:
    config = yaml.safe_load(DATASOURCES.read_text())
    assert config["apiVersion"] == 1
    (datasource,) = config["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["isDefault"] is True
    assert datasource["url"] == "http://prometheus:9090"
    assert "--web.listen-address=:9090" in COMPOSE["services"]["prometheus"]["command"]


def test_the_dashboard_provider_reads_the_mounted_dashboard_folder() -> None:
    config = yaml.safe_load(PROVIDERS.read_text())
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    grafana = mounts("grafana")
    folder = DASHBOARD.parent.relative_to(ROOT).as_posix()
    assert grafana[folder] == provider["options"]["path"]
    provisioning = GRAFANA.joinpath("provisioning").relative_to(ROOT).as_posix()
    assert grafana[provisioning] == "/etc/grafana/provisioning"
    environment = COMPOSE["services"]["grafana"]["environment"]
    home = environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
