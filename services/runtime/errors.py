"""Errors a service raises on purpose, and how HTTP shows them: JSON naming field and reason.

Every error body has the same shape, so clients handle one format:
`{"error": "<code>", "message": "<summary>", "errors": [{"field": "...", "reason": "..."}]}`.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.errors = message, errors or []

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "errors": self.errors}


class InvalidInput(ServiceError):
    """A value broke a domain rule (a check character, a date in the past...)."""

    status, code = 422, "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", [{"field": field, "reason": reason}])
        self.field, self.reason = field, reason


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


def _field(loc: tuple[Any, ...]) -> str:
    # ("body", "credit_code") -> "credit_code"; ("query", "state") -> "state"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _reason(message: str) -> str:
    # A domain check raised inside a validator comes back as "Value error, <reason>".
    return message.removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def on_service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429:
            retry_after_s = getattr(exc, "retry_after_s", 1.0)
            headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e["loc"])), "reason": _reason(e["msg"])} for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return JSONResponse(
            {"error": "invalid_input", "message": message, "errors": errors}, status_code=422
        )
