"""The public portal (issue 16): citizens look markets and merchants up, complain, suggest and
follow up, with no sign-in. Separate from the staff pages: its own base template, no routes under
/staff/, every route rate limited per client address, and nothing personal on any page (names
and phones go to the services and never come back).

Forms carry a signed double-submit token: a random value in an HttpOnly, SameSite cookie and
the same value, signed with the console's secret, in a hidden field.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from services.console import clock, labels
from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.web import backend, field_errors, templates, text
from services.runtime.collation import stall_key
from services.runtime.ratelimit import TokenBuckets, client_of

CSRF_COOKIE = "sentinel_public_csrf"
CSRF_MAX_AGE_S = 4 * 3600
PAGE_SIZE = 20
UNAVAILABLE = "暂时无法获取"
# Free text shown publicly (a suggestion, its answer, a complaint's rejection reason, a plan's or
# a disclosure's title) never shows a phone number, even one its author typed into it: a mobile,
# or a landline with its area code, as people write them (+86 first, groups split by a space or
# a dash).
_MOBILE = r"1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}"
_LANDLINE = r"0\d{2,3}[-\s]?\d{7,8}"
PHONE_IN_TEXT = re.compile(rf"(?<!\d)(?:(?:\+|00)?86[-\s]?)?(?:{_MOBILE}|{_LANDLINE})(?!\d)")
# Nor a resident identity card number (居民身份证号: 17 digits and a check digit or X), which a
# complainant or a handler may type too.
ID_IN_TEXT = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


def no_phone(text: str | None) -> str:
    """`text` with every phone number and identity card number in it masked."""
    return ID_IN_TEXT.sub("******************", PHONE_IN_TEXT.sub("***********", text or ""))


templates.env.filters["no_phone"] = no_phone


class _Limited(APIRoute):
    """Every public route takes a token from its client's bucket first; past the limit the
    answer is a Chinese 429 page with Retry-After."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            wait = _buckets(request).take(client_of(request))
            if wait > 0:
                response = _page(
                    request,
                    "public/message.html",
                    status_code=429,
                    title="请求过于频繁",
                    message="请求过于频繁，请稍后再试。",
                )
                response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return response
            return await handler(request)

        return limited


router = APIRouter(route_class=_Limited)


def _buckets(request: Request) -> TokenBuckets:
    state = request.app.state
    found: TokenBuckets | None = getattr(state, "public_limits", None)
    if found is None:
        rate, burst = state.settings.public_rate_per_s, state.settings.public_burst
        found = state.public_limits = TokenBuckets(rate, burst)
    return found


# -- CSRF for forms without a session -----------------------------------------------------------


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    found: URLSafeTimedSerializer | None = getattr(state, "public_csrf", None)
    if found is None:
        secret = state.settings.session_secret.get_secret_value() or secrets.token_urlsafe(32)
        found = state.public_csrf = URLSafeTimedSerializer(secret, salt="public-form")
    return found


def _csrf_pair(request: Request) -> tuple[str, str]:
    """(cookie value, signed hidden-field value): the browser's cookie kept when it has one."""
    value = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return value, str(_serializer(request).dumps(value))


