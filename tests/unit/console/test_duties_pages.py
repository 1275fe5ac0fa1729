"""Operators' self-inspection, task-force reports and training as the console words them
(issue 17): where the campaign service's field errors land, which markets come first on the
reports page, and the service's reasons in Chinese."""

from __future__ import annotations

from services.console import labels
from services.console.backend import ApiError, Unavailable
from services.console.views.duties import due_order, lines, report_field, schedule_row
from services.console.views.self_inspection import item_errors
from services.console.views.training import held_sessions

CODES = ["hygiene", "cold_chain", "scales"]


def test_a_refused_self_inspection_lands_beside_the_item_it_names() -> None:
    refusal = ApiError(
        422,
        "invalid",
        [
            {
                "field": "items.1.note",
                "reason": "cold_chain (冷链设施) failed: a note of what was seen is required",
            },
            {"field": "items", "reason": "scales (计量器具) is not answered"},
            {"field": "day", "reason": "2026-05-01 is in the future (today is 2026-04-30)"},
        ],
    )
    assert item_errors(refusal, CODES) == {
        "note-cold_chain": "不合格须写明看到的问题",
        "item-scales": "请选择合格或不合格",
        "form": "2026-05-01 还没到",
    }
    down = Unavailable(503, "campaign 服务暂时无法访问")
    assert item_errors(down, CODES) == {"form": "campaign 服务暂时无法访问"}


def test_report_lines_and_fields() -> None:
    assert lines(" 排水沟改造滞后 \n\n部分摊位未公示证照\n") == [
        "排水沟改造滞后",
        "部分摊位未公示证照",
    ]
    assert report_field("problems.3") == "problems"
    assert report_field("period") == "form"
    assert labels.reason_zh("reporting starts on 2026-05-01") == "汇报从 2026-05-01 开始"


def test_late_markets_come_first_then_by_due_day_and_nothing_due_last() -> None:
    def row(name: str, due: str | None, late: bool = False) -> dict[str, object]:
        schedule = None if due is None else {"next_due_on": due, "next_is_late": late}
        items = [{"state": "late"}] if late else []
        return schedule_row({"id": name, "name": name}, {"schedule": schedule, "items": items})

    rows = [row("a", "2026-05-20"), row("b", None), row("c", "2026-05-01", late=True)]
    rows.append(row("d", "2026-05-10"))
    assert [r["market"]["name"] for r in sorted(rows, key=due_order)] == ["c", "d", "a", "b"]


def test_attendance_is_offered_for_sessions_held_already_latest_first() -> None:
    courses = [
        {
            "id": "c1",
            "title": "食品安全",
            "sessions": [
                {"id": "s1", "held_on": "2026-04-01"},
                {"id": "s2", "held_on": "2026-05-02"},
                {"id": "s3", "held_on": "2026-04-20"},
            ],
        }
    ]
    held = held_sessions(courses, "2026-05-01")
    assert [s["id"] for s in held] == ["s3", "s1"]
    assert held[0]["course_title"] == "食品安全"
