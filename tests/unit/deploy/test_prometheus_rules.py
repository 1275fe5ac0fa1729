"""Prometheus configuration and alert rules, checked by the real promtool (the `promtool` fixture
in conftest.py finds it, installs Debian's package where it is missing, and never skips)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from deploy.local import stack
from services.console.labels import ALERT_NAME
from tests.unit.deploy.metric_names import known_metric_names, references, unknown_metrics
from tests.unit.deploy.tools import run, run_tool

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "alerts_test.yml"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


# --- promtool -----------------------------------------------------------------------------------
def test_promtool_answers(promtool: str) -> None:
    assert "promtool" in run(promtool, "--version")


def test_the_compose_configuration_is_valid_and_loads_the_rules(promtool: str) -> None:
    output = run(promtool, "check", "config", CONFIG)
    assert f"SUCCESS: {CONFIG} is valid prometheus config file syntax" in output
    assert f"Checking {RULES}" in output
    assert "SUCCESS: 1 rule files found" in output
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_the_local_stacks_rendered_configuration_is_valid(promtool: str, tmp_path: Path) -> None:
    prometheus = stack.Prometheus(stack.profiles(tmp_path)["dev"])
    prometheus.home.mkdir(parents=True)
    assert prometheus._write_config()
    config = yaml.safe_load(prometheus.config.read_text())
    assert config["rule_files"] == [str(RULES)]
    output = run(promtool, "check", "config", prometheus.config)
    assert "SUCCESS: 1 rule files found" in output
    assert f"Checking {RULES}" in output
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_the_rules_are_valid(promtool: str) -> None:
    output = run(promtool, "check", "rules", RULES)
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    output = run(promtool, "test", "rules", RULE_TESTS)
    assert "SUCCESS" in output and "FAILED" not in output


def test_a_wrong_expectation_fails_the_rule_unit_tests(promtool: str, tmp_path: Path) -> None:
    """The unit tests compare what fires, so a broken rule cannot pass them."""
    shutil.copy(RULES, tmp_path / RULES.name)
    broken = RULE_TESTS.read_text().replace("summary: telemetry is down", "summary: fine")
    (tmp_path / RULE_TESTS.name).write_text(broken)
    done = run_tool(promtool, "test", "rules", tmp_path / RULE_TESTS.name)
    assert done.returncode != 0
    assert "SentinelServiceDown" in done.stdout + done.stderr


# --- what the rules say -------------------------------------------------------------------------
EXPECTED_ALERTS = {
    "SentinelServiceDown",
    "SentinelConsumerLagGrowing",
    "SentinelDeadLetters",
    "SentinelReadingRejectionRateHigh",
    "SentinelRiskRateSpiking",
    "SentinelRectificationsOverdueGrowing",
    "SentinelOutboxBacklog",
    "SentinelOutboxStalled",
    "SentinelComplaintsOverdue",
    "SentinelCriticalRisksOpen",
    "SentinelOverdueRectificationsGrowing",
    "SentinelConsumerFeedBroken",
}


def test_the_alerts_operators_rely_on_exist() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "alert names must be unique"
    assert set(names) >= EXPECTED_ALERTS
    assert all(name.startswith("Sentinel") for name in names)


def test_every_metric_an_alert_uses_is_exposed_by_a_service() -> None:
    problems = {}
    for rule in alert_rules():
        text = "\n".join([rule["expr"], *rule.get("annotations", {}).values()])
        if unknown := unknown_metrics(text):
            problems[rule["alert"]] = unknown
    assert not problems, f"alerts.yml names metrics no service exposes: {problems}"


def test_the_rules_name_real_metrics_and_patterns() -> None:
    used = references("\n".join(rule["expr"] for rule in alert_rules()))
    assert "sentinel_telemetry_readings_total" in used.names
    assert "sentinel_inspection_overdue_marked_total" in used.names
    # the gauges counted from the databases
    assert "sentinel_telemetry_open_risks" in used.names
    assert "sentinel_inspection_rectifications_overdue" in used.names
    assert "sentinel_[a-z]+_consumer_lag_messages" in used.patterns
    for service in ("registry", "telemetry", "inspection", "complaints", "credit", "campaign"):
        assert f"sentinel_{service}_consumer_lag_messages" in known_metric_names()


def test_the_name_check_catches_a_renamed_metric() -> None:
    assert unknown_metrics("rate(sentinel_telemetry_readings_total[5m])") == []
    assert unknown_metrics("rate(sentinel_telemetry_reading_total[5m])") == [
        "sentinel_telemetry_reading_total"
    ]
    assert unknown_metrics('{__name__=~"sentinel_[a-z]+_consumer_lagging"}') == [
        '__name__=~"sentinel_[a-z]+_consumer_lagging" (matches no metric)'
    ]


def test_every_alert_has_a_severity_and_says_what_to_do() -> None:
    doc = OPERATIONS_DOC.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in doc.splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook"} <= set(annotations), name
        path, _, anchor = annotations["runbook"].partition("#")
        assert path == "docs/operations.md", name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no section in {path}"


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == [RULES.name]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet"
    assert (firing | quiet) <= names, "tests of alerts that do not exist"


def test_the_compose_prometheus_mounts_the_rules_where_the_config_names_them() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(
        volume.rsplit(":", 2)[:2] for volume in compose["services"]["prometheus"]["volumes"]
    )
    config = yaml.safe_load(CONFIG.read_text())
    in_container = Path("/etc/prometheus")
    assert mounts["./deploy/prometheus/prometheus.yml"] == str(in_container / "prometheus.yml")
    for rule_file in config["rule_files"]:
        assert str(in_container / rule_file) in mounts.values(), rule_file
        assert (CONFIG.parent / rule_file).exists()


def test_every_alert_names_its_service_in_the_rule_tests() -> None:
    """Prometheus turns `job` into the `service` label Alertmanager groups and silences by and
    the console's page shows (服务): a rule that aggregates it away is shown 服务：— and its
    acknowledgement silences that alert of every service. promtool compares labels exactly,
    so each expected alert carrying `job` pins the rule keeping it."""
    tests = yaml.safe_load(RULE_TESTS.read_text())
    without = {
        check["alertname"]
        for case in tests["tests"]
        for check in case.get("alert_rule_test", [])
        for alert in check.get("exp_alerts") or []
        if not alert["exp_labels"].get("job")
    }
    assert without == set(), "alerts that name no service"


def test_every_alert_has_its_chinese_name_on_the_console() -> None:
    """The console's 告警 page names an alert by labels.ALERT_NAME and shows the English name of
    one missing there."""
    missing = {rule["alert"] for rule in alert_rules()} - set(ALERT_NAME)
    assert missing == set(), "alerts the console cannot name in Chinese"


def test_every_alert_reads_in_chinese_on_the_console() -> None:
    """The console's 告警 page shows `summary_zh` and `runbook_zh` (the runbook's first steps:
    the console serves no docs/, and the on-call person often has only a phone); the English
    `summary` stays for e-mail and the logs."""
    han = re.compile(r"[\u4e00-\u9fff]")
    for rule in alert_rules():
        annotations = rule["annotations"]
        for key in ("summary_zh", "runbook_zh"):
            assert han.search(annotations.get(key, "")), f"{rule['alert']}: no {key}"
        # the same labels as the English summary: it names the same thing
        labels = set(re.findall(r"\$labels\.(\w+)", annotations["summary"]))
        assert labels <= set(re.findall(r"\$labels\.(\w+)", annotations["summary_zh"])), rule
