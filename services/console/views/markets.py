"""A market for staff (`/staff/markets/{id}`, docs/console.md): where a leader drills into a
market from 总览's ranking. Its 考核 with the parts the score is made of — each part's value,
weight and the points it gives — its merchants' 信用等级, its duties' standing, and its open
risks, inspection tasks and complaints, each linked to its own page. Each part comes from its own
service and stands alone: one that does not answer (or does not admit the person's role) leaves
only its part saying so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console import labels
from services.console.backend import ApiError, Backend
from services.console.sessions import Session
from services.console.views.overview import ASSESSMENT_DAYS
from services.console.views.renovations import READERS as RENOVATION_READERS
from services.console.web import OutOfScope, Services, may_see, render

router = APIRouter()

# Staff of the market's district; a market's operator never reaches it (web.OPERATOR_PAGES).
READERS = ("leader", "inspector", "clerk", "handler", "department")
Reader = Annotated[Session, may_see(*READERS, message="市场页面仅供本区工作人员查看。")]

UNAVAILABLE = "暂时无法获取"
NOT_FOR_ROLE = "您的角色无权查看此项"

SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2, "warning": 3}


def score_parts(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    """Why the score is what it is: each part credit weighed, with its label, its value (0..1,
    None when there was nothing to rate), its weight, and — for a counted part — the points it
    gives and the most it could give. The score is 100 × the weighted mean of the counted parts
    (services/credit/domain/assessment.py), so a left-out part's weight goes to the others and
    the counted parts' points add up to the score."""
    given = [p for p in assessment.get("parts") or [] if p.get("part") in labels.ASSESSMENT_PART]
    counted = sum(float(p.get("weight") or 0) for p in given if p.get("value") is not None)
    shaped = []
    for p in given:
        name, value, weight = str(p["part"]), p.get("value"), float(p.get("weight") or 0)
        label, how = labels.ASSESSMENT_PART[name]
        share = weight / counted if value is not None and counted else None
        shaped.append(
            {
                "part": name,
                "label": label,
                "how": how,
                "value": value,
                "weight": weight,
                "counts": share is not None,
                "most": None if share is None else round(100 * share, 1),
                "points": None if share is None else round(100 * share * float(value), 1),
                # open risks are scored, not shown as a share: say how many are open
                "open": assessment.get("open_risks") if name == "open_risks" else None,
            }
        )
    return shaped


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)) if value else datetime.max.replace(tzinfo=UTC)


