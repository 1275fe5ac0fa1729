"""Errors raised on purpose, free of any framework: the domain raises them naming the field and
the reason, and the runtime shows them (services/runtime/errors.py maps each `code` to an HTTP
status, in one table).

Every error has the same shape, so clients handle one format:
`{"error": "<code>", "message": "<summary>", "errors": [{"field": "...", "reason": "..."}]}`.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "bad_request"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.errors = message, errors or []

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "errors": self.errors}


class InvalidInput(ServiceError):
    """A value broke a domain rule (a check character, a date in the past...)."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", [{"field": field, "reason": reason}])
        self.field, self.reason = field, reason


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Forbidden(ServiceError):
    code = "forbidden"


class TooLarge(ServiceError):
    """An upload over its size cap."""

    code = "too_large"
