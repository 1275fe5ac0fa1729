"""What every page shares: the templates with their filters, the signed-in person, CSRF."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from contracts.registry import MARKET_CLOSED
from services.console import clock, labels
from services.console.auth import SignIn, SignInNeeded
from services.console.backend import ApiError, Backend, Unavailable
from services.console.clock import CHINA, today
from services.console.sessions import Session, SessionStore
from services.runtime.auth import Principal
from services.runtime.collation import name_key

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
T = TypeVar("T")


def _when(value: str | datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # a day (`2026-05-02`) is the city's, not the host's local time
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(CHINA).strftime(fmt)


def _due(value: str | None, now: datetime | None = None) -> str:
    """剩余 3 小时 / 逾期 2 小时: the next action first, the deadline in words."""
    if not value:
        return ""
    left = datetime.fromisoformat(value) - (now or clock.now())
    minutes = int(abs(left.total_seconds()) // 60)
    span = (
        f"{minutes // 1440} 天"
        if minutes >= 1440
        else (f"{minutes // 60} 小时" if minutes >= 60 else f"{minutes} 分钟")
    )
    return f"剩余 {span}" if left.total_seconds() >= 0 else f"逾期 {span}"


def days_left(deadline: str | None, on: date | None = None) -> str:
    """剩余 3 天 / 今天到期 / 逾期 2 天: a deadline day in words."""
    if not deadline:
        return ""
    left = (date.fromisoformat(deadline) - (on or today())).days
    if left > 0:
        return f"剩余 {left} 天"
    return "今天到期" if left == 0 else f"逾期 {-left} 天"


def text(form: FormData, name: str) -> str:
    """A form field as typed, trimmed; "" when it was not sent."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def lines(value: str) -> list[str]:
    """A text area's entries, one per line (问题, 下一步, an exposure's details), blank lines
    left out."""
    return [line.strip() for line in value.splitlines() if line.strip()]


async def optional(call: Awaitable[T], default: T) -> T:
    """What a page can be made without: the call's answer, or `default` when the service
    refuses it or does not answer."""
    try:
        return await call
    except ApiError:
        return default


async def names_by_id(services: Backend, path: str, token: str) -> dict[str, str] | None:
    """The names of what the registry lists at `path` (markets, merchants) by id, so people
    read names, never ids; None when the registry does not give them."""
    found = await optional(services.items("registry", path, token), None)
    return None if found is None else {m["id"]: m["name"] for m in found}


async def market_names(services: Backend, token: str) -> dict[str, str] | None:
    """Market names by id, from the registry's staff listing of the person's district (the
    whole city's for the city-wide): every role of the pages that show them may read it, 部门人员
    too (docs/identity.md); None when the registry does not give them."""
    return await names_by_id(services, "/markets", token)


def closed_on(market: Mapping[str, Any] | None) -> str | None:
    """The day a registry market (staff or public view) closed for good (停业); None while it
    is open, or when the registry did not answer."""
    return market.get("closed_on") if market and market.get("status") == MARKET_CLOSED else None


async def markets_of(services: Backend, who: Session) -> list[dict[str, Any]]:
    """The registry's markets of the person's district (every district's for the city-wide: an
    admin too, as on every other page), by district and name (in pinyin order); ApiError when
    the registry refuses."""
    district = who.principal.listing_district()
    found = await services.items("registry", "/markets", who.access_token, district=district)
    return sorted(
        found, key=lambda m: (str(m.get("district", "")), name_key(str(m.get("name", ""))))
    )


def chosen_view(request: Request, views: Mapping[str, object]) -> str:
    """The tab a list page shows: the one `?view=` names among its `views`, else "open" (the
    default, whose tab has no query: templates/_macros.html view_tabs)."""
    view = request.query_params.get("view", "open")
    return view if view in views else "open"


async def typed(request: Request, *names: str) -> dict[str, str]:
    """The posted form's fields `names` as typed, trimmed ("" for one not sent)."""
    form = await request.form()
    return {name: text(form, name) for name in names}


def _overdue(value: str | None) -> bool:
    return bool(value) and datetime.fromisoformat(str(value)) < clock.now()


