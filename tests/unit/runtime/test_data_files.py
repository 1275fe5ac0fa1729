"""`read_yaml` and `read_yaml_mapping`: a data file's content, or a ValueError naming the file
and the reason."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from services.runtime.data_files import read_yaml, read_yaml_mapping


def test_a_file_gives_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 2026-1\nlimits: {days: 7}\n名称: 市场\n", encoding="utf-8")
    assert read_yaml(path) == {"version": "2026-1", "limits": {"days": 7}, "名称": "市场"}


def test_a_missing_file_is_named_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.yaml: cannot read: No such file"):
        read_yaml(tmp_path / "missing.yaml")


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("items: [unclosed", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.yaml: not valid YAML, cannot read it"):
        read_yaml(path)


def _days(data: Mapping[str, Any]) -> int:
    days = data["days"]
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days: {days!r} is not a whole number of days")
    return days


def test_a_mapping_is_parsed_and_what_the_parser_finds_wrong_names_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("days: 7\n", encoding="utf-8")
    assert read_yaml_mapping(path, _days, "a mapping with days") == 7
    path.write_text("days: -1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"limits\.yaml: days: -1 is not a whole number"):
        read_yaml_mapping(path, _days, "a mapping with days")
    path.write_text("- 7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"limits\.yaml: expected a mapping with days"):
        read_yaml_mapping(path, _days, "a mapping with days")
