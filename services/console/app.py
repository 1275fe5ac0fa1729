"""Wiring of the console: sessions, security headers, static assets, sign-in and the pages."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from services.console import views
from services.console.alerts import AlertBook, hooks
from services.console.auth import SignIn, SignInNeeded, login_url, safe_next
from services.console.backend import ApiError, Backend, CallingFor
from services.console.district_names import DistrictNames
from services.console.sessions import SessionStore
from services.console.settings import SERVICES, ConsoleSettings
from services.console.web import (
    CsrfRefused,
    NotAllowed,
    OutOfScope,
    Refused,
    failed,
    is_htmx,
    optional_person,
    refused,
    render,
)
from services.runtime.body_limit import MIB, BodyLimit
from services.runtime.forwarded import trust_forwarded

HERE = Path(__file__).resolve().parent
VENDOR = {
    # what the pages load -> where npm (make setup) put it; nothing comes from a CDN
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}


def content_security_policy(issuer: str) -> str:
    provider = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action 'self' {provider}",
        ]
    )


def too_large(scope: Scope, cap: int) -> Response:
    """A form too large to take (services/runtime/body_limit.py): most likely its photos."""
    request = Request(scope)
    title = "提交的内容过大"
    message = (
        f"提交的内容超过 {cap // MIB} MB，未被接收，也没有保存任何内容。"
        "如附有照片，请返回上一页，选择较小或较少的照片后重新提交。"
    )
    if request.url.path.startswith("/staff/"):
        return render(request, "error.html", None, 413, title=title, message=message)
    return render(request, "public/message.html", None, 413, title=title, message=message)


def build(
    settings: ConsoleSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The console; `transport` (benchmarks) reaches the services in-process."""
    settings = settings or ConsoleSettings()
    secret = settings.session_secret.get_secret_value() or secrets.token_urlsafe(32)
    store = SessionStore(secret.encode())
    sign_in = SignIn(settings, store)
    backend = Backend(
        {s: settings.url_of(s) for s in SERVICES}, settings.backend_timeout_s, transport
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await backend.close()

    app = FastAPI(title="Market Sentinel console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.sessions = store
    app.state.sign_in = sign_in
    app.state.backend = backend
    app.state.alerts = AlertBook(settings.alert_history)
    app.state.district_names = DistrictNames()
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="sentinel_session",
        same_site="lax",  # the provider's redirect back to /auth/callback is a top-level GET
        https_only=settings.cookie_secure,
        max_age=12 * 3600,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        max_multipart_bytes=settings.max_form_bytes,
        refuse=too_large,
    )
    policy = content_security_policy(settings.oidc_issuer)

    @app.middleware("http")
    async def district_names(request: Request, call_next):  # type: ignore[no-untyped-def]
        # A staff page's header names the person's district (district_names.py): the names are
        # read again, when old, before the page is made.
        if request.url.path.startswith("/staff/"):
            await app.state.district_names.refresh(backend)
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.url.path.startswith("/staff/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(SignInNeeded)
    async def needs_sign_in(request: Request, exc: SignInNeeded) -> Response:
        target = login_url(exc.next_url)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: CsrfRefused) -> Response:
        return render(
            request, "error.html", None, status_code=403, message="表单已过期，请刷新页面后重试"
        )

    @app.exception_handler(OutOfScope)
    async def out_of_scope(request: Request, exc: OutOfScope) -> Response:
        who = await optional_person(request)
        return render(
            request,
            "error.html",
            who,
            status_code=404,
            title=f"找不到该{exc.what}",
            message=f"该{exc.what}不存在或不在您的辖区内。",
        )

    @app.exception_handler(HTTPException)
    async def no_such_page(request: Request, exc: HTTPException) -> Response:
        # An address with no page (a mistyped or cut-off QR link, a 405 from reloading a form's
        # address): a page in Chinese with the way back, not the framework's English JSON.
        if exc.status_code == 405:
            title, message = "无法打开该地址", "该地址只用于提交表单，请返回上一页重新操作。"
        elif exc.status_code == 404:
            title, message = "找不到该页面", "该页面不存在，请检查地址是否完整。"
        else:
            title, message = "无法完成", "请求无法完成，请返回上一页重试。"
        if request.url.path.startswith("/staff/"):
            who = await optional_person(request)
            page = render(request, "error.html", who, exc.status_code, title=title, message=message)
        else:
            page = render(
                request, "public/message.html", None, exc.status_code, title=title, message=message
            )
        for name, value in (exc.headers or {}).items():  # a 405's Allow
            page.headers[name] = value
        return page

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        return refused(request, exc.who, exc.message)

    @app.exception_handler(Refused)
    async def service_refused(request: Request, exc: Refused) -> Response:
        who = await optional_person(request)
        return exc.page(request, who, exc.exc) if who else failed(request, None, exc.exc)

    @app.exception_handler(ApiError)
    async def service_said_no(request: Request, exc: ApiError) -> Response:
        # A call a page cannot do without, refused where the page does not word it itself: a
        # page reached by its address by a role the service does not admit, say. The reason in
        # Chinese with its status, never a bare Internal Server Error.
        who = await optional_person(request)
        title = "无权访问" if exc.status in (401, 403) else None
        return failed(request, who, exc, title=title)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Alertmanager's webhook: JSON, a bearer credential of its own, no session.
    app.mount("/hooks", hooks(app.state.alerts, settings.alert_webhook_token.get_secret_value()))
    vendor = HERE / "node_modules"

    @app.get("/vendor/{name}", include_in_schema=False)
    async def vendored(name: str) -> Response:
        from starlette.responses import FileResponse

        if name not in VENDOR or not (vendor / VENDOR[name]).is_file():
            return Response("not found (run make setup)", status_code=404)
        return FileResponse(vendor / VENDOR[name], headers={"Cache-Control": "max-age=86400"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/login", include_in_schema=False)
    async def login(request: Request, next: str = "/staff/") -> Response:
        return await sign_in.login(request, safe_next(next))

    @app.get("/auth/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        return await sign_in.callback(request)

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await request.form()
        sid = request.session.get("sid")
        token = form.get("csrf")
        if not store.csrf_ok(sid, token if isinstance(token, str) else None):
            raise CsrfRefused()
        return sign_in.logout(request)

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        who = await optional_person(request)
        if who is not None:
            return RedirectResponse("/staff/", status_code=303)
        failed = request.query_params.get("signin") == "failed"
        return render(request, "welcome.html", None, failed=failed)

    for router in views.ROUTERS:
        app.include_router(router)
    app.add_middleware(CallingFor)
    trust_forwarded(app, settings.forwarded_allow_ips)
    return app
