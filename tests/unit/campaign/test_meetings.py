"""Joint meetings and their action items: the pure rules, failure paths first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.people import Actor
from services.campaign.domain.joint import Departments, Invalid, Unknown, WrongState
from services.campaign.domain.meetings import (
    CITY,
    DecisionInput,
    Meeting,
    flag_late,
    mark_done,
    record_meeting,
)
from services.campaign.joint.config import DEPARTMENTS_FILE
from services.campaign.joint.policy_files import load_departments

TZ = ZoneInfo("Asia/Shanghai")
# 2026-05-10 09:00 in the city.
NOW = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
HELD = date(2026, 5, 8)
CLERK = Actor.of("sub-clerk", "李登记")
CATALOGUE = load_departments(DEPARTMENTS_FILE)


def meeting(**changes: Any) -> Meeting:
    args: dict[str, Any] = {
        "district": "zhifu",
        "title": "第二季度联席会议",
        "held_on": HELD,
        "departments": ["market_regulation", "health"],
        "minutes": "通报冷链检查情况, 部署联合执法",
        "decisions": [
            DecisionInput("排查冷链设施", "health", HELD + timedelta(days=7)),
            DecisionInput("清理占道经营", "urban_management", HELD),
        ],
        "catalogue": CATALOGUE,
        "known_districts": {"zhifu", "laishan"},
        "now": NOW,
        "tz": TZ,
        "actor": CLERK,
    }
    args.update(changes)
    return record_meeting(**args)


def fields(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return dict(exc.value.problems)


def test_the_departments_file_lists_the_six_departments() -> None:
    assert CATALOGUE.codes == (
        "market_regulation",
        "health",
        "environment",
        "urban_management",
        "public_security",
        "commerce",
    )
    assert CATALOGUE.get("health") is not None
    assert CATALOGUE.get("health").name_zh == "卫生健康"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (None, "non-empty list"),
        ({"departments": []}, "non-empty list"),
        ({"departments": ["health"]}, "an object"),
        ({"departments": [{"code": "Health", "name_zh": "卫", "name_en": "h"}]}, "lowercase"),
        ({"departments": [{"code": "health", "name_zh": "", "name_en": "h"}]}, "non-empty"),
        (
            {
                "departments": [
                    {"code": "health", "name_zh": "卫", "name_en": "h"},
                    {"code": "health", "name_zh": "卫", "name_en": "h"},
                ]
            },
            "twice",
        ),
    ],
)
def test_a_bad_departments_file_is_refused_naming_the_entry(data: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Departments.parse(data)


def test_an_unreadable_departments_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "departments.yaml"
    path.write_text("departments: [unclosed", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read"):
        load_departments(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_departments(tmp_path / "missing.yaml")


def test_a_meeting_records_its_departments_and_action_items() -> None:
    m = meeting(departments=["health", "market_regulation", "health"])
    assert m.district == "zhifu"
    assert m.departments == ("health", "market_regulation")  # each once, in the order given
    assert [i.position for i in m.items] == [1, 2]
    assert all(i.meeting_id == m.meeting_id and i.state == "open" for i in m.items)
    # The owner of an item need not be present, only known.
    assert m.items[1].department == "urban_management"
    assert m.items[1].deadline == HELD  # the meeting's own day is allowed
    assert m.recorded_at == NOW and m.recorded_actor == CLERK
    assert len({i.item_id for i in m.items}) == 2


def test_a_city_meeting_and_a_meeting_without_decisions() -> None:
    m = meeting(district=CITY, decisions=[])
    assert m.district == CITY and m.items == ()


def test_every_broken_rule_of_a_meeting_is_named_at_once() -> None:
    with pytest.raises(Invalid) as exc:
        meeting(
            district="nowhere",
            title="  ",
            held_on=date(2026, 5, 11),  # tomorrow in the city
            departments=["health", "police"],
            minutes="",
            decisions=[
                DecisionInput("", "forestry", date(2026, 5, 12)),
                DecisionInput("ok", "health", date(2026, 5, 12)),
            ],
        )
    found = fields(exc)
    assert "no district 'nowhere'" in found["district"]
    assert found["title"] == "must not be blank"
    assert "not after 2026-05-10" in found["held_on"]
    assert "unknown department 'police'" in found["departments.1"]
    assert found["minutes"] == "must not be blank"
    assert found["decisions.0.decision"] == "must not be blank"
    assert "unknown department 'forestry'" in found["decisions.0.department"]
    assert "departments.0" not in found and "decisions.1.deadline" not in found
    assert exc.value.field == "district"


def test_a_deadline_before_the_meeting_is_refused() -> None:
    with pytest.raises(Invalid) as exc:
        meeting(decisions=[DecisionInput("x", "health", HELD - timedelta(days=1))])
    assert fields(exc) == {"decisions.0.deadline": "must not be before the meeting (2026-05-08)"}


def test_a_meeting_needs_a_department_present() -> None:
    with pytest.raises(Invalid) as exc:
        meeting(departments=[])
    assert fields(exc) == {"departments": "name at least one department"}


def test_districts_are_not_checked_when_unknown_and_blank_is_refused() -> None:
    assert meeting(district="newdistrict", known_districts=None).district == "newdistrict"
    with pytest.raises(Invalid) as exc:
        meeting(district=" ")
    assert fields(exc) == {"district": "must not be blank"}


def test_too_many_decisions_are_refused() -> None:
    many = [DecisionInput("x", "health", HELD)] * 101
    with pytest.raises(Invalid) as exc:
        meeting(decisions=many)
    assert "at most 100" in fields(exc)["decisions"]


def test_an_item_done_by_its_deadline_day_is_on_time() -> None:
    m = meeting()
    item = m.items[0]
    # The deadline day's last minute in the city.
    at = datetime(2026, 5, 15, 23, 59, tzinfo=TZ)
    changed, done = mark_done(m, item.item_id, note=" 已排查 ", now=at, tz=TZ, actor=CLERK)
    assert done.state == "done" and done.done_on == date(2026, 5, 15) and done.on_time
    assert done.done_note == "已排查" and done.done_actor == CLERK and done.done_at == at
    assert changed.item(item.item_id) == done and changed.items[1] == m.items[1]


def test_an_item_done_after_its_deadline_day_is_late() -> None:
    m = meeting()
    at = datetime(2026, 5, 16, 0, 1, tzinfo=TZ)
    _, done = mark_done(m, m.items[0].item_id, note="迟了", now=at, tz=TZ)
    assert done.on_time is False


def test_marking_done_twice_an_unknown_item_or_without_a_note_is_refused() -> None:
    m = meeting()
    item_id = m.items[0].item_id
    with pytest.raises(Unknown) as unknown:
        mark_done(m, "item_nope", note="x", now=NOW, tz=TZ)
    assert unknown.value.field == "item_id"
    with pytest.raises(Invalid) as blank:
        mark_done(m, item_id, note="  ", now=NOW, tz=TZ)
    assert fields(blank) == {"note": "must not be blank"}
    changed, _ = mark_done(m, item_id, note="done", now=NOW, tz=TZ)
    with pytest.raises(WrongState) as twice:
        mark_done(changed, item_id, note="again", now=NOW, tz=TZ)
    assert twice.value.state == "done"


def test_a_late_item_is_flagged_once_and_only_after_its_deadline_day() -> None:
    m = meeting()
    item = m.items[0]  # deadline 2026-05-15
    on_the_day = datetime(2026, 5, 15, 23, 59, tzinfo=TZ)
    assert flag_late(item, on_the_day, TZ) is None
    next_day = datetime(2026, 5, 16, 0, 0, tzinfo=TZ)
    late = flag_late(item, next_day, TZ)
    assert late is not None and late.late_flagged_at == next_day and late.state == "open"
    assert flag_late(late, next_day + timedelta(days=3), TZ) is None
    # A late item can still be done: late.
    _, done = mark_done(
        Meeting(**{**m.__dict__, "items": (late, m.items[1])}),
        item.item_id,
        note="补办",
        now=next_day + timedelta(days=1),
        tz=TZ,
    )
    assert done.on_time is False and done.late_flagged_at == next_day


def test_a_done_item_is_never_flagged() -> None:
    m = meeting()
    _, done = mark_done(m, m.items[1].item_id, note="ok", now=NOW, tz=TZ)
    assert flag_late(done, NOW + timedelta(days=30), TZ) is None


def test_the_city_day_decides_lateness_not_utc() -> None:
    m = meeting()
    item = m.items[1]  # deadline 2026-05-08, the meeting's day
    # 2026-05-08 20:00 UTC is already 2026-05-09 04:00 in the city: late there.
    assert flag_late(item, datetime(2026, 5, 8, 20, 0, tzinfo=UTC), TZ) is not None
    assert flag_late(item, datetime(2026, 5, 8, 15, 59, tzinfo=UTC), TZ) is None


def test_a_day_left_out_is_named_with_every_other_problem() -> None:
    # A clerk's form with the meeting's day and a decision's deadline left blank, and its title
    # blank: one answer names all three, so the form is corrected in one go.
    with pytest.raises(Invalid) as exc:
        meeting(
            title=" ",
            held_on=None,
            decisions=[
                DecisionInput("排查冷链设施", "health", None),
                DecisionInput("清理占道经营", "urban_management", HELD),
            ],
        )
    assert fields(exc) == {
        "title": "must not be blank",
        "held_on": "a date (YYYY-MM-DD) is needed",
        "decisions.0.deadline": "a date (YYYY-MM-DD) is needed",
    }
