"""风险看板: the open risks of the person's district, filtered by market, severity and rule,
acknowledged by an inspector, refreshed live (server-sent events from `telemetry.risks.v1`), each
one click from its temperature curve."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from services.console import labels
from services.console.auth import safe_next
from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.live import RiskFeed
from services.console.sessions import Session
from services.console.web import (
    Acting,
    OutOfScope,
    Services,
    failed,
    is_htmx,
    market_names,
    may_see,
    names_by_id,
    render,
    unavailable_503,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Merged into the app's lifespan by include_router: the feed stops with the console.
    feed = RiskFeed(app.state.settings)
    app.state.risk_feed = feed
    try:
        yield
    finally:
        await feed.close()


router = APIRouter(lifespan=lifespan)
# Who reads risks: the roles telemetry admits (a department's staff, 部门人员, is not among them);
# anyone else is told so on the page rather than by a service's refusal.
READERS = ("inspector", "handler", "clerk", "leader")
REFUSAL = "风险由检查员、投诉处理员、登记员和领导查看。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]
ACKNOWLEDGED = {"acknowledged": "已确认风险"}
SEVERITY_RANK = {"warning": 0, "minor": 1, "major": 2, "critical": 3}
# A stream ends after this long and the browser reconnects (so a console can stop in time).
STREAM_S = 300.0
HEARTBEAT_S = 15.0


def _feed(request: Request) -> RiskFeed:
    feed: RiskFeed | None = getattr(request.app.state, "risk_feed", None)
    if feed is None:
        feed = request.app.state.risk_feed = RiskFeed(request.app.state.settings)
    return feed


async def _names(services: Backend, who: Session) -> tuple[dict[str, str], dict[str, str]]:
    """Market and merchant names of the person's scope, by id."""
    token = who.access_token
    markets, merchants = await asyncio.gather(
        market_names(services, token), names_by_id(services, "/merchants", token)
    )
    if markets is None or merchants is None:
        return {}, {}
    return markets, merchants


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {
        "market_id": q.get("market_id", ""),
        "severity": q.get("severity", "") if q.get("severity") in labels.SEVERITY else "",
        "rule": q.get("rule", "") if q.get("rule") in labels.RULE else "",
    }


async def _board(request: Request, who: Session, services: Backend) -> Response:
    chosen = _filters(request)
    (markets, merchants), risks = await asyncio.gather(
        _names(services, who),
        services.items(
            "telemetry",
            "/risks",
            who.access_token,
            state="open",
            market_id=chosen["market_id"] or None,
            limit=1000,
        ),
    )
    shown = [
        r
        for r in risks
        if (not chosen["severity"] or r.get("severity") == chosen["severity"])
        and (not chosen["rule"] or r.get("rule") == chosen["rule"])
    ]
    shown.sort(key=lambda r: str(r.get("raised_at") or ""), reverse=True)
    shown.sort(key=lambda r: -SEVERITY_RANK.get(r.get("severity", ""), -1))
    query = urlencode({k: v for k, v in chosen.items() if v})
    context: dict[str, Any] = {
        "risks": shown,
        "total": len(risks),
        "markets": markets,
        "merchants": merchants,
        "chosen": chosen,
        "query": query,
        "severities": labels.SEVERITY,
        "rules": labels.RULE,
        "can_acknowledge": who.principal.holds("inspector"),
        "back": "/staff/risks" + (f"?{query}" if query else ""),
    }
    if is_htmx(request):
        return render(request, "risks/_list.html", who, **context)
    notice = "已确认风险" if request.query_params.get("done") == "acknowledged" else None
    return render(request, "risks/board.html", who, notice=notice, **context)


@router.get("/staff/risks")
async def risk_board(request: Request, who: Reader, services: Services) -> Response:
    return await _board(request, who, services)


