"""The one duration parser of the policies (contracts/durations.py)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from contracts.durations import format_duration, parse_duration


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_number_that_is_no_span_of_time_is_refused_naming_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"^window: .* is not a duration \(seconds"):
        parse_duration(value, "window")


def test_without_bare_seconds_a_number_needs_its_unit() -> None:
    assert parse_duration("2d", bare_seconds=False) == timedelta(days=2)
    with pytest.raises(
        ValueError, match=r"fade_after: 365 is not a duration with a unit, e.g. '365d'"
    ):
        parse_duration(365, "fade_after", bare_seconds=False, example="'365d'")


@pytest.mark.parametrize("seconds", [30, 90.5, 120, 7200, 86_400, 36 * 3600, 365 * 86_400])
def test_what_format_writes_parse_reads_back(seconds: float) -> None:
    span = timedelta(seconds=seconds)
    assert parse_duration(format_duration(span)) == span
