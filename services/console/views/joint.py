"""Joint meetings (联席会议) and joint enforcement (联合执法), issue 17: the campaign service's
`/meetings`, `/action-items` and `/enforcement-cases` as pages.

- 联席会议 (`/staff/meetings`): the open 议定事项 by deadline (逾期 in red), each with 办结 and a
  note for the clerks and department staff; the district's meetings, newest first; a meeting is
  recorded on a plain form (departments ticked, up to `ROWS` decisions as rows — empty rows
  are left out) that works without script.
- 联合执法 (`/staff/enforcement`): cases by state; a case is opened from a critical finding or an
  accepted complaint picked from a list (never an id typed), then decided (警告 / 罚款 / 暂停经营,
  理由) and closed with a note.

Leaders read everything and see no buttons; the campaign service decides who may do what, and
its refusal is shown beside the field it names, with what was typed kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from services.console import labels
from services.console.backend import ApiError, Backend, Unavailable
from services.console.clock import CHINA, today
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.web import (
    Services,
    above_form,
    chosen_view,
    days_left,
    failed,
    field_errors,
    in_scope,
    market_names,
    may_do,
    may_see,
    names_by_id,
    needed,
    optional,
    render,
    status_of,
    text,
    typed,
)

router = APIRouter()

READERS = ("leader", "department", "clerk", "inspector")
MEETING_WRITERS = ("clerk", "department")
CASE_WRITERS = ("inspector", "department")

RECORDS_MEETINGS = "联席会议由登记员或部门人员记录。"
OPENS_CASES = "联合执法案件由检查员或部门人员立案。"
Reader = Annotated[Session, may_see(*READERS)]
RecorderActing = Annotated[Session, may_do(*MEETING_WRITERS, message=RECORDS_MEETINGS)]
Recorder = Annotated[Session, may_see(*MEETING_WRITERS, message=RECORDS_MEETINGS)]
ItemCloserActing = Annotated[
    Session, may_do(*MEETING_WRITERS, message="议定事项由登记员或部门人员办结。")
]
CaseOpenerActing = Annotated[Session, may_do(*CASE_WRITERS, message=OPENS_CASES)]
CaseOpener = Annotated[Session, may_see(*CASE_WRITERS, message=OPENS_CASES)]
CaseWorkerActing = Annotated[
    Session, may_do(*CASE_WRITERS, message="联合执法案件由检查员或部门人员办理。")
]
CITY = "city"
ROWS = 5  # decision rows on the new-meeting form
ORIGINS_SHOWN = 30  # recent critical findings (and accepted complaints) offered for a case
ITEM_VIEWS = {"open": "未办结", "late": "逾期", "done": "已办结"}
CASE_VIEWS = {"open": "待决定", "decided": "待结案", "closed": "已结案"}
# What an empty field is told (a choice not made), else 必填.
EMPTY = {
    "departments": "请至少选择一个部门",
    "sanction": "请选择处罚",
    "origin": "请选择案件来源",
    "fine_yuan": "罚款须填写金额（元）",
    "suspension_days": "暂停经营须填写天数",
}
DONE = {
    "recorded": "会议已记录",
    "item": "议定事项已办结",
    "opened": "联合执法案件已立案",
    "decided": "处罚决定已记录",
    "closed": "案件已结案",
}


def district_name(code: str | None, names: Mapping[str, str]) -> str:
    if code == CITY:
        return "全市"
    return names.get(code or "", code or "—")


def form_errors(
    exc: ApiError,
    where: Callable[[str], str],
    sent: Mapping[str, Any],
    fallback: str = "form",
) -> dict[str, str]:
    """The service's refusal in Chinese under the form's field names (the first reason per
    field): 必填 for a field left empty, a number field's parse error in words, the reason of
    a field the form does not have (the case's state) under `fallback`."""
    blank = {name: EMPTY.get(name, "必填") for name, value in sent.items() if not value}
    return field_errors(exc, where, fallback, blank=blank, words=_number_words)


def _number_words(field: str, reason: str) -> str | None:
    """A fine or a suspension that is no number, in the words of the form."""
    if field == "suspension_days" and reason.startswith("Input should"):
        return "应为 1–365 的整数天数"
    if field == "fine_yuan" and reason.startswith(("Input should", "Decimal")):
        return "应为金额（元），最多两位小数"
    return None


async def departments(services: Backend, token: str) -> dict[str, str]:
    """The departments of joint work by code, in Chinese (the campaign's catalogue)."""
    try:
        found = await services.items("campaign", "/departments", token)
    except ApiError:
        return dict(labels.DEPARTMENT)
    return {
        d["code"]: d.get("name_zh") or labels.label(labels.DEPARTMENT, d["code"]) for d in found
    }


async def district_names(services: Backend, token: str) -> dict[str, str]:
    # The public list: the registry's `/districts` refuses department staff, whose meeting page
    # then named its district by code (召开单位 laishan).
    body = await optional(services.get("registry", "/public/districts", ""), [])
    listed = body.get("items", []) if isinstance(body, dict) else body
    return {d["code"]: d.get("name") or d["code"] for d in listed}


def may_change(who: Session, district: str) -> bool:
    """Whether the person records meetings and reports items done for `district`: clerks and
    department staff of it; a city meeting's only with a city-wide token."""
    if not who.principal.holds(*MEETING_WRITERS):
        return False
    return who.principal.city_wide or (district != CITY and who.principal.district == district)


def owns_item(who: Session, item: Mapping[str, Any]) -> bool:
    """Whether an action item is the person's department's to report done, as the campaign
    service rules it (docs/campaign.md): anyone's for a clerk, a department member's only when
    their department (the token's; none without it) owns it."""
    own = who.principal.department
    return not who.principal.department_only("clerk") or bool(own and item.get("department") == own)


def owns_case(who: Session, case: Mapping[str, Any]) -> bool:
    """Whether an enforcement case is the person's department's to decide or close: anyone's for
    an inspector, a department member's only when their department is involved in it."""
    own = who.principal.department
    involved = case.get("departments") or []
    return not who.principal.department_only("inspector") or bool(own and own in involved)


def may_report_done(who: Session, item: Mapping[str, Any], district: str) -> bool:
    """Whether the person may report `item` of a `district` meeting done: `may_change`, and the
    item their department's (`owns_item`)."""
    return may_change(who, district) and owns_item(who, item)


def may_work_on_case(who: Session, case: Mapping[str, Any]) -> bool:
    """Whether the person may decide or close `case`: inspectors and department staff, a
    department member only a case their department is involved in (`owns_case`)."""
    return who.principal.holds(*CASE_WRITERS) and owns_case(who, case)


# -- 联席会议 --------------------------------------------------------------------------------


def _item_key(view: str) -> Callable[[dict[str, Any]], Any]:
    if view == "done":
        return lambda i: str(i.get("done_at") or "")
    return lambda i: (str(i.get("deadline")), int(i.get("position") or 0))


async def _meetings_page(
    request: Request, who: Session, services: Backend, form: Form = BLANK, *, view: str = "open"
) -> Response:
    token = who.access_token
    meetings, items, names, districts = await needed(
        services.items("campaign", "/meetings", token, limit=50),
        services.items("campaign", "/action-items", token, state=view, limit=500),
        departments(services, token),
        district_names(services, token),
    )
    meetings.sort(key=lambda m: (str(m.get("held_on")), str(m.get("recorded_at"))), reverse=True)
    items.sort(key=_item_key(view), reverse=view == "done")
    for i in items:
        i["may_done"] = may_report_done(who, i, str(i.get("district")))
    return form.page(
        request,
        "joint/meetings.html",
        who,
        meetings=meetings,
        items=items,
        view=view,
        views=ITEM_VIEWS,
        departments=names,
        districts=districts,
        district_name=district_name,
        days_left=days_left,
        may_record=who.principal.holds(*MEETING_WRITERS),
        late=sum(1 for i in items if i.get("late")),
    )


@router.get("/staff/meetings")
async def meetings_page(request: Request, who: Reader, services: Services) -> Response:
    done = Form.done(request, DONE)
    return await _meetings_page(request, who, services, done, view=chosen_view(request, ITEM_VIEWS))


@dataclass
class MeetingForm:
    """What the new-meeting form holds: the body for the service, what was typed (to show it
    again), and which form row each decision sent came from."""

    body: dict[str, Any]
    values: dict[str, Any]
    rows: list[int]

    @classmethod
    def parse(cls, form: FormData, district: str) -> MeetingForm:
        values: dict[str, Any] = {
            "district": text(form, "district") or district,
            "title": text(form, "title"),
            "held_on": text(form, "held_on"),
            "minutes": text(form, "minutes"),
            "departments": [d for d in form.getlist("departments") if isinstance(d, str) and d],
        }
        decisions: list[dict[str, Any]] = []
        rows: list[int] = []
        for i in range(ROWS):
            row = {k: text(form, f"{k}_{i}") for k in ("decision", "department", "deadline")}
            values.update({f"{k}_{i}": v for k, v in row.items()})
            if not any(row.values()):
                continue  # an empty row is not a decision
            rows.append(i)
            decisions.append(
                {
                    "decision": row["decision"],
                    "department": row["department"],
                    "deadline": row["deadline"] or None,
                }
            )
        body = {
            "district": values["district"],
            "title": values["title"],
            "held_on": values["held_on"] or None,
            "departments": values["departments"],
            "minutes": values["minutes"],
            "decisions": decisions,
        }
        return cls(body, values, rows)

    def field(self, name: str) -> str:
        """The form field a service's field names: `decisions.1.deadline` → `deadline_<row>`."""
        parts = name.split(".")
        if parts[0] == "decisions" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            return f"{parts[2]}_{self.rows[index]}" if index < len(self.rows) else "form"
        if parts[0] in ("district", "title", "held_on", "minutes", "departments"):
            return parts[0]
        return "form"


async def _new_meeting_page(
    request: Request, who: Session, services: Backend, form: Form = BLANK
) -> Response:
    token = who.access_token
    names = await departments(services, token)
    districts = await district_names(services, token) if who.principal.city_wide else {}
    defaults: dict[str, Any] = {
        "district": CITY if who.principal.city_wide else who.principal.district,
        "held_on": today().isoformat(),
        "departments": [],
    }
    return form.page(
        request,
        "joint/meeting_new.html",
        who,
        defaults=defaults,
        departments=names,
        districts=districts,
        city_wide=who.principal.city_wide,
        rows=range(ROWS),
    )


@router.get("/staff/meetings/new")
async def new_meeting(request: Request, who: Recorder, services: Services) -> Response:
    return await _new_meeting_page(request, who, services)


@router.post("/staff/meetings")
async def record_meeting(request: Request, who: RecorderActing, services: Services) -> Response:
    form = MeetingForm.parse(await request.form(), who.principal.district)
    try:
        meeting = await services.post("campaign", "/meetings", who.access_token, form.body)
    except ApiError as exc:
        errors = above_form(exc) or form_errors(exc, form.field, form.values)
        refusal = Form.refused(errors, form.values, status_of(exc))
        return await _new_meeting_page(request, who, services, refusal)
    return RedirectResponse(f"/staff/meetings/{meeting['id']}?done=recorded", status_code=303)


async def _meeting_page(
    request: Request, who: Session, services: Backend, meeting_id: str, form: Form = BLANK
) -> Response:
    token = who.access_token
    meeting = await in_scope(services, "campaign", f"/meetings/{meeting_id}", token, "会议")
    for i in meeting.get("action_items") or []:
        i["may_done"] = may_report_done(who, i, str(meeting.get("district")))
    names, districts = await asyncio.gather(
        departments(services, token), district_names(services, token)
    )
    return form.page(
        request,
        "joint/meeting.html",
        who,
        meeting=meeting,
        departments=names,
        district_name=district_name,
        districts=districts,
        days_left=days_left,
        may_record=who.principal.holds(*MEETING_WRITERS),
        open_item=request.query_params.get("item", ""),
    )


@router.get("/staff/meetings/{meeting_id}")
async def meeting_page(
    request: Request, meeting_id: str, who: Reader, services: Services
) -> Response:
    return await _meeting_page(request, who, services, meeting_id, Form.done(request, DONE))


@router.post("/staff/meetings/{meeting_id}/items/{item_id}/done")
async def item_done(
    request: Request, meeting_id: str, item_id: str, who: ItemCloserActing, services: Services
) -> Response:
    """办结 an action item with a note; back to the list or the meeting it was done from."""
    form = await request.form()
    note, back = text(form, "note"), text(form, "back")
    path = f"/meetings/{meeting_id}/items/{item_id}/done"
    try:
        await services.post("campaign", path, who.access_token, {"note": note})
    except ApiError as exc:
        if exc.status in (403, 404) and not exc.errors:
            return failed(request, who, exc)
        key = f"note-{item_id}"
        errors = form_errors(exc, lambda f: key, {key: note}, key)
        refusal = Form.refused(errors, {key: note}, status_of(exc))
        if back == "meeting":
            return await _meeting_page(request, who, services, meeting_id, refusal)
        return await _meetings_page(request, who, services, refusal)
    target = f"/staff/meetings/{meeting_id}" if back == "meeting" else "/staff/meetings"
    return RedirectResponse(f"{target}?done=item", status_code=303)


# -- 联合执法 --------------------------------------------------------------------------------


@router.get("/staff/enforcement")
async def cases_page(request: Request, who: Reader, services: Services) -> Response:
    view = chosen_view(request, CASE_VIEWS)
    token = who.access_token
    cases, names = await needed(
        services.items("campaign", "/enforcement-cases", token, state=view, limit=500),
        departments(services, token),
    )
    if view == "closed":
        cases.sort(key=lambda c: str(c.get("closed_at")), reverse=True)
    else:
        cases.sort(key=lambda c: str(c.get("opened_at")))
    return render(
        request,
        "joint/cases.html",
        who,
        cases=cases,
        view=view,
        views=CASE_VIEWS,
        departments=names,
        may_act=who.principal.holds(*CASE_WRITERS),
    )


@dataclass
class Origin:
    """What a case may be opened from, as the person picks it: `value` is `kind:id`."""

    kind: str
    id: str
    label: str
    at: str

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.id}"


