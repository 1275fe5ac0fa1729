"""deploy/kubernetes/ read as data, and what the code says each workload must match."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from contracts import topics
from services.runtime.settings import ServiceSettings
from tests.unit.deploy.kubeconform import MANIFESTS, manifest_files

CONSUMERS = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")
WORKLOADS = (*CONSUMERS, "console")


@functools.cache
def documents() -> list[dict[str, Any]]:
    """Every resource the kustomization applies (read once: copy one before changing it)."""
    out: list[dict[str, Any]] = []
    for path in manifest_files():
        out += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return out


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment['metadata']['name']}: one container expected"
    result: dict[str, Any] = containers[0]
    return result


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found: type[ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    return found


@functools.cache
def shared_subscriptions(service: str) -> frozenset[tuple[str, str]]:
    """(consumer group, topic) of every subscription the replicas of `service` share, read from
    the app the service builds; a replica's own view groups (named after it) are left out."""
    replica = "replica-probe"
    values: dict[str, Any] = {"replica_id": replica}
    if service in ("registry", "telemetry"):
        values["terminal_master_secret"] = "m" * 32
    app = importlib.import_module(f"services.{service}.app").build(
        settings_class(service)(**values)
    )
    subscribers = app.state.service.messaging._subscribers
    return frozenset(
        (group, topic) for topic, group, _ in subscribers if not group.endswith(replica)
    )


def partitions() -> dict[str, int]:
    return {t.name: t.partitions for t in vars(topics).values() if isinstance(t, topics.Topic)}


def env_names(deployment: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for var in container(deployment).get("env", []):
        yield var["name"], var


def yaml_files() -> set[Path]:
    return set(MANIFESTS.glob("*.yaml")) - {MANIFESTS / "kustomization.yaml"}
