"""Operators' self-inspections: the checklist as data, validation, follow-ups, missed days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.people import Actor
from services.campaign.domain.self_inspection import (
    Answer,
    Checklist,
    InvalidSelfInspection,
    OpeningDays,
    check_answers,
    close_follow_up,
    days_to_flag,
    record,
)
from services.campaign.duties.config import CHECKLIST_FILE
from services.campaign.duties.policy_files import load_checklist
from services.runtime.errors import Conflict, InvalidInput

CHECKLIST = Checklist.from_dict(
    {
        "version": "2026-01",
        "items": [
            {"code": "hygiene", "zh": "环境卫生", "en": "Hygiene"},
            {"code": "cold_chain", "zh": "冷链设施", "en": "Cold chain"},
            {"code": "scales", "zh": "计量器具", "en": "Scales"},
        ],
    }
)
TODAY = date(2026, 3, 11)  # a Wednesday
NOW = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)
OPERATOR = Actor.of("sub-op", "王主办")
EVERY_DAY = OpeningDays()


def all_passed() -> list[Answer]:
    return [Answer(code, True) for code in CHECKLIST.codes]


def do_record(answers: list[Answer], **changes: Any) -> Any:
    ids = itertools.count(1)
    kwargs: dict[str, Any] = {
        "self_inspection_id": "sin_1",
        "new_follow_up_id": lambda: f"fup_{next(ids)}",
        "market_id": "m1",
        "district": "zhifu",
        "day": TODAY,
        "recorded_days": set(),
        "missed_days": set(),
        "opening": EVERY_DAY,
        "backfill_days": 1,
        "actor": OPERATOR,
        "today": TODAY,
        "now": NOW,
    }
    kwargs.update(changes)
    return record(CHECKLIST, answers, **kwargs)


# -- the checklist ---------------------------------------------------------------------------


def test_the_packaged_checklist_has_the_plans_items() -> None:
    checklist = load_checklist(CHECKLIST_FILE)
    assert checklist.version == "2026-01"
    labels = {i.code: i.label_zh for i in checklist.items}
    assert {
        "hygiene": "环境卫生",
        "cold_chain": "冷链设施",
        "scales": "计量器具",
        "prices": "明码标价",
        "fire_safety": "消防安全",
    }.items() <= labels.items()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"items": [{"code": "a", "zh": "甲", "en": "A"}]}, "version"),
        ({"version": "1", "items": []}, "items"),
        ({"version": "1", "items": [{"code": "A B", "zh": "甲", "en": "A"}]}, "code"),
        ({"version": "1", "items": [{"code": "a", "zh": "", "en": "A"}]}, "label"),
        (
            {"version": "1", "items": [{"code": "a", "zh": "甲", "en": "A"}] * 2},
            "listed twice",
        ),
    ],
)
def test_a_broken_checklist_is_refused(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Checklist.from_dict(data)


def test_an_unreadable_checklist_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.yaml"):
        load_checklist(path)
    with pytest.raises(ValueError, match="missing"):
        load_checklist(tmp_path / "missing.yaml")


# -- validation ------------------------------------------------------------------------------


def test_all_passed_records_without_follow_ups() -> None:
    recorded = do_record(all_passed())
    assert recorded.inspection.day == TODAY and recorded.inspection.checklist_version == "2026-01"
    assert recorded.inspection.actor == OPERATOR and recorded.follow_ups == ()


def test_a_failed_item_opens_a_follow_up_with_its_note() -> None:
    answers = all_passed()
    answers[1] = Answer("cold_chain", False, "  3号冷柜 11°C  ")
    recorded = do_record(answers)
    [follow_up] = recorded.follow_ups
    assert follow_up.item == "cold_chain" and follow_up.state == "open"
    assert follow_up.opened_note == "3号冷柜 11°C"
    assert follow_up.self_inspection_id == "sin_1" and follow_up.opened_at == NOW


def test_answers_are_kept_in_checklist_order() -> None:
    recorded = do_record(list(reversed(all_passed())))
    assert [a.code for a in recorded.inspection.answers] == list(CHECKLIST.codes)


def test_a_missing_item_is_named() -> None:
    problems = check_answers(CHECKLIST, all_passed()[:2])
    assert problems == [("items", "scales (计量器具) is not answered")]


def test_a_failed_item_needs_a_note() -> None:
    answers = all_passed()
    answers[0] = Answer("hygiene", False, "   ")
    with pytest.raises(InvalidSelfInspection) as refused:
        do_record(answers)
    assert refused.value.errors == [
        {
            "field": "items.0.note",
            "reason": "hygiene (环境卫生) failed: a note of what was seen is required",
        }
    ]


def test_unknown_and_repeated_items_are_named() -> None:
    answers = [*all_passed(), Answer("hygiene", True), Answer("parking", True)]
    problems = dict(check_answers(CHECKLIST, answers))
    assert "answered twice" in problems["items.3.code"]
    assert "'parking' is not an item" in problems["items.4.code"]


def test_every_problem_is_reported_at_once() -> None:
    answers = [Answer("hygiene", False), Answer("nope", True)]
    with pytest.raises(InvalidSelfInspection) as refused:
        do_record(answers, day=TODAY + timedelta(days=1))
    fields = [e["field"] for e in refused.value.errors]
    assert fields == ["day", "items.0.note", "items.1.code", "items", "items"]


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (TODAY + timedelta(days=1), "in the future"),
        (TODAY - timedelta(days=2), "back to 2026-03-10"),
    ],
)
def test_the_day_is_today_or_within_the_backfill(day: date, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        do_record(all_passed(), day=day)
    assert refused.value.field == "day" and reason in refused.value.reason


def test_yesterday_may_still_be_recorded() -> None:
    assert do_record(all_passed(), day=TODAY - timedelta(days=1)).inspection.day == date(
        2026, 3, 10
    )


def test_a_closed_day_is_not_an_opening_day() -> None:
    closed_wednesdays = OpeningDays(frozenset({3}))
    with pytest.raises(InvalidInput, match="not an opening day"):
        do_record(all_passed(), opening=closed_wednesdays)


def test_a_day_is_recorded_once() -> None:
    with pytest.raises(Conflict, match="already recorded"):
        do_record(all_passed(), recorded_days={TODAY})


def test_a_missed_day_stays_missed() -> None:
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(Conflict, match="flagged missed"):
        do_record(all_passed(), day=yesterday, missed_days={yesterday})


# -- follow-ups ------------------------------------------------------------------------------


def open_follow_up() -> Any:
    answers = all_passed()
    answers[2] = Answer("scales", False, "2号秤未检定")
    return do_record(answers).follow_ups[0]


def test_closing_a_follow_up_records_the_note_and_who() -> None:
    later = NOW + timedelta(hours=5)
    closed = close_follow_up(open_follow_up(), "  已送检  ", actor=OPERATOR, now=later)
    assert closed.state == "closed" and closed.closed_note == "已送检"
    assert closed.closed_at == later and closed.closed_by == OPERATOR


def test_closing_needs_a_note() -> None:
    with pytest.raises(InvalidInput) as refused:
        close_follow_up(open_follow_up(), " ", actor=OPERATOR, now=NOW)
    assert refused.value.field == "note"


def test_a_closed_follow_up_cannot_be_closed_again() -> None:
    closed = close_follow_up(open_follow_up(), "已送检", actor=OPERATOR, now=NOW)
    with pytest.raises(Conflict) as refused:
        close_follow_up(closed, "again", actor=OPERATOR, now=NOW)
    assert refused.value.errors[0]["field"] == "state"


# -- opening days and missed days ------------------------------------------------------------


def test_opening_days_skip_closed_weekdays() -> None:
    no_mondays = OpeningDays(frozenset({1}))
    week = no_mondays.between(date(2026, 3, 9), date(2026, 3, 15))  # Mon..Sun
    assert week == [date(2026, 3, d) for d in (10, 11, 12, 13, 14, 15)]
    with pytest.raises(ValueError):
        OpeningDays(frozenset({8}))
    with pytest.raises(ValueError):
        OpeningDays(frozenset(range(1, 8)))


def test_missed_days_are_the_opening_days_without_one_up_to_yesterday() -> None:
    days = days_to_flag(
        EVERY_DAY,
        since=date(2026, 3, 7),
        today=TODAY,
        recorded_days={date(2026, 3, 8)},
        missed_days=set(),
        lookback_days=30,
    )
    assert days == [date(2026, 3, 7), date(2026, 3, 9), date(2026, 3, 10)]


def test_missed_days_are_flagged_once() -> None:
    first = days_to_flag(
        EVERY_DAY, since=date(2026, 3, 9), today=TODAY, recorded_days=(), missed_days=(),
        lookback_days=30,
    )  # fmt: skip
    again = days_to_flag(
        EVERY_DAY, since=date(2026, 3, 9), today=TODAY, recorded_days=(), missed_days=first,
        lookback_days=30,
    )  # fmt: skip
    assert first == [date(2026, 3, 9), date(2026, 3, 10)] and again == []


def test_closed_days_are_never_missed_and_nothing_before_the_duty_began() -> None:
    no_tuesdays = OpeningDays(frozenset({2}))
    days = days_to_flag(
        no_tuesdays, since=date(2026, 3, 9), today=TODAY, recorded_days=(), missed_days=(),
        lookback_days=30,
    )  # fmt: skip
    assert days == [date(2026, 3, 9)]  # Tuesday the 10th is closed
    assert (
        days_to_flag(
            EVERY_DAY, since=TODAY, today=TODAY, recorded_days=(), missed_days=(), lookback_days=30
        )
        == []
    )


def test_missed_days_look_back_only_so_far() -> None:
    days = days_to_flag(
        EVERY_DAY, since=date(2025, 1, 1), today=TODAY, recorded_days=(), missed_days=(),
        lookback_days=3,
    )  # fmt: skip
    assert days == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
