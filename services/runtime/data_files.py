"""The data files a service reads at start (policies, calendars, catalogues, checklists): YAML,
read by the adapters and handed to the domain parsed, since a domain reads no files
(docs/architecture.md). What a file must hold is the domain's to check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


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
