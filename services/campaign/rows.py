"""What the Postgres stores and the in-memory fakes share: a table row as the data of a domain
value (for `serial.load`), and the equality filters of a listing, read as SQL by one and as a
test of values by the other, so that both filter alike. And the stores' read of one row by its
key, locked for the transaction when the use case will change it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg


def row_data(r: asyncpg.Record, **columns: str) -> dict[str, Any]:
    """The row's columns, and each field of `columns` read from the column it names
    (`row_data(r, course_id="id")`)."""
    return {**dict(r), **{name: r[column] for name, column in columns.items()}}


async def one_row(
    conn: asyncpg.Connection, sql: str, *args: object, for_update: bool = False
) -> asyncpg.Record | None:
    """The row `sql` selects, if any; with `for_update`, locked until the transaction ends."""
    return await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), *args)


@dataclass(frozen=True)
class Match:
    """The filters given (not None) among `names`, each a column and a field of that name."""

    given: Mapping[str, object]

    @classmethod
    def of(cls, names: Iterable[str], where: Mapping[str, object]) -> Match:
        return cls({name: where[name] for name in names if where.get(name) is not None})

    def sql(self, first: int = 1) -> str:
        """`a = $1 AND b = $2` from parameter `first` on (`args`); TRUE when none is given."""
        terms = [f"{name} = ${i}" for i, name in enumerate(self.given, first)]
        return " AND ".join(terms) or "TRUE"

    @property
    def args(self) -> list[object]:
        return list(self.given.values())

    def __call__(self, value: object) -> bool:
        return all(getattr(value, name) == v for name, v in self.given.items())
