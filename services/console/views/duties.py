"""The plan's duties (issue 17) as pages, over the campaign service's duties API:

- 专班汇报 (`/staff/reports`): the district's markets by their next report's due day, the late
  ones first in red; a market's report form (进展, 问题 and 下一步 one per line) for the
  district's clerks and inspectors, and its history. Leaders and department staff read.
- A market's standing (`/staff/duties/{id}`): 自查率, 专班汇报按时率 and 合格证持证率, each with
  the days, periods and managers behind it: the "why" of the numbers on the operator's home.

What these pages share with the operator's 今日自查 (views/self_inspection.py) and 培训
(views/training.py) lives here too. The campaign service decides who may do what; a market
outside the person's scope (another market's operator, another district) is a 403 page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import web
from services.console.backend import ApiError, Backend
from services.console.clock import today
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.web import (
    Person,
    Services,
    above_form,
    closed_on,
    field_errors,
    lines,
    markets_of,
    may_do,
    may_see,
    needed,
    optional,
    refused,
    render,
    status_of,
    typed,
)

router = APIRouter()
T = TypeVar("T")

READERS = ("leader", "department", "clerk", "inspector")  # a district's duties
REPORTERS = ("clerk", "inspector")  # 专班汇报 is filed by them

Reader = Annotated[Session, may_see(*READERS)]
ReporterActing = Annotated[
    Session, may_do(*REPORTERS, message="专班汇报由本区登记员或检查员提交。")
]
PARALLEL = 8  # campaign calls at once for a district's markets
DONE = {"filed": "专班汇报已提交"}


def is_operator(who: Session) -> bool:
    """A market's operator (主办方) and nothing more: its own market's pages only."""
    p = who.principal
    return "operator" in p.roles and "admin" not in p.roles


def failed(request: Request, who: Session, exc: ApiError, what: str = "市场") -> Response:
    """A refusal of the page's own subject: 403 another's market, 404 none such, else said."""
    if exc.status == 403:
        message = (
            "市场主办方只能查看和办理本市场的事项。"
            if is_operator(who)
            else f"该{what}不在您的辖区内。"
        )
        return refused(request, who, message)
    if exc.status == 404:
        return render(
            request,
            "error.html",
            who,
            status_code=404,
            title=f"找不到该{what}",
            message=f"该{what}不存在。",
        )
    return web.failed(request, who, exc)


def form_errors(
    exc: ApiError, where: Callable[[str], str] = lambda f: f, fallback: str = "form"
) -> dict[str, str]:
    """The service's refusal beside the form's fields; not answering, or not allowed, above it."""
    return above_form(exc, fallback) or field_errors(exc, where, fallback)


@dataclass(frozen=True)
class Named:
    """A market as its duties pages name it: its registered name and, once it closed for good
    (停业), the day — it then owes no report or self-inspection."""

    name: str = "该市场"
    closed_on: str | None = None


async def market_named(services: Backend, market_id: str) -> Named:
    """The registry's public view of the market (it needs no role); a plain 该市场 when the
    registry does not answer."""
    found = await optional(services.get("registry", f"/public/markets/{market_id}", ""), None)
    if not isinstance(found, dict):
        return Named()
    return Named(str(found.get("name") or Named.name), closed_on(found))


async def each(calls: list[Awaitable[T]]) -> list[T | ApiError]:
    """Every call's answer (or its refusal), at most PARALLEL at a time."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(call: Awaitable[T]) -> T | ApiError:
        async with gate:
            try:
                return await call
            except ApiError as exc:
                return exc

    return list(await asyncio.gather(*(one(c) for c in calls)))


# -- 专班汇报 --------------------------------------------------------------------------------


def schedule_row(market: dict[str, Any], body: dict[str, Any] | ApiError) -> dict[str, Any]:
    """A market's line on the reports page: its next due day, late periods, last filed."""
    row: dict[str, Any] = {"market": market, "schedule": None, "late": 0, "last": None}
    if isinstance(body, ApiError):
        row["unavailable"] = True
        return row
    items = list(body.get("items") or [])
    row["schedule"] = body.get("schedule")
    row["closed_on"] = body.get("closed_on")
    row["late"] = sum(1 for r in items if r.get("state") == "late")
    row["last"] = next((r for r in items if r.get("filed_on")), None)
    return row


def due_order(row: dict[str, Any]) -> tuple[int, str, str]:
    """Late first, then by the next due day; markets with nothing due last."""
    schedule = row["schedule"]
    if schedule is None:
        return (2, "", str(row["market"].get("name", "")))
    late = row["late"] > 0 or bool(schedule.get("next_is_late"))
    return (0 if late else 1, str(schedule.get("next_due_on")), str(row["market"].get("name")))


