"""A complaint's two statutory clocks (受理期限, 调解期限) as staff read them — which runs,
how many working days are left, how the stopped ones ended — for the handler's queue and case
page and for the complaints ledger (台账). The complaints service computes every deadline and
the working days; this only words them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.console import clock, labels

# The statutory clocks as the handler reads them (docs/rules.md; the service holds the numbers).
RULES = {
    "acceptance": "收到后 7 个工作日",
    "mediation": "受理后 45 个工作日",
}
# A case moved (移送) to its district: the acceptance clock started at the move.
MOVED_ACCEPTANCE_RULE = "移送后 7 个工作日"


def acceptance_rule(case: dict[str, Any]) -> str:
    """The rule that set the case's acceptance deadline: from receipt, or from its move."""
    return MOVED_ACCEPTANCE_RULE if case.get("transfers") else RULES["acceptance"]


# The words for a closing whose complainant could not be reached for a rating (the service
# records a null satisfaction): the timeline's, the form's choice and the ledger's.
UNREACHED_LABEL = "未能回访"


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _past(value: str | None, now: datetime) -> bool:
    moment = _moment(value)
    return moment is not None and moment < now


def _after(value: str | None, deadline: str | None) -> bool:
    moment, limit = _moment(value), _moment(deadline)
    return moment is not None and limit is not None and moment > limit


@dataclass
class Clock:
    """One of a case's two clocks, as a line of the queue and of the case page."""

    name: str  # 受理期限 / 调解期限
    rule: str  # 收到后 7 个工作日
    deadline: str | None
    running: bool
    status: str  # 剩余 3 个工作日 / 临期 / 逾期 / 按期受理 / 受理后起算 ...
    css: str  # overdue / nearing / ok / muted


def clocks(case: dict[str, Any], now: datetime | None = None) -> list[Clock]:
    """受理期限 and 调解期限 of a case: which runs, how many working days are left, whether the
    running one is nearing (临期) or past (逾期) its deadline, and how the stopped ones ended."""
    now = now or clock.now()
    running = case.get("running_clock")
    left = case.get("working_days_left")
    found: list[Clock] = []
    for name in ("acceptance", "mediation"):
        deadline = case.get(f"{name}_deadline")
        marked = case.get(f"{name}_overdue_at")
        if name == running:
            if marked or _past(deadline, now):
                status, css = "逾期", "overdue"
            elif case.get("nearing"):
                status, css = f"临期 · 剩余 {left} 个工作日", "nearing"
            else:
                status, css = f"剩余 {left} 个工作日", ""
        elif name == "acceptance":
            late = _after(case.get("accepted_at") or case.get("rejected_at"), deadline)
            decision = "决定" if case.get("rejected_at") else "受理"
            status, css = (
                (f"逾期{decision}", "overdue") if late or marked else (f"按期{decision}", "ok")
            )
        elif deadline is None:
            # Mediation starts on acceptance; a rejected case never has one.
            status = "不予受理，无调解" if case.get("state") == "rejected" else "受理后起算"
            css = "muted"
        else:
            late = _after(case.get("closed_at"), deadline)
            status, css = ("逾期办结", "overdue") if late or marked else ("按期办结", "ok")
        rule = acceptance_rule(case) if name == "acceptance" else RULES[name]
        found.append(Clock(labels.CLOCK[name], rule, deadline, name == running, status, css))
    return found
