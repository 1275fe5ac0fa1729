"""Keyset paging for the long listings a ledger (台账) is exported from: a page ends where its
last row stands in the listing's order (an instant, then the row's id to break ties), and the
next page starts after it. Unlike an offset, a row written meanwhile neither repeats one nor
skips one; unlike a bare instant, two rows of the same instant are not lost at a page's edge.

The token is opaque to clients (base64url of the instant and the id); a token that does not
read back is refused naming the field, as any other bad input."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

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
    # A NUL no id holds, and Postgres refuses to compare; the text checks of every query value
    # cannot see one inside the token.
    if when is None or not _in_utc(when) or not row_id or "\x00" in row_id:
        raise InvalidInput(field, "is not a position this listing gave (use its `next`)")
    return Position(when, row_id)


def _in_utc(at: datetime) -> bool:
    """Whether the instant is aware and can be told in UTC, as the query hands it to Postgres:
    at the edge of the years 1 to 9999 in another offset it cannot (the query would fail)."""
    if at.tzinfo is None:
        return False
    try:
        at.astimezone(UTC)
    except OverflowError:
        return False
    return True


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
        if value.tzinfo is None
        else (name, "must lie within the years 1 to 9999 in UTC")
        for name, value in ((start_field, start), (end_field, end))
        if value is not None and not _in_utc(value)
    ]
    if not problems and start is not None and end is not None and end <= start:
        problems.append((end_field, f"must come after {start_field}"))
    InvalidInputs.raise_any(problems)
    return Window(start, end)


# The window of a listing that names none.
ANY_TIME = Window()


def page_asked(
    start: datetime | None,
    end: datetime | None,
    after: str | None,
    *,
    start_field: str,
    end_field: str,
) -> tuple[Window, Position | None]:
    """A listing's window and the page's start as its query gave them, or InvalidInputs naming
    every bad value of the three at once."""
    problems: list[tuple[str, str]] = []
    span, begin = ANY_TIME, None
    try:
        span = window(start, end, start_field=start_field, end_field=end_field)
    except InvalidInputs as exc:
        problems += exc.problems
    try:
        begin = position(after)
    except InvalidInput as exc:
        problems.append((exc.field, exc.reason))
    InvalidInputs.raise_any(problems)
    return span, begin


@dataclass(frozen=True, slots=True)
class Keyset:
    """A listing's keyset in SQL: the instant column and the id column it is ordered by, newest
    first. Ids compare as code points (the "C" collation), as Python and the fakes compare them,
    whatever the database's locale: the page edge and the order must be the same ones."""

    at: str
    id: str = "id"

    @property
    def newest_first(self) -> str:
        return f'{self.at} DESC, {self.id} COLLATE "C" DESC'

    def bounds(self, window: Window, after: Position | None, args: list[Any]) -> list[str]:
        """The conditions of `window` and of a page starting after `after`, their values
        appended to `args` (asyncpg's $n numbering). Only the bounds given, each a plain
        condition: `$n IS NULL OR …` would leave a cached generic plan unable to start an index
        scan at the window's end or the page's edge."""

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        found = []
        if window.start is not None:
            found.append(f"{self.at} >= {arg(window.start)}")
        if window.end is not None:
            found.append(f"{self.at} < {arg(window.end)}")
        if after is not None:
            edge = f"({arg(after.at)}, {arg(after.id)})"
            found.append(f'({self.at}, {self.id} COLLATE "C") < {edge}')
        return found

    def page(
        self,
        table: str,
        column: str,
        window: Window,
        after: Position | None,
        limit: int,
        equal: Mapping[str, object] = MappingProxyType({}),
        where: Sequence[str] = (),
    ) -> tuple[str, list[Any]]:
        """The SQL and arguments of a ledger's page of `table`: its `column` of the rows in
        `window` past `after`, whose columns in `equal` hold the values given (a None value
        asks nothing of its column), `where` holding too; newest first, at most `limit`."""
        args: list[Any] = []
        clauses = [*where, *self.bounds(window, after, args)]
        for name, value in equal.items():
            if value is not None:
                args.append(value)
                clauses.append(f"{name} = ${len(args)}")
        args.append(limit)
        sql = (
            f"SELECT {column} FROM {table} WHERE {' AND '.join(clauses) or 'true'} "
            f"ORDER BY {self.newest_first} LIMIT ${len(args)}"
        )
        return sql, args