def yuan(value: object) -> str:
    """An amount of yuan grouped by thousands, its fen kept when it has any: 2,350,000.50; a
    leader read a renovation's budget as 2350000.50 元. What is not a number is shown as is."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


# The tables of words a template shows a code by, each as the filter of this name.
for name, table in {
    "severity": labels.SEVERITY,
    "outcome": labels.OUTCOME,
    "rule": labels.RULE,
    "reason_kind": labels.REASON_KIND,
    "trigger_kind": labels.TRIGGER_KIND,
    "check_kind": labels.CHECK_KIND,
    "task_state": labels.TASK_STATE,
    "withdrawal_reason": labels.WITHDRAWAL_REASON,
    "withdrawn_task_left": labels.WITHDRAWN_TASK_LEFT,
    "lapsed_order_left": labels.LAPSED_ORDER_LEFT,
    "rectification_state": labels.RECTIFICATION_STATE,
    "department": labels.DEPARTMENT,
    "category": labels.COMPLAINT_CATEGORY,
    "complaint_state": labels.COMPLAINT_STATE,
    "market_kind": labels.MARKET_KIND,
    "terminal_kind": labels.TERMINAL_KIND,
    "role": labels.ROLES,
    "risk_state": labels.RISK_STATE,
    "close_outcome": labels.CLOSE_OUTCOME,
    "channel": labels.CHANNEL,
    "clock": labels.CLOCK,
    "credit_kind": labels.CREDIT_KIND,
    "objection_state": labels.OBJECTION_STATE,
    "objection_ground": labels.OBJECTION_GROUND,
    "merchant_status": labels.MERCHANT_STATUS,
    "item_state": labels.ITEM_STATE,
    "case_state": labels.CASE_STATE,
    "origin_kind": labels.ORIGIN_KIND,
    "sanction": labels.SANCTION,
    "honour_list": labels.HONOUR_LIST,
    "honour_entity": labels.HONOUR_ENTITY,
    "report_state": labels.REPORT_STATE,
    "certificate_status": labels.CERTIFICATE_STATUS,
    "milestone_kind": labels.MILESTONE_KIND,
    "milestone_status": labels.MILESTONE_STATUS,
    "exposure_source": labels.EXPOSURE_SOURCE,
    "disclosure_kind": labels.DISCLOSURE_KIND,
    "renovation": labels.RENOVATION_STATUS,
    "renovation_stage": labels.RENOVATION_STAGE,
    "profile": labels.PROFILE,
    "alert_status": labels.ALERT_STATUS,
    "alert_severity": labels.ALERT_SEVERITY,
    "alert_name": labels.ALERT_NAME,
    "service_name": labels.SERVICE,
    "patrol_reason": labels.PATROL_REASON,
}.items():
    templates.env.filters[name] = lambda code, t=table: labels.label(t, code)
templates.env.filters["percent"] = lambda rate: "—" if rate is None else f"{rate * 100:.0f}%"
templates.env.filters["when"] = _when
templates.env.filters["due"] = _due
templates.env.filters["overdue"] = _overdue
templates.env.filters["yuan"] = yuan
templates.env.filters["reason_zh"] = labels.reason_zh
templates.env.filters["honour_reason"] = labels.honour_reason
templates.env.filters["actor"] = labels.actor_name
templates.env.filters["objection_outcome"] = labels.objection_outcome
templates.env.filters["peak"] = labels.peak
templates.env.filters["distance"] = labels.distance
templates.env.globals["FIELDS"] = labels.FIELDS

# (path, label, roles that see it); admin sees everything.
NAV: list[tuple[str, str, frozenset[str]]] = [
    ("/staff/tasks", "检查任务", frozenset({"inspector", "leader", "department"})),
    ("/staff/rectifications", "待复查", frozenset({"inspector", "leader", "department"})),
    ("/staff/complaints", "投诉队列", frozenset({"handler", "leader"})),
    ("/staff/suggestions", "意见建议", frozenset({"handler", "leader"})),
    ("/staff/registry", "登记", frozenset({"clerk"})),
    ("/staff/registry/merchants", "商户", frozenset({"clerk", "leader"})),
    ("/staff/registry/terminals", "终端", frozenset({"clerk", "leader"})),
    ("/staff/risks", "风险看板", frozenset({"inspector", "handler", "clerk", "leader"})),
    ("/staff/overview", "总览", frozenset({"leader"})),
    ("/staff/meetings", "联席会议", frozenset({"department", "clerk", "leader"})),
    ("/staff/enforcement", "联合执法", frozenset({"department", "inspector", "leader"})),
    ("/staff/honours", "红黑榜", frozenset({"leader"})),
    ("/staff/objections", "信用异议", frozenset({"clerk", "leader"})),
    ("/staff/self-inspection", "今日自查", frozenset({"operator"})),
    ("/staff/reports", "专班汇报", frozenset({"clerk", "inspector", "leader"})),
    ("/staff/training", "培训", frozenset({"clerk"})),
    ("/staff/exposures", "曝光整改", frozenset({"clerk", "inspector", "leader"})),
    ("/staff/renovations", "改造项目", frozenset({"clerk", "leader"})),
    ("/staff/ledgers", "台账导出", frozenset({"clerk", "handler", "inspector", "leader"})),
    ("/staff/alerts", "告警", frozenset()),  # the system's operator: admin only
]
# A market's operator (主办方) sees its own market's duties (its home /staff/ and these) and no
# other page of the console: any other reads as absent.
OPERATOR_PAGES = (
    "/staff/self-inspection",
    "/staff/follow-ups/",
    "/staff/duties/",
    "/staff/training",
)


# A market operator's own checklist: the page refuses anyone without a market of their own (an
# admin too, who otherwise sees every page), so the menu offers it to its operator alone.
OWN_MARKET_PAGES = frozenset({"/staff/self-inspection"})


def nav(principal: Principal) -> list[tuple[str, str]]:
    return [
        (href, text)
        for href, text, roles in NAV
        if (roles & principal.roles if href in OWN_MARKET_PAGES else principal.holds(*roles))
    ]


def nav_current(principal: Principal, path: str) -> str:
    """The menu entry the page is under: the longest whose path the page's starts with, so
    that 商户 (/staff/registry/merchants) is current there and 登记 (/staff/registry) is not."""
    under = [href for href, _ in nav(principal) if path.startswith(href)]
    return max(under, key=len, default="")


templates.env.globals["nav"] = nav
templates.env.globals["nav_current"] = nav_current


async def optional_person(request: Request) -> Session | None:
    sign_in: SignIn = request.app.state.sign_in
    return await sign_in.current(request)


async def person(request: Request) -> Session:
    session = await optional_person(request)
    if session is None:
        raise SignInNeeded(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        )
    path = request.url.path
    operator = session.principal.roles <= {"operator"}
    if operator and path != "/staff/" and not path.startswith(OPERATOR_PAGES):
        raise OutOfScope("页面")
    return session


Person = Annotated[Session, Depends(person)]


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


Services = Annotated[Backend, Depends(backend)]


async def csrf_checked(request: Request, who: Person) -> Session:
    """Every form posts the session's CSRF token (a hidden field, or htmx's header)."""
    store: SessionStore = request.app.state.sessions
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    if not store.csrf_ok(who.sid, sent):
        raise CsrfRefused()
    return who


class CsrfRefused(Exception):
    pass


class OutOfScope(Exception):
    """What a page shows does not exist, or lies outside the person's district: both read as
    absent (404), so a URL tells nothing about another district's work."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