async def names_of(
    services: Backend,
    token: str,
    market_ids: set[str],
    merchant_ids: AbstractSet[str] = frozenset(),
) -> tuple[dict[str, str], dict[str, str]]:
    """Market and merchant names by id: the registry's (with the person's token), else — for
    department staff, whom the registry serves markets but not merchants — the markets' public
    pages, and for `merchant_ids` those pages leave out, their public credit pages."""
    markets, merchants = await asyncio.gather(
        market_names(services, token), names_by_id(services, "/merchants", token)
    )
    if markets is not None and merchants is not None:
        return markets, merchants
    # Each list on its own: market_names may have found the markets while the merchants are
    # still to be read from each market's public page.
    ids = sorted(market_ids - set(markets or {}))
    stalls = sorted(market_ids) if merchants is None else []
    markets, merchants = markets or {}, merchants or {}
    pages = await asyncio.gather(
        *(optional(services.get("registry", f"/public/markets/{m}", ""), None) for m in ids),
        *(
            optional(services.get("registry", f"/public/markets/{m}/merchants", ""), None)
            for m in stalls
        ),
    )
    for market in pages[: len(ids)]:
        if isinstance(market, dict) and market.get("id"):
            markets[market["id"]] = market.get("name") or ""
    for page in pages[len(ids) :]:
        for m in page.get("items", []) if isinstance(page, dict) else []:
            merchants.setdefault(m["id"], m.get("name") or "")
    # A market's public page lists its active merchants only; one suspended (暂停经营, as a
    # critical finding orders) is still named by its public credit page.
    unnamed = sorted(merchant_ids - set(merchants))
    graded = await asyncio.gather(
        *(optional(services.get("credit", f"/public/merchants/{m}", ""), None) for m in unnamed)
    )
    for merchant in graded:
        if isinstance(merchant, dict) and merchant.get("id") and merchant.get("name"):
            merchants[merchant["id"]] = merchant["name"]
    return markets, merchants


