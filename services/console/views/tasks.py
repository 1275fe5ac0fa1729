"""The inspector's day: 我的任务 by due time → a task with its trigger → 认领 → 完成检查 with the
checklist, notes, departments and photos → 整改复查 with its note and photos."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from services.console import labels, web
from services.console.agenda import group_tasks
from services.console.backend import ApiError, Backend
from services.console.forms import BLANK, Form
from services.console.views.renovations import READERS as RENOVATION_READERS
from services.console.web import (
    Acting,
    Person,
    Services,
    failed,
    field_errors,
    in_scope,
    needed,
    render,
    unavailable_503,
)

router = APIRouter()
MAX_PHOTOS = 5
VERIFIED = {"verified": "复查结果已记录"}


async def _names(services: Backend, token: str) -> dict[str, str]:
    """Market names by id; none when the registry does not answer."""
    return await web.market_names(services, token) or {}


def _span(seconds: int) -> str:
    """4 小时, 3 天, 90 分钟: the largest whole unit."""
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400} 天"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} 小时"
    return f"{seconds // 60} 分钟"


def due_rule_text(rule: dict[str, Any] | None) -> str | None:
    """The rule behind a task's 期限, as the inspection service names it (`due_rule`), in
    words; None when the service names none (a re-inspection recorded before it kept why)."""
    if not rule:
        return None
    key = rule.get("key")
    if rule["basis"] == "renovation":
        kind = labels.label(labels.CHECK_KIND, key) if key else ""
        return f"改造工程{kind}检查不合格：限期整改日当天结束前整改到位"
    within = _span(int(rule["within_s"]))
    if rule["basis"] == "risk":
        return f"{labels.label(labels.SEVERITY, key)}风险：产生或升级后 {within}内检查"
    if rule["basis"] == "complaint":
        category = labels.label(labels.COMPLAINT_CATEGORY, key) if key else ""
        return f"{category}投诉：受理后 {within}内检查"
    if rule["basis"] == "patrol":
        return f"例行巡查：计划日起 {within}内完成"
    if rule["basis"] == "reinspection" and key == "suspension":
        return f"暂停经营复查：责令暂停后 {within}内复查"
    if rule["basis"] == "reinspection" and key == "overdue":
        return f"逾期未整改：逾期后 {within}内复查"
    return None


def _why(exc: ApiError) -> str:
    return labels.reason_zh(exc.errors[0]["reason"] if exc.errors else exc.message)


@router.get("/staff/tasks")
async def task_list(request: Request, who: Person, services: Services) -> Response:
    token = who.access_token
    market = request.query_params.get("market_id") or None
    opened, claimed, names = await asyncio.gather(
        services.items("inspection", "/tasks", token, state="open", market_id=market, limit=1000),
        services.items(
            "inspection", "/tasks", token, state="claimed", market_id=market, limit=1000
        ),
        _names(services, token),
    )
    groups = group_tasks(opened + claimed, who.principal.subject)
    claims = "inspector" in who.principal.roles
    return render(
        request,
        "tasks/list.html",
        who,
        groups=groups,
        # Who claims tasks reads them as their own work; a leader reads the district's.
        claims=claims,
        heading="我的任务" if claims else "检查任务",
        names=names,
        market_id=market,
    )


def _curve(risk: dict[str, Any]) -> str | None:
    """The excursion's temperature curve (uPlot's columns) from the risk's evidence."""
    evidence = risk.get("evidence") or {}
    readings = evidence.get("readings") or []
    if not readings:
        return None
    xs = [datetime.fromisoformat(r["ts"]).timestamp() for r in readings]
    ys = [r["temp_c"] for r in readings]
    thresholds = evidence.get("thresholds") or {}
    limit = next(
        (v for k, v in thresholds.items() if "limit" in k and isinstance(v, int | float)), None
    )
    return json.dumps(
        {
            "series": [{"label": "温度 °C", "color": "#0b5cab"}],
            "data": [xs, ys],
            "unit": "°C",
            "limit": limit,
            "limitLabel": "超标限值",
        }
    )


