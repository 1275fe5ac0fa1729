"""The policy from configuration: a file, a JSON variable over it, and a clear refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.inspection.app import build
from services.inspection.domain import DEFAULT_POLICY, Policy
from services.inspection.settings import InspectionSettings, InvalidPolicy

H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INSPECTION_POLICY", "INSPECTION_POLICY_FILE", "POLICY", "POLICY_FILE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"SENTINEL_{name}", raising=False)


def test_without_configuration_the_defaults_apply() -> None:
    assert InspectionSettings().load_policy() == DEFAULT_POLICY


def test_a_json_variable_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "INSPECTION_POLICY", '{"risk_due": {"critical": "1h"}, "patrol_task_within": "3d"}'
    )
    policy = InspectionSettings().load_policy()
    assert policy.risk_sla("critical") == H and policy.risk_sla("major") == 4 * H
    assert policy.patrol_task_within == 3 * D


def test_a_yaml_file_and_the_variable_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("risk_due:\n  major: 6h\n  critical: 3h\npatrol_interval: {D: 60d}\n")
    monkeypatch.setenv("INSPECTION_POLICY_FILE", str(path))
    monkeypatch.setenv("INSPECTION_POLICY", '{"risk_due": {"critical": "1h"}}')
    policy = InspectionSettings().load_policy()
    # A mapping the variable names is merged over the file's, entry by entry.
    assert (policy.risk_sla("major"), policy.risk_sla("critical")) == (6 * H, H)
    assert policy.patrol_every("D") == 60 * D


def test_a_json_file_reads_too(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"complaint_due_default": "48h"}')
    assert InspectionSettings(policy_file=path).load_policy().complaint_sla("price") == 48 * H


def test_stack_wide_policy_variables_are_not_inspections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY", '{"scoring": 1}')
    monkeypatch.setenv("SENTINEL_POLICY_FILE", "/nowhere/credit-policy.yaml")
    settings = InspectionSettings()
    assert (settings.policy, settings.policy_file) == (None, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("risk_due: {grave: 1h}\n", r"INSPECTION_POLICY_FILE=.*unknown severities grave"),
        ("risk_deu: {}\n", "unknown policy settings: risk_deu"),
        ("- a list\n", "must hold a mapping"),
        ("risk_due: {major: [\n", "not YAML or JSON"),
    ],
)
def test_a_bad_file_is_refused_naming_it(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    with pytest.raises(InvalidPolicy, match=message):
        InspectionSettings(policy_file=path).load_policy()


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidPolicy, match="cannot read it"):
        InspectionSettings(policy_file=tmp_path / "absent.yaml").load_policy()


@pytest.mark.parametrize(
    ("value", "message"),
    [("{bad", "INSPECTION_POLICY is not JSON"), ("[1]", "must be a JSON object")],
)
def test_a_variable_that_is_not_a_json_object_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("INSPECTION_POLICY", value)
    with pytest.raises(ValidationError, match=message):
        InspectionSettings()


def test_build_stops_on_a_bad_policy_and_takes_one_given() -> None:
    settings = InspectionSettings(policy={"risk_due": {"major": "-1h"}})
    with pytest.raises(
        SystemExit, match=r"invalid inspection policy \(INSPECTION_POLICY\): .*not a duration"
    ):
        build(settings)
    given = Policy.from_dict({"patrol_default_grade": "C"})
    app = build(settings, policy=given)
    assert app.state.inspection.policy is given
    good = InspectionSettings(policy={"patrol_default_grade": "A"})
    assert build(good).state.inspection.policy.patrol_default_grade == "A"
