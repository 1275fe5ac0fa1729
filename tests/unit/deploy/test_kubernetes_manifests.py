"""What deploy/kubernetes/ says, checked against the code: probes on the services' ports, a
PodDisruptionBudget per Deployment, lag-based scaling on each consumer group and topic the
services share (never past the topic's partitions), settings by names the services read, and
no secret value in the repository."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from services.console.settings import ConsoleSettings
from services.runtime.settings import ServiceSettings
from tests.unit.deploy.kubeconform import MANIFESTS, manifest_files
from tests.unit.deploy.manifests import (
    CONSUMERS,
    WORKLOADS,
    container,
    documents,
    env_names,
    of_kind,
    partitions,
    settings_class,
    shared_subscriptions,
    yaml_files,
)

# The console has no /readyz (services/console/app.py serves /healthz only); the services'
# /readyz is services/runtime/app.py's: broker and database reachable.
READINESS = {name: "/readyz" for name in CONSUMERS} | {"console": "/healthz"}
# KEDA's Kafka scaler parameters these manifests may use (KEDA's docs, "Apache Kafka").
KAFKA_SCALER_KEYS = {
    "bootstrapServers",
    "bootstrapServersFromEnv",
    "consumerGroup",
    "topic",
    "lagThreshold",
    "activationLagThreshold",
    "offsetResetPolicy",
    "allowIdleConsumers",
    "excludePersistentLag",
    "limitToPartitionsWithLag",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL|_KEY$", re.IGNORECASE)
CREDENTIAL_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def _settings(service: str) -> type[ServiceSettings]:
    return ConsoleSettings if service == "console" else settings_class(service)


def test_the_kustomization_applies_every_manifest_of_the_folder() -> None:
    assert set(manifest_files()) == yaml_files()


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_serves_its_port_with_both_probes(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    box = container(deployment)
    port = _settings(name).default_port
    assert box["ports"] == [{"name": "http", "containerPort": port}]
    assert box["command"] == ["python", "-m", f"services.{name}"]
    assert box["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert box["readinessProbe"]["httpGet"] == {"path": READINESS[name], "port": "http"}
    assert box["startupProbe"]["httpGet"]["path"] == "/healthz"
    service = of_kind("Service")[name]
    assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_has_resources_and_runs_unprivileged(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    box = container(deployment)
    for bound in ("requests", "limits"):
        assert set(box["resources"][bound]) == {"cpu", "memory"}, (name, bound)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert box["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert box["image"] == "market-sentinel"


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_deployment_has_a_disruption_budget_over_its_pods(name: str) -> None:
    pods = of_kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
    budgets = [
        pdb
        for pdb in of_kind("PodDisruptionBudget").values()
        if pdb["spec"]["selector"]["matchLabels"].items() <= pods.items()
    ]
    assert len(budgets) == 1, f"{name}: {len(budgets)} PodDisruptionBudgets select its pods"
    assert budgets[0]["spec"].get("minAvailable", 0) >= 1


def test_the_image_of_the_kustomization_is_the_containers() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    named = {image["name"] for image in kustomization["images"]}
    assert {container(d)["image"] for d in of_kind("Deployment").values()} <= named


@pytest.mark.parametrize("name", CONSUMERS)
def test_each_consumer_scales_on_the_lag_of_every_group_and_topic_it_shares(name: str) -> None:
    scaled = [
        s for s in of_kind("ScaledObject").values() if s["spec"]["scaleTargetRef"]["name"] == name
    ]
    assert len(scaled) == 1, f"{name}: {len(scaled)} ScaledObjects"
    spec = scaled[0]["spec"]
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    triggers = [t["metadata"] for t in spec["triggers"] if t["type"] == "kafka"]
    assert len(triggers) == len(spec["triggers"])
    wanted = shared_subscriptions(name)
    assert wanted, f"{name} consumes nothing in a shared group"
    assert {(t["consumerGroup"], t["topic"]) for t in triggers} == wanted
    assert len(triggers) == len(wanted), f"{name}: a (group, topic) has two triggers"
    for t in triggers:
        assert set(t) <= KAFKA_SCALER_KEYS, set(t) - KAFKA_SCALER_KEYS
        assert int(t["lagThreshold"]) > 0
        assert t["allowIdleConsumers"] == "false"
        assert t["bootstrapServersFromEnv"] in of_kind("ConfigMap")["sentinel-config"]["data"]


@pytest.mark.parametrize("name", CONSUMERS)
def test_no_consumer_scales_past_one_replica_per_partition(name: str) -> None:
    [spec] = [
        s["spec"]
        for s in of_kind("ScaledObject").values()
        if s["spec"]["scaleTargetRef"]["name"] == name
    ]
    counts = partitions()
    most = max(counts[t["metadata"]["topic"]] for t in spec["triggers"])
    assert spec["maxReplicaCount"] == most, (
        f"{name}: maxReplicaCount {spec['maxReplicaCount']}, its topics' partitions {most}"
    )
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    # The autoscaler owns the count: a `replicas` in the Deployment would fight it on apply.
    assert "replicas" not in of_kind("Deployment")[name]["spec"]


@pytest.mark.parametrize("name", CONSUMERS)
def test_keda_logs_in_to_kafka_as_the_service_does(name: str) -> None:
    auths = of_kind("TriggerAuthentication")
    [scaled] = [
        s for s in of_kind("ScaledObject").values() if s["spec"]["scaleTargetRef"]["name"] == name
    ]
    refs = {t["authenticationRef"]["name"] for t in scaled["spec"]["triggers"]}
    assert len(refs) == 1 and refs <= set(auths)
    auth = auths[refs.pop()]["spec"]
    config = of_kind("ConfigMap")["sentinel-config"]["data"]
    by_config = {r["parameter"]: config[r["key"]] for r in auth["configMapTargetRef"]}
    assert by_config == {"sasl": "scram_sha512", "username": name}
    [password] = auth["secretTargetRef"]
    env = dict(env_names(of_kind("Deployment")[name]))
    own = env[f"{name.upper()}_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert (password["name"], password["key"]) == (own["name"], own["key"])
    assert config["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"


def _pod_environment(name: str) -> dict[str, str]:
    """What the workload's process finds in its environment: the ConfigMap it takes whole, then
    its own `env`; a value from elsewhere (a Secret's key, the pod's name) is a stand-in naming
    its source."""
    box = container(of_kind("Deployment")[name])
    assert box["envFrom"] == [{"configMapRef": {"name": "sentinel-config"}}]
    environ = dict(of_kind("ConfigMap")["sentinel-config"]["data"])
    for variable, var in env_names(of_kind("Deployment")[name]):
        environ[variable] = var.get("value", f"from-{variable.lower()}")
    return environ


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_builds_its_settings_and_kafka_login_from_its_pod(name: str) -> None:
    """The settings check (services/runtime/settings.py) refuses SASL without a login: a
    workload the ConfigMap puts on SASL_PLAINTEXT must get its own username and password, or
    it would not start. The console needs one too, for the risk board's live feed
    (services/console/live.py)."""
    environ = _pod_environment(name)
    settings = _settings(name).from_environ(environ)
    password = f"{name.upper()}_KAFKA_SASL_PASSWORD"
    assert settings.kafka_client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": name,
        "sasl_plain_password": f"from-{password.lower()}",
    }
    assert settings.kafka_bootstrap_servers == environ["KAFKA_BOOTSTRAP_SERVERS"]
    # Each workload gets its own password and no other principal's.
    logins = {v for v in environ if v.endswith("_KAFKA_SASL_PASSWORD")}
    assert logins == {password}


def _read_by_some_service(variable: str) -> bool:
    """Whether a service reads `variable`: `<PREFIX><FIELD>`, or for a field not kept to the
    service's own prefix, `<FIELD>` or `SENTINEL_<FIELD>` (services/runtime/settings.py)."""
    for service in WORKLOADS:
        cls = _settings(service)
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for field in cls.model_fields:
            names = {f"{prefix}{field.upper()}"}
            if field not in cls.own_only:
                names |= {field.upper(), f"SENTINEL_{field.upper()}"}
            if variable in names:
                return True
    return False