@router.get("/staff/risks/events")
async def risk_events(request: Request, who: Reader) -> Response:
    """text/event-stream: `risk` whenever a risk of the person's district is raised, escalated,
    acknowledged or cleared. A reconnecting browser (Last-Event-ID) is told `risk` at once, so
    it catches up on what it missed while away."""
    feed = _feed(request)
    district = "*" if who.principal.city_wide else who.principal.district
    reconnecting = request.headers.get("last-event-id") is not None

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        sent = 0
        async with feed.watch(district) as watcher:
            live = await feed.ready(within=10.0)
            yield f"retry: 3000\nid: {sent}\nevent: ready\ndata: {json.dumps({'live': live})}\n\n"
            if reconnecting:
                yield f"id: {sent}\nevent: risk\ndata: {{}}\n\n"
            until = loop.time() + STREAM_S
            while (left := until - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), min(HEARTBEAT_S, left))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                sent += 1
                yield f"id: {sent}\nevent: risk\ndata: {json.dumps(item)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/staff/risks/{risk_id}/acknowledge")
async def acknowledge(request: Request, risk_id: str, who: Acting, services: Services) -> Response:
    form = await request.form()
    note = form.get("note")
    back = safe_next(str(form.get("back") or "/staff/risks"))
    body = {"note": note.strip()} if isinstance(note, str) and note.strip() else {}
    try:
        await services.post("telemetry", f"/risks/{risk_id}/acknowledge", who.access_token, body)
    except ApiError as exc:
        if back != f"/staff/risks/{risk_id}":
            return failed(request, who, exc, title="无法确认风险")
        # From the risk's own page: said beside its form, the note kept; nothing was recorded.
        refusal = Form.refused(
            {"acknowledge": labels.reason_zh(exc.message)},
            {"note": note if isinstance(note, str) else ""},
            unavailable_503(exc),
        )
        return await _risk_page(request, who, services, risk_id, refusal)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}done=acknowledged", status_code=303)


def curve(risk: dict[str, Any]) -> str | None:
    """The risk's readings as uPlot columns, with the limit in force drawn beside them."""
    evidence = risk.get("evidence") or {}
    readings = [r for r in evidence.get("readings") or [] if r.get("temp_c") is not None]
    if not readings:
        return None
    thresholds = evidence.get("thresholds") or {}
    limit = thresholds.get("limit_c")
    return json.dumps(
        {
            "series": [{"label": "温度 °C", "color": "#0b5cab"}],
            "data": [
                [datetime.fromisoformat(r["ts"]).timestamp() for r in readings],
                [r["temp_c"] for r in readings],
            ],
            "unit": "°C",
            "limit": limit if isinstance(limit, int | float) else None,
            "limitLabel": "超标限值",
        }
    )


async def _risk(services: Backend, token: str, risk_id: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await services.get("telemetry", f"/risks/{risk_id}", token)
        return found
    except ApiError as exc:
        if exc.status not in (404, 405):
            raise
    # A telemetry without GET /risks/{id}: the risk from the list (without its readings).
    for state in ("open", "cleared"):
        for risk in await services.items("telemetry", "/risks", token, state=state, limit=1000):
            if risk.get("id") == risk_id:
                return dict(risk)
    return None


@router.get("/staff/risks/{risk_id}")
async def risk_detail(request: Request, risk_id: str, who: Reader, services: Services) -> Response:
    return await _risk_page(request, who, services, risk_id, Form.done(request, ACKNOWLEDGED))


async def _risk_page(
    request: Request, who: Session, services: Backend, risk_id: str, form: Form
) -> Response:
    risk = await _risk(services, who.access_token, risk_id)
    if risk is None:
        raise OutOfScope("风险")
    markets, merchants = await _names(services, who)
    return form.page(
        request,
        "risks/detail.html",
        who,
        risk=risk,
        evidence=risk.get("evidence") or {},
        curve=curve(risk),
        markets=markets,
        merchants=merchants,
        can_acknowledge=who.principal.holds("inspector"),
    )
