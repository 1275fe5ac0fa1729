"""改造项目 and their public consultation (征求群众意见), issue 17: the campaign service's
`/renovations` as pages for the clerk (登记员) and the leader who reads.

- `/staff/renovations` (`?market_id=`): the district's renovation projects by market, each with
  its stage and its consultation — 征求意见中 until a day, 未答复 comments in red — and its
  failed checks not yet put right (检查不合格 n 项未整改, in red).
- `/staff/renovations/{id}`: the plan (scope, budget by funding source, stages); 征求意见 opens
  it for comment for a number of days while it is planned; the comments citizens sent (the
  suggestion's text, never its author), each answered on a form (答复) — the plan moves to
  construction only once every comment is answered, as the service says when it refuses;
  once approved, its quality and safety checks (质量、安全检查), newest first, and 记录检查: a
  failed one names what was found and a day to rectify it by (the service's default when left
  empty), and is disclosed to the public until a passing check of its kind.
"""

from __future__ import annotations

from typing import Annotated, Any

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
    closed_on,
    field_errors,
    in_scope,
    lines,
    markets_of,
    may_do,
    may_see,
    needed,
    optional,
    render,
    templates,
    text,
    typed,
    unavailable_503,
)
from services.runtime.collation import name_key

router = APIRouter()

READERS = ("clerk", "leader")
WRITERS = ("clerk",)
REFUSAL = "改造项目由登记员办理，领导查阅。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]
Writer = Annotated[Session, may_do(*WRITERS, message=REFUSAL)]
DEFAULT_DAYS = 15
DONE = {
    "opened": "已公开征求意见",
    "answered": "答复已记录",
    "stage": "项目阶段已更新",
    "checked": "检查已记录",
}
# The stage a project moves to from each, and the button's words for that step: acceptance is
# refused by the service while a failed check is unresolved, and its reason shows on the page.
NEXT_STAGE = {
    "planned": "approved",
    "approved": "under_construction",
    "under_construction": "accepted",
}
STEP_WORDS = {"approved": "方案批复", "under_construction": "开工建设", "accepted": "竣工验收"}
CHECK_FIELDS = ("kind", "result", "checked_on", "inspector", "findings", "note", "rectify_by")
# A choice the service refused (none made): what to pick, beside the choice.
CHECK_PICK = {"kind": "请选择检查类型", "result": "请选择检查结果"}


def _reason(exc: ApiError, field: str) -> str:
    """The service's reason for `field` in Chinese (a days error is always the range); its
    summary when it names no such field (a 409: the stage or the consultation)."""
    for e in exc.errors:
        if e.get("field", "").split(".")[0] != field:
            continue
        raw = e.get("reason", "")
        if field == "days":
            return "应为 1–60 的整数天数"
        if "at least 1 character" in raw or "blank" in raw:
            return "必填"
        return labels.reason_zh(raw)
    return labels.reason_zh(exc.message)


async def _markets(services: Backend, who: Session) -> dict[str, dict[str, Any]]:
    """The registry's markets of the person's district by id (none when it does not answer: the
    pages then show no market names)."""
    found = await optional(markets_of(services, who), [])
    return {m["id"]: m for m in found}


@router.get("/staff/renovations")
async def renovations_page(request: Request, who: Reader, services: Services) -> Response:
    market_id = request.query_params.get("market_id", "")[:64] or None
    projects, markets = await needed(
        services.items("campaign", "/renovations", who.access_token, market_id=market_id),
        _markets(services, who),
    )
    names = {key: m.get("name") or key for key, m in markets.items()}
    projects.sort(
        key=lambda p: (name_key(names.get(p["market_id"], p["market_id"])), p["created_at"])
    )
    unanswered = sum(int((p.get("consultation") or {}).get("unanswered") or 0) for p in projects)
    unresolved = sum(open_failures(p) for p in projects)
    return render(
        request,
        "renovations/index.html",
        who,
        projects=projects,
        names=names,
        closed={key: day for key, m in markets.items() if (day := closed_on(m))},
        market_id=market_id,
        unanswered=unanswered,
        unresolved=unresolved,
    )


async def _project_page(
    request: Request, who: Session, services: Backend, project_id: str, form: Form = BLANK
) -> Response:
    token = who.access_token
    project = await in_scope(services, "campaign", f"/renovations/{project_id}", token, "改造项目")
    market = (await _markets(services, who)).get(project["market_id"])
    closed = closed_on(market)
    stage = project.get("stage")
    day = today().isoformat()
    checks = sorted(
        project.get("checks") or [],
        key=lambda c: (str(c.get("checked_on")), str(c.get("recorded_at"))),
        reverse=True,
    )
    return form.page(
        request,
        "renovations/detail.html",
        who,
        defaults={"days": str(DEFAULT_DAYS), "checked_on": day},
        project=project,
        checks=checks,
        today=day,
        check_kinds=labels.CHECK_KIND,
        check_fields=CHECK_FIELDS,
        market_name=(market or {}).get("name", ""),
        closed_on=closed,
        consultation=project.get("consultation"),
        may_act=who.principal.holds(*WRITERS),
        # A closed market's project (停业) goes no further: answers to comments only.
        may_change=who.principal.holds(*WRITERS) and closed is None,
        may_answer=stage in ("planned", "approved"),
        stages=labels.RENOVATION_STAGE,
        kinds=labels.RENOVATION_KIND,
        areas=labels.SCOPE_AREA,
        funding=labels.FUNDING_SOURCE,
        next_stage=NEXT_STAGE.get(str(stage)),
        step_words=STEP_WORDS,
    )


