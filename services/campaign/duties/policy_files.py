"""Reads the self-inspection checklist data file and hands it to the domain as a `Checklist` (the
domain reads no files)."""

from __future__ import annotations

from pathlib import Path

from services.campaign.domain.self_inspection import Checklist
from services.runtime.data_files import read_yaml_mapping


def load_checklist(path: Path) -> Checklist:
    """The checklist in `path`; ValueError naming the file and the problem when it is unusable."""
    return read_yaml_mapping(path, Checklist.from_dict, "a mapping with version and items")
