"""The departments catalogue, read from its YAML file and handed to the rules already parsed (the
domain reads no files)."""

from __future__ import annotations

from pathlib import Path

from services.campaign.domain.joint import Departments
from services.runtime.data_files import read_yaml


def load_departments(path: Path) -> Departments:
    """The catalogue from its YAML file; ValueError naming the file and the entry when wrong."""
    return Departments.parse(read_yaml(path), str(path))
