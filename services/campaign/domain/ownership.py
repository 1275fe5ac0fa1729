"""Which department's joint work a department member (部门人员) may act on: pure rules.

A department member belongs to one department, which the identity provider states in the token
(`department`, docs/identity.md). They report done only the action items (议定事项) their own
department owns, and decide or close only the enforcement cases (联合执法) their department is
involved in: the joint meeting gave each item to one department, and a case names the departments
that enforce it. Whether a person acts as a department member only — not also as a clerk,
inspector or admin, whose rights are not tied to a department — is the use case's to tell.

No I/O: values in, nothing or a `NotTheirs` / `NoDepartment` out (403 over HTTP).
"""

from __future__ import annotations

from services.campaign.domain.enforcement import Case
from services.campaign.domain.joint import JointRuleError
from services.campaign.domain.meetings import ActionItem


class NotTheirs(JointRuleError):
    """The work belongs to another department than the person's."""


class NoDepartment(JointRuleError):
    """A department member's token names no department, so no department's work is theirs."""

    def __init__(self) -> None:
        super().__init__(
            "the token of a department member names no department: the identity provider must "
            "set the person's `department` attribute (docs/identity.md)"
        )


def _own(department: str | None) -> str:
    if not department:
        raise NoDepartment()
    return department


def may_report_done(department: str | None, item: ActionItem) -> None:
    """A member of `department` may report `item` done only when their department owns it."""
    own = _own(department)
    if item.department != own:
        raise NotTheirs(
            f"action item {item.item_id} is owned by department {item.department!r}; a member "
            f"of {own!r} reports done only the items of their own department"
        )


def may_act_on_case(department: str | None, case: Case, action: str) -> None:
    """A member of `department` may `action` (decide, close) `case` only when their department
    is among the departments involved in it."""
    own = _own(department)
    if own not in case.departments:
        involved = ", ".join(repr(d) for d in case.departments)
        raise NotTheirs(
            f"enforcement case {case.case_id} involves department(s) {involved}; a member of "
            f"{own!r} may {action} only a case their department is involved in"
        )
