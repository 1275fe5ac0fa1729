"""Keyset paging for the long listings a ledger (台账) is exported from: a page ends where its
last row stands in the listing's order (an instant, then the row's id to break ties), and the
next page starts after it. Unlike an offset, a row written meanwhile neither repeats one nor
skips one; unlike a bare instant, two rows of the same instant are not lost at a page's edge.

The token is opaque to clients (base64url of the instant and the id); a token that does not
read back is refused naming the field, as any other bad input."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from services.runtime.failures import InvalidInput, InvalidInputs

FIELD = "after"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a row stands in a listing ordered by (`at`, `id`)."""

    at: datetime
    id: str

    def token(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(token: str | None, field: str = FIELD) -> Position | None:
    """The position a token names; None for none; InvalidInput naming `field` otherwise."""
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, row_id = raw.partition("|")
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        when, row_id = None, ""
    if when is None or when.tzinfo is None or not row_id:
        raise InvalidInput(field, "is not a position this listing gave (use its `next`)")
    return Position(when, row_id)


def next_token(rows: list[Position], limit: int) -> str | None:
    """The token of the page after `rows`: None when the page was not full (nothing follows)."""
    return rows[-1].token() if len(rows) >= limit and rows else None


@dataclass(frozen=True, slots=True)
class Window:
    """Instants from `start` (inclusive) to `end` (exclusive); either may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, at: datetime | None) -> bool:
        if at is None:
            return self.start is None and self.end is None
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def window(
    start: datetime | None, end: datetime | None, *, start_field: str, end_field: str
) -> Window:
    """A window from two query values, every problem at once (InvalidInputs naming the fields):
    each must carry its UTC offset (a ledger's month is the city's, not the server's), and the
    end must come after the start."""
    problems = [
        (name, "must carry a UTC offset, e.g. 2026-11-01T00:00:00+08:00")
        for name, value in ((start_field, start), (end_field, end))
        if value is not None and value.tzinfo is None
    ]
    if not problems and start is not None and end is not None and end <= start:
        problems.append((end_field, f"must come after {start_field}"))
    InvalidInputs.raise_any(problems)
    return Window(start, end)