def _finding_label(task: dict[str, Any], markets: dict[str, str], merchants: dict[str, str]) -> str:
    where = markets.get(task.get("market_id") or "", "市场")
    if task.get("merchant_id"):
        where += f" · {merchants.get(task['merchant_id'], '商户')}"
    if task.get("stall_no"):
        where += f" · 摊位 {task['stall_no']}"
    when = datetime.fromisoformat(task["completed_at"]).astimezone(CHINA).strftime("%m-%d")
    return f"{when} 严重问题 · {where}"


def _complaint_label(
    case: dict[str, Any], markets: dict[str, str], merchants: dict[str, str]
) -> str:
    where = markets.get(case.get("market_id") or "", "市场")
    if case.get("merchant_id"):
        where += f" · {merchants.get(case['merchant_id'], '商户')}"
    if case.get("stall_no"):
        where += f" · 摊位 {case['stall_no']}"
    category = labels.label(labels.COMPLAINT_CATEGORY, case.get("category"))
    when = case.get("accepted_at") or case.get("received_at")
    day = datetime.fromisoformat(when).astimezone(CHINA).strftime("%m-%d") if when else ""
    return f"{day} {category}投诉 · {where} · {case.get('tracking_code') or ''}".strip(" ·")


async def origins(
    services: Backend, token: str, chosen: tuple[str, str] | None = None
) -> tuple[list[Origin], list[Origin], list[str]]:
    """The district's recent critical findings and accepted complaints without a case that is
    not closed (newest first), with the one `chosen` (a task page's 移送联合执法) among them;
    and what could not be listed, in words."""
    missing: list[str] = []

    async def listed(service: str, path: str, what: str, **params: Any) -> list[dict[str, Any]]:
        try:
            return await services.items(service, path, token, limit=1000, **params)
        except Unavailable:
            missing.append(f"{what}暂时无法获取")
        except ApiError as exc:
            # This person does not read them (department staff: complaints): said, so that an
            # empty list is not taken for "there are none".
            if exc.status in (401, 403):
                missing.append(f"{what}：您的角色无权查看，不在此列出")
        return []

    tasks, complaints, open_cases, decided, lapsed = await asyncio.gather(
        listed("inspection", "/tasks", "检查任务", state="completed"),
        listed("complaints", "/complaints", "已受理投诉", state="accepted"),
        listed("campaign", "/enforcement-cases", "联合执法案件", state="open"),
        listed("campaign", "/enforcement-cases", "联合执法案件", state="decided"),
        # A finding found wrong (信用异议) is no ground: its order lapsed so. Without the list,
        # the campaign still refuses one, beside the field.
        optional(
            services.items("inspection", "/rectifications", token, state="lapsed", limit=1000),
            [],
        ),
    )
    busy = {(c["origin"]["kind"], c["origin"]["id"]) for c in open_cases + decided}
    busy |= {
        ("finding", o["task_id"]) for o in lapsed if o.get("lapse_reason") == "finding_corrected"
    }
    critical = [t for t in tasks if t.get("outcome") == "critical" and t.get("completed_at")]
    critical = [t for t in critical if ("finding", t["task_id"]) not in busy]
    critical.sort(key=lambda t: str(t["completed_at"]), reverse=True)
    accepted = [c for c in complaints if ("complaint", c["id"]) not in busy]
    accepted.sort(key=lambda c: str(c.get("accepted_at") or ""), reverse=True)
    shown_tasks, shown_complaints = critical[:ORIGINS_SHOWN], accepted[:ORIGINS_SHOWN]
    if chosen and chosen not in busy:
        kind, ident = chosen
        if kind == "finding" and all(t["task_id"] != ident for t in shown_tasks):
            task = await optional(services.get("inspection", f"/tasks/{ident}", token), None)
            if task and task.get("outcome") == "critical" and task.get("completed_at"):
                shown_tasks.insert(0, task)
        if kind == "complaint" and all(c["id"] != ident for c in shown_complaints):
            case = await optional(services.get("complaints", f"/complaints/{ident}", token), None)
            if case and case.get("state") == "accepted":
                shown_complaints.insert(0, case)
    market_ids = {x["market_id"] for x in shown_tasks + shown_complaints if x.get("market_id")}
    merchant_ids = {
        x["merchant_id"] for x in shown_tasks + shown_complaints if x.get("merchant_id")
    }
    markets, merchants = await names_of(services, token, market_ids, merchant_ids)
    return (
        [
            Origin(
                "finding", t["task_id"], _finding_label(t, markets, merchants), t["completed_at"]
            )
            for t in shown_tasks
        ],
        [
            Origin(
                "complaint",
                c["id"],
                _complaint_label(c, markets, merchants),
                str(c.get("accepted_at") or ""),
            )
            for c in shown_complaints
        ],
        sorted(set(missing)),
    )


