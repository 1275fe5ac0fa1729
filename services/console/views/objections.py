"""信用异议: a merchant's objection to one entry of its credit record (docs/objections.md); and
信用修复, the merchant's request that an entry which was right, and was put right, stop counting
early, which goes the same way on its own ground (准予修复 or 不予修复).

A clerk records it beside the entry on the merchant's page, from the merchant's written
statement; another clerk of the district decides it there (更正 or 维持) after checking with the
source. Leaders read both and change nothing. This page lists the district's objections, those
waiting for a decision first, the nearest deadline (异议处理期限) first, each linking to its
entry. The console owns none of it: credit's `POST /merchants/{id}/objections`,
`POST /objections/{id}/decision` and `GET /objections` — which also say how each deadline
stands; this only words it."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import web
from services.console.backend import ApiError
from services.console.forms import Form
from services.console.objection_clock import decision_clock
from services.console.sessions import Session
from services.console.views import merchants
from services.console.web import (
    Services,
    field_errors,
    may_do,
    may_see,
    templates,
    typed,
    unavailable_503,
)

router = APIRouter()

REFUSAL: Final = "信用异议由登记员登记和决定，领导可查看。"
Reader = Annotated[Session, may_see("clerk", "leader", message=REFUSAL)]
Clerk = Annotated[Session, may_do("clerk", message="信用异议由登记员登记和决定。")]
# The closed ones the page lists, by how long ago: older ones are read in the 信用异议台账.
CLOSED_SHOWN_DAYS: Final = 90
# What a field left empty (or a decision not picked) says, in place of the service's reason.
BLANK: Final = {
    "statement": "请写明商户的异议理由",
    "reasoning": "请写明决定的理由",
    "decision": "请选择更正或维持",
    "reason": "请写明撤回的原因",
    "commitment": "请确认已收到商户签署的信用承诺书",
}
# What a repair's form says instead, where its words differ.
REPAIR_BLANK: Final = BLANK | {
    "statement": "请写明商户的整改情况",
    "decision": "请选择准予修复或不予修复",
}


def entry_anchor(event_id: str, kind: str) -> str:
    """The id of a ledger entry on the merchant's page."""
    return f"entry-{event_id}-{kind.replace('.', '-')}"


# The pages word a deadline as the ledger does.
templates.env.globals["decision_clock"] = decision_clock


@router.get("/staff/objections")
async def objections_page(request: Request, who: Reader, services: Services) -> Response:
    token = who.access_token
    found, merchant_names, market_names = await web.needed(
        services.get("credit", "/objections", token, closed_within_days=CLOSED_SHOWN_DAYS),
        web.names_by_id(services, "/merchants", token),
        web.market_names(services, token),
    )
    items: list[dict[str, Any]] = found.get("items") or []
    # The next deadline first: the ones overdue, then the nearest.
    waiting = sorted(
        (o for o in items if o.get("state") == "open"),
        key=lambda o: (str(o.get("due_at") or ""), str(o.get("filed_at") or "")),
    )
    decided = sorted(
        (o for o in items if o.get("state") != "open"),
        key=lambda o: str(o.get("decided_at") or ""),
        reverse=True,
    )
    return web.render(
        request,
        "objections/index.html",
        who,
        waiting=waiting,
        overdue=sum(1 for o in waiting if o.get("overdue")),
        decided=decided,
        merchants=merchant_names or {},
        markets=market_names or {},
        anchor=entry_anchor,
        decides=who.principal.holds("clerk"),
        me=who.principal.subject,
        closed_days=CLOSED_SHOWN_DAYS,
    )


def _refused(
    exc: ApiError, values: dict[str, str], marks: dict[str, str], ground: str = "error"
) -> Form:
    """A refusal beside the field it names (or above the entry's form), what was typed kept;
    `marks` say which entry's or objection's form it is, `ground` in whose words."""
    words = REPAIR_BLANK if ground == "repaired" else BLANK
    blank = {k: v for k, v in words.items() if k in values and not values[k].strip()}
    # The entry's key is no field a person fills in: what is said of it stands above the form.
    errors = web.above_form(exc) or field_errors(
        exc, lambda field: field if field in BLANK else "form", blank=blank
    )
    return Form.refused(errors, values | marks | {"ground": ground}, unavailable_503(exc))


@router.post("/staff/merchants/{merchant_id}/objections")
async def record(request: Request, merchant_id: str, who: Clerk, services: Services) -> Response:
    values = await typed(request, "event_id", "kind", "statement", "ground", "commitment")
    anchor = entry_anchor(values["event_id"], values["kind"])
    ground = "repaired" if values.pop("ground") == "repaired" else "error"
    if ground == "error":  # credit's default ground, which takes no commitment
        del values["commitment"]
        body: dict[str, Any] = dict(values)
    else:
        body = values | {"ground": ground, "commitment": values["commitment"] == "yes"}
    try:
        await services.post(
            "credit", f"/merchants/{merchant_id}/objections", who.access_token, body
        )
    except ApiError as exc:
        form = _refused(exc, values, {"entry": anchor}, ground)
        return await merchants.page(request, merchant_id, who, services, form)
    done = "repair" if ground == "repaired" else "objection"
    return RedirectResponse(f"/staff/merchants/{merchant_id}?done={done}#{anchor}", status_code=303)


async def _close(
    request: Request,
    objection_id: str,
    who: Session,
    services: Services,
    step: str,
    fields: tuple[str, ...],
    marks: dict[str, str],
) -> Response:
    """Post the form's `fields` to credit's `step` of the objection (decision, withdrawal); back
    to the entry on the merchant's page with what became of it, or the refusal beside the form
    `marks` name."""
    values = await typed(request, *fields, "merchant_id", "ground")
    merchant_id, ground = values.pop("merchant_id"), values.pop("ground")
    try:
        closed = await services.post(
            "credit", f"/objections/{objection_id}/{step}", who.access_token, values
        )
    except ApiError as exc:
        form = _refused(exc, values, {"objection": objection_id} | marks, ground)
        return await merchants.page(request, merchant_id, who, services, form)
    anchor = entry_anchor(str(closed.get("event_id")), str(closed.get("kind")))
    state = closed.get("state")
    done = f"repair_{state}" if closed.get("ground") == "repaired" else state
    return RedirectResponse(f"/staff/merchants/{merchant_id}?done={done}#{anchor}", status_code=303)


@router.post("/staff/objections/{objection_id}/decision")
async def decide(request: Request, objection_id: str, who: Clerk, services: Services) -> Response:
    return await _close(
        request, objection_id, who, services, "decision", ("decision", "reasoning"), {}
    )


@router.post("/staff/objections/{objection_id}/withdrawal")
async def withdraw(request: Request, objection_id: str, who: Clerk, services: Services) -> Response:
    marks = {"withdrawing": "1"}
    return await _close(request, objection_id, who, services, "withdrawal", ("reason",), marks)
