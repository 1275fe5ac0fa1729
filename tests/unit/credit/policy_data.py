"""Policy files as parsed data, edited one key at a time for the parser's error tests."""

from __future__ import annotations

from typing import Any


def edited(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`data` with the key at `path` (keys joined by `/`) set to `value`."""
    *parents, last = path.split("/")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value
    return data
