"""The campaign's one rule for a text a person must give: stripped of surrounding space, not
blank, and at most so many characters; and `Problems`, how a whole input is checked so that one
refusal names every field that breaks a rule (docs/campaign.md, "Refusals"). The reasons are the
ones the console words in Chinese (services/console/labels.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar, Final

from services.runtime.failures import InvalidInput, InvalidInputs

# A day a form left blank, named with the other problems rather than refused alone.
DATE_NEEDED: Final = "a date (YYYY-MM-DD) is needed"


def text_problem(value: str, most: int) -> tuple[str, str | None]:
    """`value` stripped, and why it is refused (None when it is not)."""
    cleaned = value.strip()
    if not cleaned:
        return cleaned, "must not be blank"
    if len(cleaned) > most:
        return cleaned, f"must be at most {most} characters"
    return cleaned, None


def required_text(field: str, value: str, most: int) -> str:
    """`value` stripped; InvalidInput naming `field` when it is blank or too long."""
    cleaned, reason = text_problem(value, most)
    if reason is not None:
        raise InvalidInput(field, reason)
    return cleaned


class Problems:
    """Collects (field, reason) while a whole input is checked, then raises them at once: an
    `InvalidInputs` (a 422 naming each field), or the subclass's `error`."""

    error: ClassVar[type[Exception]] = InvalidInputs

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, field: str, reason: str) -> None:
        self.found.append((field, reason))

    def text(self, field: str, value: str, *, limit: int) -> str:
        """`value` stripped; a problem of `field` when it is blank or longer than `limit`."""
        cleaned, reason = text_problem(value, limit)
        if reason is not None:
            self.add(field, reason)
        return cleaned

    def texts(self, field: str, values: Sequence[str], *, limit: int) -> tuple[str, ...]:
        """Each of `values` stripped; a problem of `field.<i>` for each that is refused."""
        return tuple(self.text(f"{field}.{i}", v, limit=limit) for i, v in enumerate(values))

    def day(self, field: str, value: date | None) -> date | None:
        """`value`; a problem of `field` when it is left out."""
        if value is None:
            self.add(field, DATE_NEEDED)
        return value

    def raise_any(self) -> None:
        if self.found:
            raise self.error(self.found)
