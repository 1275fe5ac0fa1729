"""培训 of market managers (三(二)), over the campaign service's training API.

- `/staff/training`: 合格证即将到期 first (valid certificates whose last day is within 30 days,
  soonest first), then the courses with their sessions and the district's markets. Clerks add a
  course (title, validity in months) and a session (day, place).
- `/staff/training/markets/{id}`: the market's managers with their certificate; a manager is
  registered (name, position) by a clerk or the market's own operator; a clerk records a
  session's attendance, the trainee picked from the market's managers, 合格 or 不合格 — a pass
  issues the certificate.

Managers' names are staff data: shown on these signed-in pages only, never on a public page.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console.backend import ApiError, Backend
from services.console.clock import today
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.views.duties import (
    READERS,
    failed,
    form_errors,
    is_operator,
    market_named,
)
from services.console.web import (
    Person,
    Services,
    markets_of,
    may_do,
    may_see,
    needed,
    optional,
    refused,
    status_of,
    text,
    typed,
)

router = APIRouter()

REGISTRARS = ("clerk",)  # courses, sessions, attendance
MarketReader = Annotated[Session, may_see(*READERS, "operator")]
CourseAdderActing = Annotated[Session, may_do(*REGISTRARS, message="培训课程由登记员添加。")]
SessionAdderActing = Annotated[Session, may_do(*REGISTRARS, message="培训场次由登记员添加。")]
ManagerAdderActing = Annotated[
    Session, may_do(*REGISTRARS, "operator", message="管理人员由登记员或本市场主办方登记。")
]
AttendanceRecorderActing = Annotated[
    Session, may_do(*REGISTRARS, message="培训考核结果由登记员记录。")
]
EXPIRING_DAYS = 30
MAX_VALIDITY_MONTHS = 120
# Positions offered as typed (a datalist: any other may be typed).
POSITIONS = ("市场负责人", "食品安全管理员", "市场管理员", "冷链管理员", "保洁负责人")
DONE = {
    "course": "培训课程已添加",
    "session": "培训场次已添加",
    "manager": "管理人员已登记",
    "passed": "已记录：考核合格，合格证已发放",
    "failed": "已记录：考核不合格",
}


async def _courses(services: Backend, token: str) -> list[dict[str, Any]] | None:
    return await optional(services.items("campaign", "/courses", token), None)


@router.get("/staff/training")
async def training_page(request: Request, who: Person, services: Services) -> Response:
    if is_operator(who) and who.principal.market_id:
        return RedirectResponse(f"/staff/training/markets/{who.principal.market_id}", 303)
    if not who.principal.holds(*READERS):
        return refused(request, who)
    return await _training_page(request, who, services, Form.done(request, DONE))


async def _training_page(
    request: Request, who: Session, services: Backend, form: Form = BLANK
) -> Response:
    token = who.access_token
    expiring, courses, markets = await asyncio.gather(
        optional(
            services.items("campaign", "/certificates", token, expiring_within_days=EXPIRING_DAYS),
            None,
        ),
        _courses(services, token),
        markets_of(services, who),
    )
    return form.page(
        request,
        "duties/training.html",
        who,
        expiring=expiring,
        courses=sorted(courses or [], key=lambda c: str(c.get("created_at")), reverse=True),
        courses_unavailable=courses is None,
        markets=markets,
        names={m["id"]: m["name"] for m in markets},
        may_register=who.principal.holds(*REGISTRARS),
        expiring_days=EXPIRING_DAYS,
        max_months=MAX_VALIDITY_MONTHS,
        today=today().isoformat(),
    )


@router.post("/staff/training/courses")
async def add_course(request: Request, who: CourseAdderActing, services: Services) -> Response:
    form = await request.form()
    values = {"course-title": text(form, "title"), "course-months": text(form, "validity_months")}
    months = values["course-months"]
    # Every refusal at once, each beside its field: a blank name is not left for a second try.
    errors = {} if values["course-title"] else {"course-title": "必填"}
    if not months.isdigit() or not 1 <= int(months) <= MAX_VALIDITY_MONTHS:
        errors["course-months"] = f"应为 1–{MAX_VALIDITY_MONTHS} 的整数（月）"
    if errors:
        return await _training_page(request, who, services, Form.refused(errors, values))
    body = {"title": values["course-title"], "validity_months": int(months)}
    try:
        await services.post("campaign", "/courses", who.access_token, body)
    except ApiError as exc:
        where = {"title": "course-title", "validity_months": "course-months"}
        errors = form_errors(exc, lambda f: where.get(f, "course-form"), "course-form")
        return await _training_page(
            request, who, services, Form.refused(errors, values, status_of(exc))
        )
    return RedirectResponse("/staff/training?done=course", status_code=303)


@router.post("/staff/training/courses/{course_id}/sessions")
async def add_session(
    request: Request, course_id: str, who: SessionAdderActing, services: Services
) -> Response:
    form = await request.form()
    key = f"session-{course_id}"
    values = {f"{key}-held_on": text(form, "held_on"), f"{key}-place": text(form, "place")}
    body = {"held_on": values[f"{key}-held_on"] or None, "place": values[f"{key}-place"]}
    path = f"/courses/{course_id}/sessions"
    try:
        await services.post("campaign", path, who.access_token, body)
    except ApiError as exc:
        fields = ("held_on", "place")
        errors = form_errors(
            exc, lambda f: f"{key}-{f}" if f in fields else f"{key}-form", f"{key}-form"
        )
        return await _training_page(
            request, who, services, Form.refused(errors, values, status_of(exc))
        )
    return RedirectResponse("/staff/training?done=session", status_code=303)


# -- a market's managers ---------------------------------------------------------------------


def held_sessions(courses: list[dict[str, Any]], on: str) -> list[dict[str, Any]]:
    """Sessions held by `on` (attendance is recorded once held), the latest first, each with
    its course's title."""
    found = [
        s | {"course_title": c.get("title", "")}
        for c in courses
        for s in c.get("sessions") or []
        if str(s.get("held_on")) <= on
    ]
    return sorted(
        found, key=lambda s: (str(s.get("held_on")), str(s.get("created_at"))), reverse=True
    )


