"""A licence's validity, said the same way on every page: the clerk's list, a market's
merchants and a merchant's credit page."""

from __future__ import annotations

from datetime import date, timedelta

from services.console.licences import WARNING_DAYS, Validity, licence

TODAY = date(2026, 5, 6)


def on(until: str) -> Validity:
    return licence({"licence_valid_until": until}, TODAY)


def test_days_left_in_the_registry_s_words() -> None:
    assert on("2026-05-01")["left"] == "已过期 5 天"
    assert on("2026-05-06")["left"] == "今天到期"
    assert on("2026-05-20")["left"] == "剩余 14 天"


def test_the_warning_window_flags_and_colours_a_licence() -> None:
    last = (TODAY + timedelta(days=WARNING_DAYS)).isoformat()
    after = (TODAY + timedelta(days=WARNING_DAYS + 1)).isoformat()
    assert (on("2026-05-01")["expired"], on("2026-05-01")["expiring"]) == (True, True)
    assert (on(last)["expiring"], on(last)["css"], on(last)["status"]) == (
        True,
        "nearing",
        f"剩余 {WARNING_DAYS} 天",
    )
    assert (on(after)["expiring"], on(after)["css"], on(after)["status"]) == (False, "ok", "有效")
    assert on("2026-05-01")["css"] == "overdue"


def test_no_licence_on_record() -> None:
    none = licence({}, TODAY)
    assert (none["until"], none["expiring"], none["status"], none["css"]) == (
        None,
        False,
        "—",
        "muted",
    )
