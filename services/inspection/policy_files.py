"""The inspection's data files, read and parsed here and handed to the domain as values: the
finding catalogue (`domain/findings.yaml`). The policy overrides are read by `settings.py`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from services.inspection.domain import Catalogue

CATALOGUE_FILE = Path(__file__).parent / "domain" / "findings.yaml"


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    with path.open(encoding="utf-8") as handle:
        return Catalogue.from_dict(yaml.safe_load(handle))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read on first use."""
    return load_catalogue()
