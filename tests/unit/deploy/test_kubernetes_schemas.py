"""kubeconform checks deploy/kubernetes/ against the Kubernetes and KEDA schemas, strict, offline,
and rejects a broken manifest naming the field (tests/unit/deploy/kubeconform.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.kubeconform import manifest_files, validate
from tests.unit.deploy.manifests import documents, of_kind


def test_every_resource_of_the_kustomization_is_valid(
    kubeconform: str, kubernetes_schemas: Path
) -> None:
    verdicts = validate(kubeconform, kubernetes_schemas, manifest_files())
    problems = [v for v in verdicts if v["status"] != "statusValid"]
    assert not problems, "\n".join(f"{p['kind']} {p['name']}: {p.get('msg')}" for p in problems)
    # Each resource was checked against a schema (none skipped for want of one).
    checked = sorted((v["kind"], v["name"]) for v in verdicts)
    assert checked == sorted((d["kind"], d["metadata"]["name"]) for d in documents())
    assert {"Deployment", "ScaledObject", "TriggerAuthentication"} <= {k for k, _ in checked}


def _first_trigger(doc: dict[str, Any]) -> dict[str, Any]:
    trigger: dict[str, Any] = doc["spec"]["triggers"][0]
    return trigger


def _probe(doc: dict[str, Any], name: str) -> dict[str, Any]:
    probe: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0][name]
    return probe


Break = Callable[[dict[str, Any]], None]
BROKEN: list[tuple[str, str, str, Break, str]] = [
    (
        "a probe's period as a string",
        "Deployment",
        "telemetry",
        lambda d: _probe(d, "readinessProbe").update(periodSeconds="5"),
        "/spec/template/spec/containers/0/readinessProbe/periodSeconds",
    ),
    (
        "an unknown field in a probe (strict)",
        "Deployment",
        "registry",
        lambda d: _probe(d, "livenessProbe")["httpGet"].update(pathh="/healthz"),
        "'pathh' not allowed",
    ),
    (
        "an unknown field in a PodDisruptionBudget (strict)",
        "PodDisruptionBudget",
        "credit",
        lambda d: d["spec"].update(maxUnavaliable=1),
        "'maxUnavaliable' not allowed",
    ),
    (
        "a Kafka trigger's lag threshold as a number",
        "ScaledObject",
        "telemetry",
        lambda d: _first_trigger(d)["metadata"].update(lagThreshold=50000),
        "/spec/triggers/0/metadata/lagThreshold",
    ),
    (
        "a trigger without its metadata",
        "ScaledObject",
        "inspection",
        lambda d: _first_trigger(d).pop("metadata"),
        "missing property 'metadata'",
    ),
    (
        "a trigger's misspelt authentication reference",
        "ScaledObject",
        "complaints",
        lambda d: _first_trigger(d).update(authRef=_first_trigger(d).pop("authenticationRef")),
        "'authRef' not allowed",
    ),
    (
        "a replica bound as a string",
        "ScaledObject",
        "campaign",
        lambda d: d["spec"].update(maxReplicaCount="3"),
        "/spec/maxReplicaCount",
    ),
    (
        "a secret reference without its key",
        "TriggerAuthentication",
        "credit-kafka",
        lambda d: d["spec"]["secretTargetRef"][0].pop("key"),
        "missing property 'key'",
    ),
]


@pytest.mark.parametrize(
    ("kind", "name", "breaks", "named"),
    [pytest.param(*case[1:], id=case[0]) for case in BROKEN],
)
def test_a_broken_resource_is_rejected_naming_the_field(
    kubeconform: str,
    kubernetes_schemas: Path,
    tmp_path: Path,
    kind: str,
    name: str,
    breaks: Break,
    named: str,
) -> None:
    doc = copy.deepcopy(of_kind(kind)[name])
    breaks(doc)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc))
    [verdict] = validate(kubeconform, kubernetes_schemas, [broken])
    assert verdict["status"] == "statusInvalid", verdict
    assert named in verdict["msg"], verdict["msg"]
    # The same resource unbroken passes: the failure is the field's.
    broken.write_text(yaml.safe_dump(of_kind(kind)[name]))
    [verdict] = validate(kubeconform, kubernetes_schemas, [broken])
    assert verdict["status"] == "statusValid", verdict
