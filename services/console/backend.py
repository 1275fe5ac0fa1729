"""Calls to the domain services' HTTP APIs, made with the signed-in person's access token.

A 4xx answer becomes `ApiError` with the service's field errors, so a form can show each one
beside its field; the service's refusal changed nothing, so the page keeps what was typed.

Each call names, in `X-Forwarded-For`, the person the console calls for: a service counts its
public rate limits per client, and a citizen on the portal is a client of their own, not the
console (services/runtime/forwarded.py).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

# The address of the person whose request the console is answering (set by `CallingFor`).
_calling_for: ContextVar[str | None] = ContextVar("calling_for", default=None)


@dataclass
class ApiError(Exception):
    status: int
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)


class Unavailable(ApiError):
    """The service did not answer: nothing was done, and the page says so."""


class Backend:
    def __init__(
        self,
        urls: dict[str, str],
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.urls = urls
        # `transport` (benchmarks, tests): the services in-process instead of over the network.
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, service: str, method: str, path: str, token: str, **sent: Any) -> Any:
        """`raw`'s answer as JSON (None when it has none); `sent`: raw's json, params, files."""
        response = await self.raw(service, method, path, token, **sent)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def raw(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client := _calling_for.get():
            headers["X-Forwarded-For"] = client
        try:
            response = await self._http.request(
                method,
                f"{self.urls[service]}{path}",
                headers=headers,
                json=json,
                params=clean,
                files=files,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(503, f"{service} 服务暂时无法访问") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def get(self, service: str, path: str, token: str, **params: Any) -> Any:
        return await self.call(service, "GET", path, token, params=params)

    async def items(self, service: str, path: str, token: str, **params: Any) -> list[Any]:
        body = await self.get(service, path, token, **params)
        listed: list[Any] = body["items"] if isinstance(body, dict) else body
        return listed

    async def post(self, service: str, path: str, token: str, body: Any = None) -> Any:
        return await self.call(service, "POST", path, token, json=body)


class CallingFor:
    """ASGI middleware: the calls made while answering a request are made for its client (as the
    console's own trusted proxies named it, when one did)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        token = _calling_for.set(client[0])
        try:
            await self.app(scope, receive, send)
        finally:
            _calling_for.reset(token)


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, response.text[:200] or response.reason_phrase)
    if response.status_code >= 500:
        return Unavailable(response.status_code, "服务出错，请稍后再试")
    return ApiError(
        response.status_code,
        str(body.get("message") or body.get("detail") or response.reason_phrase),
        list(body.get("errors") or []),
    )
