"""Keyset positions read back from their tokens; bad tokens and windows are refused by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.runtime.failures import InvalidInput, InvalidInputs
from services.runtime.paging import (
    ANY_TIME,
    Keyset,
    Position,
    Window,
    next_token,
    page_asked,
    position,
    window,
)

CITY = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=CITY)


def test_a_position_reads_back_from_its_token_with_its_offset() -> None:
    back = position(Position(AT, "cmp_1|odd").token())
    assert back == Position(AT, "cmp_1|odd")
    assert back is not None and back.at.utcoffset() == timedelta(hours=8)


def test_no_token_is_no_position() -> None:
    assert position(None) is None


@pytest.mark.parametrize(
    "token",
    ["not base64 at all!", "", Position(AT, "x").token()[:-6], "MjAyNi0xMS0wM3x4"],
)
def test_a_token_that_does_not_read_back_names_the_field(token: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        position(token, "after")
    assert refused.value.field == "after"


def test_a_naive_instant_in_a_token_is_refused() -> None:
    naive = Position(AT.replace(tzinfo=None), "x").token()
    with pytest.raises(InvalidInput):
        position(naive)


def test_the_next_token_only_when_the_page_was_full() -> None:
    rows = [Position(AT, "a"), Position(AT - timedelta(seconds=1), "b")]
    assert next_token(rows, limit=3) is None
    assert next_token(rows, limit=2) == rows[-1].token()
    assert next_token([], limit=0) is None


def test_a_window_holds_its_start_and_not_its_end() -> None:
    w = window(AT, AT + timedelta(days=1), start_field="from", end_field="before")
    assert w.holds(AT)
    assert not w.holds(AT + timedelta(days=1))
    assert not w.holds(AT - timedelta(microseconds=1))
    assert not w.holds(None)
    assert Window().holds(None) and Window().holds(AT)


def test_a_window_names_every_naive_bound_at_once() -> None:
    with pytest.raises(InvalidInputs) as refused:
        window(datetime(2026, 11, 1), datetime(2026, 12, 1), start_field="from", end_field="before")
    assert [f for f, _ in refused.value.problems] == ["from", "before"]


def test_a_window_that_ends_before_it_starts_names_its_end() -> None:
    with pytest.raises(InvalidInputs) as refused:
        window(AT, AT.astimezone(UTC), start_field="from", end_field="before")
    assert refused.value.problems == [("before", "must come after from")]


def test_a_page_asked_names_a_bad_window_and_a_bad_position_at_once() -> None:
    with pytest.raises(InvalidInputs) as refused:
        page_asked(datetime(2026, 11, 1), None, "garbage!", start_field="from", end_field="to")
    assert [f for f, _ in refused.value.problems] == ["from", "after"]


def test_a_page_asked_reads_its_window_and_position() -> None:
    token = Position(AT, "x").token()
    span, begin = page_asked(AT, None, token, start_field="from", end_field="to")
    assert span == Window(AT, None) and begin == Position(AT, "x")
    assert page_asked(None, None, None, start_field="from", end_field="to") == (ANY_TIME, None)


def test_an_instant_that_cannot_be_told_in_utc_is_refused_by_field() -> None:
    edge = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-8)))
    with pytest.raises(InvalidInputs) as refused:
        window(edge, None, start_field="from", end_field="to")
    assert refused.value.problems == [("from", "must lie within the years 1 to 9999 in UTC")]
    with pytest.raises(InvalidInput):
        position(Position(edge, "x").token())


def test_a_token_whose_id_hides_a_nul_is_refused() -> None:
    with pytest.raises(InvalidInput):
        position(Position(AT, "tsk\x00").token())


def test_a_keyset_numbers_its_bounds_after_the_query_s_other_values() -> None:
    args: list[object] = ["zhifu"]
    found = Keyset("received_at").bounds(Window(AT, None), Position(AT, "c1"), args)
    assert found == ["received_at >= $2", '(received_at, id COLLATE "C") < ($3, $4)']
    assert args == ["zhifu", AT, AT, "c1"]
    assert Keyset("received_at").bounds(ANY_TIME, None, args) == []
