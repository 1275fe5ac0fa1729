"""意见建议: what citizens suggested through the portal (`/suggestions/new`), read and answered
by the district's complaint handlers (leaders read) — the complaints service's `/suggestions` as
a page. The answer is what the citizen reads by the suggestion's 查询码, and on the market's
public page when its author agreed (同意公开).

A comment on a renovation plan (a suggestion naming its `project_id`) is answered on the plan's
own page (`/staff/renovations/{id}`) and is not listed here. The service decides who may answer;
its refusal stands beside the answer, with what was typed kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import labels
from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.sessions import Session
from services.console.web import (
    Services,
    chosen_view,
    field_errors,
    market_names,
    may_do,
    may_see,
    needed,
    typed,
    unavailable_503,
)

router = APIRouter()

READERS = ("handler", "leader")
REFUSAL = "意见建议由投诉处理员答复，领导查阅。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]
Answerer = Annotated[Session, may_do("handler", message=REFUSAL)]
VIEWS = {"open": "待答复", "answered": "已答复"}
STATE = {"open": "received", "answered": "answered"}
DONE = {"answered": "答复已记录，市民可凭查询码查看"}


async def _page(request: Request, who: Session, services: Backend, form: Form) -> Response:
    view = chosen_view(request, VIEWS)
    token = who.access_token
    found, names = await needed(
        services.items("complaints", "/suggestions", token, state=STATE[view], limit=1000),
        market_names(services, token),
    )
    shown: list[dict[str, Any]] = [s for s in found if not s.get("project_id")]
    # The oldest waiting first (answered ones: the latest first).
    shown.sort(key=lambda s: str(s.get("received_at") or ""), reverse=view == "answered")
    return form.page(
        request,
        "suggestions/index.html",
        who,
        suggestions=shown,
        names=names or {},
        views=VIEWS,
        view=view,
        abouts=labels.SUGGESTION_ABOUT,
        answers=who.principal.holds("handler"),
    )


@router.get("/staff/suggestions")
async def suggestions_page(request: Request, who: Reader, services: Services) -> Response:
    return await _page(request, who, services, Form.done(request, DONE))


@router.post("/staff/suggestions/{suggestion_id}/answer")
async def answer(
    request: Request, suggestion_id: str, who: Answerer, services: Services
) -> Response:
    values = await typed(request, "answer")
    key = f"answer-{suggestion_id}"
    try:
        await services.post(
            "complaints",
            f"/suggestions/{suggestion_id}/answer",
            who.access_token,
            {"answer": values["answer"]},
        )
    except ApiError as exc:
        # Every refusal (a blank answer, one answered meanwhile, a service that did not answer)
        # stands beside this suggestion's answer, what was typed kept.
        errors = {key: next(iter(field_errors(exc).values()))}
        if exc.status == 409:
            errors[key] = "该意见建议已答复"
        refusal = Form.refused(errors, {key: values["answer"]}, unavailable_503(exc))
        return await _page(request, who, services, refusal)
    return RedirectResponse("/staff/suggestions?done=answered", status_code=303)
