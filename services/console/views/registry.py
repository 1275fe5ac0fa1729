"""The clerk's day (登记员): 市场 with their 专班, 商户 registered with the credit code and the
licence checked as typed, 终端 provisioned with the signing key shown once (and a QR code for
the device), and 证照即将到期."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from contracts.registry import MARKET_CLOSED, MERCHANT_LEFT
from services.console import clock, labels
from services.console.backend import ApiError, Backend
from services.console.forms import BLANK, Form
from services.console.licences import WARNING_DAYS, licence
from services.console.sessions import Session
from services.console.views import public
from services.console.web import (
    Person,
    Services,
    failed,
    field_errors,
    in_scope,
    is_htmx,
    markets_of,
    may_do,
    may_see,
    optional,
    render,
    templates,
    text,
    typed,
    unavailable_503,
)
from services.runtime.collation import stall_key

router = APIRouter()
# The registry's pages are made of its merchants and terminals as well as its markets: the roles
# the registry lets read them. 部门人员 read markets by name only (docs/identity.md), and are
# told so here rather than shown the clerk's forms.
READERS = ("clerk", "inspector", "handler", "leader")
Reader = Annotated[Session, may_see(*READERS)]
# Who registers, as the registry admits (an admin too): the others read these pages without the
# forms, which the leader's walk on the demo found offered to them (确认轮换 a terminal's key
# included) only to be refused.
WRITERS = ("clerk",)
Registrar = Annotated[Session, may_do(*WRITERS, message="市场、商户和终端由登记员登记。")]
# The fields checked as they are typed (POST /merchants/validate of the registry).
LIVE_FIELDS = ("stall_no", "credit_code", "food_licence", "licence_valid_until")
# A terminal's signing key waits here, for its one showing, this long at most.
KEY_TTL_S = 600.0


def _form_field(name: str) -> str:
    name = {"opening_hours.open": "open", "opening_hours.close": "close"}.get(name, name)
    return re.sub(r"\.\d+$", "", name)  # categories.0, members.2 -> the field


# Fields whose refusal names the format a value needs; left blank, the reason is that it is
# missing. Others keep the registry's own words (a cold-chain terminal's 冷藏或冷冻).
FORMATTED = frozenset(
    {
        "capacity",
        "open",
        "close",
        "credit_code",
        "food_licence",
        "licence_valid_until",
        "latitude",
        "longitude",
    }
)


def registry_errors(exc: ApiError, sent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The registry's refusal by the form's fields; a taken stall beside 摊位号. A field of
    `sent` left blank reads 必填, not the format a value would need (应为整数 for a blank 容量)."""
    taken = exc.status == 409 and "stall" in exc.message
    given = sent or {}
    blank = {name: "必填" for name in FORMATTED if name in given and not given[name]}
    return field_errors(exc, _form_field, "stall_no" if taken else "form", blank=blank)


def _words(text: str) -> list[str]:
    """成员 / 品类: separated by commas, 、, semicolons or spaces."""
    return [w for w in re.split(r"[,，、;；\s]+", text) if w]


# -- one-time keys ---------------------------------------------------------------------------


@dataclass
class _Key:
    sid: str
    terminal: dict[str, Any]
    until: float


_keys: dict[str, _Key] = {}


def _keep_key(who: Session, terminal: dict[str, Any]) -> str:
    """Hold a new key for its one showing (this person's session only); the page that shows it
    takes it away."""
    now = time.monotonic()
    for ticket in [t for t, k in _keys.items() if k.until < now]:
        _keys.pop(ticket, None)
    ticket = secrets.token_urlsafe(16)
    _keys[ticket] = _Key(who.sid, terminal, now + KEY_TTL_S)
    return ticket


def _take_key(who: Session, ticket: str) -> dict[str, Any] | None:
    kept = _keys.get(ticket)
    if kept is None or kept.sid != who.sid or kept.until < time.monotonic():
        return None
    _keys.pop(ticket, None)
    return kept.terminal


