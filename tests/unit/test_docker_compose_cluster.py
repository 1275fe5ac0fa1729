"""docker-compose.cluster.yml, the three-broker option on top of docker-compose.yml, cannot run
here either (no Docker engine): these checks keep it consistent with the main file, the rendered
broker configurations and the local stack's `cluster` profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deploy.kafka import compose
from deploy.kafka.acls import PRINCIPALS
from deploy.kafka.security import password_var
from deploy.local import stack

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
OVERRIDE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
CLUSTER: dict[str, Any] = OVERRIDE["services"]
NODES = {n: compose.node_host(n) for n in compose.CLUSTER_NODES}


def merged(name: str) -> dict[str, Any]:
    """A service as compose sees it with both files: maps merged key by key, the rest replaced
    (ports and volumes are appended, and only new services declare them here)."""
    out = dict(BASE.get(name, {}))
    for key, value in CLUSTER.get(name, {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def node_properties(name: str) -> tuple[str, dict[str, str]]:
    """The container path of a node's configuration and the committed file's properties."""
    path = merged(name)["environment"]["SENTINEL_KAFKA_PROPERTIES"]
    assert path.startswith(f"{compose.MOUNT}/")
    local = compose.DOCKER_DIR / path.removeprefix(f"{compose.MOUNT}/")
    return path, stack.parse_properties(local.read_text())


def test_three_nodes_run_the_base_brokers_image_and_entrypoint() -> None:
    assert set(NODES.values()) <= set(CLUSTER)
    for name in NODES.values():
        node = merged(name)
        assert node["image"] == BASE["kafka"]["image"]
        assert node["entrypoint"] == BASE["kafka"]["entrypoint"]
        assert node["healthcheck"]["test"] == BASE["kafka"]["healthcheck"]["test"]
        mounted = {v.split(":")[1]: v.split(":")[0] for v in node["volumes"]}
        assert mounted[compose.MOUNT] == "./deploy/kafka/docker"
        assert mounted[compose.DATA_DIR].endswith("-data")
    data = [merged(name)["volumes"][0].split(":")[0] for name in NODES.values()]
    assert len(set(data)) == 3
    assert set(data) - {"kafka-data"} <= set(OVERRIDE["volumes"])


def test_each_node_has_its_rendered_configuration_and_every_principals_password() -> None:
    ids = set()
    for n, name in NODES.items():
        path, props = node_properties(name)
        assert path == f"{compose.MOUNT}/cluster/server-{n}.properties"
        assert compose.cluster_file(n).read_text() == compose.render(n), (
            f"{compose.cluster_file(n)} is stale: python -m deploy.kafka.compose"
        )
        assert props == compose.cluster_broker_properties(n)
        env = merged(name)["environment"]
        for principal in PRINCIPALS:
            var = password_var(principal)
            assert env[var] == f"${{{var}:?set {var}}}"
        ids.add(env["CLUSTER_ID"])
    assert len(ids) == 1, "the three volumes must be formatted with one cluster id"


def test_the_quorum_names_the_three_services_and_each_advertises_its_published_port() -> None:
    for n, name in NODES.items():
        _, props = node_properties(name)
        assert props["node.id"] == str(n)
        voters = dict(v.split("@") for v in props["controller.quorum.voters"].split(","))
        assert voters == {str(k): f"{host}:9093" for k, host in NODES.items()}
        port = compose.host_port(n)
        assert f"HOST://127.0.0.1:{port}" in props["advertised.listeners"]
        assert f"SASL_PLAINTEXT://{name}:9092" in props["advertised.listeners"]
        assert f"127.0.0.1:{port}:{port}" in merged(name)["ports"]
        # Three replicas of every topic, internal ones too; acks=all needs two.
        assert props["default.replication.factor"] == "3"
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.replication.factor"] == "3"
        assert props["min.insync.replicas"] == "2"
        assert props["transaction.state.log.min.isr"] == "2"
    # The single broker of the main file is left as it was.
    assert compose.compose_broker_properties()["controller.quorum.voters"] == "1@kafka:9093"


def test_every_client_bootstraps_from_all_three() -> None:
    three = ",".join(f"{host}:9092" for host in NODES.values())
    users = [
        name
        for name, svc in BASE.items()
        if "KAFKA_BOOTSTRAP_SERVERS" in svc.get("environment", {})
    ]
    assert users, "the main file's services lost KAFKA_BOOTSTRAP_SERVERS"
    for name in users:
        assert merged(name)["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == three, name


def test_topics_are_provisioned_with_three_replicas_once_the_three_are_healthy() -> None:
    topics = merged("topics")
    command = topics["command"]
    assert command[:3] == BASE["topics"]["command"][:3]
    assert command[-1] == "--acls"
    args = stack.parse_args(command[2:])
    assert args.command == "provision" and args.acls
    assert args.replication_factor == 3
    assert args.bootstrap == ",".join(f"{host}:9092" for host in NODES.values())
    for name in NODES.values():
        assert topics["depends_on"][name] == {"condition": "service_healthy"}