async def _triggers(services: Backend, token: str, task: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for trigger in task.get("triggers") or []:
        item = dict(trigger)
        try:
            if trigger["kind"] == "risk":
                risk = await services.get("telemetry", f"/risks/{trigger['id']}", token)
                item["risk"] = risk
                item["curve"] = _curve(risk)
            elif trigger["kind"] == "complaint":
                item["complaint"] = await services.get(
                    "complaints", f"/complaints/{trigger['id']}", token
                )
            elif trigger["kind"] == "renovation_check":
                item |= await _renovation_check(services, token, task, trigger["id"])
        except ApiError as exc:
            # In the page's words, as a market's page says them (docs/console.md): a service that
            # does not admit the role refuses its page too, so no link leads there either.
            item["refused"] = exc.status in (401, 403)
            item["unavailable"] = "您的角色无权查看此项" if item["refused"] else "详情暂时无法获取"
        found.append(item)
    return found


async def _renovation_check(
    services: Backend, token: str, task: dict[str, Any], check_id: str
) -> dict[str, Any]:
    """The failed check a renovation task was opened for, and its project: what the inspector is
    to see put right, found among the market's projects (the campaign service keeps a check in
    its project)."""
    projects = await services.items(
        "campaign", "/renovations", token, market_id=task.get("market_id")
    )
    for project in projects:
        for check in project.get("checks") or []:
            if check.get("check_id") == check_id:
                return {"check": check, "project": project}
    return {"unavailable": "未找到这次检查的记录"}


async def _order(services: Backend, token: str, order_id: str) -> dict[str, Any] | None:
    """The rectification order a task's finding opened (its state and deadline), if the
    inspection service gives it."""
    found = await web.optional(
        services.get("inspection", f"/rectifications/{order_id}", token), None
    )
    return found if isinstance(found, dict) else None


async def _task_page(
    request: Request,
    who: Any,
    services: Backend,
    task_id: str,
    form: Form = BLANK,
) -> Response:
    token = who.access_token
    task = await in_scope(services, "inspection", f"/tasks/{task_id}", token, "任务")
    triggers, names = await asyncio.gather(
        _triggers(services, token, task), _names(services, token)
    )
    merchant = credit = order = None
    if task.get("merchant_id"):
        path = f"/merchants/{task['merchant_id']}"
        merchant, credit = await asyncio.gather(
            web.optional(services.get("registry", path, token), None),
            web.optional(services.get("credit", f"{path}/credit", token), None),
        )
    if task.get("rectification_id"):
        order = await _order(services, token, task["rectification_id"])
    findings = await web.optional(services.items("inspection", "/findings", token), [])
    photos = await web.optional(services.items("inspection", f"/tasks/{task_id}/photos", token), [])
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        group = finding.get("category_zh") or finding.get("category") or "其他"
        groups.setdefault(group, []).append(finding)
    return form.page(
        request,
        "tasks/detail.html",
        who,
        task=task,
        triggers=triggers,
        merchant=merchant,
        credit=credit,
        order=order,
        due_rule=due_rule_text(task.get("due_rule")),
        market_name=names.get(task["market_id"], ""),
        groups=groups,
        photos=photos,
        departments=labels.DEPARTMENT,
        outcomes=labels.OUTCOME,
        max_photos=MAX_PHOTOS,
        reads_renovations=who.principal.holds(*RENOVATION_READERS),
    )


@router.get("/staff/tasks/{task_id}")
async def task_detail(request: Request, task_id: str, who: Person, services: Services) -> Response:
    done = Form.done(request, {"claimed": "已认领", "completed": "检查已完成"})
    return await _task_page(request, who, services, task_id, done)


@router.post("/staff/tasks/{task_id}/claim")
async def claim(request: Request, task_id: str, who: Acting, services: Services) -> Response:
    try:
        await services.post("inspection", f"/tasks/{task_id}/claim", who.access_token)
    except ApiError as exc:
        refusal = Form.refused({"claim": _why(exc)}, {}, exc.status)
        return await _task_page(request, who, services, task_id, refusal)
    return RedirectResponse(f"/staff/tasks/{task_id}?done=claimed", status_code=303)


def _completion_field(codes: list[str]) -> Callable[[str], str]:
    """Where a refused completion's reason stands: a finding's (`findings.i.note`, `.code`)
    beside that finding's note, a department's beside the departments, a photo's beside the
    photos; the others (`outcome`, `findings`) beside their own fieldset."""

    def where(field: str) -> str:
        finding = re.fullmatch(r"findings\.(\d+)\.\w+", field)
        if finding and int(finding[1]) < len(codes):
            return f"note_{codes[int(finding[1])]}"
        if field.startswith("departments"):
            return "department"
        if field.startswith("photos"):
            return "file"
        return field

    return where


@router.post("/staff/tasks/{task_id}/complete")
async def complete(request: Request, task_id: str, who: Acting, services: Services) -> Response:
    form = await request.form()
    codes = [str(c) for c in form.getlist("finding")]
    body: dict[str, Any] = {
        "outcome": str(form.get("outcome") or ""),
        "findings": [{"code": c, "note": str(form.get(f"note_{c}") or "")} for c in codes],
        "departments": [str(d) for d in form.getlist("department")],
    }
    # The photos a refused attempt already uploaded come back as `uploaded` ids, as 复查's do:
    # the file field is empty again on the refused page, and they were lost from the record.
    photo_ids = [str(p) for p in form.getlist("uploaded") if isinstance(p, str) and p]
    values = {
        "outcome": body["outcome"],
        "finding": codes,
        "department": body["departments"],
        "notes": {c: str(form.get(f"note_{c}") or "") for c in codes},
        "photo_ids": photo_ids,
    }
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    if len(photo_ids) + len(uploads) > MAX_PHOTOS:
        refusal = Form.refused({"file": f"最多 {MAX_PHOTOS} 张照片"}, values)
        return await _task_page(request, who, services, task_id, refusal)
    try:
        await _upload(services, who.access_token, f"/tasks/{task_id}/photos", uploads, photo_ids)
        if photo_ids:
            body["photos"] = photo_ids
        await services.post("inspection", f"/tasks/{task_id}/complete", who.access_token, body)
    except ApiError as exc:
        if any(str(e.get("field", "")).startswith("photos") for e in exc.errors):
            values["photo_ids"] = []  # the photos refused are not offered again
        errors = field_errors(exc, _completion_field(codes))
        refusal = Form.refused(errors, values, exc.status)
        return await _task_page(request, who, services, task_id, refusal)
    return RedirectResponse(f"/staff/tasks/{task_id}?done=completed", status_code=303)


async def _upload(
    services: Backend, token: str, path: str, uploads: list[UploadFile], photo_ids: list[str]
) -> None:
    """Send each chosen photo to the inspection service at `path` (a task's, an order's), one
    at a time, adding each stored one's id to `photo_ids` as it goes: a refusal part-way keeps
    those already stored, for the form to offer again."""
    for upload in uploads:
        content = await upload.read()
        kind = upload.content_type or "application/octet-stream"
        stored = await services.call(
            "inspection", "POST", path, token, files={"file": (upload.filename, content, kind)}
        )
        photo_ids.append(stored["id"])


async def _photo(services: Backend, token: str, path: str) -> Response:
    return await web.proxied_photo(services, "inspection", token, path)


@router.get("/staff/tasks/{task_id}/photos/{photo_id}")
async def photo(task_id: str, photo_id: str, who: Person, services: Services) -> Response:
    return await _photo(services, who.access_token, f"/tasks/{task_id}/photos/{photo_id}")


async def _rectifications_page(
    request: Request, who: Any, services: Backend, form: Form = BLANK
) -> Response:
    token = who.access_token
    orders, names = await needed(
        services.items("inspection", "/rectifications", token, state="open"),
        _names(services, token),
    )
    orders.sort(key=lambda o: str(o.get("deadline") or ""))
    return form.page(request, "tasks/rectifications.html", who, orders=orders, names=names)


@router.get("/staff/rectifications")
async def rectifications(request: Request, who: Person, services: Services) -> Response:
    return await _rectifications_page(request, who, services, Form.done(request, VERIFIED))


def _recheck_field(order_id: str, field: str) -> str:
    """Where a refused 复查's reason stands: beside its note, beside its photos (an upload's
    `file`, the verification's `photos.i`), or beside the order's buttons."""
    if field == "note":
        return f"{order_id}.note"
    if field == "file" or field.startswith("photos"):
        return f"{order_id}.photos"
    return order_id


@router.post("/staff/rectifications/{order_id}/verify")
async def verify(request: Request, order_id: str, who: Acting, services: Services) -> Response:
    """复查 with its evidence (docs/console.md): the photos chosen are uploaded to the order first,
    then the result is recorded naming them, with the note. A refusal keeps the note, and the photos
    already uploaded (as `uploaded` ids, so a retry on a weak network sends them once)."""
    form = await request.form()
    passed = form.get("passed") == "true"
    note = str(form.get("note") or "").strip()
    photo_ids = [str(p) for p in form.getlist("uploaded") if isinstance(p, str) and p]
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    values = {order_id: {"note": note, "photo_ids": photo_ids}}
    if len(photo_ids) + len(uploads) > MAX_PHOTOS:
        refusal = Form.refused({f"{order_id}.photos": f"最多 {MAX_PHOTOS} 张照片"}, values)
        return await _rectifications_page(request, who, services, refusal)
    body: dict[str, Any] = {"passed": passed}
    if note:
        body["note"] = note
    try:
        path = f"/rectifications/{order_id}/photos"
        await _upload(services, who.access_token, path, uploads, photo_ids)
        if photo_ids:
            body["photos"] = photo_ids
        await services.post(
            "inspection", f"/rectifications/{order_id}/verify", who.access_token, body
        )
    except ApiError as exc:
        # Beside the field it concerns, or the order's buttons, the list still there: another
        # inspector verified it first, or the service did not answer (nothing was recorded; try
        # again). Photos the verification refused are not offered again.
        if any(str(e.get("field", "")).startswith("photos") for e in exc.errors):
            values[order_id]["photo_ids"] = []
        errors = field_errors(exc, lambda f: _recheck_field(order_id, f), fallback=order_id)
        refusal = Form.refused(errors, values, unavailable_503(exc))
        return await _rectifications_page(request, who, services, refusal)
    return RedirectResponse("/staff/rectifications?done=verified", status_code=303)


@router.get("/staff/rectifications/{order_id}/photos/{photo_id}")
async def order_photo(order_id: str, photo_id: str, who: Person, services: Services) -> Response:
    return await _photo(services, who.access_token, f"/rectifications/{order_id}/photos/{photo_id}")


@router.get("/staff/merchants/{merchant_id}/patrol-plan")
async def patrol_plan(
    request: Request, merchant_id: str, who: Person, services: Services
) -> Response:
    try:
        plan = await services.get("inspection", f"/patrol-plans/{merchant_id}", who.access_token)
        merchant = await services.get("registry", f"/merchants/{merchant_id}", who.access_token)
    except ApiError as exc:
        return failed(request, who, exc)
    return render(request, "tasks/patrol_plan.html", who, plan=plan, merchant=merchant)
