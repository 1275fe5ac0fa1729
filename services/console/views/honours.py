"""The monthly honour and warning list (红黑榜, issue 17), drawn by the credit service: the
staff page (`/staff/honours`: a month's 红榜 and 黑榜 of markets and merchants with the rules each
met, in Chinese; the entries that left the list; 生成 for an admin) and the citizens' page
(`/honours`: the same lists, no sign-in, rate limited like every public page, markets' and
merchants' registered names only — nothing personal)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import clock, labels
from services.console.backend import ApiError, Backend
from services.console.sessions import Session
from services.console.views import public
from services.console.web import Acting, Services, backend, chosen_view, may_see, render

router = APIRouter()
# The citizens' page: a token from the client's bucket first, like every public page.
public_router = APIRouter(route_class=public._Limited)

READERS = ("clerk", "inspector", "handler", "leader")
# The page's two views: the lists drawn (the default), and this month so far (本月预览).
VIEWS = {"open": "已公布", "preview": "本月预览"}
Reader = Annotated[Session, may_see(*READERS, message="您的角色无权查看红黑榜。")]
MONTHS_SHOWN = 24
DONE = {"drawn": "红黑榜已生成", "exists": "该月红黑榜此前已生成，未重复发布"}


def ended_months(today: date | None = None, count: int = MONTHS_SHOWN) -> list[str]:
    """The months that have ended (city time), the latest first: `2026-04`, `2026-03`, …"""
    day = today or clock.today()
    index = day.year * 12 + day.month - 1  # this month
    return [f"{(i - 1) // 12:04d}-{(i - 1) % 12 + 1:02d}" for i in range(index, index - count, -1)]


def month_zh(month: str | None) -> str:
    if not month or len(month) != 7:
        return month or ""
    return f"{month[:4]} 年 {int(month[5:])} 月"


@dataclass
class Board:
    """One month's lists as a page shows them: each list's markets and merchants."""

    month: str
    drawn_at: str | None = None
    policy_version: str | None = None
    lists: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    delisted: list[dict[str, Any]] = field(default_factory=list)
    drawn_by: dict[str, Any] | None = None
    as_of: str | None = None  # a preview's moment; None for a list drawn

    @classmethod
    def of(cls, body: dict[str, Any]) -> Board:
        lists = {
            kind: {
                entity: [e for e in body.get(kind) or [] if e.get("entity") == entity]
                for entity in labels.HONOUR_ENTITY
            }
            for kind in labels.HONOUR_LIST
        }
        return cls(
            month=str(body.get("month") or ""),
            drawn_at=body.get("drawn_at"),
            policy_version=body.get("policy_version"),
            lists=lists,
            delisted=list(body.get("delisted") or []),
            drawn_by=body.get("drawn_by"),
            as_of=body.get("as_of"),
        )

    @property
    def empty(self) -> bool:
        return not any(e for by in self.lists.values() for e in by.values())


def not_drawn(exc: ApiError) -> bool:
    """404 from the credit service's own handler (no list drawn), not a missing route."""
    return exc.status == 404 and exc.message != "Not Found"


def _month(value: str | None) -> str:
    value = (value or "").strip()
    return value if value in ended_months() else ""


async def _districts(services: Backend, token: str, path: str) -> dict[str, str]:
    try:
        body = await services.get("registry", path, token)
    except ApiError:
        return {}
    listed = body.get("items", []) if isinstance(body, dict) else body
    return {d["code"]: d.get("name") or d["code"] for d in listed}


async def _board(
    request: Request,
    who: Session,
    services: Backend,
    *,
    month: str,
    district: str,
    errors: dict[str, str] | None = None,
    draw_month: str = "",
    notice: str | None = None,
    status_code: int = 200,
    view: str = "open",
) -> Response:
    token = who.access_token
    board: Board | None = None
    problem: str | None = None
    asked = (
        services.get("credit", "/honours/preview", token, district=district)
        if view == "preview"
        else services.get("credit", "/honours", token, month=month, district=district)
    )
    try:
        body, districts = await asyncio.gather(asked, _districts(services, token, "/districts"))
        board = Board.of(body)
    except ApiError as exc:
        districts = await _districts(services, token, "/districts")
        if view != "preview" and not_drawn(exc):
            problem = f"{month_zh(month)}的红黑榜尚未生成。" if month else "还没有生成红黑榜。"
        else:
            problem = labels.reason_zh(exc.message)
    months = ended_months()
    return render(
        request,
        "honours/staff.html",
        who,
        status_code=status_code,
        board=board,
        problem=problem,
        month=month,
        months=months,
        month_zh=month_zh,
        district=district,
        districts=districts,
        city_wide=who.principal.city_wide,
        may_draw=who.principal.holds("admin"),
        draw_month=draw_month or (board.month if board else "") or month or months[0],
        errors=errors or {},
        notice=notice,
        view=view,
        views=VIEWS,
    )


@router.get("/staff/honours")
async def staff_honours(request: Request, who: Reader, services: Services) -> Response:
    q = request.query_params
    return await _board(
        request,
        who,
        services,
        month=_month(q.get("month")),
        district=q.get("district", "").strip()[:32],
        notice=DONE.get(q.get("done", "")),
        view=chosen_view(request, VIEWS),
    )


@router.post("/staff/honours/draw")
async def draw(request: Request, who: Acting, services: Services) -> Response:
    """生成 (admin): the credit service draws the month once; drawing it again changes nothing."""
    form = await request.form()
    month = str(form.get("month") or "").strip()
    if not who.principal.holds("admin"):
        return render(
            request,
            "error.html",
            who,
            status_code=403,
            title="无权操作",
            message="红黑榜由管理员生成。",
        )
    try:
        body = await services.post("credit", "/honours/draw", who.access_token, {"month": month})
    except ApiError as exc:
        errors = {"month": "必填"} if not month else {}
        for e in exc.errors:
            errors.setdefault("month", labels.reason_zh(e.get("reason", "")))
        errors = errors or {"month": labels.reason_zh(exc.message)}
        return await _board(
            request,
            who,
            services,
            month=_month(month),
            district="",
            errors=errors,
            draw_month=month,
            status_code=exc.status if exc.status >= 400 else 502,
        )
    done = "drawn" if body.get("drawn") else "exists"
    return RedirectResponse(f"/staff/honours?month={body['month']}&done={done}", status_code=303)


@public_router.get("/honours")
async def public_honours(request: Request) -> Response:
    """红黑榜 for citizens: the month's lists by district, registered names and reasons only."""
    services = backend(request)
    q = request.query_params
    month = _month(q.get("month"))
    district = q.get("district", "").strip()[:32]
    (body, failed), (districts, _) = await asyncio.gather(
        public._fetch(
            services.get("credit", "/public/honours", "", month=month, district=district)
        ),
        public._fetch(services.get("registry", "/public/districts", "")),
    )
    names = {d["code"]: d.get("name") or d["code"] for d in public._items(districts)}
    board = Board.of(body) if isinstance(body, dict) else None
    if board is not None:
        board.delisted, board.drawn_by = [], None  # the public view has neither
    return public._page(
        request,
        "honours/public.html",
        board=board,
        failed=failed,
        month=month,
        months=ended_months(),
        month_zh=month_zh,
        district=district,
        districts=names,
    )
