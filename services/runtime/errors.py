"""How HTTP shows the errors raised on purpose (services/runtime/failures.py): a status by
the error's code, and a JSON body naming field and reason; a request that does not fit its
model gets the same body.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.runtime.failures import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    TooLarge,
    Unauthorized,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "ServiceError",
    "TooLarge",
    "Unauthorized",
    "install",
    "status_of",
]


# The one place a failure becomes an HTTP status, by its code.
STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "invalid_input": 422,
    "too_many_requests": 429,
    "identity_unavailable": 503,
}


def status_of(exc: ServiceError) -> int:
    return STATUS.get(exc.code, 400)


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
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 429:
            retry_after_s = getattr(exc, "retry_after_s", 1.0)
            headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
        return JSONResponse(exc.body(), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e["loc"])), "reason": _reason(e["msg"])} for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return JSONResponse(
            {"error": "invalid_input", "message": message, "errors": errors}, status_code=422
        )
