"""A table row as the data of a domain value, for `serial.load`: a column under its field's name
reads as it is; a field stored under another column name is given with it."""

from __future__ import annotations

from typing import Any

import asyncpg


def row_data(r: asyncpg.Record, **columns: str) -> dict[str, Any]:
    """The row's columns, and each field of `columns` read from the column it names
    (`row_data(r, course_id="id")`)."""
    return {**dict(r), **{name: r[column] for name, column in columns.items()}}
