"""`aware`: the one check that a time handed to a rule says its zone (services/runtime/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.runtime.clock import aware


def test_a_time_with_a_zone_comes_back_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 12, 6, 9, 30, tzinfo=beijing)
    got = aware(moment)
    assert got == moment
    assert got.tzinfo is UTC
    assert (got.hour, got.minute) == (1, 30)


def test_a_naive_time_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"^deadline must carry a timezone$"):
        aware(datetime(2026, 12, 6, 9, 30), "deadline")
