"""Durations, instants, timestamps and pacing."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

import pytest

from contracts.telemetry import parse_reading
from simulator.clock import (
    OpeningHours,
    Pacer,
    day_start,
    format_duration,
    format_ts,
    live_start,
    local_hour,
    local_weekday,
    next_local_time,
    parse_duration,
    parse_instant,
)

NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Shanghai, a Monday


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172_800), ("500ms", 0.5), ("42", 42)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "5m 3", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_print_compactly() -> None:
    assert [format_duration(s) for s in (0, 45, 90, 3600, 5400, 86_400)] == [
        "0s",
        "45s",
        "1m30s",
        "1h",
        "1h30m",
        "24h",
    ]


def test_instants_relative_absolute_and_dates_in_shanghai() -> None:
    assert parse_instant("-2h", NOW) == NOW - 7200
    assert parse_instant("+5m", NOW) == NOW + 300
    assert parse_instant("2026-05-04T02:00:00Z", 0) == NOW
    assert parse_instant("2026-05-04T10:00:00+08:00", 0) == NOW
    assert parse_instant("2026-05-04T10:00:00", 0) == NOW  # naive: Shanghai
    assert parse_instant("2026-05-04", 0) == day_start(date(2026, 5, 4)) == NOW - 10 * 3600


def test_local_time_is_shanghai() -> None:
    assert local_hour(NOW) == 10.0
    assert local_weekday(NOW) == 0
    assert local_weekday(NOW + 5 * 86_400) == 5
    hours = OpeningHours.of("06:00", "19:00")
    assert hours.is_open(NOW) and not hours.is_open(NOW + 9 * 3600)  # 19:00 is closed
    assert next_local_time(8, 30, after=NOW) == NOW + 22.5 * 3600
    assert next_local_time(10, 0, after=NOW) == NOW


def test_timestamps_are_rfc3339_utc_with_z_and_pass_the_contract() -> None:
    assert format_ts(NOW) == "2026-05-04T02:00:00Z"
    assert format_ts(NOW + 0.25) == "2026-05-04T02:00:00.25Z"
    assert format_ts(NOW + 0.000_001) == "2026-05-04T02:00:00.000001Z"
    for t in (NOW, NOW + 0.123456, NOW + 59.5):
        text = format_ts(t)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z", text)
        reading = {"terminal_id": "t", "seq": 1, "ts": text, "kind": "cold_chain", "temp_c": 3.0}
        parsed = parse_reading(reading | {"sig": "0" * 64})
        assert parsed.ts.timestamp() == pytest.approx(t, abs=1e-6)


def test_live_runs_start_on_a_whole_second() -> None:
    assert live_start(NOW + 0.2) == NOW + 1 and live_start(NOW) == NOW


def test_live_pacing_sends_each_reading_at_its_event_time() -> None:
    pacer = Pacer(event0=NOW, wall0=NOW - 0.3, speed=1.0)
    assert pacer.wall_due(NOW + 60, 5) == NOW + 60


def test_scaled_pacing_runs_history_fast_but_never_into_the_future() -> None:
    start = NOW - 3600
    pacer = Pacer(event0=start, wall0=NOW, speed=60.0)
    assert pacer.wall_due(start + 600, 0) == NOW + 10  # 10 min of history in 10 s
    # Caught up with the present: from then on it is live.
    assert pacer.wall_due(NOW + 3600, 0) == NOW + 3600
    fast = Pacer(event0=start, wall0=NOW, speed=math.inf)
    assert fast.wall_due(start + 600, 0) == start + 600 < NOW


def test_rate_pacing_counts_readings_not_event_time() -> None:
    pacer = Pacer(event0=NOW - 86_400, wall0=NOW, rate=1000.0)
    assert pacer.wall_due(NOW - 86_000, 500) == NOW + 0.5
    assert pacer.wall_due(NOW + 10, 500) == NOW + 10
