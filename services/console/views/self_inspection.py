"""The market operator's day (市场主办方, 主体责任): 今日自查 first.

The operator's home (`/staff/`, also `/staff/self-inspection`) is its own market's: today's
checklist, each item 合格 / 不合格 as two big radio buttons (a plain form, no script needed), a
failed item with a note of what was seen (the campaign service refuses a failed item without
one, and the refusal stands beside that item with everything typed kept); whether today is done;
the open 整改跟进 with 整改完成 and a note; the market's standing (自查率, 专班汇报按时率,
合格证持证率) with the records behind each one click away (`/staff/duties/{id}`); and its
assessment (考核: score and rank in its district) over the same period as the leader's 总览.

An operator acts for the market in its token (`market_id`) only; the campaign service refuses
every other market, and the console shows it nothing else.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import labels
from services.console.backend import ApiError, Backend
from services.console.clock import today
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.views.duties import (
    failed,
    form_errors,
    market_named,
    self_inspections,
)
from services.console.views.markets import assessment_of
from services.console.views.overview import ASSESSMENT_DAYS
from services.console.web import (
    Acting,
    Person,
    Services,
    above_form,
    optional,
    refused,
    status_of,
    text,
)

router = APIRouter()

PASS, FAIL = "pass", "fail"
DONE = {
    "recorded": "今日自查已记录",
    "opened": "今日自查已记录，不合格项已转入整改跟进",
    "closed": "整改跟进已完成",
}
ITEM_FIELD = re.compile(r"^items\.(\d+)\.(\w+)$")
NAMED_ITEM = re.compile(r"^(\w+) \(")  # "hygiene (环境卫生) is not answered"


def own_market(who: Session) -> str | None:
    return who.principal.market_id if "operator" in who.principal.roles else None


async def operator_home(
    request: Request,
    who: Session,
    services: Backend,
    form: Form = BLANK,
    *,
    checklist: dict[str, Any] | None = None,
) -> Response:
    """The page; `checklist` when the caller has it already (a refused post keeps its form even
    when the service stops answering meanwhile)."""
    market_id = own_market(who)
    if market_id is None:
        return refused(request, who, "今日自查由市场主办方填写；您的账号没有关联市场。")
    token, day = who.access_token, today()
    base = f"/markets/{market_id}"
    known = checklist
    (
        checklist,
        done_today,
        follow_ups,
        standing,
        named,
        (assessed, assessed_failed),
    ) = await asyncio.gather(
        optional(services.get("campaign", "/self-inspection-checklist", token), known),
        self_inspections(services, token, market_id, day, day),
        optional(services.items("campaign", f"{base}/follow-ups", token, state="open"), None),
        optional(services.get("campaign", f"{base}/duties", token), None),
        market_named(services, market_id),
        assessment_of(services, token, market_id),
    )
    items = list((checklist or {}).get("items") or [])
    item_names = {i["code"]: i.get("label_zh") or i["code"] for i in items}
    return form.page(
        request,
        "duties/operator.html",
        who,
        market_id=market_id,
        name=named.name,
        closed_on=named.closed_on,
        day=day.isoformat(),
        items=items,
        item_names=item_names,
        recorded=(done_today or [None])[0],
        unavailable=checklist is None or (done_today is None and known is None),
        follow_ups=sorted(follow_ups or [], key=lambda f: str(f.get("opened_at"))),
        follow_ups_unavailable=follow_ups is None,
        standing=standing,
        assessment=assessed,
        assessment_failed=assessed_failed,
        assessment_days=ASSESSMENT_DAYS,
    )


@router.get("/staff/self-inspection")
async def self_inspection_page(request: Request, who: Person, services: Services) -> Response:
    return await operator_home(request, who, services, Form.done(request, DONE))


def item_errors(exc: ApiError, codes: list[str]) -> dict[str, str]:
    """The service's refusal beside the checklist item it names: `items.2.note` → that item's
    note; `items` (an item not answered) → the item named in the reason; `day` → the form."""
    if above_form(exc) or not exc.errors:
        return form_errors(exc)
    errors: dict[str, str] = {}
    for e in exc.errors:
        field, reason = e.get("field", ""), e.get("reason", "")
        key = "form"
        if m := ITEM_FIELD.match(field):
            index, part = int(m.group(1)), m.group(2)
            if index < len(codes):
                key = f"{'note' if part == 'note' else 'item'}-{codes[index]}"
        elif field == "items" and (named := NAMED_ITEM.match(reason)) and named[1] in codes:
            key = f"item-{named[1]}"
        errors.setdefault(key, labels.reason_zh(reason))
    return errors


@router.post("/staff/self-inspection")
async def record_self_inspection(request: Request, who: Acting, services: Services) -> Response:
    market_id = own_market(who)
    if market_id is None:
        return refused(request, who, "今日自查由市场主办方填写。")
    form = await request.form()
    token = who.access_token
    try:
        checklist = await services.get("campaign", "/self-inspection-checklist", token)
    except ApiError as exc:
        values = {str(k): v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        refusal = Form.refused(form_errors(exc), values, 503)
        return await operator_home(request, who, services, refusal)
    codes = [str(i["code"]) for i in checklist.get("items") or []]
    values = {"day": text(form, "day")}
    for code in codes:
        values[f"item-{code}"] = text(form, f"item-{code}")
        values[f"note-{code}"] = text(form, f"note-{code}")
    # A choice not made is said beside the item, and nothing is sent.
    errors = {
        f"item-{c}": "请选择合格或不合格" for c in codes if values[f"item-{c}"] not in (PASS, FAIL)
    }
    if errors:
        return await operator_home(request, who, services, Form.refused(errors, values))
    body: dict[str, Any] = {
        "day": values["day"] or None,
        "items": [
            {
                "code": c,
                "passed": values[f"item-{c}"] == PASS,
                "note": values[f"note-{c}"] or None,
            }
            for c in codes
        ],
    }
    try:
        recorded = await services.post(
            "campaign", f"/markets/{market_id}/self-inspections", token, body
        )
    except ApiError as exc:
        refusal = Form.refused(item_errors(exc, codes), values, status_of(exc))
        return await operator_home(request, who, services, refusal, checklist=checklist)
    done = "opened" if recorded.get("follow_ups") else "recorded"
    return RedirectResponse(f"/staff/?done={done}", status_code=303)


@router.post("/staff/follow-ups/{follow_up_id}/close")
async def close_follow_up(
    request: Request, follow_up_id: str, who: Acting, services: Services
) -> Response:
    """整改完成: the operator closes its market's follow-up with a note of what was done."""
    if own_market(who) is None:
        return refused(request, who, "整改跟进由市场主办方办理。")
    form = await request.form()
    note = text(form, "note")
    key = f"close-{follow_up_id}"
    path = f"/follow-ups/{follow_up_id}/close"
    try:
        await services.post("campaign", path, who.access_token, {"note": note})
    except ApiError as exc:
        if exc.status in (403, 404):
            return failed(request, who, exc, "整改跟进")
        refusal = Form.refused(form_errors(exc, lambda _: key, key), {key: note}, status_of(exc))
        return await operator_home(request, who, services, refusal)
    return RedirectResponse("/staff/?done=closed", status_code=303)
