"""总览 for a leader (领导): the district's ranking in the latest assessment (考核), the campaign's
progress with its late milestones, and how risks, complaints and inspection tasks went day by day.
Leaders read here; nothing on this page changes anything."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console import clock
from services.console.backend import ApiError, Backend
from services.console.clock import CHINA
from services.console.sessions import Session
from services.console.web import Person, Services, render, templates

router = APIRouter()
TREND_DAYS = 30
ASSESSMENT_DAYS = 30
LATE = ("late", "overdue")


def _tenth(value: float | None) -> str:
    """`w-70`: a width class (the CSP allows no inline style) for a share in 0..1."""
    return f"w-{round(max(0.0, min(1.0, value or 0.0)) * 10) * 10}"


templates.env.filters["tenth"] = _tenth


async def _ranking(services: Backend, who: Session) -> tuple[list[dict[str, Any]], list[Any]]:
    """Every market of the scope with its assessment, best first; the districts' roll-ups. One
    call: credit ranks the scope's markets as it assesses them all at once."""
    try:
        body = await services.get(
            "credit",
            "/assessments",
            who.access_token,
            days=ASSESSMENT_DAYS,
            district=who.principal.listing_district(),
        )
    except ApiError:
        return [], []
    found: list[dict[str, Any]] = list(body.get("markets") or [])
    # Districts by their standing in the city (credit ranks them), each district's markets by
    # their rank within it.
    standing = sorted(
        body.get("districts") or [], key=lambda d: (d.get("city_rank") or 10**6, d["district"])
    )
    order = {d["district"]: i for i, d in enumerate(standing)}
    found.sort(key=lambda a: (order.get(a.get("district", ""), 10**6), a.get("rank") or 10**6))
    return found, standing


async def _campaign(services: Backend, who: Session) -> dict[str, Any] | None:
    """The latest campaign's progress, the person's district only, with its late milestones."""
    token = who.access_token
    try:
        campaigns = await services.items("campaign", "/campaigns", token)
        if not campaigns:
            return None
        latest = max(
            campaigns, key=lambda c: (c.get("year") or 0, c.get("mobilisation_date") or "")
        )
        progress: dict[str, Any] = await services.get(
            "campaign", f"/campaigns/{latest['id']}/progress", token
        )
    except ApiError:
        return None
    mine = who.principal.listing_district()
    progress["districts"] = [
        d for d in progress.get("districts") or [] if mine is None or d.get("district") == mine
    ]
    late: list[dict[str, Any]] = []
    for d in progress["districts"]:
        for item in d.get("milestone_items") or []:
            if item.get("status") in LATE:
                late.append(item | {"district_name": d.get("name") or d.get("district")})
        m = d.get("milestones") or {}
        done = (m.get("on_time") or 0) + (m.get("late") or 0)
        d["done_share"] = done / m["expected"] if m.get("expected") else None
    late.sort(key=lambda i: (i.get("status") != "overdue", str(i.get("deadline") or "")))
    progress["late"] = late
    return progress


def _day(value: str | None) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(CHINA).date()


def per_day(stamps: list[str | None], days: list[date]) -> list[int]:
    counted = Counter(_day(s) for s in stamps)
    return [counted.get(d, 0) for d in days]


async def _stamps(
    services: Backend, service: str, path: str, token: str, key: str
) -> list[str | None] | None:
    try:
        items = await services.items(service, path, token, limit=1000)
    except ApiError:
        return None
    return [i.get(key) for i in items]


async def _trends(services: Backend, who: Session) -> tuple[str | None, dict[str, int | None]]:
    """Counts per day (China time) over the last 30 days, as a uPlot chart; totals beside it."""
    token = who.access_token
    today = clock.today()
    days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    risks, complaints, tasks = await asyncio.gather(
        _stamps(services, "telemetry", "/risks", token, "raised_at"),
        _stamps(services, "complaints", "/complaints", token, "received_at"),
        _stamps(services, "inspection", "/tasks", token, "created_at"),
    )
    series: list[dict[str, str]] = []
    columns: list[list[int]] = []
    totals: dict[str, int | None] = {}
    for label, color, stamps in (
        ("风险", "#c62828", risks),
        ("投诉", "#ad5600", complaints),
        ("检查任务", "#0b5cab", tasks),
    ):
        if stamps is None:
            totals[label] = None
            continue
        counts = per_day(stamps, days)
        totals[label] = sum(counts)
        series.append({"label": label, "color": color})
        columns.append(counts)
    if not series:
        return None, totals
    xs = [datetime(d.year, d.month, d.day, tzinfo=CHINA).timestamp() for d in days]
    chart = json.dumps({"series": series, "data": [xs, *columns], "unit": "件/天"})
    return chart, totals


@router.get("/staff/overview")
async def overview(request: Request, who: Person, services: Services) -> Response:
    return await overview_page(request, who, services)


async def overview_page(
    request: Request, who: Session, services: Backend, cards: Sequence[Any] = ()
) -> Response:
    """The overview; with `cards`, a leader's home: 总览 first, then each area's card below."""
    (ranking, districts), campaign, (trend, totals) = await asyncio.gather(
        _ranking(services, who),
        _campaign(services, who),
        _trends(services, who),
    )
    names = request.app.state.district_names
    for d in districts:
        d["name"] = names.name(d["district"])
    for a in ranking:
        a["district_name"] = names.name(a.get("district", ""))
    return render(
        request,
        "overview/index.html",
        who,
        district_name=names.name(who.principal.district),
        ranking=ranking,
        districts=districts,
        campaign=campaign,
        trend=trend,
        totals=totals,
        trend_days=TREND_DAYS,
        assessment_days=ASSESSMENT_DAYS,
        cards=cards,
    )