def test_every_setting_given_is_one_a_service_reads() -> None:
    given = set(of_kind("ConfigMap")["sentinel-config"]["data"])
    for deployment in of_kind("Deployment").values():
        given |= {name for name, _ in env_names(deployment)}
    # Read by KEDA (the TriggerAuthentications), not by a service.
    given.discard("KEDA_KAFKA_SASL")
    unread = sorted(v for v in given if not _read_by_some_service(v))
    assert not unread, f"no service reads {unread}"


def test_secrets_come_from_a_secret_never_from_the_repository() -> None:
    assert not of_kind("Secret"), "a Secret in the repository carries its values"
    config = of_kind("ConfigMap")["sentinel-config"]["data"]
    assert not [key for key in config if SECRET_NAME.search(key)]
    for deployment in of_kind("Deployment").values():
        for name, var in env_names(deployment):
            if SECRET_NAME.search(name):
                assert "value" not in var, f"{name} is written in the manifest"
                assert var["valueFrom"]["secretKeyRef"] == {"name": "sentinel-secrets", "key": name}
    for text in (path.read_text() for path in yaml_files()):
        assert not CREDENTIAL_IN_URL.search(text)


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("registry", "SENTINEL_TERMINAL_MASTER_SECRET"),
        ("telemetry", "SENTINEL_TERMINAL_MASTER_SECRET"),
        ("console", "CONSOLE_SESSION_SECRET"),
    ],
)
def test_the_secrets_a_service_cannot_start_without_are_given_to_it(name: str, needs: str) -> None:
    env = dict(env_names(of_kind("Deployment")[name]))
    assert env[needs]["valueFrom"]["secretKeyRef"]["key"] == needs


def test_the_terminal_master_secret_reaches_only_registry_and_telemetry() -> None:
    holders = {
        name
        for name, deployment in of_kind("Deployment").items()
        if "SENTINEL_TERMINAL_MASTER_SECRET" in dict(env_names(deployment))
    }
    assert holders == {"registry", "telemetry"}


def _all_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _all_strings(v)]
    return [node] if isinstance(node, str) else []


def test_the_manifests_name_no_loopback_address() -> None:
    # Services reach each other and the infrastructure by cluster names, never 127.0.0.1.
    found = [s for s in _all_strings(documents()) if "127.0.0.1" in s or "localhost" in s]
    assert not found