@router.get("/staff/reports")
async def reports_page(request: Request, who: Reader, services: Services) -> Response:
    markets = await markets_of(services, who)
    token = who.access_token
    bodies = await each(
        [services.get("campaign", f"/markets/{m['id']}/reports", token) for m in markets]
    )
    rows = sorted((schedule_row(m, b) for m, b in zip(markets, bodies, strict=True)), key=due_order)
    return render(
        request,
        "duties/reports.html",
        who,
        rows=rows,
        late=sum(1 for r in rows if r["schedule"] and due_order(r)[0] == 0),
        today=today().isoformat(),
        unavailable=any(r.get("unavailable") for r in rows),
    )


def report_field(name: str) -> str:
    """`problems.2` → the 问题 box; `period`, `market_id` → above the form."""
    head = name.split(".")[0]
    return head if head in ("progress", "problems", "next_steps") else "form"


async def _report_page(
    request: Request, who: Session, services: Backend, market_id: str, form: Form = BLANK
) -> Response:
    path = f"/markets/{market_id}/reports"
    [body] = await needed(services.get("campaign", path, who.access_token), page=failed)
    schedule = body.get("schedule")
    return form.page(
        request,
        "duties/report.html",
        who,
        market_id=market_id,
        name=(await market_named(services, market_id)).name,
        closed_on=body.get("closed_on"),
        schedule=schedule,
        periods=body.get("items") or [],
        may_file=who.principal.holds(*REPORTERS) and schedule is not None,
    )


@router.get("/staff/reports/{market_id}")
async def report_page(
    request: Request, market_id: str, who: Reader, services: Services
) -> Response:
    return await _report_page(request, who, services, market_id, Form.done(request, DONE))


@router.post("/staff/reports/{market_id}")
async def file_report(
    request: Request, market_id: str, who: ReporterActing, services: Services
) -> Response:
    values = await typed(request, "progress", "problems", "next_steps")
    body = {
        "progress": values["progress"],
        "problems": lines(values["problems"]),
        "next_steps": lines(values["next_steps"]),
    }
    try:
        await services.post("campaign", f"/markets/{market_id}/reports", who.access_token, body)
    except ApiError as exc:
        refusal = Form.refused(form_errors(exc, report_field), values, status_of(exc))
        return await _report_page(request, who, services, market_id, refusal)
    return RedirectResponse(f"/staff/reports/{market_id}?done=filed", status_code=303)


# -- a market's standing, and why ------------------------------------------------------------


def window_of(standing: dict[str, Any]) -> tuple[date, date]:
    """The days the standing counts: `window_days` days up to the day before `as_of`."""
    as_of = date.fromisoformat(str(standing["as_of"]))
    return as_of - timedelta(days=int(standing["window_days"])), as_of - timedelta(days=1)


@router.get("/staff/duties/{market_id}")
async def standing_page(
    request: Request, market_id: str, who: Person, services: Services
) -> Response:
    """自查率, 专班汇报按时率, 合格证持证率 of a market, and the records behind each."""
    token = who.access_token
    path = f"/markets/{market_id}/duties"
    [standing] = await needed(services.get("campaign", path, token), page=failed)
    first, last = window_of(standing)
    base = f"/markets/{market_id}"
    inspections, reports, managers, checklist, named = await asyncio.gather(
        self_inspections(services, token, market_id, first, last),
        optional(services.get("campaign", f"{base}/reports", token), None),
        optional(services.items("campaign", f"{base}/managers", token), None),
        checklist_labels(services, token),
        market_named(services, market_id),
    )
    due_periods = [
        r
        for r in (reports or {}).get("items") or []
        if first.isoformat() <= str(r.get("due_on")) <= last.isoformat()
    ]
    return render(
        request,
        "duties/standing.html",
        who,
        market_id=market_id,
        name=named.name,
        s=standing,
        first=first.isoformat(),
        last=last.isoformat(),
        inspections=inspections,
        periods=due_periods if reports is not None else None,
        managers=managers,
        checklist=checklist,
        staff=not is_operator(who),
    )


async def self_inspections(
    services: Backend, token: str, market_id: str, first: date, last: date
) -> list[dict[str, Any]] | None:
    """The market's self-inspections recorded from `first` to `last`; None when not answered."""
    days = {"from": first.isoformat(), "to": last.isoformat()}
    path = f"/markets/{market_id}/self-inspections"
    return await optional(services.items("campaign", path, token, **days), None)


async def checklist_labels(services: Backend, token: str) -> dict[str, str]:
    """The checklist's items by code, in Chinese."""
    body = await optional(services.get("campaign", "/self-inspection-checklist", token), {})
    return {i["code"]: i.get("label_zh") or i["code"] for i in (body or {}).get("items") or []}
