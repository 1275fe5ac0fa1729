"""Calls to the domain services' HTTP APIs, made with the signed-in person's access token.

A 4xx answer becomes `ApiError` with the service's field errors, so a form can show each one
beside its field; the service's refusal changed nothing, so the page keeps what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


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
        try:
            response = await self._http.request(
                method,
                f"{self.urls[service]}{path}",
                headers={"Authorization": f"Bearer {token}"} if token else {},
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
