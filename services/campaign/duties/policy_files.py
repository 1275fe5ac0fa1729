"""Reads the self-inspection checklist data file and hands it to the domain as a `Checklist` (the
domain reads no files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.campaign.domain.self_inspection import Checklist


def load_checklist(path: Path) -> Checklist:
    """The checklist in `path`; ValueError naming the file and the problem when it is unusable."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a checklist is a mapping with version and items")
    try:
        return Checklist.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