@router.get("/staff/renovations/{project_id}")
async def project_page(
    request: Request, project_id: str, who: Reader, services: Services
) -> Response:
    return await _project_page(request, who, services, project_id, Form.done(request, DONE))


@router.post("/staff/renovations/{project_id}/consultation")
async def open_consultation(
    request: Request, project_id: str, who: Writer, services: Services
) -> Response:
    days = text(await request.form(), "days")
    if not days.isdigit():
        refusal = Form.refused({"days": "应为 1–60 的整数天数"}, {"days": days})
        return await _project_page(request, who, services, project_id, refusal)
    body = {"days": int(days)}
    try:
        await services.post(
            "campaign", f"/renovations/{project_id}/consultation", who.access_token, body
        )
    except ApiError as exc:
        refusal = Form.refused({"days": _reason(exc, "days")}, {"days": days}, unavailable_503(exc))
        return await _project_page(request, who, services, project_id, refusal)
    return RedirectResponse(f"/staff/renovations/{project_id}?done=opened", status_code=303)


@router.post("/staff/renovations/{project_id}/comments/{suggestion_id}/answer")
async def answer_comment(
    request: Request, project_id: str, suggestion_id: str, who: Writer, services: Services
) -> Response:
    answer = text(await request.form(), "answer")
    key = f"answer-{suggestion_id}"
    if not answer:
        return await _project_page(request, who, services, project_id, Form.refused({key: "必填"}))
    try:
        await services.post(
            "campaign",
            f"/renovations/{project_id}/comments/{suggestion_id}/answer",
            who.access_token,
            {"answer": answer},
        )
    except ApiError as exc:
        errors = {key: _reason(exc, "answer")}
        refusal = Form.refused(errors, {key: answer}, unavailable_503(exc))
        return await _project_page(request, who, services, project_id, refusal)
    return RedirectResponse(
        f"/staff/renovations/{project_id}?done=answered#comment-{suggestion_id}", status_code=303
    )


@router.post("/staff/renovations/{project_id}/stage")
async def advance(request: Request, project_id: str, who: Writer, services: Services) -> Response:
    """The plan's next stage (批复, 开工): the service refuses it while the consultation holds it
    back, and its reason shows on the page."""
    stage = text(await request.form(), "stage")
    try:
        await services.post(
            "campaign", f"/renovations/{project_id}/stage", who.access_token, {"stage": stage}
        )
    except ApiError as exc:
        refusal = Form.refused({"stage": labels.reason_zh(exc.message)}, {}, unavailable_503(exc))
        return await _project_page(request, who, services, project_id, refusal)
    return RedirectResponse(f"/staff/renovations/{project_id}?done=stage", status_code=303)


@router.post("/staff/renovations/{project_id}/checks")
async def record_check(
    request: Request, project_id: str, who: Writer, services: Services
) -> Response:
    """A quality or safety check as the clerk was told of it; a refusal beside each field, a
    project not yet approved above the form (the service's 409)."""
    values = await typed(request, *CHECK_FIELDS)
    # A choice not made goes as the empty text it is: the service's body takes any text there
    # and its domain then names every problem at once (docs/campaign.md).
    body = {
        "kind": values["kind"],
        "result": values["result"],
        "checked_on": values["checked_on"] or None,
        "inspector": values["inspector"],
        "findings": lines(values["findings"]),
        "note": values["note"] or None,
        "rectify_by": values["rectify_by"] or None,
    }
    try:
        await services.post("campaign", f"/renovations/{project_id}/checks", who.access_token, body)
    except ApiError as exc:
        refusal = Form.refused(check_errors(exc, values), values, unavailable_503(exc))
        return await _project_page(request, who, services, project_id, refusal)
    return RedirectResponse(f"/staff/renovations/{project_id}?done=checked#checks", status_code=303)


def check_errors(exc: ApiError, sent: dict[str, str]) -> dict[str, str]:
    """The service's refusal of a check under the form's fields (`findings.1` is `findings`):
    what to pick for a choice not made, 必填 for a text or day left empty (a note and a
    deadline may be), a stage that takes no check yet above the form (`check`)."""
    if (above := above_form(exc, "check", also=(404, 409))) is not None:
        return above

    def where(field: str) -> str:
        head = field.split(".")[0]
        return head if head in sent else "check"

    blank = {name: CHECK_PICK.get(name, "必填") for name, value in sent.items() if not value}
    for said_better in ("note", "rectify_by", "findings"):  # optional, or its reason says when
        blank.pop(said_better, None)
    return field_errors(exc, where, "check", blank=blank, words=lambda key, _: CHECK_PICK.get(key))


def open_failure(check: dict[str, Any]) -> bool:
    """A failed check no passing one of its kind has resolved yet: disclosed to the public, and
    holding the project's acceptance back."""
    return check.get("result") == "fail" and not check.get("resolved_by")


def open_failures(project: dict[str, Any]) -> int:
    """How many of the project's checks are open failures."""
    return sum(1 for c in project.get("checks") or [] if open_failure(c))


def consultation_summary(project: dict[str, Any]) -> str:
    """征求意见中（至 6 月 15 日）/ 征求意见已结束 / 未征求意见, for lists."""
    c = project.get("consultation")
    if not c:
        return "未征求意见"
    if c.get("open"):
        return f"征求意见中（至 {c['closes_on']}）"
    return "征求意见已结束" if c.get("closed") else f"征求意见自 {c['opens_on']} 起"


templates.env.globals["consultation_summary"] = consultation_summary
templates.env.globals["open_failures"] = open_failures
templates.env.globals["open_failure"] = open_failure
