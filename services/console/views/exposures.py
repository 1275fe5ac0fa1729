"""曝光整改 (issue 17): problems the press, citizens or a supervising body exposed (舆论监督),
each with the market responsible and the day to rectify it by (限期整改) — the campaign service's
`/exposures` as a page.

`/staff/exposures` lists the district's exposures by deadline (逾期 in red), records a new one
(the market picked from a list, 媒体 / 群众 / 督查, the report it appeared in, the problem, one
detail a line, the deadline) and re-checks one (复查: 已整改到位 closes it, 未整改到位 with a note
keeps it open and public). Clerks and inspectors act; leaders read. The service decides who may
do what; its refusal is shown beside the field it names, with what was typed kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import labels
from services.console.backend import ApiError, Backend
from services.console.clock import today
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.web import (
    Services,
    above_form,
    chosen_view,
    days_left,
    field_errors,
    lines,
    markets_of,
    may_do,
    may_see,
    needed,
    optional,
    text,
    typed,
    unavailable_503,
)

router = APIRouter()

READERS = ("clerk", "inspector", "leader")
WRITERS = ("clerk", "inspector")
REFUSAL = "曝光整改由登记员、检查员办理，领导查阅。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]
Writer = Annotated[Session, may_do(*WRITERS, message=REFUSAL)]
VIEWS = {"open": "未整改", "resolved": "已整改"}
DEFAULT_RECTIFY_DAYS = 15
FIELDS = ("market_id", "source", "reference", "title", "details", "rectify_by")
DONE = {
    "recorded": "曝光问题已记录并公开",
    "fixed": "复查已整改，已销号",
    "kept": "复查未整改到位，继续公开",
}


# A choice the service refused (an unknown source, a result neither way): what to pick.
PICK = {"source": "请选择曝光来源", "fixed": "请选择复查结果"}


def errors_of(exc: ApiError, sent: dict[str, str], prefix: str = "") -> dict[str, str]:
    """The service's refusal in Chinese under the form's fields (`details.2` is `details`):
    必填 for a required field left empty (a re-check's note is required only when not fixed:
    the service's reason says so), the first reason per field, the rest under `form`."""

    def where(field: str) -> str:
        head = field.split(".")[0]
        return f"{prefix}{head}" if head in sent else "form"

    blank = {f"{prefix}{name}": "必填" for name, value in sent.items() if not value}
    blank.pop(f"{prefix}note", None)  # a note is optional
    return field_errors(
        exc, where, blank=blank, words=lambda key, _: PICK.get(key.removeprefix(prefix))
    )


async def _page(
    request: Request, who: Session, services: Backend, form: Form = BLANK, *, view: str = "open"
) -> Response:
    items, markets = await needed(
        services.items("campaign", "/exposures", who.access_token, state=view, limit=500),
        optional(markets_of(services, who), []),
    )
    if view == "resolved":
        items.sort(key=lambda d: str(d.get("resolved_at") or ""), reverse=True)
    defaults = {"rectify_by": (today() + timedelta(days=DEFAULT_RECTIFY_DAYS)).isoformat()}
    return form.page(
        request,
        "exposures/index.html",
        who,
        defaults=defaults,
        items=items,
        markets=markets,
        view=view,
        views=VIEWS,
        sources=labels.EXPOSURE_SOURCE,
        overdue=sum(1 for d in items if d.get("overdue")),
        may_act=who.principal.holds(*WRITERS),
        days_left=days_left,
    )


@router.get("/staff/exposures")
async def exposures_page(request: Request, who: Reader, services: Services) -> Response:
    done = Form.done(request, DONE)
    return await _page(request, who, services, done, view=chosen_view(request, VIEWS))


@router.post("/staff/exposures")
async def record_exposure(request: Request, who: Writer, services: Services) -> Response:
    values = await typed(request, *FIELDS)
    body = {
        "market_id": values["market_id"],
        "source": values["source"] or None,
        "reference": values["reference"],
        "title": values["title"],
        "details": lines(values["details"]),
        "rectify_by": values["rectify_by"] or None,
    }
    try:
        await services.post("campaign", "/exposures", who.access_token, body)
    except ApiError as exc:
        errors = above_form(exc) or errors_of(exc, values)
        return await _page(
            request, who, services, Form.refused(errors, values, unavailable_503(exc))
        )
    return RedirectResponse("/staff/exposures?done=recorded", status_code=303)


@router.post("/staff/exposures/{disclosure_id}/verify")
async def verify_exposure(
    request: Request, disclosure_id: str, who: Writer, services: Services
) -> Response:
    form = await request.form()
    fixed, note = text(form, "fixed"), text(form, "note")
    prefix = f"{disclosure_id}-"
    values = {f"{prefix}fixed": fixed, f"{prefix}note": note}
    if fixed not in ("yes", "no"):
        errors = {f"{prefix}fixed": "请选择复查结果"}
        return await _page(request, who, services, Form.refused(errors, values))
    body = {"fixed": fixed == "yes", "note": note or None}
    try:
        await services.post(
            "campaign", f"/exposures/{disclosure_id}/verify", who.access_token, body
        )
    except ApiError as exc:
        sent = {"fixed": fixed, "note": note}
        errors = above_form(exc, also=(404,)) or errors_of(exc, sent, prefix)
        if exc.status == 409:
            errors = {f"{prefix}fixed": labels.reason_zh(exc.message)}
        return await _page(
            request, who, services, Form.refused(errors, values, unavailable_503(exc))
        )
    done = "fixed" if body["fixed"] else "kept"
    return RedirectResponse(f"/staff/exposures?done={done}", status_code=303)