async def _new_case_page(request: Request, who: Session, services: Backend, form: Form) -> Response:
    token = who.access_token
    kind, _, ident = str(form.values.get("origin", "")).partition(":")
    chosen = (kind, ident) if kind and ident else None
    (findings, complaints, missing), names = await asyncio.gather(
        origins(services, token, chosen), departments(services, token)
    )
    return form.page(
        request,
        "joint/case_new.html",
        who,
        findings=findings,
        complaints=complaints,
        missing=missing,
        departments=names,
    )


@router.get("/staff/enforcement/new")
async def new_case(request: Request, who: CaseOpener, services: Services) -> Response:
    kind = request.query_params.get("kind", "")
    ident = request.query_params.get("id", "")
    values: dict[str, Any] = {
        "origin": f"{kind}:{ident}" if kind in labels.ORIGIN_KIND and ident else "",
        "departments": [],
        "facts": "",
    }
    return await _new_case_page(request, who, services, Form(values=values))


def _case_field(name: str) -> str:
    head = name.split(".")[0]
    return head if head in ("origin", "departments", "facts") else "form"


@router.post("/staff/enforcement")
async def open_case(request: Request, who: CaseOpenerActing, services: Services) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        "origin": text(form, "origin"),
        "departments": [d for d in form.getlist("departments") if isinstance(d, str) and d],
        "facts": text(form, "facts"),
    }
    kind, _, ident = values["origin"].partition(":")
    body = {
        "origin": {"kind": kind or "finding", "id": ident},
        "departments": values["departments"],
        "facts": values["facts"],
    }
    try:
        case = await services.post("campaign", "/enforcement-cases", who.access_token, body)
    except ApiError as exc:
        errors = above_form(exc) or form_errors(exc, _case_field, values)
        return await _new_case_page(
            request, who, services, Form.refused(errors, values, status_of(exc))
        )
    return RedirectResponse(f"/staff/enforcement/{case['id']}?done=opened", status_code=303)


