"""What a department member (部门人员) finds on the staff home (docs/console.md, Pages, `/staff/`):
the open 议定事项 of joint meetings by their deadline day and the 联合执法 cases waiting for a
decision, as 待办 rows of the same agenda as the other roles' (services/console/agenda.py); and
their district's markets by name, their way into a market's page (docs/identity.md: department
staff read the registry's markets of their district). Pure apart from `district_markets`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from services.console import labels
from services.console.agenda import Due
from services.console.backend import Backend
from services.console.clock import CHINA
from services.console.sessions import Session
from services.console.views import joint
from services.console.web import days_left, markets_of, optional

# How many of the district's markets the home names before folding the rest away.
MARKETS_SHOWN = 8


def _end_of(day: str) -> str:
    """The last second of a deadline day in the city, as an instant in UTC: an item is on time
    when done on its deadline day (the campaign's rule), and the agenda orders every row's
    deadline as text, which holds only when all are written in the same offset (as the
    complaints' `current_deadline` is)."""
    closing = datetime.combine(date.fromisoformat(day), time(23, 59, 59), CHINA)
    return closing.astimezone(UTC).isoformat()


def _department(code: Any) -> str:
    return labels.label(labels.DEPARTMENT, code)


def theirs(who: Session, work: Mapping[str, Any]) -> bool:
    """Whether joint work counts as the person's own: anyone's for everyone but a department
    member only (not also a clerk, for items, or an inspector, for cases), who owns an action
    item of their department (`department`) and a case their department is involved in
    (`departments`), as the campaign service rules (docs/campaign.md)."""
    if "departments" in work:  # an enforcement case
        return joint.owns_case(who, work)
    return joint.owns_item(who, work)


def open_items(who: Session, services: Backend) -> Awaitable[list[Any]]:
    """The open action items the home asks the campaign for: a department member's own
    department's only (the token's `department`), as only those are theirs to report done."""
    params: dict[str, Any] = {"state": "open", "limit": 1000}
    if who.principal.department_only("clerk") and who.principal.department:
        params["department"] = who.principal.department
    return services.items("campaign", "/action-items", who.access_token, **params)


def open_cases(who: Session, services: Backend) -> Awaitable[list[Any]]:
    """The 联合执法 cases waiting for a decision, as the home asks the campaign for them."""
    return services.items("campaign", "/enforcement-cases", who.access_token, state="open")


class JointWork:
    """One request's open 议定事项 and 联合执法 cases, each read from the campaign once: the
    home's 联席会议 and 联合执法 cards count them and a department member's 待办 lists them
    (the cards and the rows each asked for them, twice a home)."""

    def __init__(self, who: Session, services: Backend) -> None:
        self._who, self._services = who, services
        self._read: dict[str, asyncio.Future[list[Any]]] = {}

    def _once(
        self, key: str, call: Callable[[Session, Backend], Awaitable[list[Any]]]
    ) -> Awaitable[list[Any]]:
        # A future may be awaited any number of times, each getting its answer (or its error).
        if key not in self._read:
            self._read[key] = asyncio.ensure_future(call(self._who, self._services))
        return self._read[key]

    def items(self) -> Awaitable[list[Any]]:
        return self._once("action-items", open_items)

    def cases(self) -> Awaitable[list[Any]]:
        return self._once("cases", open_cases)


def items_due(items: Iterable[Mapping[str, Any]], who: Session, today: date) -> list[Due]:
    """The open action items the person may report done (their district's; a city meeting's
    only with a city-wide token; a department member's own department's — as the meeting's
    page offers 办结), to 办结 at the item on its meeting's page, by deadline day; late in red,
    each with its owning department."""
    found = []
    for i in items:
        district = str(i.get("district"))
        if i.get("state", "open") != "open" or not joint.may_report_done(who, i, district):
            continue
        deadline = str(i.get("deadline") or "")
        found.append(
            Due(
                "action-item",
                str(i.get("decision") or "议定事项"),
                f"议定事项 · {_department(i.get('department'))}",
                _end_of(deadline) if deadline else None,
                bool(i.get("late")) or (bool(deadline) and date.fromisoformat(deadline) < today),
                "办结",
                # ?item= opens the item's 办结 form on arrival: the fragment never reaches the
                # server, and the row's one button otherwise led to a folded form.
                f"/staff/meetings/{i['meeting_id']}?item={i['id']}#item-{i['id']}",
                left=days_left(deadline, today) if deadline else None,
            )
        )
    return found


def cases_due(cases: Iterable[Mapping[str, Any]], who: Session | None = None) -> list[Due]:
    """The enforcement cases waiting for a decision (待决定) that `who` may decide (a department
    member: those their department is involved in; anyone when `who` is not given), to decide
    on the case's page. A case has no deadline, so these come after everything dated."""
    found = []
    for c in cases:
        if c.get("state", "open") != "open" or (who and not joint.may_work_on_case(who, c)):
            continue
        place = str(c.get("market_name") or "市场")
        if c.get("merchant_name"):
            place += f" · {c['merchant_name']}"
        departments = "、".join(_department(d) for d in c.get("departments") or [])
        found.append(
            Due(
                "enforcement",
                place,
                f"联合执法 · 待决定{f' · {departments}' if departments else ''}",
                None,
                False,
                "处罚决定",
                f"/staff/enforcement/{c['id']}#decide",
            )
        )
    return found


async def district_markets(who: Session, services: Backend) -> list[dict[str, Any]] | None:
    """The district's markets for a department member's home, by name; None for anyone else or
    when the registry does not give them (the section is then left out)."""
    if "department" not in who.principal.roles:
        return None
    return await optional(markets_of(services, who), None)
