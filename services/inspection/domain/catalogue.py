"""The finding-code catalogue: the codes an inspector may record, grouped, with default severity.

The catalogue is data (`findings.yaml` beside this module), read by an adapter
(services/inspection/policy_files.py) and handed to the rules as a `Catalogue` value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from contracts.inspection import FINDING_SEVERITIES

GROUPS = (
    "hygiene",
    "cold_chain",
    "licence",
    "weighing",
    "pricing",
    "pest_control",
    "facilities",
)
_CODE = re.compile(r"^[A-Z]{3}-\d{2}$")


@dataclass(frozen=True, slots=True)
class FindingCode:
    code: str
    group: str
    title_zh: str
    title_en: str
    severity: str


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    title_zh: str
    title_en: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    version: int
    groups: Mapping[str, Group]
    codes: Mapping[str, FindingCode]

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __iter__(self) -> Iterator[FindingCode]:
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> FindingCode | None:
        return self.codes.get(code)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalogue:
        """Validate the parsed file; ValueError names the first problem."""
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError("catalogue: version must be a positive integer")
        raw_groups = data.get("groups")
        if not isinstance(raw_groups, Mapping) or not raw_groups:
            raise ValueError("catalogue: groups must be a non-empty mapping")
        groups: dict[str, Group] = {}
        codes: dict[str, FindingCode] = {}
        for name, body in raw_groups.items():
            where = f"catalogue: group {name}"
            if not isinstance(body, Mapping):
                raise ValueError(f"{where}: must be a mapping")
            zh, en = _titles(body, where)
            entries = body.get("codes")
            if not isinstance(entries, Mapping) or not entries:
                raise ValueError(f"{where}: needs codes")
            for code, entry in entries.items():
                at = f"catalogue: {code}"
                if not isinstance(code, str) or not _CODE.match(code):
                    raise ValueError(f"{at}: a code is three capitals, a dash, two digits")
                if code in codes:
                    raise ValueError(f"{at}: listed twice")
                if not isinstance(entry, Mapping):
                    raise ValueError(f"{at}: must be a mapping")
                severity = entry.get("severity")
                if severity not in FINDING_SEVERITIES:
                    raise ValueError(
                        f"{at}: severity must be one of {', '.join(FINDING_SEVERITIES)}"
                    )
                code_zh, code_en = _titles(entry, at)
                codes[code] = FindingCode(code, str(name), code_zh, code_en, severity)
            groups[str(name)] = Group(str(name), zh, en, tuple(entries))
        return cls(version, MappingProxyType(groups), MappingProxyType(codes))


def _titles(body: Mapping[str, Any], where: str) -> tuple[str, str]:
    zh, en = body.get("zh"), body.get("en")
    if not isinstance(zh, str) or not zh.strip() or not isinstance(en, str) or not en.strip():
        raise ValueError(f"{where}: needs a Chinese (zh) and an English (en) title")
    return zh, en
