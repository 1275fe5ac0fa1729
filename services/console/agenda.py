"""What is due for the signed-in person, nearest deadline first, each with the one action that
moves it on (docs/console.md, Pages, `/staff/`): the staff home's 待办 and the grouping of
我的任务. Pure: it takes what the services listed and the time, and reads nothing itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.console import clock, labels

# How many due items the home lists before "全部" links to each list.
SHOWN = 8


@dataclass(frozen=True)
class Due:
    """One thing to do: where (`place`), why (`what`), by when, and the action (`action`,
    taken at `href`: by a POST form when `post`, else by following the link)."""

    kind: str
    place: str
    what: str
    deadline: str | None
    overdue: bool
    action: str
    href: str
    post: bool = False
    # How long is left, when calendar days would mislead (a complaint's clock counts working
    # days); None: the template counts from `deadline`.
    left: str | None = None


def _late(deadline: str | None, now: datetime) -> bool:
    return bool(deadline) and datetime.fromisoformat(str(deadline)) < now


def _place(item: Mapping[str, Any], names: Mapping[str, str]) -> str:
    market = names.get(str(item.get("market_id")), "市场")
    return f"{market} · 摊位 {item['stall_no']}" if item.get("stall_no") else market


def _task_why(task: Mapping[str, Any]) -> str:
    why = labels.label(labels.REASON_KIND, task.get("reason_kind"))
    triggers = task.get("triggers") or []
    if triggers and triggers[0].get("rule"):
        why += f" · {labels.label(labels.RULE, triggers[0]['rule'])}"
    return why


def urgency(case: Mapping[str, Any], now: datetime | None = None) -> str:
    """overdue / nearing / '' for a complaint's running clock: the colour of its row."""
    now = now or clock.now()
    running = case.get("running_clock")
    if running is None:
        return ""
    if case.get(f"{running}_overdue_at") or _late(case.get("current_deadline"), now):
        return "overdue"
    return "nearing" if case.get("nearing") else ""


def claimed_by(task: Mapping[str, Any], subject: str) -> bool:
    actor = task.get("claimed_actor") or {}
    return bool(actor.get("subject") == subject)


@dataclass(frozen=True)
class TaskGroups:
    """我的任务 in the order an inspector works them: the ones they claimed, then those nobody
    has, then those a colleague claimed; each by due time."""

    mine: list[dict[str, Any]]
    open: list[dict[str, Any]]
    others: list[dict[str, Any]]


def group_tasks(tasks: Iterable[dict[str, Any]], subject: str) -> TaskGroups:
    ordered = sorted(tasks, key=lambda t: str(t.get("due_at") or ""))
    return TaskGroups(
        mine=[t for t in ordered if t.get("state") == "claimed" and claimed_by(t, subject)],
        open=[t for t in ordered if t.get("state") == "open"],
        others=[t for t in ordered if t.get("state") == "claimed" and not claimed_by(t, subject)],
    )


def tasks_due(
    tasks: Iterable[Mapping[str, Any]], subject: str, names: Mapping[str, str], now: datetime
) -> list[Due]:
    """Open tasks to claim, and the person's own claimed ones to complete; a colleague's claimed
    task is theirs to do."""
    found = []
    for t in tasks:
        mine = t.get("state") == "claimed" and claimed_by(t, subject)
        if t.get("state") != "open" and not mine:
            continue
        task_id = t["task_id"]
        found.append(
            Due(
                "task",
                _place(t, names),
                _task_why(t),
                t.get("due_at"),
                bool(t.get("overdue_at")) or _late(t.get("due_at"), now),
                "完成检查" if mine else "认领",
                f"/staff/tasks/{task_id}#complete" if mine else f"/staff/tasks/{task_id}/claim",
                post=not mine,
            )
        )
    return found


def orders_due(
    orders: Iterable[Mapping[str, Any]], names: Mapping[str, str], now: datetime
) -> list[Due]:
    """Open rectification orders, to re-inspect (复查) by their deadline."""
    return [
        Due(
            "rectification",
            _place(o, names),
            f"整改通知 · {labels.label(labels.SEVERITY, o.get('severity'))}",
            o.get("deadline"),
            _late(o.get("deadline"), now),
            "复查",
            f"/staff/rectifications#r-{o.get('rectification_id') or o.get('id')}",
        )
        for o in orders
    ]


def complaints_due(
    cases: Iterable[dict[str, Any]], names: Mapping[str, str], now: datetime
) -> list[Due]:
    """Received complaints to accept or reject (受理), accepted ones to close (办结), by the
    deadline of the clock that runs."""
    found = []
    for case in cases:
        if case.get("state") not in ("received", "accepted"):
            continue
        received = case["state"] == "received"
        category = labels.label(labels.COMPLAINT_CATEGORY, case.get("category"))
        # Moved here from another market: its clock started at the move, not at receipt.
        moved = " · 移送件" if received and case.get("transfers") else ""
        found.append(
            Due(
                "complaint",
                _place(case, names),
                f"{'待受理' if received else '调解中'} · {category}{moved}",
                case.get("current_deadline"),
                urgency(case, now) == "overdue",
                "受理" if received else "办结",
                f"/staff/complaints/{case['id']}",
                left=_working_days_left(case, now),
            )
        )
    return found


def _working_days_left(case: Mapping[str, Any], now: datetime) -> str | None:
    """The running clock's working days left, as the complaint queue words them."""
    days = case.get("working_days_left")
    if urgency(case, now) == "overdue":
        return "逾期"
    if not isinstance(days, int):
        return None
    return f"{'临期 · ' if case.get('nearing') else ''}剩余 {days} 个工作日"


def agenda(*lists: Iterable[Due], shown: int = SHOWN) -> tuple[list[Due], int]:
    """The nearest `shown` of everything due (overdue first, then by deadline; none last) and
    how many more there are."""
    merged = sorted(
        (d for found in lists for d in found),
        key=lambda d: (not d.overdue, d.deadline is None, d.deadline or ""),
    )
    return merged[:shown], max(0, len(merged) - shown)
