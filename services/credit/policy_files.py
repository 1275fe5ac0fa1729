"""The policy files, read here and handed to the domain parsed: one YAML file per version
(`domain/policies/`, the shipped versions; `CREDIT_POLICY_DIR` for others). The domain never
touches a file or a parser (docs/architecture.md, the `domain/` room); what a file may say is
`Policy.from_dict`'s to check."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Final

from services.credit.domain import Policy, PolicyBook
from services.credit.settings import CreditSettings
from services.runtime.data_files import read_yaml

# The shipped versions stay beside the rules they configure.
POLICY_DIR: Final = Path(__file__).parent / "domain" / "policies"


def read_policy(path: Path) -> Policy:
    """One version's file; ValueError names the file (and the key, for a bad value)."""
    return Policy.from_dict(read_yaml(path), source=str(path))


def read_book(path: Path | None = None) -> PolicyBook:
    """The `*.yaml` files of a directory (default: the shipped ones), or one file."""
    where = POLICY_DIR if path is None else path
    if where.is_dir():
        files = sorted([*where.glob("*.yaml"), *where.glob("*.yml")])
        if not files:
            raise ValueError(f"{where}: no policy files (*.yaml)")
    elif where.is_file():
        files = [where]
    else:
        raise ValueError(f"{where}: no such policy file or directory")
    return book_of_files(files)


def book_of_files(files: Iterable[Path]) -> PolicyBook:
    loaded: dict[str, Path] = {}
    policies: list[Policy] = []
    for file in files:
        policy = read_policy(file)
        if policy.version in loaded:
            raise ValueError(
                f"{file}: version {policy.version!r} is already in {loaded[policy.version]}"
            )
        loaded[policy.version] = file
        policies.append(policy)
    return PolicyBook(tuple(policies))


@lru_cache(maxsize=1)
def default_book() -> PolicyBook:
    """The shipped policy versions, read on first use."""
    return read_book()


def load_book(settings: CreditSettings) -> PolicyBook:
    try:
        return read_book(settings.policy_dir)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"CREDIT_POLICY_DIR: {exc}") from exc
