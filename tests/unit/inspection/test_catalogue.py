"""The finding-code catalogue: the packaged data file and the checks that guard it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from services.inspection.domain import GROUPS, Catalogue
from services.inspection.policy_files import CATALOGUE_FILE, default_catalogue, load_catalogue


def test_the_catalogue_has_every_group_of_the_issue() -> None:
    catalogue = default_catalogue()
    assert (
        tuple(catalogue.groups)
        == GROUPS
        == (
            "hygiene",
            "cold_chain",
            "licence",
            "weighing",
            "pricing",
            "pest_control",
            "facilities",
        )
    )
    for group in catalogue.groups.values():
        assert group.codes, group.name
        assert group.title_zh and group.title_en


def test_every_code_has_both_titles_and_a_default_severity() -> None:
    catalogue = default_catalogue()
    assert len(catalogue) >= 25
    for entry in catalogue:
        assert entry.code in catalogue.groups[entry.group].codes
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.title_zh), entry.code
        assert entry.title_en.isascii(), entry.code
        assert entry.severity in ("minor", "major", "critical")
    # Each severity is used, so every outcome can be reached from the catalogue alone.
    assert {e.severity for e in catalogue} == {"minor", "major", "critical"}


def test_lookup() -> None:
    catalogue = default_catalogue()
    assert "CCH-01" in catalogue and "XXX-01" not in catalogue
    entry = catalogue.get("WGT-03")
    assert entry is not None
    assert (entry.group, entry.title_zh, entry.severity) == ("weighing", "短斤缺两", "major")
    assert catalogue.get("nope") is None


def test_the_file_is_read_once_and_equals_a_fresh_load() -> None:
    assert default_catalogue() is default_catalogue()
    assert load_catalogue(CATALOGUE_FILE) == default_catalogue()


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return data


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    data = _raw()
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["version"], 0, "version"),
        (["groups"], {}, "groups"),
        (["groups", "hygiene", "codes"], {}, "group hygiene: needs codes"),
        (["groups", "hygiene", "zh"], KeyError, "group hygiene: needs a Chinese"),
        (["groups", "hygiene", "codes", "HYG-01", "severity"], "grave", "HYG-01: severity"),
        (["groups", "hygiene", "codes", "HYG-01", "en"], " ", "HYG-01: needs a Chinese"),
        (["groups", "hygiene", "codes", "hyg-9"], {"zh": "x", "en": "x"}, "hyg-9: a code is"),
        (
            ["groups", "pricing", "codes", "HYG-01"],
            {"zh": "重复", "en": "Twice", "severity": "minor"},
            "HYG-01: listed twice",
        ),
    ],
)
def test_a_broken_catalogue_is_refused(path: list[str], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Catalogue.from_dict(_broken(path, value))