async def in_scope(services: Backend, service: str, path: str, token: str, what: str) -> Any:
    """GET one thing the page is about; OutOfScope (→ 404 page) when the service refuses it."""
    try:
        return await services.get(service, path, token)
    except ApiError as exc:
        if exc.status in (403, 404):
            raise OutOfScope(what) from exc
        raise


Acting = Annotated[Session, Depends(csrf_checked)]


async def proxied_photo(services: Backend, service: str, token: str, path: str) -> Response:
    """A photo a service keeps (inspection's of a task, complaints' of a complaint), fetched
    with the person's token (docs/console.md: photos are proxied, never linked); 404 when the
    service does not give it to this person."""
    try:
        answer = await services.raw(service, "GET", path, token)
    except ApiError:
        return Response("找不到照片", status_code=404)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


def status_of(exc: ApiError) -> int:
    return exc.status if exc.status >= 400 else 502


def unavailable_503(exc: ApiError) -> int:
    """The status of some pages' refused forms: 503 for any service that did not answer well."""
    return 503 if isinstance(exc, Unavailable) else exc.status


NOT_YOURS = "您的角色无权查看此页面。"


def refused(request: Request, who: Session, message: str = NOT_YOURS) -> Response:
    """The person's role may not see or do this: a 403 page saying who may."""
    return render(request, "error.html", who, status_code=403, title="无权访问", message=message)


