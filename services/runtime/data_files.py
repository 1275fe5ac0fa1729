"""The data files a service reads at start (policies, calendars, catalogues, checklists): YAML,
read by the adapters and handed to the domain parsed, since a domain reads no files
(docs/architecture.md). What a file must hold is the domain's to check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from services.runtime.work_calendar import WorkCalendar

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


# The packaged working-day calendar, beside the module that reads it.
CALENDAR_FILE: Final = Path(__file__).parent / "calendar_cn.yaml"


def read_calendar(path: str | Path) -> WorkCalendar:
    """A YAML file in `calendar_cn.yaml`'s format; ValueError names the file and the entry."""
    return read_yaml_mapping(Path(path), WorkCalendar.from_dict, "a mapping with 'years'")


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The packaged calendar, parsed once per process."""
    return read_calendar(CALENDAR_FILE)


def load_calendar(path: Path | None, variable: str) -> WorkCalendar:
    """The calendar a service's setting names (`variable`, for the message), or the packaged
    one; exits naming the variable when the file cannot be used."""
    if path is None:
        return default_calendar()
    try:
        return read_calendar(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{variable}: {exc}") from exc
