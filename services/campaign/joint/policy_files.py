"""The departments catalogue, read from its YAML file and handed to the rules already parsed (the
domain reads no files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.campaign.domain.joint import Departments


def load_departments(path: Path) -> Departments:
    """The catalogue from its YAML file; ValueError naming the file and the entry when wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the departments file: {exc}") from exc
    return Departments.parse(data, str(path))