def _csrf_ok(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = form.get("csrf")
    if not cookie or not isinstance(sent, str):
        return False
    try:
        signed = _serializer(request).loads(sent, max_age=CSRF_MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(signed, str) and secrets.compare_digest(signed, cookie)


# -- rendering ----------------------------------------------------------------------------------


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    cookie, token = _csrf_pair(request)
    response = templates.TemplateResponse(
        request,
        template,
        {"path": request.url.path, "csrf": token, "who": None, **context},
        status_code=status_code,
    )
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        max_age=CSRF_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
    )
    return response


def _not_found(request: Request, what: str) -> Response:
    return _page(
        request,
        "public/message.html",
        status_code=404,
        title=f"找不到该{what}",
        message=f"该{what}不存在或未公开。",
    )


async def _fetch(call: Awaitable[Any]) -> tuple[Any, str | None]:
    """(the answer, None) or (None, why): a service that does not answer, or does not have the
    endpoint yet, leaves its part of the page saying 暂时无法获取."""
    try:
        return await call, None
    except ApiError as exc:
        if exc.status == 404 and exc.message != "Not Found":  # not a missing route: no such thing
            return None, "not_found"
        if exc.status == 422:
            return None, "invalid"
        return None, UNAVAILABLE


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        listed: list[dict[str, Any]] = body.get("items") or []
        return listed
    return list(body or [])


def _public_merchant(body: dict[str, Any]) -> dict[str, Any]:
    """One shape for the page, from the credit service's public view (older or newer form)."""
    inspection = body.get("last_inspection")
    if isinstance(inspection, str):
        inspection = {
            "at": inspection,
            "outcome": body.get("last_inspection_outcome"),
            # Its finding found wrong on the merchant's objection (False from an older service).
            "corrected": bool(body.get("last_inspection_corrected")),
        }
    return {
        "id": body.get("id") or body.get("merchant_id"),
        "name": body.get("name"),
        "market_id": body.get("market_id"),
        "market_name": body.get("market_name") or body.get("market"),
        "stall_no": body.get("stall_no"),
        "grade": body.get("grade"),
        "graded_at": body.get("graded_at"),
        "last_inspection": inspection,
        "open_rectifications": body.get("open_rectifications"),
        # 退出经营: no longer at the stall (None while it trades, or from an older service).
        "left_on": body.get("left_on"),
        # Records the merchant disputes, not yet decided (0 from an older service).
        "objections_open": body.get("objections_open") or 0,
    }


def _qr(url: str) -> str:
    return str(segno.make(url, error="m").svg_data_uri(scale=8, border=4))


def _field_errors(exc: ApiError, known: set[str]) -> dict[str, str]:
    """The service's field errors by the form's field names (complainant.phone -> phone)."""

    def where(field: str) -> str:
        name = field.removeprefix("complainant.")
        if name == "file" or name.startswith("photos"):
            name = "photos"  # an upload's refusal, or the filing's of the ids it sent
        return name if name in known else "form"

    return field_errors(exc, where)


# -- what citizens send: complaints and suggestions, each followed up by its tracking code ------

FormPage = Callable[[Request, Form], Awaitable[Response]]
EXPIRED = {"form": "表单已过期，请重新提交"}


async def _sent(request: Request, fields: set[str]) -> tuple[dict[str, str], bool]:
    """What a form sent, by field, and whether its CSRF token holds (else nothing is sent on)."""
    form = await request.form()
    return {name: text(form, name) for name in fields}, _csrf_ok(request, form)


async def _filed(
    request: Request,
    kind: str,
    body: dict[str, Any],
    values: dict[str, Any],
    fields: set[str],
    again: FormPage,
    found: dict[str, str] | None = None,
) -> Response:
    """Send a complaint or suggestion (`kind`) to the complaints service; its receipt's page,
    or the form `again` with each refusal beside its field. What the form `found` itself (a
    field left blank, which the service refuses too, so nothing is stored) is sent on all the
    same, so that the service's other refusals (a malformed phone) stand beside their fields at
    once, not on the next try; the form's own wording stays on its fields."""
    try:
        receipt = await backend(request).post("complaints", f"/{kind}s", "", body)
    except ApiError as exc:
        status = exc.status if exc.status < 500 else 503
        if found and exc.status != 422:  # the rest could not be checked: what the form found
            return await again(request, Form.refused(found, values))
        errors = _field_errors(exc, fields) | (found or {})
        if "photos" in errors:
            values = {**values, "uploaded": []}  # the photos refused are not offered again
        return await again(request, Form.refused(errors, values, status))
    return RedirectResponse(f"/{kind}s/filed/{receipt['tracking_code']}", status_code=303)


def _follow_up(kind: str, **labelled: Any) -> None:
    """The pages of a complaint or suggestion (`kind`) once sent: its receipt with the tracking
    code (`/{kind}s/filed/{code}`), the code asked for (`/{kind}s/track`) and what the case has
    come to (`/{kind}s/track/{code}`, its states in words by `labelled`)."""

    async def filed(request: Request, code: str) -> Response:
        # Only a code the service knows gets "已提交": a receipt for any text typed into the
        # address would tell a citizen their complaint was filed when nothing was. A service
        # that does not answer now still gets the receipt: the redirect here followed its answer.
        status, failed = await _fetch(
            backend(request).get("complaints", f"/{kind}s/track/{code}", "")
        )
        if failed in ("not_found", "invalid"):
            return _page(
                request, "public/track_form.html", status_code=404, kind=kind, code=code[:64]
            )
        photos = status.get("photos") if isinstance(status, dict) else None
        return _page(request, "public/filed.html", code=code, kind=kind, photos=photos)

    async def track_form(request: Request) -> Response:
        code = request.query_params.get("code", "").strip()
        if code:
            return RedirectResponse(f"/{kind}s/track/{code[:64]}", status_code=303)
        return _page(request, "public/track_form.html", kind=kind)

    async def track(request: Request, code: str) -> Response:
        path = f"/{kind}s/track/{code}"
        status, failed = await _fetch(backend(request).get("complaints", path, ""))
        if failed in ("not_found", "invalid"):
            # A mistyped code: the form again with it, to correct, not a page leading away.
            return _page(
                request, "public/track_form.html", status_code=404, kind=kind, code=code[:64]
            )
        # The market handling it, by name: one moved (移送) since it was filed is there now.
        market_id = (
            status.get("market_id") if kind == "complaint" and isinstance(status, dict) else None
        )
        market = None
        if market_id:
            found, _ = await _fetch(
                backend(request).get("registry", f"/public/markets/{market_id}", "")
            )
            market = found if isinstance(found, dict) else None
        template = f"public/{kind}_track.html"
        return _page(
            request,
            template,
            code=code,
            status=status,
            failed=failed,
            market=market,
            **labelled,
        )

    router.add_api_route(f"/{kind}s/filed/{{code}}", filed, name=f"{kind}_filed")
    router.add_api_route(f"/{kind}s/track", track_form, name=f"{kind}_track_form")
    router.add_api_route(f"/{kind}s/track/{{code}}", track, name=f"{kind}_track")


# -- markets ------------------------------------------------------------------------------------


@router.get("/markets")
async def market_directory(request: Request) -> Response:
    services = backend(request)
    q = request.query_params.get("q", "").strip()[:50]
    district = request.query_params.get("district", "").strip()[:40]
    kind = request.query_params.get("kind", "").strip()
    kind = kind if kind in labels.MARKET_KIND else ""
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    near = near_point(request.query_params.get("near", ""))
    (districts, _), (found, failed) = await asyncio.gather(
        _fetch(services.get("registry", "/public/districts", "")),
        _fetch(
            services.get(
                "registry",
                "/public/markets",
                "",
                q=q,
                district=district,
                kind=kind,
                offset=offset,
                limit=PAGE_SIZE,
                **({"near": near} if near else {}),
            )
        ),
    )
    markets = _items(found)
    total = found.get("total", len(markets)) if isinstance(found, dict) else len(markets)
    return _page(
        request,
        "public/markets.html",
        districts=_items(districts),
        markets=markets,
        total=total,
        failed=failed,
        q=q,
        district=district,
        kind=kind,
        offset=offset,
        page_size=PAGE_SIZE,
        kinds=labels.MARKET_KIND,
        near=near,
    )


# 附近的市场 (app.js): the phone's location, rounded to three decimals (about 100 m) before it is
# sent, as `near=latitude,longitude`.
NEAR = re.compile(r"(-?\d{1,2}(?:\.\d{1,6})?),(-?\d{1,3}(?:\.\d{1,6})?)")


def near_point(text: str) -> str:
    """`near` as the registry takes it, or "" for anything that is no point on the Earth (the
    directory is then listed as without it)."""
    found = NEAR.fullmatch(text.strip())
    if found is None:
        return ""
    latitude, longitude = (float(v) for v in found.groups())
    return f"{latitude},{longitude}" if abs(latitude) <= 90 and abs(longitude) <= 180 else ""


async def _graded(
    services: Backend, market_id: str
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The market's merchants' grades by merchant id, page by page from the credit service."""
    graded: dict[str, dict[str, Any]] = {}
    offset = 0
    while offset < 2000:
        page, failed = await _fetch(
            services.get(
                "credit", "/public/merchants", "", market_id=market_id, offset=offset, limit=100
            )
        )
        if failed:
            return graded, failed
        items = _items(page)
        graded.update({str(m.get("id")): m for m in items})
        total = page.get("total", 0) if isinstance(page, dict) else 0
        offset += len(items)
        if not items or offset >= total:
            break
    return graded, None


@router.get("/markets/{market_id}")
async def market_page(request: Request, market_id: str) -> Response:
    services = backend(request)
    (
        (market, failed),
        (grades, grades_failed),
        (disclosures, disclosures_failed),
        (stalls, merchants_failed),
        (graded, _),
        (suggestions, _),
        (consultations, _),
    ) = await asyncio.gather(
        _fetch(services.get("registry", f"/public/markets/{market_id}", "")),
        _fetch(services.get("credit", f"/public/markets/{market_id}/grades", "")),
        _fetch(
            services.get("campaign", "/public/disclosures", "", market_id=market_id, state="open")
        ),
        _fetch(services.get("registry", f"/public/markets/{market_id}/merchants", "")),
        _graded(services, market_id),
        _fetch(services.get("complaints", "/public/suggestions", "", market_id=market_id)),
        _fetch(
            services.get("campaign", "/public/consultations", "", market_id=market_id, open="true")
        ),
    )
    if failed == "not_found":
        return _not_found(request, "市场")
    merchants = [
        {**m, "grade": graded.get(str(m.get("id")), {}).get("grade")} for m in _items(stalls)
    ]
    shares = (grades or {}).get("shares") or {}
    return _page(
        request,
        "public/market.html",
        market_id=market_id,
        market=market,
        failed=failed,
        shares=[(g, round(float(shares.get(g) or 0) * 100)) for g in "ABCD"] if shares else [],
        rank=(grades or {}).get("rank"),
        grades_failed=grades_failed,
        disclosures=_items(disclosures),
        disclosures_failed=disclosures_failed,
        merchants=sorted(merchants, key=lambda m: stall_key(str(m.get("stall_no") or ""))),
        merchants_failed=merchants_failed,
        suggestions=[s for s in _items(suggestions) if s.get("answer")],
        renovation=labels.RENOVATION_STATUS,
        consultations=[c for c in _items(consultations) if c.get("open")],
        disclosure_kinds=labels.DISCLOSURE_KIND,
        exposure_sources=labels.EXPOSURE_SOURCE,
    )


@router.get("/markets/{market_id}/qr")
async def market_qr(request: Request, market_id: str) -> Response:
    services = backend(request)
    (market, failed), (grades, _) = await asyncio.gather(
        _fetch(services.get("registry", f"/public/markets/{market_id}", "")),
        _fetch(services.get("credit", f"/public/markets/{market_id}/grades", "")),
    )
    if failed == "not_found":
        return _not_found(request, "市场")
    url = f"{request.app.state.settings.base_url}/markets/{market_id}"
    shares = (grades or {}).get("shares") or {}
    return _page(
        request,
        "public/qr.html",
        kind="market",
        title=(market or {}).get("name") or "农贸市场",
        subtitle=(market or {}).get("address") or "",
        grade=None,
        shares=[(g, round(float(shares.get(g) or 0) * 100)) for g in "ABCD"] if shares else [],
        url=url,
        qr=_qr(url),
    )


# -- merchants ----------------------------------------------------------------------------------


async def _merchant(request: Request, merchant_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The credit service's public view of a merchant (in the pages' one shape), or why not."""
    path = f"/public/merchants/{merchant_id}"
    body, failed = await _fetch(backend(request).get("credit", path, ""))
    return (_public_merchant(body) if body else None), failed


@router.get("/merchants/{merchant_id}")
async def merchant_page(request: Request, merchant_id: str) -> Response:
    merchant, failed = await _merchant(request, merchant_id)
    if failed == "not_found":
        return _not_found(request, "商户")
    return _page(
        request, "public/merchant.html", merchant=merchant, merchant_id=merchant_id, failed=failed
    )


@router.get("/merchants/{merchant_id}/qr")
async def merchant_qr(request: Request, merchant_id: str) -> Response:
    found, failed = await _merchant(request, merchant_id)
    if failed == "not_found":
        return _not_found(request, "商户")
    merchant = found or {}
    url = f"{request.app.state.settings.base_url}/merchants/{merchant_id}"
    stall = f"摊位 {merchant['stall_no']}" if merchant.get("stall_no") else ""
    return _page(
        request,
        "public/qr.html",
        kind="merchant",
        title=merchant.get("name") or "商户",
        subtitle=" · ".join(s for s in (merchant.get("market_name"), stall) if s),
        grade=merchant.get("grade"),
        graded_at=merchant.get("graded_at"),
        shares=[],
        url=url,
        qr=_qr(url),
    )


# -- complaints ---------------------------------------------------------------------------------

COMPLAINT_FIELDS = {
    "market_id",
    "merchant_id",
    "category",
    "facts",
    "request",
    "name",
    "phone",
    "occurred_at",
}
REQUIRED = ("market_id", "category", "facts", "request", "name", "phone")
# A complaint's photos (services/complaints/domain/photos.py): at most 3, uploaded one by one to
# the complaints service before the complaint names them.
MAX_COMPLAINT_PHOTOS = 3


async def _market_choices(
    services: Backend, chosen: str = ""
) -> tuple[list[dict[str, Any]], str | None]:
    """The markets a form lists (the first 100 by district and name), the chosen one included."""
    found, failed = await _fetch(services.get("registry", "/public/markets", "", limit=100))
    markets = _items(found)
    if chosen and all(m.get("id") != chosen for m in markets):
        market, _ = await _fetch(services.get("registry", f"/public/markets/{chosen}", ""))
        if market:
            markets.insert(0, market)
    return markets, failed


async def _stalls(services: Backend, market_id: str) -> tuple[list[dict[str, Any]], str | None]:
    if not market_id:
        return [], None
    found, failed = await _fetch(
        services.get("registry", f"/public/markets/{market_id}/merchants", "")
    )
    return sorted(_items(found), key=lambda m: stall_key(str(m.get("stall_no") or ""))), failed


async def _complaint_form(request: Request, form: Form) -> Response:
    services = backend(request)
    market_id = form.values.get("market_id", "")
    (markets, failed), (stalls, stalls_failed) = await asyncio.gather(
        _market_choices(services, market_id), _stalls(services, market_id)
    )
    return _page(
        request,
        "public/complaint_new.html",
        status_code=form.status,
        markets=markets,
        markets_failed=failed,
        stalls=stalls,
        stalls_failed=stalls_failed,
        **form.context(),
        categories=labels.COMPLAINT_CATEGORY,
        max_photos=MAX_COMPLAINT_PHOTOS,
        latest=clock.local_minute(),
    )


@router.get("/complaints/new")
async def complaint_new(request: Request) -> Response:
    market_id = request.query_params.get("market_id", "")[:64]
    merchant_id = request.query_params.get("merchant_id", "")[:64]
    values = {"market_id": market_id, "merchant_id": merchant_id}
    return await _complaint_form(request, Form(values=values))


@router.get("/complaints/stalls")
async def complaint_stalls(request: Request) -> Response:
    """The stall list of the chosen market (htmx swaps it into the form)."""
    market_id = request.query_params.get("market_id", "")[:64]
    stalls, failed = await _stalls(backend(request), market_id)
    return _page(
        request,
        "public/_stalls.html",
        stalls=stalls,
        stalls_failed=failed,
        values={"market_id": market_id},
        errors={},
    )


async def _photos_sent(request: Request) -> tuple[list[str], list[UploadFile]]:
    """The ids of the photos an earlier, refused try already uploaded (offered again as
    `uploaded`), and the files chosen now (`photos`: none chosen sends one without a name)."""
    form = await request.form()
    kept = [p for p in form.getlist("uploaded") if isinstance(p, str) and p.startswith("cph_")]
    chosen = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    return kept[:MAX_COMPLAINT_PHOTOS], chosen


async def _upload_photos(request: Request, chosen: list[UploadFile], ids: list[str]) -> None:
    """Send each chosen photo to the complaints service, adding each stored one's id to `ids`
    as it goes: a refusal part-way keeps those stored, for the form to offer again."""
    for upload in chosen:
        content = await upload.read()
        kind = upload.content_type or "application/octet-stream"
        stored = await backend(request).call(
            "complaints",
            "POST",
            "/complaints/photos",
            "",
            files={"file": (upload.filename, content, kind)},
        )
        ids.append(stored["id"])


@router.post("/complaints/new")
async def complaint_submit(request: Request) -> Response:
    typed, fresh = await _sent(request, COMPLAINT_FIELDS)
    values: dict[str, Any] = dict(typed)
    if not fresh:
        return await _complaint_form(request, Form.refused(EXPIRED, values, 403))
    errors = {name: "必填" for name in REQUIRED if not values[name]}
    if values["category"] and values["category"] not in labels.COMPLAINT_CATEGORY:
        errors["category"] = "请选择投诉类别"
    photo_ids, chosen = await _photos_sent(request)
    values["uploaded"] = photo_ids
    if len(photo_ids) + len(chosen) > MAX_COMPLAINT_PHOTOS:
        errors["photos"] = f"最多 {MAX_COMPLAINT_PHOTOS} 张照片"
        return await _complaint_form(request, Form.refused(errors, values))
    try:
        await _upload_photos(request, chosen, photo_ids)
    except ApiError as exc:
        # Nothing is filed: the citizen chooses again, what was typed and stored kept.
        errors |= _field_errors(exc, {"photos"})
        status = exc.status if exc.status < 500 else 503
        return await _complaint_form(request, Form.refused(errors, values, status))
    body: dict[str, Any] = {
        "complainant": {"name": values["name"], "phone": values["phone"]},
        "market_id": values["market_id"],
        "category": values["category"],
        "facts": values["facts"],
        "request": values["request"],
        "channel": "web",
    }
    if values["merchant_id"]:
        body["merchant_id"] = values["merchant_id"]
    if values["occurred_at"]:
        # When it happened, as the phone's picker gives it in the city's time. One the form
        # cannot read goes as typed: the service refuses it with the rest, nothing is filed.
        occurred = clock.from_local(values["occurred_at"])
        if occurred is None:
            errors["occurred_at"] = "请选择发生的日期和时间"
        body["occurred_at"] = values["occurred_at"] if occurred is None else occurred.isoformat()
    if photo_ids:
        body["photos"] = photo_ids
    fields = COMPLAINT_FIELDS | {"photos"}
    return await _filed(request, "complaint", body, values, fields, _complaint_form, errors)


_follow_up("complaint", states=labels.COMPLAINT_STATE)


# -- suggestions --------------------------------------------------------------------------------

SUGGESTION_FIELDS = {"about", "market_id", "text", "name", "phone", "publish_answer", "project_id"}


async def _consultation(services: Backend, project_id: str) -> dict[str, Any] | None:
    """The renovation plan a suggestion comments on (征求群众意见), as the public reads it."""
    if not project_id:
        return None
    found, _ = await _fetch(services.get("campaign", f"/public/consultations/{project_id}", ""))
    return found if isinstance(found, dict) else None


async def _suggestion_form(request: Request, form: Form) -> Response:
    services = backend(request)
    (markets, failed), consultation = await asyncio.gather(
        _market_choices(services, form.values.get("market_id", "")),
        _consultation(services, form.values.get("project_id", "")),
    )
    return _page(
        request,
        "public/suggestion_new.html",
        status_code=form.status,
        markets=markets,
        markets_failed=failed,
        **form.context(),
        abouts=labels.SUGGESTION_ABOUT,
        consultation=consultation,
    )


@router.get("/suggestions/new")
async def suggestion_new(request: Request) -> Response:
    market_id = request.query_params.get("market_id", "")[:64]
    about = "market" if market_id else request.query_params.get("about", "market")
    # A renovation plan open for comment (from the market's page): its comment, preselected.
    project_id = request.query_params.get("project_id", "")[:64] if market_id else ""
    values = {"about": about, "market_id": market_id, "project_id": project_id}
    return await _suggestion_form(request, Form(values=values))


@router.post("/suggestions/new")
async def suggestion_submit(request: Request) -> Response:
    values, fresh = await _sent(request, SUGGESTION_FIELDS)
    if not fresh:
        return await _suggestion_form(request, Form.refused(EXPIRED, values, 403))
    errors: dict[str, str] = {}
    if values["about"] not in labels.SUGGESTION_ABOUT:
        errors["about"] = "请选择建议对象"
    if values["about"] == "market" and not values["market_id"]:
        errors["market_id"] = "必填"
    if not values["text"]:
        errors["text"] = "必填"
    body: dict[str, Any] = {
        "about": values["about"],
        "text": values["text"],
        "publish_answer": values["publish_answer"] == "on",
    }
    if values["about"] == "market":
        body["market_id"] = values["market_id"]
        if values["project_id"]:
            body["project_id"] = values["project_id"]
    for optional in ("name", "phone"):
        if values[optional]:
            body[optional] = values[optional]
    return await _filed(
        request, "suggestion", body, values, SUGGESTION_FIELDS, _suggestion_form, errors
    )


_follow_up("suggestion", abouts=labels.SUGGESTION_ABOUT, states=labels.SUGGESTION_STATE)
