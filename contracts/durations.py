"""Durations as the policy files write them: `"48h"`, `"7d"`, `"90m"`, `"30s"` (a number may stand
before the unit with a fraction: `"1.5h"`). The services' policies read them with one parser and
differ only in whether a bare number counts as seconds and in the example their errors give."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(
    value: object,
    name: str = "duration",
    *,
    bare_seconds: bool = True,
    example: str = "'48h', '2d'",
) -> timedelta:
    """A `timedelta`, a `"<number><s|m|h|d>"` string, or (with `bare_seconds`) a finite number of
    seconds; otherwise ValueError naming `name`, the value and an `example`."""
    if isinstance(value, timedelta):
        return value
    if (
        bare_seconds
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])
    if bare_seconds:
        raise ValueError(f"{name}: {value!r} is not a duration (seconds, or e.g. {example})")
    raise ValueError(f"{name}: {value!r} is not a duration with a unit, e.g. {example}")


def format_duration(value: timedelta) -> str:
    """The shortest whole-unit form `parse_duration` reads back: `"365d"`, `"36h"`, `"90s"`."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds % _UNIT[unit] == 0:
            return f"{int(seconds // _UNIT[unit])}{unit}"
    return f"{seconds:g}s"
