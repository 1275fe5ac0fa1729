"""The inspection's data files, read and parsed here and handed to the domain as values: the
finding catalogue (`domain/findings.yaml`). The policy overrides are read by `settings.py`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from services.inspection.domain import Catalogue
from services.runtime.data_files import read_yaml

CATALOGUE_FILE = Path(__file__).parent / "domain" / "findings.yaml"


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    return Catalogue.from_dict(read_yaml(path))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read on first use."""
    return load_catalogue()
