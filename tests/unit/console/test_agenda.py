"""The staff home's 待办 and the grouping of 我的任务: what is due for whom, with which action,
in which order (overdue first, then the nearest deadline)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.console.agenda import (
    agenda,
    complaints_due,
    group_tasks,
    orders_due,
    tasks_due,
)

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
ME, COLLEAGUE = "sub-me", "sub-colleague"
NAMES = {"mkt_1": "东门农贸市场"}


def task(task_id: str, due_at: str, state: str = "open", by: str | None = None) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "state": state,
        "due_at": due_at,
        "market_id": "mkt_1",
        "stall_no": "A-03",
        "reason_kind": "risk",
        "triggers": [{"kind": "risk", "rule": "cold_chain_excursion", "severity": "major"}],
        "claimed_actor": {"subject": by, "name": by} if by else None,
        "overdue_at": None,
    }


def test_an_inspector_claims_open_tasks_and_completes_only_their_own() -> None:
    tasks = [
        task("tsk_open", "2026-05-07T02:00:00+00:00"),
        task("tsk_mine", "2026-05-08T02:00:00+00:00", "claimed", ME),
        task("tsk_theirs", "2026-05-06T03:00:00+00:00", "claimed", COLLEAGUE),
    ]
    due = {d.href: d for d in tasks_due(tasks, ME, NAMES, NOW)}
    assert set(due) == {"/staff/tasks/tsk_open/claim", "/staff/tasks/tsk_mine#complete"}
    claim, complete = due["/staff/tasks/tsk_open/claim"], due["/staff/tasks/tsk_mine#complete"]
    assert (claim.action, claim.post) == ("认领", True)
    assert (complete.action, complete.post) == ("完成检查", False)
    assert claim.place == "东门农贸市场 · 摊位 A-03"
    assert claim.what == "风险 · 冷链温度超标"


def test_a_task_is_overdue_by_its_mark_or_its_passed_due_time() -> None:
    passed = task("tsk_passed", "2026-05-06T01:00:00+00:00")
    marked = task("tsk_marked", "2026-05-09T01:00:00+00:00") | {"overdue_at": "2026-05-06"}
    later = task("tsk_later", "2026-05-09T01:00:00+00:00")
    overdue = {
        d.href.split("/")[3]: d.overdue for d in tasks_due([passed, marked, later], ME, NAMES, NOW)
    }
    assert overdue == {"tsk_passed": True, "tsk_marked": True, "tsk_later": False}


def test_orders_are_re_inspected_and_complaints_accepted_or_closed() -> None:
    order = {
        "rectification_id": "rct_1",
        "market_id": "mkt_1",
        "severity": "major",
        "deadline": "2026-05-05T16:00:00+00:00",
    }
    (r,) = orders_due([order], NAMES, NOW)
    assert (r.action, r.href, r.overdue) == ("复查", "/staff/rectifications#r-rct_1", True)
    assert r.what == "整改通知 · 较重"
    cases = [
        {"id": "cmp_1", "state": "received", "category": "food_safety", "market_id": "mkt_1",
         "current_deadline": "2026-05-13T15:59:59+00:00", "running_clock": "acceptance"},
        {"id": "cmp_2", "state": "accepted", "category": "food_safety", "market_id": "mkt_x",
         "current_deadline": "2026-07-01T15:59:59+00:00", "running_clock": "mediation"},
        {"id": "cmp_3", "state": "closed", "category": "food_safety", "market_id": "mkt_1",
         "current_deadline": None, "running_clock": None},
    ]  # fmt: skip
    found = complaints_due(cases, NAMES, NOW)
    assert [(d.href, d.action) for d in found] == [
        ("/staff/complaints/cmp_1", "受理"),
        ("/staff/complaints/cmp_2", "办结"),
    ]
    assert found[0].what.startswith("待受理") and found[1].place == "市场"  # a name not listed
    # The clock counts working days, so the home says so rather than calendar days.
    assert [d.left for d in found] == [None, None]  # these cases carry no count
    counted = cases[0] | {"working_days_left": 3, "nearing": False}
    nearing = cases[0] | {"working_days_left": 1, "nearing": True}
    late = cases[0] | {"acceptance_overdue_at": "2026-05-06T00:00:00+00:00"}
    assert [d.left for d in complaints_due([counted, nearing, late], NAMES, NOW)] == [
        "剩余 3 个工作日",
        "临期 · 剩余 1 个工作日",
        "逾期",
    ]


def test_a_complaint_moved_here_says_so_on_the_home() -> None:
    case = {
        "id": "cmp_1",
        "state": "received",
        "category": "price",
        "market_id": "mkt_1",
        "current_deadline": "2026-05-13T15:59:59+00:00",
        "running_clock": "acceptance",
    }
    moved = case | {"transfers": [{"from_market_id": "mkt_9", "to_market_id": "mkt_1"}]}
    plain, here = complaints_due([case, moved], NAMES, NOW)
    assert (plain.what, here.what) == ("待受理 · 价格", "待受理 · 价格 · 移送件")


def test_the_agenda_puts_overdue_first_then_the_nearest_deadline_and_counts_the_rest() -> None:
    tasks = [
        task("tsk_far", "2026-05-20T02:00:00+00:00"),
        task("tsk_near", "2026-05-07T02:00:00+00:00"),
        task("tsk_late", "2026-05-01T02:00:00+00:00"),
        task("tsk_undated", "") | {"due_at": None},
    ]
    shown, more = agenda(tasks_due(tasks, ME, NAMES, NOW), shown=3)
    assert [d.href.split("/")[3] for d in shown] == ["tsk_late", "tsk_near", "tsk_far"]
    assert more == 1
    everything, none_more = agenda(tasks_due(tasks, ME, NAMES, NOW))
    assert everything[-1].deadline is None and none_more == 0


def test_my_tasks_come_first_then_the_unclaimed_then_the_colleagues() -> None:
    groups = group_tasks(
        [
            task("tsk_theirs", "2026-05-06T03:00:00+00:00", "claimed", COLLEAGUE),
            task("tsk_open_late", "2026-05-09T02:00:00+00:00"),
            task("tsk_mine", "2026-05-08T02:00:00+00:00", "claimed", ME),
            task("tsk_open_soon", "2026-05-07T02:00:00+00:00"),
        ],
        ME,
    )
    assert [t["task_id"] for t in groups.mine] == ["tsk_mine"]
    assert [t["task_id"] for t in groups.open] == ["tsk_open_soon", "tsk_open_late"]
    assert [t["task_id"] for t in groups.others] == ["tsk_theirs"]


def test_a_tasks_deadline_names_the_rule_that_set_it() -> None:
    from services.console.views.tasks import due_rule_text

    assert due_rule_text({"basis": "risk", "key": "major", "within_s": 14400}) == (
        "较重风险：产生或升级后 4 小时内检查"
    )
    assert due_rule_text({"basis": "complaint", "key": "food_safety", "within_s": 86400}) == (
        "食品安全投诉：受理后 24 小时内检查"
    )
    assert due_rule_text({"basis": "complaint", "key": None, "within_s": 259200}) == (
        "投诉：受理后 3 天内检查"
    )
    assert due_rule_text({"basis": "patrol", "key": None, "within_s": 604800}) == (
        "例行巡查：计划日起 7 天内完成"
    )
    assert due_rule_text({"basis": "reinspection", "key": "suspension", "within_s": 259200}) == (
        "暂停经营复查：责令暂停后 3 天内复查"
    )
    assert due_rule_text({"basis": "reinspection", "key": "overdue", "within_s": 86400}) == (
        "逾期未整改：逾期后 24 小时内复查"
    )
    assert due_rule_text({"basis": "renovation", "key": "safety", "within_s": None}) == (
        "改造工程安全检查不合格：限期整改日当天结束前整改到位"
    )
    assert due_rule_text(None) is None
