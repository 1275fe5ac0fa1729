"""An objection's decision deadline (异议处理期限) as staff read it — the day, how it stands, the
rule that set it — for the 信用异议 list, the merchant's page and the objection ledger (台账).
Credit computes the deadline and the working days (services/credit/domain/objections.py); this
only words them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

# The rule that set an objection's deadline, as the clerk reads it (docs/objections.md): credit
# says how many working days set it (`working_days`, CREDIT_OBJECTION_WORKING_DAYS at the filing).
DEFAULT_WORKING_DAYS: Final = 10


def deadline_rule(objection: dict[str, Any]) -> str:
    days = objection.get("working_days") or DEFAULT_WORKING_DAYS
    return f"收到后 {days} 个工作日内决定"


@dataclass(frozen=True)
class DecisionClock:
    """An objection's deadline as a line of the list and of the merchant's page."""

    due_at: str | None
    rule: str
    status: str  # 剩余 3 个工作日 / 临期 · 剩余 1 个工作日 / 逾期 / 按期决定 / 逾期决定
    css: str  # overdue / nearing / ok / ""


def decision_clock(objection: dict[str, Any]) -> DecisionClock:
    """How credit says the objection's deadline stands: working days left, 临期 or 逾期 while it
    is open; whether it was decided on time once decided."""
    due_at = objection.get("due_at")
    if objection.get("state") == "withdrawn":
        return DecisionClock(due_at, deadline_rule(objection), "已撤回", "muted")
    if objection.get("state") != "open":
        late = objection.get("decided_late")
        return DecisionClock(
            due_at,
            deadline_rule(objection),
            "逾期决定" if late else "按期决定",
            "overdue" if late else "ok",
        )
    left = objection.get("working_days_left")
    if objection.get("overdue"):
        status, css = "逾期", "overdue"
    elif left == 0:
        status, css = "临期 · 今天到期", "nearing"
    elif objection.get("nearing"):
        status, css = f"临期 · 剩余 {left} 个工作日", "nearing"
    else:
        status, css = f"剩余 {left} 个工作日", ""
    return DecisionClock(due_at, deadline_rule(objection), status, css)