def provisioning(terminal: dict[str, Any]) -> str:
    """What the device reads from the QR code: the simulator's terminal record with its key."""
    fields = ("id", "kind", "market_id", "merchant_id", "stall_no", "profile", "interval_s")
    record = {k: terminal.get(k) for k in fields} | {
        "key_version": terminal.get("key_version", 1),
        "key": terminal["key"],
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def qr_data_uri(payload: str) -> str:
    return str(segno.make(payload, error="m").svg_data_uri(scale=4, border=2))


# -- reading the registry --------------------------------------------------------------------


async def expiring_licences(services: Backend, token: str) -> list[dict[str, Any]] | None:
    """Licences that end within 30 days or have ended, soonest first, each with its `licence`;
    None when the registry does not answer. The clerk's 证照即将到期, their home's 登记 card and
    its 更新许可证 rows count the same list. Read from the district's whole list: the registry's
    `expiring_within_days` counts from today, so a licence that had already ended never showed."""
    try:
        merchants = await services.items("registry", "/merchants", token)
    except ApiError:
        return None
    _with_licence(merchants, clock.today())
    found = [m for m in merchants if m["licence"]["expiring"] and m.get("status") != "closed"]
    return sorted(found, key=lambda m: str(m["licence_valid_until"]))


async def _expiring(services: Backend, token: str) -> list[dict[str, Any]]:
    return await expiring_licences(services, token) or []


def _with_licence(merchants: list[dict[str, Any]], today: date) -> None:
    """Each merchant with its licence's validity on the city's `today`, as `licence`."""
    for m in merchants:
        m["licence"] = licence(m, today)


async def _districts(services: Backend, who: Session) -> list[dict[str, Any]]:
    if not who.principal.city_wide:
        return [{"code": who.principal.district, "name": who.principal.district}]
    try:
        found: list[dict[str, Any]] = await services.get("registry", "/districts", who.access_token)
    except ApiError:
        return []
    return found


async def _index(
    request: Request,
    who: Session,
    services: Backend,
    form: Form = BLANK,
) -> Response:
    markets, expiring, districts = await asyncio.gather(
        markets_of(services, who),
        _expiring(services, who.access_token),
        _districts(services, who),
    )
    names = {m["id"]: m["name"] for m in markets}
    return form.page(
        request,
        "registry/index.html",
        who,
        markets=markets,
        expiring=[m for m in expiring if m.get("market_id") in names],
        names=names,
        districts=districts,
        kinds=labels.MARKET_KIND,
        expiring_days=WARNING_DAYS,
        may_register=who.principal.holds(*WRITERS),
    )


@router.get("/staff/registry")
async def registry_home(request: Request, who: Reader, services: Services) -> Response:
    return await _index(request, who, services, Form.done(request, {"market": "市场已登记"}))


@router.post("/staff/registry/markets")
async def add_market(request: Request, who: Registrar, services: Services) -> Response:
    values = await typed(
        request,
        "name",
        "district",
        "kind",
        "operator",
        "address",
        "capacity",
        "open",
        "close",
        "latitude",
        "longitude",
    )
    if not who.principal.city_wide:
        values["district"] = who.principal.district
    body = _details_body(values) | {
        "district": values["district"],
        "kind": values["kind"],
        # Where it stands, when registered at its gate: both or neither, as the registry asks.
        "latitude": _number(values["latitude"]),
        "longitude": _number(values["longitude"]),
    }
    try:
        market = await services.post("registry", "/markets", who.access_token, body)
    except ApiError as exc:
        refusal = Form.refused(registry_errors(exc, values), values, unavailable_503(exc))
        return await _index(request, who, services, refusal)
    return RedirectResponse(f"/staff/registry/markets/{market['id']}?done=market", status_code=303)


# What a market's registration and its correction (更正市场信息) both send.
DETAILS = ("name", "kind", "operator", "address", "capacity", "open", "close")


def _details_body(values: Mapping[str, str]) -> dict[str, Any]:
    """The form's market details as the registry takes them; a capacity that is no whole number
    goes as typed, which the registry refuses naming the field."""
    typed_capacity = values["capacity"]
    capacity: int | str = int(typed_capacity) if typed_capacity.isdigit() else typed_capacity
    body = {
        "name": values["name"],
        "operator": values["operator"],
        "address": values["address"],
        "capacity": capacity,
        "opening_hours": {"open": values["open"], "close": values["close"]},
    }
    # A kind not picked is the one the market has (the registry keeps it when left out).
    return body | ({"kind": values["kind"]} if values["kind"] else {})


# -- one market: task force, merchants, terminals ----------------------------------------------


async def _last_reports(
    services: Backend, token: str, market_id: str
) -> dict[str, dict[str, Any] | None] | None:
    """What each terminal of the market last reported (None for one that has sent nothing yet),
    in one call to telemetry for the whole page; None when telemetry does not answer. A
    terminal telemetry does not know yet has sent nothing it could accept."""
    found = await optional(
        services.get("telemetry", "/terminals", token, market_id=market_id), None
    )
    if found is None:
        return None
    return {item["terminal_id"]: item["last"] for item in found.get("items", [])}


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
    market = await in_scope(services, "registry", f"/markets/{market_id}", token, "市场")
    merchants, terminals, reports = await asyncio.gather(
        services.items("registry", "/merchants", token, market_id=market_id),
        # The market's terminals, when the registry lists them (None: it does not).
        optional(services.items("registry", "/terminals", token, market_id=market_id), None),
        _last_reports(services, token, market_id),
    )
    merchants.sort(key=lambda m: stall_key(str(m.get("stall_no", ""))))
    merchant_names = {m["id"]: m["name"] for m in merchants}
    _with_licence(merchants, clock.today())
    # 退出经营: those who left, latest first, apart from those trading (their stalls are free).
    left = sorted(
        (m for m in merchants if m.get("status") == MERCHANT_LEFT),
        key=lambda m: str(m.get("left_on") or ""),
        reverse=True,
    )
    closed = market.get("status") == MARKET_CLOSED
    return state.page(
        request,
        "registry/market.html",
        who,
        market=market,
        merchants=[m for m in merchants if m.get("status") != MERCHANT_LEFT],
        left_merchants=left,
        # Just left: the list it went to, open.
        left_open=request.query_params.get("done") == "left",
        placed=_placed(terminals),
        today=clock.today().isoformat(),
        merchant_names=merchant_names,
        terminals=terminals,
        reports=reports,
        form=form,
        terminal_kinds=labels.TERMINAL_KIND,
        market_kinds=labels.MARKET_KIND,
        profiles=labels.PROFILE,
        # A closed market (停业) changes no more: its page reads, with no form.
        closed=closed,
        may_register=who.principal.holds(*WRITERS) and not closed,
        market_terminals=sum(1 for t in terminals or () if t.get("status") == "active"),
        # ?licence=<merchant>: from 证照即将到期, that merchant's 更新许可证 open on arrival.
        open_licence=request.query_params.get("licence", ""),
    )


def _placed(terminals: list[dict[str, Any]] | None) -> dict[str, int]:
    """How many active terminals each merchant has (what leaving retires with it)."""
    placed: dict[str, int] = {}
    for t in terminals or []:
        if t.get("merchant_id") and t.get("status") == "active":
            placed[t["merchant_id"]] = placed.get(t["merchant_id"], 0) + 1
    return placed


MARKET_DONE = {
    "merchant": "商户已登记",
    "task_force": "专班已更新",
    "location": "位置已保存",
    "market": "市场已登记",
    "licence": "食品经营许可证已更新",
    "left": "商户已退出经营：摊位已空出，可登记新商户；其终端已停用",
    "details": "市场信息已更新",
    "corrected": "商户信息已更正",
    "moved": "商户已换到新摊位，信用记录随之保留",
    "closed": "市场已停业：市民查询中不再列出，其终端已停用",
}


async def _refused_change(
    request: Request,
    who: Session,
    services: Backend,
    market_id: str,
    exc: ApiError,
    values: dict[str, str],
    form: str,
) -> Response:
    """The market's page again with the refused form open, each reason beside its field."""
    refusal = Form.refused(registry_errors(exc, values), values, exc.status)
    return await _market_page(request, who, services, market_id, refusal, form=form)


@router.get("/staff/registry/markets/{market_id}")
async def market_detail(
    request: Request, market_id: str, who: Reader, services: Services
) -> Response:
    return await _market_page(request, who, services, market_id, Form.done(request, MARKET_DONE))


@router.post("/staff/registry/markets/{market_id}/close")
async def close_market(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    """停业 (the registry's `POST /markets/{id}/close`): the market closes for good once no
    merchant trades there; refused, the page again with the form open, each reason beside its
    field (a merchant still trading: above the form)."""
    values = await typed(request, "closed_on", "reason")
    body = {"reason": values["reason"], "closed_on": values["closed_on"] or None}
    try:
        await services.post("registry", f"/markets/{market_id}/close", who.access_token, body)
    except ApiError as exc:
        if exc.status in (403, 404):
            return failed(request, who, exc)
        return await _refused_change(request, who, services, market_id, exc, values, "close")
    return RedirectResponse(
        f"/staff/registry/markets/{market_id}?done=closed#closed", status_code=303
    )


@router.post("/staff/registry/markets/{market_id}/task-force")
async def set_task_force(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    values = await typed(request, "leader", "members")
    body = {"leader": values["leader"], "members": _words(values["members"])}
    return await _put_market(request, who, services, market_id, "task-force", values, body)


@router.post("/staff/registry/markets/{market_id}/details")
async def correct_market(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    """修改市场信息 (the registry's `PUT /markets/{id}`): opening hours change with the seasons,
    a capacity with a renovation, and a typo in a name — or a kind picked wrong — stood for ever
    before."""
    values = await typed(request, *DETAILS)
    return await _put_market(request, who, services, market_id, "", values, _details_body(values))


@router.post("/staff/registry/markets/{market_id}/location")
async def set_location(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    values = await typed(request, "latitude", "longitude")
    body = {name: _number(values[name]) for name in ("latitude", "longitude")}
    return await _put_market(request, who, services, market_id, "location", values, body)


async def _put_market(
    request: Request,
    who: Session,
    services: Backend,
    market_id: str,
    part: str,
    values: dict[str, str],
    body: dict[str, Any],
) -> Response:
    """The market's `part` (task-force, location; "" its details) put to the registry: the
    market's page saying so, or again with the part's form open and each refusal beside its
    field."""
    form = part.replace("-", "_") or "details"
    path = f"/markets/{market_id}/{part}" if part else f"/markets/{market_id}"
    try:
        await services.call("registry", "PUT", path, who.access_token, json=body)
    except ApiError as exc:
        return await _refused_change(request, who, services, market_id, exc, values, form)
    return RedirectResponse(f"/staff/registry/markets/{market_id}?done={form}", status_code=303)


def _number(text: str) -> float | str | None:
    """A typed number as JSON's number, so the registry judges its range; else what was typed
    (None when blank), which it refuses naming the field."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


MERCHANT_FIELDS = (
    "name",
    "stall_no",
    "credit_code",
    "food_licence",
    "licence_valid_until",
    "categories",
)


def _merchant_body(market_id: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "market_id": market_id,
        "stall_no": values["stall_no"],
        "credit_code": values["credit_code"],
        "food_licence": values["food_licence"],
        "licence_valid_until": values["licence_valid_until"],
        "categories": _words(values["categories"]),
    }


@router.post("/staff/registry/markets/{market_id}/merchants")
async def register_merchant(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    values = await typed(request, *MERCHANT_FIELDS)
    try:
        await services.post(
            "registry", "/merchants", who.access_token, _merchant_body(market_id, values)
        )
    except ApiError as exc:
        errors = registry_errors(exc, values)
        if exc.status == 422 and values["stall_no"] and "stall_no" not in errors:
            taken = await _stall_taken(services, who, market_id, values["stall_no"])
            if taken:
                errors["stall_no"] = taken
        refusal = Form.refused(errors, values, exc.status)
        return await _market_page(request, who, services, market_id, refusal, form="merchant")
    return RedirectResponse(f"/staff/registry/markets/{market_id}?done=merchant", status_code=303)


async def _stall_taken(services: Backend, who: Session, market_id: str, stall_no: str) -> str:
    """The registry's reason when the stall is taken ("" when free, or when it does not say).
    Its 422 for a malformed field leaves a taken stall's 409 until the fields are right
    (services/runtime/body_problems.py): the clerk saw 该摊位已有商户 beside 摊位号 as they typed
    it, lost it on submitting, and would have met it only on the next try."""
    body = {"market_id": market_id, "stall_no": stall_no}
    try:
        await services.post("registry", "/merchants/validate", who.access_token, body)
    except ApiError as exc:
        if exc.status == 409:
            return registry_errors(exc).get("stall_no", "")
    return ""


@router.post("/staff/registry/merchants/{merchant_id}/licence")
async def renew_licence(
    request: Request, merchant_id: str, who: Registrar, services: Services
) -> Response:
    """更新许可证: a merchant's renewed food licence (the registry's `PUT
    /merchants/{id}/licence`), from its market's page, where 证照即将到期 leads. The clerk's
    walk on the demo found the licences running out listed with no way to renew one."""
    values = await typed(request, "market_id", "food_licence", "licence_valid_until")
    body = {k: values[k] for k in ("food_licence", "licence_valid_until")}
    change = services.call(
        "registry", "PUT", f"/merchants/{merchant_id}/licence", who.access_token, json=body
    )
    return await _merchant_changed(
        request, who, services, merchant_id, change, values, "licence", f"#m-{merchant_id}"
    )


@router.post("/staff/registry/merchants/{merchant_id}/details")
async def correct_merchant(
    request: Request, merchant_id: str, who: Registrar, services: Services
) -> Response:
    """更正商户信息 (the registry's `PUT /merchants/{id}`): its name and categories."""
    values = await typed(request, "market_id", "name", "categories")
    body = {"name": values["name"], "categories": _words(values["categories"])}
    change = services.call(
        "registry", "PUT", f"/merchants/{merchant_id}", who.access_token, json=body
    )
    return await _merchant_changed(
        request, who, services, merchant_id, change, values, "corrected", f"#m-{merchant_id}"
    )


@router.post("/staff/registry/merchants/{merchant_id}/move")
async def move(request: Request, merchant_id: str, who: Registrar, services: Services) -> Response:
    """换摊位 (the registry's `POST /merchants/{id}/move`): the merchant keeps its record at
    its new stall; a taken stall is said beside 新摊位号."""
    values = await typed(request, "market_id", "stall_no")
    body = {"stall_no": values["stall_no"]}
    change = services.post("registry", f"/merchants/{merchant_id}/move", who.access_token, body)
    return await _merchant_changed(
        request, who, services, merchant_id, change, values, "moved", f"#m-{merchant_id}"
    )


@router.post("/staff/registry/merchants/{merchant_id}/leave")
async def leave(request: Request, merchant_id: str, who: Registrar, services: Services) -> Response:
    """退出经营 (the registry's `POST /merchants/{id}/leave`), from the market's page: the
    merchant no longer trades at its stall, which a new merchant may then take. Without it a
    stall whose merchant had gone could never be registered again."""
    values = await typed(request, "market_id", "left_on", "reason")
    body = {"reason": values["reason"], "left_on": values["left_on"] or None}
    change = services.post("registry", f"/merchants/{merchant_id}/leave", who.access_token, body)
    return await _merchant_changed(
        request, who, services, merchant_id, change, values, "left", "#left-merchants"
    )


async def _merchant_changed(
    request: Request,
    who: Session,
    services: Backend,
    merchant_id: str,
    change: Awaitable[Any],
    values: dict[str, str],
    done: str,
    anchor: str,
) -> Response:
    """A change to one merchant made from its market's page (`values["market_id"]`): back to
    the page with `done`'s notice at `anchor`; refused, the page again with that merchant's
    form (`{done}-{merchant_id}`) open and each reason beside its field; a merchant not the
    caller's, or no market to go back to, the error page."""
    market_id = values.pop("market_id")
    try:
        await change
    except ApiError as exc:
        if exc.status in (403, 404) or not market_id:
            return failed(request, who, exc)
        form = f"{done}-{merchant_id}"
        return await _refused_change(request, who, services, market_id, exc, values, form)
    return RedirectResponse(
        f"/staff/registry/markets/{market_id}?done={done}{anchor}", status_code=303
    )


@router.post("/staff/registry/markets/{market_id}/merchants/check")
async def check_merchant_field(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    """htmx, as the clerk types: the registry's own verdict on one field, beside it.

    The whole form goes to `POST /merchants/validate` (the same checks as registering, nothing
    stored); only the field being typed in is answered, so a form half filled in is not shouted
    at. A registry without that endpoint (or unreachable) answers nothing: the submit checks."""
    form = await request.form()
    field = request.headers.get("hx-trigger-name") or text(form, "field")
    if field not in LIVE_FIELDS:
        return Response(status_code=204)
    values = {n: text(form, n) for n in MERCHANT_FIELDS}
    reason, notice = "", ""
    if values[field]:
        body = {k: v for k, v in _merchant_body(market_id, values).items() if v not in ("", [])}
        try:
            answer = await services.post("registry", "/merchants/validate", who.access_token, body)
        except ApiError as exc:
            if exc.status in (409, 422):
                reason = registry_errors(exc).get(field, "")
        else:
            if field == "credit_code":
                notice = registered_before(answer.get("same_credit_code") or [])
    return HTMLResponse(
        templates.get_template("registry/_field_error.html").render(
            field=field, reason=reason, notice=notice
        )
    )


def registered_before(found: list[dict[str, Any]]) -> str:
    """Where the 统一社会信用代码 is registered already, in the clerk's words: credit counts every
    registration of one code as one business, so the new one carries its record."""
    if not found:
        return ""
    places = "、".join(
        f"{m.get('market_name') or '另一市场'} {m.get('stall_no')} 摊位（"
        + (
            f"已于 {m['left_on']} 退出"
            if m.get("status") == MERCHANT_LEFT and m.get("left_on")
            else labels.label(labels.MERCHANT_STATUS, m.get("status"))
        )
        + "）"
        for m in found
    )
    return f"该统一社会信用代码已登记于{places}。同一代码的信用记录合并计算，新登记沿用其信用分。"


@router.post("/staff/registry/markets/{market_id}/terminals")
async def add_terminal(
    request: Request, market_id: str, who: Registrar, services: Services
) -> Response:
    values = await typed(request, "kind", "merchant_id", "stall_no", "profile", "interval_s")
    interval: int | str = (
        int(values["interval_s"])
        if values["interval_s"].isdigit()
        else (values["interval_s"] or 60)
    )
    body = {
        "kind": values["kind"],
        "market_id": market_id,
        "merchant_id": values["merchant_id"] or None,
        "stall_no": values["stall_no"] or None,
        "profile": values["profile"] or None,
        "interval_s": interval,
    }
    try:
        terminal = await services.post("registry", "/terminals", who.access_token, body)
    except ApiError as exc:
        return await _refused_change(request, who, services, market_id, exc, values, "terminal")
    ticket = _keep_key(who, terminal)
    return RedirectResponse(f"/staff/registry/terminals/key/{ticket}", status_code=303)


@router.post("/staff/registry/terminals/{terminal_id}/rotate-key")
async def rotate_key(
    request: Request, terminal_id: str, who: Registrar, services: Services
) -> Response:
    try:
        terminal = await services.post(
            "registry", f"/terminals/{terminal_id}/rotate-key", who.access_token
        )
    except ApiError as exc:
        return failed(request, who, exc)
    ticket = _keep_key(who, terminal)
    return RedirectResponse(f"/staff/registry/terminals/key/{ticket}", status_code=303)


@router.get("/staff/registry/terminals/key/{ticket}")
async def terminal_key(request: Request, ticket: str, who: Person, services: Services) -> Response:
    """The key's one showing: taken from memory as the page is made, so a reload shows none."""
    terminal = _take_key(who, ticket)
    if terminal is None:
        return render(
            request,
            "error.html",
            who,
            status_code=410,
            title="密钥已不再显示",
            message="终端密钥只在登记（或轮换密钥）后显示一次。如设备尚未写入密钥，请轮换密钥。",
        )
    market_name, merchant_name = "", ""
    try:
        market = await services.get(
            "registry", f"/markets/{terminal['market_id']}", who.access_token
        )
        market_name = market["name"]
        if terminal.get("merchant_id"):
            merchant = await services.get(
                "registry", f"/merchants/{terminal['merchant_id']}", who.access_token
            )
            merchant_name = merchant["name"]
    except ApiError:
        pass
    payload = provisioning(terminal)
    return render(
        request,
        "registry/terminal_key.html",
        who,
        terminal=terminal,
        market_name=market_name,
        merchant_name=merchant_name,
        qr=qr_data_uri(payload),
        payload=payload,
    )


# -- the district's merchants and terminals (商户 / 终端) ---------------------------------------

# Who reads the district's lists: the clerk who keeps them, and a leader (read only; an admin
# too, as everywhere). A market's own page stays open to the registry's other readers.
LIST_READERS = ("clerk", "leader")
ListReader = Annotated[Session, may_see(*LIST_READERS)]
# The lists are read whole from the registry (a district's few thousand rows at most) and shown
# this many a page: a phone scrolls 50 rows, not a district's.
PAGE_ROWS = 50


def _matches(q: str, *fields: object) -> bool:
    """The search box: part of a name, a credit code, a stall or a terminal id, any case."""
    wanted = q.casefold()
    return any(wanted in str(f or "").casefold() for f in fields)


@dataclass(frozen=True)
class Listing:
    """One page of a filtered list, with what the form asked (`chosen`) and the query string of
    the filters without the page, for the pages' links."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    query: str
    per_page: int


def _page_of(request: Request, rows: list[dict[str, Any]], chosen: dict[str, str]) -> Listing:
    raw = request.query_params.get("page", "1")
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(max(int(raw) if raw.isdigit() else 1, 1), pages)
    shown = rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    query = urlencode({k: v for k, v in chosen.items() if v})
    return Listing(shown, len(rows), page, pages, query, PAGE_ROWS)


def _chosen(request: Request, *names: str) -> dict[str, str]:
    return {n: request.query_params.get(n, "").strip() for n in names}


async def _list_page(
    request: Request,
    who: Session,
    template: str,
    rows: list[dict[str, Any]],
    chosen: dict[str, str],
    markets: list[dict[str, Any]],
    **more: Any,
) -> Response:
    listing = _page_of(request, rows, chosen)
    context = dict(
        listing=listing,
        chosen=chosen,
        markets=markets,
        names={m["id"]: m["name"] for m in markets},
        **more,
    )
    # htmx (the search as it is typed, a filter changed) swaps the results alone.
    if is_htmx(request):
        return render(request, f"registry/_{template}_rows.html", who, **context)
    return render(request, f"registry/{template}.html", who, **context)


@router.get("/staff/registry/merchants")
async def merchant_list(request: Request, who: ListReader, services: Services) -> Response:
    """商户: the district's merchants, found by name, credit code or stall, by market; each
    row's licence marked 即将到期 / 已过期 and linked to the merchant's page. The clerk found
    merchants only on each market's page (the console walk)."""
    chosen = _chosen(request, "q", "market")
    token = who.access_token
    markets, merchants, grades = await asyncio.gather(
        markets_of(services, who),
        services.items("registry", "/merchants", token, market_id=chosen["market"] or None),
        _grades(services, chosen["market"]),
    )
    names = {m["id"]: m["name"] for m in markets}
    rows = [
        m
        for m in merchants
        if m.get("market_id") in names
        and (
            not chosen["q"]
            or _matches(chosen["q"], m.get("name"), m.get("credit_code"), m.get("stall_no"))
        )
    ]
    order = {mid: i for i, mid in enumerate(names)}
    rows.sort(key=lambda m: (order[m["market_id"]], stall_key(str(m.get("stall_no", "")))))
    _with_licence(rows, clock.today())
    return await _list_page(request, who, "merchants", rows, chosen, markets, grades=grades)


async def _grades(services: Backend, market_id: str) -> dict[str, str | None] | None:
    """The chosen market's merchants' credit grades by id, from credit's public listing (as
    the portal's market page reads them, 100 a call); None without a market chosen (a district
    would take a call per 100 merchants) or while credit does not answer."""
    if not market_id:
        return None
    graded, failed = await public._graded(services, market_id)
    return None if failed else {mid: m.get("grade") for mid, m in graded.items()}


@router.get("/staff/registry/terminals")
async def terminal_list(request: Request, who: ListReader, services: Services) -> Response:
    """终端: the district's terminals, found by id, stall or merchant, by market and kind;
    retired ones marked, each linked to its market's page. With a market chosen, what each last
    reported (one call to telemetry, as the market's page makes)."""
    chosen = _chosen(request, "q", "market", "kind")
    token = who.access_token
    market = chosen["market"] or None
    markets, terminals, merchants, reports = await asyncio.gather(
        markets_of(services, who),
        services.items("registry", "/terminals", token, market_id=market),
        services.items("registry", "/merchants", token, market_id=market),
        _last_reports(services, token, market) if market else _no_reports(),
    )
    names = {m["id"]: m["name"] for m in markets}
    merchant_names = {m["id"]: m["name"] for m in merchants}
    q = chosen["q"]
    rows = [
        t
        for t in terminals
        if t.get("market_id") in names
        and (not chosen["kind"] or t.get("kind") == chosen["kind"])
        and (
            not q
            or _matches(q, t.get("id"), t.get("stall_no"), merchant_names.get(t.get("merchant_id")))
        )
    ]
    order = {mid: i for i, mid in enumerate(names)}
    rows.sort(key=lambda t: (order[t["market_id"]], t.get("status") != "active", str(t["id"])))
    return await _list_page(
        request,
        who,
        "terminals",
        rows,
        chosen,
        markets,
        merchant_names=merchant_names,
        kinds=labels.TERMINAL_KIND,
        reports=reports,
    )


async def _no_reports() -> None:
    return None