async def _market_page(
    request: Request,
    who: Session,
    services: Backend,
    market_id: str,
    state: Form = BLANK,
    *,
    form: str = "",
) -> Response:
    token = who.access_token
    managers, courses, named = await needed(
        services.items("campaign", f"/markets/{market_id}/managers", token),
        _courses(services, token),
        market_named(services, market_id),
        page=failed,
    )
    titles = {c["id"]: c.get("title", "") for c in courses or []}
    return state.page(
        request,
        "duties/training_market.html",
        who,
        market_id=market_id,
        name=named.name,
        closed_on=named.closed_on,
        managers=sorted(managers, key=lambda m: str(m.get("registered_at"))),
        titles=titles,
        sessions=held_sessions(courses or [], today().isoformat()),
        positions=POSITIONS,
        may_add_manager=who.principal.holds(*REGISTRARS, "operator") and not named.closed_on,
        may_record=who.principal.holds(*REGISTRARS),
        operator=is_operator(who),
        form=form,
    )


@router.get("/staff/training/markets/{market_id}")
async def market_training(
    request: Request, market_id: str, who: MarketReader, services: Services
) -> Response:
    return await _market_page(request, who, services, market_id, Form.done(request, DONE))


@router.post("/staff/training/markets/{market_id}/managers")
async def add_manager(
    request: Request, market_id: str, who: ManagerAdderActing, services: Services
) -> Response:
    values = await typed(request, "name", "position")
    path = f"/markets/{market_id}/managers"
    try:
        await services.post("campaign", path, who.access_token, values)
    except ApiError as exc:
        if exc.status in (403, 404) and not exc.errors:
            return failed(request, who, exc)
        errors = form_errors(exc, lambda f: f if f in values else "form")
        refusal = Form.refused(errors, values, status_of(exc))
        return await _market_page(request, who, services, market_id, refusal, form="manager")
    return RedirectResponse(f"/staff/training/markets/{market_id}?done=manager", 303)


@router.post("/staff/training/markets/{market_id}/attendance")
async def record_attendance(
    request: Request, market_id: str, who: AttendanceRecorderActing, services: Services
) -> Response:
    values = await typed(request, "session_id", "trainee_id", "passed")
    errors = {
        k: message
        for k, message in (
            ("session_id", "请选择培训场次"),
            ("trainee_id", "请选择管理人员"),
            ("passed", "请选择合格或不合格"),
        )
        if not values[k] or (k == "passed" and values[k] not in ("yes", "no"))
    }
    if not errors:
        body = {"trainee_id": values["trainee_id"], "passed": values["passed"] == "yes"}
        path = f"/sessions/{values['session_id']}/attendance"
        try:
            await services.post("campaign", path, who.access_token, body)
        except ApiError as exc:
            errors = form_errors(exc, lambda f: f if f in values else "form")
            status = status_of(exc)
        else:
            done = "passed" if body["passed"] else "failed"
            return RedirectResponse(f"/staff/training/markets/{market_id}?done={done}", 303)
    else:
        status = 422
    refusal = Form.refused(errors, values, status)
    return await _market_page(request, who, services, market_id, refusal, form="attendance")