class NotAllowed(Exception):
    """Raised by `may_see`/`may_do`; the app answers with `refused`'s page."""

    def __init__(self, who: Session, message: str) -> None:
        super().__init__(message)
        self.who = who
        self.message = message


def _holding(
    signed_in: Callable[..., Awaitable[Session]], roles: tuple[str, ...], message: str
) -> Any:
    # A default, not Annotated: this module's annotations are strings, and `signed_in` is a
    # closure variable that FastAPI could not resolve from them.
    async def check(who: Session = Depends(signed_in)) -> Session:  # noqa: B008
        if not who.principal.holds(*roles):
            raise NotAllowed(who, message)
        return who

    return Depends(check)


def may_see(*roles: str, message: str = NOT_YOURS) -> Any:
    """Who may see a page, in its signature (`who: Annotated[Session, may_see(...)]`), so that no
    route can forget the check."""
    return _holding(person, roles, message)


def may_do(*roles: str, message: str = NOT_YOURS) -> Any:
    """Who may post a form: the CSRF check first (as `Acting`), then the roles."""
    return _holding(csrf_checked, roles, message)


def failed(request: Request, who: Session | None, exc: ApiError, **page: Any) -> Response:
    """The error page of a service's refusal: its status and its reason in Chinese."""
    message = labels.reason_zh(exc.message)
    return render(request, "error.html", who, status_code=status_of(exc), message=message, **page)


Failure = Callable[[Request, Session, ApiError], Response]


class Refused(Exception):
    """A service refused what a page is made of; the app answers with `page` (the error page,
    or the page's own way of saying it)."""

    def __init__(self, exc: ApiError, page: Failure) -> None:
        super().__init__(exc.message)
        self.exc = exc
        self.page = page


async def needed(*calls: Awaitable[Any], page: Failure = failed) -> list[Any]:
    """What a page cannot be made without, fetched at once; a refusal of any raises Refused."""
    try:
        return list(await asyncio.gather(*calls))
    except ApiError as exc:
        raise Refused(exc, page) from exc


def above_form(
    exc: ApiError, fallback: str = "form", also: tuple[int, ...] = ()
) -> dict[str, str] | None:
    """A refusal no field is to blame for (the service did not answer, or the person may not:
    401, 403 and the statuses `also`), said above the form under `fallback`; else None."""
    if isinstance(exc, Unavailable) or exc.status in (401, 403, *also):
        return {fallback: labels.reason_zh(exc.message)}
    return None


def field_errors(
    exc: ApiError,
    where: Callable[[str], str] = lambda field: field,
    fallback: str = "form",
    *,
    blank: Mapping[str, str] | None = None,
    words: Callable[[str, str], str | None] | None = None,
) -> dict[str, str]:
    """A service's refusal in Chinese, each reason under the form field `where` maps its field
    to (the first reason per field); under `fallback` when it names none. `blank`: the form's
    fields sent empty, each with what to say instead of the service's reason (必填, or the
    choice to make); `words`: the form's own words for a form field's reason, or None."""
    errors: dict[str, str] = {}
    for e in exc.errors:
        field, reason = e.get("field", ""), e.get("reason", "")
        key = where(field)
        if key in errors:
            continue
        if blank is not None and key in blank:
            errors[key] = blank[key]
        else:
            own = words(key, reason) if words is not None else None
            errors[key] = own or labels.field_reason_zh(field, reason)
    return errors or {fallback: labels.reason_zh(exc.message)}


def render(
    request: Request, template: str, who: Session | None, status_code: int = 200, **context: Any
) -> Response:
    store: SessionStore = request.app.state.sessions
    return templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "district_label": request.app.state.district_names.name,
            "csrf": store.csrf_token(who.sid) if who else "",
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
