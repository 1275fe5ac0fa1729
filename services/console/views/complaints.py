"""The complaint handler's day: 投诉队列 with both working-day clocks (受理期限, 调解期限), 临期 and
逾期 marked → a case with its timeline, facts and linked duplicates → 受理 or 不予受理 (理由), or
移送 to the market it is really about (in another district too) → after mediation 办结 (结果,
是否属实, 满意度).

The complaints service computes every deadline, the running clock, the working days left and
whether a case is nearing its deadline; the pages only show them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import clock, labels
from services.console.agenda import urgency
from services.console.backend import ApiError, Backend
from services.console.complaint_clocks import (
    UNREACHED_LABEL,
    acceptance_rule,
    clocks,
)
from services.console.forms import BLANK, Form
from services.console.web import (
    Acting,
    Person,
    Services,
    chosen_view,
    failed,
    field_errors,
    in_scope,
    market_names,
    names_by_id,
    needed,
    optional,
    proxied_photo,
    unavailable_503,
)

router = APIRouter()

# The queue's views: what the handler asks the service for.
VIEWS: dict[str, tuple[str, dict[str, Any]]] = {
    "open": ("待办", {}),
    "nearing": ("临期", {"nearing": "true"}),
    "overdue": ("逾期", {"overdue": "true"}),
    "closed": ("已办结", {"state": "closed"}),
    "rejected": ("不予受理", {"state": "rejected"}),
}
# The fields each action's form has: an error naming another (the case's state) goes beside
# the action's button.
ACTIONS = {"accept": "受理", "reject": "不予受理", "transfer": "移送", "close": "办结"}
FORM_FIELDS = {
    "accept": frozenset[str](),
    "reject": frozenset({"reason"}),
    "transfer": frozenset({"market_id", "stall_no", "transfer_reason"}),
    "close": frozenset({"outcome", "substantiated", "satisfaction"}),
}
# The transfer's reason has a name of its own on the page, which also holds the rejection's.
RENAMED = {"transfer": {"reason": "transfer_reason"}}
BLANK_CHOICE = {"transfer": {"market_id": "请选择要移送的市场"}}
DONE = {
    "accepted": "已受理",
    "rejected": "已决定不予受理",
    "transferred": "已移送，新的受理期限已起算",
    "closed": "已办结",
}
# A transfer to another district leaves the case out of this handler's reach: the queue says so.
QUEUE_DONE = {"transferred": "已移送至所选市场所在区，由该区投诉处理员受理"}
# The city's markets a case may be moved to, read a page at a time (the registry's largest).
MARKET_PAGE = 100
MARKET_PAGES_AT_MOST = 20
# A closing whose complainant could not be reached for a rating: the form's choice.
UNREACHED = "unreached"


async def _names(services: Backend, token: str) -> tuple[dict[str, str], dict[str, str]]:
    """Market and merchant names by id (the district's); none when the registry does not
    answer."""
    markets, merchants = await asyncio.gather(
        market_names(services, token), names_by_id(services, "/merchants", token)
    )
    return markets or {}, merchants or {}


def _deadline_key(case: dict[str, Any]) -> str:
    return str(case.get("current_deadline") or case.get("closed_at") or case.get("received_at"))


@router.get("/staff/complaints")
async def queue(request: Request, who: Person, services: Services) -> Response:
    token = who.access_token
    view = chosen_view(request, VIEWS)
    listed = [{"state": "received"}, {"state": "accepted"}] if view == "open" else [VIEWS[view][1]]
    *found, (markets, merchants) = await needed(
        *(services.items("complaints", "/complaints", token, limit=1000, **p) for p in listed),
        _names(services, token),
    )
    cases = [c for page in found for c in page]
    now = clock.now()
    if view in ("closed", "rejected"):
        cases.sort(key=_deadline_key, reverse=True)
    else:
        cases.sort(key=_deadline_key)
    rows = [{"case": c, "clocks": clocks(c, now), "urgency": urgency(c, now)} for c in cases]
    return Form.done(request, QUEUE_DONE).page(
        request,
        "complaints/list.html",
        who,
        rows=rows,
        view=view,
        views={k: v[0] for k, v in VIEWS.items()},
        markets=markets,
        merchants=merchants,
        counts={
            "overdue": sum(1 for r in rows if r["urgency"] == "overdue"),
            "nearing": sum(1 for r in rows if r["urgency"] == "nearing"),
        },
    )


def timeline(
    case: dict[str, Any],
    inspections: list[dict[str, Any]],
    markets: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What happened to the case, oldest first: each step with when, who and what (a transfer's
    markets by the names in `markets`, by id)."""
    names = markets or {}
    steps: list[dict[str, Any]] = [
        {
            "at": case["received_at"],
            "what": "收到投诉",
            "note": labels.label(labels.CHANNEL, case.get("channel")),
        },
    ]

    who = labels.actor_name

    def step(at: str, what: str, note: str, **more: Any) -> None:
        """A step of the case, if it happened: its time is the case's `at`."""
        if case.get(at):
            steps.append({"at": case[at], "what": what, **more, "note": note})

    step(
        "acceptance_overdue_at",
        "受理逾期",
        f"超过受理期限（{acceptance_rule(case)}）",
        css="overdue",
    )
    step(
        "accepted_at",
        "受理",
        "调解期限起算（受理后 45 个工作日）",
        by=who(case.get("accepted_actor")),
    )
    for moved in case.get("transfers") or []:
        way = (
            f"自{names.get(moved['from_market_id'], '原市场')}"
            f"移送至{names.get(moved['to_market_id'], '现市场')}"
        )
        steps.append(
            {
                "at": moved["at"],
                "what": "移送",
                "by": who(moved.get("actor")),
                "note": f"{way} · 理由：{moved.get('reason') or '—'}",
            }
        )
        if moved.get("overdue_at"):
            steps.append(
                {
                    "at": moved["overdue_at"],
                    "what": "受理逾期",
                    "note": "超过移送前的受理期限",
                    "css": "overdue",
                }
            )
    step(
        "rejected_at",
        "不予受理",
        f"理由：{case.get('rejection_reason') or '—'}",
        by=who(case.get("rejected_actor")),
    )
    for done in inspections:
        steps.append(
            {
                "at": done["completed_at"],
                "what": "检查完成",
                "task_id": done["task_id"],
                "note": f"结果：{labels.label(labels.OUTCOME, done.get('outcome'))}",
            }
        )
    step("mediation_overdue_at", "调解逾期", "超过调解期限（受理后 45 个工作日）", css="overdue")
    found = case.get("substantiated")
    substantiated = "属实" if found is True else "不属实" if found is False else "—"
    outcome = labels.label(labels.CLOSE_OUTCOME, case.get("outcome"))
    rating = case.get("satisfaction")
    satisfaction = UNREACHED_LABEL if rating is None else f"满意度 {rating}/5"
    step(
        "closed_at",
        "办结",
        f"{outcome} · {substantiated} · {satisfaction}",
        by=who(case.get("closed_actor")),
    )
    steps.sort(key=lambda s: str(s["at"]))
    return steps


async def _optional(services: Backend, service: str, path: str, token: str) -> Any:
    return await optional(services.get(service, path, token), None)


async def _none() -> None:
    return None


async def _nowhere() -> list[tuple[str, list[dict[str, Any]]]]:
    return []


async def _city_markets(
    services: Backend, but: str
) -> list[tuple[str, list[dict[str, Any]]]] | None:
    """The city's markets a case may be moved to (every one but `but`), by district: the
    registry's public directory, in its order (by district and name); None when it does not
    answer (the form then says so), empty in a city of one market (there is nowhere to move
    it)."""
    found: list[dict[str, Any]] = []
    for _ in range(MARKET_PAGES_AT_MOST):
        body = await optional(
            services.get("registry", "/public/markets", "", offset=len(found), limit=MARKET_PAGE),
            None,
        )
        if not isinstance(body, dict):
            return None
        found += body.get("items") or []
        if len(found) >= int(body.get("total") or 0) or not body.get("items"):
            break
    districts: dict[str, list[dict[str, Any]]] = {}
    for m in found:
        if m.get("id") != but:
            districts.setdefault(str(m.get("district_name") or m.get("district")), []).append(m)
    return list(districts.items())


async def _tasks_of(services: Backend, token: str, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The inspection tasks this complaint triggered (or was attached to)."""
    try:
        tasks = await services.items(
            "inspection", "/tasks", token, market_id=case["market_id"], limit=1000
        )
    except ApiError:
        return []
    return [
        t
        for t in tasks
        if any(
            tr.get("kind") == "complaint" and tr.get("id") == case["id"]
            for tr in t.get("triggers") or []
        )
    ]


async def _case_page(
    request: Request,
    who: Any,
    services: Backend,
    complaint_id: str,
    form: Form = BLANK,
) -> Response:
    token = who.access_token
    case = await in_scope(services, "complaints", f"/complaints/{complaint_id}", token, "投诉")
    linked_ids = ([case["duplicate_of"]] if case.get("duplicate_of") else []) + list(
        case.get("duplicates") or []
    )
    merchant_path = f"/merchants/{case['merchant_id']}" if case.get("merchant_id") else None
    # The markets a transfer moved the case between, by name for the timeline.
    moved_ids = sorted(
        {m for t in case.get("transfers") or [] for m in (t["from_market_id"], t["to_market_id"])}
    )
    may_act = who.principal.holds("handler")
    movable = may_act and case.get("state") == "received" and not linked_ids
    market, merchant, tasks, linked, moved, destinations = await asyncio.gather(
        _optional(services, "registry", f"/markets/{case['market_id']}", token),
        _optional(services, "registry", merchant_path, token) if merchant_path else _none(),
        _tasks_of(services, token, case),
        asyncio.gather(
            *(_optional(services, "complaints", f"/complaints/{i}", token) for i in linked_ids)
        ),
        asyncio.gather(
            *(_optional(services, "registry", f"/public/markets/{m}", "") for m in moved_ids)
        ),
        _city_markets(services, case["market_id"]) if movable else _nowhere(),
    )
    found = {i: c for i, c in zip(linked_ids, linked, strict=True) if c}
    names = {m: p["name"] for m, p in zip(moved_ids, moved, strict=True) if p}
    return form.page(
        request,
        "complaints/detail.html",
        who,
        case=case,
        market=market,
        merchant=merchant,
        tasks=tasks,
        clocks=clocks(case),
        urgency=urgency(case),
        steps=timeline(case, case.get("inspections") or [], names),
        root=found.get(case["duplicate_of"]) if case.get("duplicate_of") else None,
        root_id=case.get("duplicate_of"),
        duplicates=[(i, found.get(i)) for i in case.get("duplicates") or []],
        may_act=may_act,
        movable=movable and destinations != [],
        destinations=destinations,
        outcomes=labels.CLOSE_OUTCOME,
    )


@router.get("/staff/complaints/{complaint_id}")
async def case_page(
    request: Request, complaint_id: str, who: Person, services: Services
) -> Response:
    return await _case_page(request, who, services, complaint_id, Form.done(request, DONE))


@router.get("/staff/complaints/{complaint_id}/photos/{photo_id}")
async def photo(complaint_id: str, photo_id: str, who: Person, services: Services) -> Response:
    """A complainant's photo, as the complaints service gives it to this person (handlers,
    inspectors and leaders of the case's district)."""
    path = f"/complaints/{complaint_id}/photos/{photo_id}"
    return await proxied_photo(services, "complaints", who.access_token, path)


def _errors(exc: ApiError, action: str, values: dict[str, Any]) -> dict[str, str]:
    """The service's field errors in Chinese, each under the form field it names; an error about
    the case's state (another handler decided first) beside the action's button."""
    known, renamed = FORM_FIELDS[action], RENAMED.get(action, {})
    blank = {k: v for k, v in BLANK_CHOICE.get(action, {}).items() if not values.get(k)}

    def where(field: str) -> str:
        field = renamed.get(field, field)
        return field if field in known else action

    return field_errors(exc, where, action, blank=blank)


async def _decide(
    request: Request,
    who: Any,
    services: Backend,
    complaint_id: str,
    action: str,
    body: dict[str, Any] | None,
    values: dict[str, Any],
    done: str,
    after: Callable[[dict[str, Any]], str] | None = None,
) -> Response:
    """Post the action; on success to the case's page (or where `after` says, given the case as
    the service answered), on refusal back to it with each reason beside its field."""
    try:
        decided = await services.post(
            "complaints", f"/complaints/{complaint_id}/{action}", who.access_token, body
        )
    except ApiError as exc:
        if exc.status in (403, 404):
            return failed(request, who, exc)
        # A service that did not answer is said beside the action too, with what was typed kept
        # (docs/console.md: the action is not lost); nothing was decided.
        errors = _errors(exc, action, values)
        if exc.status == 409 and any(e.get("field") == "state" for e in exc.errors):
            errors["case"] = ACTIONS[action]
        refusal = Form.refused(errors, values, unavailable_503(exc))
        return await _case_page(request, who, services, complaint_id, refusal)
    where = after(decided) if after else f"/staff/complaints/{complaint_id}"
    return RedirectResponse(f"{where}?done={done}", status_code=303)


@router.post("/staff/complaints/{complaint_id}/accept")
async def accept(request: Request, complaint_id: str, who: Acting, services: Services) -> Response:
    return await _decide(request, who, services, complaint_id, "accept", None, {}, "accepted")


@router.post("/staff/complaints/{complaint_id}/reject")
async def reject(request: Request, complaint_id: str, who: Acting, services: Services) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "")
    return await _decide(
        request,
        who,
        services,
        complaint_id,
        "reject",
        {"reason": reason},
        {"reason": reason},
        "rejected",
    )


@router.post("/staff/complaints/{complaint_id}/transfer")
async def transfer(
    request: Request, complaint_id: str, who: Acting, services: Services
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS["transfer"]}
    body = {
        "market_id": values["market_id"],
        "stall_no": values["stall_no"] or None,
        "reason": values["transfer_reason"],
    }
    district = who.principal.listing_district()

    def after(case: dict[str, Any]) -> str:
        # Moved out of the handler's district, the case is another district's to read.
        mine = district is None or case.get("district") == district
        return f"/staff/complaints/{complaint_id}" if mine else "/staff/complaints"

    return await _decide(
        request, who, services, complaint_id, "transfer", body, values, "transferred", after
    )


@router.post("/staff/complaints/{complaint_id}/close")
async def close(request: Request, complaint_id: str, who: Acting, services: Services) -> Response:
    form = await request.form()
    outcome = str(form.get("outcome") or "")
    substantiated = str(form.get("substantiated") or "")
    satisfaction = str(form.get("satisfaction") or "")
    body: dict[str, object] = {
        "outcome": outcome or None,
        "substantiated": {"true": True, "false": False}.get(substantiated),
    }
    # 未能回访 is said as a null; a scale not picked is left out, and the service names it.
    if satisfaction == UNREACHED:
        body["satisfaction"] = None
    elif satisfaction:
        body["satisfaction"] = int(satisfaction) if satisfaction.isdigit() else satisfaction
    values = {"outcome": outcome, "substantiated": substantiated, "satisfaction": satisfaction}
    return await _decide(request, who, services, complaint_id, "close", body, values, "closed")
