"""The data files a service reads at start (policies, calendars, catalogues, checklists): YAML,
read by the adapters and handed to the domain parsed, since a domain reads no files
(docs/architecture.md). What a file must hold is the domain's to check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def read_yaml(path: Path) -> Any:
    """What the YAML file holds; ValueError naming the file and why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML, cannot read it: {exc}") from exc


def read_yaml_mapping(path: Path, parse: Callable[[Mapping[str, Any]], T], shape: str) -> T:
    """`parse` over the mapping the YAML file holds; ValueError naming the file and either that
    it holds no mapping (`shape` says which one it should) or what `parse` found wrong."""
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected {shape}")
    try:
        return parse(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
