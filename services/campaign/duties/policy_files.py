"""Reads the self-inspection checklist data file and hands it to the domain as a `Checklist` (the
domain reads no files)."""

from __future__ import annotations

from pathlib import Path

from services.campaign.domain.self_inspection import Checklist
from services.runtime.data_files import read_yaml


def load_checklist(path: Path) -> Checklist:
    """The checklist in `path`; ValueError naming the file and the problem when it is unusable."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a checklist is a mapping with version and items")
    try:
        return Checklist.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
