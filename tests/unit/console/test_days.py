"""Days and instants on the pages are China's, whatever the host's time zone."""

from __future__ import annotations

import time

import pytest

from services.console.web import templates


def test_a_day_from_a_service_is_shown_as_that_day_whatever_the_hosts_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service's day (`2026-05-02`, credit's last inspection) is the city's: on a host east of
    China (Tokyo) reading it as the host's midnight showed the day before."""
    when = templates.env.filters["when"]
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert when("2026-05-02", "%Y-%m-%d") == "2026-05-02"
        assert when("2026-05-01T23:30:00Z", "%Y-%m-%d %H:%M") == "2026-05-02 07:30"
    finally:
        monkeypatch.undo()
        time.tzset()
