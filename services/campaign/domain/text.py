"""The campaign's one rule for a text a person must give: stripped of surrounding space, not
blank, and at most so many characters. The reasons are the ones the console words in Chinese
(services/console/labels.py)."""

from __future__ import annotations

from services.runtime.failures import InvalidInput


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