def by_deadline(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Open work by its deadline, the earliest (the overdue) first; none given, last."""
    return sorted(items, key=lambda i: _moment(i.get(key)))


def by_severity(risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open risks, the most severe first, then the oldest."""
    return sorted(
        risks,
        key=lambda r: (SEVERITY_ORDER.get(str(r.get("severity")), 9), _moment(r.get("raised_at"))),
    )


CLOSED = "不再进行：该市场已停业"


def why_not(exc: ApiError) -> str:
    """A part of a page a service refused, in words: the person's role, or the service."""
    return NOT_FOR_ROLE if exc.status in (401, 403) else UNAVAILABLE


async def fetch(call: Awaitable[Any]) -> tuple[Any, str | None]:
    """(the answer, None), or (None, why not in words) when the service refused it or did not
    answer: a part of the page, never the page. (Any: the page's eight parts are fetched at
    once, more than asyncio.gather's typed forms take.)"""
    try:
        return await call, None
    except ApiError as exc:
        return None, why_not(exc)


async def assessment_of(
    services: Backend, token: str, market_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Credit's assessment of the market over the overview's period, or why not in words (for
    this page and the operator's home). A 404 naming the market is no failure: credit has not
    heard of a new market yet, so there is no assessment to show. A 409 is a market closed for
    good (停业), assessed no more: said as such."""
    path = f"/markets/{market_id}/assessment"
    try:
        found = await services.get("credit", path, token, days=ASSESSMENT_DAYS)
    except ApiError as exc:
        if exc.status == 404 and exc.message != "Not Found":  # not a missing route
            return None, None
        if exc.status == 409:
            return None, CLOSED
        return None, why_not(exc)
    return (found if isinstance(found, dict) else None), None


async def _each_state(
    services: Backend, service: str, path: str, token: str, market_id: str, states: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The market's items in any of `states` (the APIs filter by one state at a time)."""
    found = await asyncio.gather(
        *(services.items(service, path, token, market_id=market_id, state=s) for s in states)
    )
    return [item for items in found for item in items]


async def _market(services: Backend, market_id: str) -> tuple[dict[str, Any] | None, bool]:
    """(the registry's public view of the market, whether the registry says there is none). The
    public view needs no role: a department's staff reads the name too."""
    try:
        found = await services.get("registry", f"/public/markets/{market_id}", "")
    except ApiError as exc:
        return None, exc.status == 404
    return (found if isinstance(found, dict) else None), False


def in_scope(market: dict[str, Any] | None, who: Session) -> bool:
    """Another district's market reads as absent, like every other page's. Without the
    registry's answer the services still check the scope, part by part."""
    return market is None or who.principal.may_act_in(str(market.get("district") or ""))


@router.get("/staff/markets/{market_id}")
async def market_page(
    request: Request, market_id: str, who: Reader, services: Services
) -> Response:
    token = who.access_token
    (
        (market, absent),
        (assessment, assessment_failed),
        (grades, grades_failed),
        (standing, standing_failed),
        (risks, risks_failed),
        (tasks, tasks_failed),
        (complaints, complaints_failed),
        (projects, projects_failed),
        (merchants, _),
    ) = await asyncio.gather(
        _market(services, market_id),
        assessment_of(services, token, market_id),
        fetch(services.get("credit", f"/public/markets/{market_id}/grades", "")),
        fetch(services.get("campaign", f"/markets/{market_id}/duties", token)),
        fetch(services.items("telemetry", "/risks", token, market_id=market_id, state="open")),
        fetch(_each_state(services, "inspection", "/tasks", token, market_id, ("open", "claimed"))),
        fetch(
            _each_state(
                services, "complaints", "/complaints", token, market_id, ("received", "accepted")
            )
        ),
        fetch(services.items("campaign", "/renovations", token, market_id=market_id)),
        fetch(services.get("registry", f"/public/markets/{market_id}/merchants", "")),
    )
    if absent or not in_scope(market, who):
        raise OutOfScope("市场")
    name = (market or {}).get("name") or (assessment or {}).get("market_name") or "该市场"
    # Open work the person's role may not see is left out, not drawn as a part refused.
    refused = {
        part
        for part, why in (
            ("risks", risks_failed),
            ("tasks", tasks_failed),
            ("complaints", complaints_failed),
            ("renovations", projects_failed),
        )
        if why == NOT_FOR_ROLE
    }
    shares = (grades or {}).get("shares") or {}
    return render(
        request,
        "markets/page.html",
        who,
        market_id=market_id,
        name=name,
        market=market,
        assessment=assessment,
        assessment_failed=assessment_failed,
        parts=score_parts(assessment) if assessment else [],
        assessment_days=ASSESSMENT_DAYS,
        grades=grades,
        shares=[(g, round(float(shares.get(g) or 0) * 100)) for g in "ABCD"] if shares else [],
        grades_failed=grades_failed,
        standing=standing,
        standing_failed=standing_failed,
        risks=by_severity(risks or []),
        risks_failed=risks_failed,
        tasks=by_deadline(tasks or [], "due_at"),
        tasks_failed=tasks_failed,
        complaints=by_deadline(complaints or [], "current_deadline"),
        complaints_failed=complaints_failed,
        renovations=projects or [],
        renovations_failed=projects_failed,
        reads_renovations=who.principal.holds(*RENOVATION_READERS),
        refused=refused,
        merchants={m["id"]: m["name"] for m in (merchants or {}).get("items") or []},
    )
