"""The metric names the services really expose, and the `sentinel_*` names a PromQL query uses.

Alert rules and dashboards name metrics as strings; nothing else notices when a service renames
one. The known names come from instantiating every service's metrics classes on the runtime's
per-service registry (services/runtime/metrics.py plus services/<name>/metrics.py), so a rename
there breaks the checks in test_prometheus_rules.py and test_grafana_dashboard.py.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from functools import cache

from prometheus_client.metrics_core import Metric

from services.runtime.metrics import Metrics

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")

# What a family of each type exposes (text format, prometheus_client's default `_created`).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}

NAME = re.compile(r"\bsentinel_[a-z0-9_]*[a-z0-9]\b")
NAME_MATCHER = re.compile(r'__name__\s*(=~|=)\s*"([^"]*)"')


def family_names(family: Metric) -> set[str]:
    names = {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names | {sample.name for sample in family.samples}


@cache
def known_metric_names() -> frozenset[str]:
    """Every sample name the six services can expose."""
    names: set[str] = set()
    for service in SERVICES:
        base = Metrics(service)
        try:
            module = importlib.import_module(f"services.{service}.metrics")
        except ModuleNotFoundError:
            module = None  # a service with only the runtime's metrics
        if module is not None:
            for obj in vars(module).values():
                if (
                    inspect.isclass(obj)
                    and obj.__module__ == module.__name__
                    and len(inspect.signature(obj).parameters) == 1
                ):
                    obj(base)  # registers its metrics on the service's registry
        for family in base.registry.collect():
            names |= family_names(family)
    return frozenset(names)


@dataclass(frozen=True)
class References:
    names: frozenset[str]  # literal metric names
    patterns: frozenset[str]  # `__name__=~"..."` regular expressions


def references(text: str) -> References:
    """The `sentinel_*` metric names and `__name__` patterns in a PromQL expression (or prose)."""
    patterns: set[str] = set()
    names: set[str] = set()
    for op, value in NAME_MATCHER.findall(text):
        if value.startswith("sentinel_"):
            (patterns if op == "=~" else names).add(value)
    rest = NAME_MATCHER.sub("", text)
    names |= set(NAME.findall(rest))
    return References(frozenset(names), frozenset(patterns))


def unknown_metrics(text: str, known: frozenset[str] | None = None) -> list[str]:
    """What in `text` names no real metric: unknown names, patterns that match none."""
    known = known_metric_names() if known is None else known
    refs = references(text)
    problems = sorted(name for name in refs.names if name not in known)
    for pattern in sorted(refs.patterns):
        if not any(re.fullmatch(pattern, name) for name in known):
            problems.append(f'__name__=~"{pattern}" (matches no metric)')
    return problems
