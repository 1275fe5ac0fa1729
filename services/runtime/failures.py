"""Errors raised on purpose, free of any framework: the domain raises them naming the field and
the reason, and the runtime shows them (services/runtime/errors.py maps each `code` to an HTTP
status, in one table).

Every error has the same shape, so clients handle one format:
`{"error": "<code>", "message": "<summary>", "errors": [{"field": "...", "reason": "..."}]}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    code = "bad_request"

    def __init__(
        self,
        message: str,
        errors: list[dict[str, str]] | None = None,
        *,
        field: str | None = None,
        reason: str | None = None,
    ) -> None:
        """`errors` names every field at fault; a refusal of one field gives `field` instead,
        with its `reason` (the message, unless given), so that its errors name it alike
        everywhere."""
        if field is not None:
            if errors:
                raise ValueError("a refusal names either errors or one field, not both")
            errors = [{"field": field, "reason": message if reason is None else reason}]
        elif reason is not None:
            raise ValueError("a reason names the field it is for")
        super().__init__(message)
        self.message, self.errors = message, errors or []

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "errors": self.errors}


class InvalidInput(ServiceError):
    """A value broke a domain rule (a check character, a date in the past...)."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field, self.reason = field, reason


class InvalidInputs(InvalidInput):
    """Several values broke the rules at once: every offending field with its reason, so that a
    form can show each beside its field; `field` and `reason` are the first."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError(f"{type(self).__name__} needs at least one problem")
        super().__init__(*problems[0])
        self.problems = list(problems)
        self.errors = [{"field": field, "reason": reason} for field, reason in problems]
        self.message = "; ".join(f"{field}: {reason}" for field, reason in problems)

    @classmethod
    def raise_any(cls, problems: Sequence[tuple[str, str]]) -> None:
        """Every one of `problems` at once, raised as this kind; nothing when there are none."""
        if problems:
            raise cls(problems)


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