async def _case_page(
    request: Request, who: Session, services: Backend, case_id: str, form: Form = BLANK
) -> Response:
    token = who.access_token
    case = await in_scope(services, "campaign", f"/enforcement-cases/{case_id}", token, "案件")
    origin = case.get("origin") or {}
    path = (
        f"/tasks/{origin.get('id')}"
        if origin.get("kind") == "finding"
        else f"/complaints/{origin.get('id')}"
    )
    service = "inspection" if origin.get("kind") == "finding" else "complaints"
    source, names = await asyncio.gather(
        optional(services.get(service, path, token), None), departments(services, token)
    )
    return form.page(
        request,
        "joint/case.html",
        who,
        case=case,
        source=source,
        departments=names,
        sanctions=labels.SANCTION,
        may_act=may_work_on_case(who, case),
        today=today().isoformat(),
    )


@router.get("/staff/enforcement/{case_id}")
async def case_page(request: Request, case_id: str, who: Reader, services: Services) -> Response:
    return await _case_page(request, who, services, case_id, Form.done(request, DONE))


async def _change(
    request: Request,
    who: Session,
    services: Backend,
    case_id: str,
    action: str,
    body: dict[str, Any],
    values: dict[str, str],
    fields: frozenset[str],
    sent: Mapping[str, str],
) -> Response:
    """Decide or close a case (its routes admit CASE_WRITERS only); a refusal beside the field
    it names (the case's state beside the action's button), with what was typed kept."""
    path = f"/enforcement-cases/{case_id}/{action}"
    try:
        await services.post("campaign", path, who.access_token, body)
    except ApiError as exc:
        if exc.status in (403, 404) and not exc.errors:
            return failed(request, who, exc)
        errors = form_errors(exc, lambda f: f if f in fields else action, sent, action)
        return await _case_page(
            request, who, services, case_id, Form.refused(errors, values, status_of(exc))
        )
    done = "decided" if action == "decide" else "closed"
    return RedirectResponse(f"/staff/enforcement/{case_id}?done={done}", status_code=303)


AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
DECIDE_FIELDS = frozenset({"sanction", "fine_yuan", "suspension_days", "reasoning", "decided_on"})


def decision_body(values: Mapping[str, str]) -> dict[str, Any]:
    """The decision as the service takes it: an amount only for a fine, days only for a
    suspension (what was typed into the other's field is not sent)."""
    sanction = values.get("sanction", "")
    body: dict[str, Any] = {"sanction": sanction or None, "reasoning": values.get("reasoning", "")}
    if sanction == "fine":
        body["fine_yuan"] = values.get("fine_yuan") or None
    if sanction == "suspension":
        days = values.get("suspension_days", "")
        body["suspension_days"] = int(days) if days.isdigit() else (days or None)
    if values.get("decided_on"):
        body["decided_on"] = values["decided_on"]
    return body


@router.post("/staff/enforcement/{case_id}/decide")
async def decide(
    request: Request, case_id: str, who: CaseWorkerActing, services: Services
) -> Response:
    values = await typed(request, *DECIDE_FIELDS)
    fine = values.get("fine_yuan", "")
    # A number field takes 1e3 too, which the service would read as 1000 元: the amount is
    # refused unless written out in yuan and fen, as it is shown on the case (罚款 2000.00 元).
    if values.get("sanction") == "fine" and fine and not AMOUNT.fullmatch(fine):
        errors = {"fine_yuan": "应为金额（元），最多两位小数"}
        return await _case_page(request, who, services, case_id, Form.refused(errors, values))
    body = decision_body(values)
    sent = {k: v for k, v in values.items() if k in body}
    return await _change(
        request, who, services, case_id, "decide", body, values, DECIDE_FIELDS, sent
    )


@router.post("/staff/enforcement/{case_id}/close")
async def close(
    request: Request, case_id: str, who: CaseWorkerActing, services: Services
) -> Response:
    values = await typed(request, "note")
    return await _change(
        request, who, services, case_id, "close", values, values, frozenset({"note"}), values
    )
