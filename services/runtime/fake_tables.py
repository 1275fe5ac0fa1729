"""What puts in-memory fake stores back as a unit of work began, when the unit rolls back: for
use-case tests on `FakeUnitOfWork`, so that a failure path leaves the fakes as Postgres would
leave its tables (docs/architecture.md, "A unit of work").

    stores = fake_stores()
    uow = FakeUnitOfWork(stores, snapshot=snapshot(stores))

A fake keeps its rows in tables, its attributes that are dicts, lists or sets, holding frozen
values it replaces rather than changes: a copy of each table is enough, and the rows are shared.
Any other attribute (a clock, another fake it reads from) is left as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def snapshot(stores: DataclassInstance) -> Callable[[], Callable[[], None]]:
    """For `FakeUnitOfWork(stores, snapshot=snapshot(stores))`: called as a unit begins, it keeps
    the tables of every fake store in `stores` and returns what puts them back."""
    fakes = [getattr(stores, f.name) for f in fields(stores)]

    def take() -> Callable[[], None]:
        kept = [(vars(fake), _tables(vars(fake))) for fake in fakes]

        def restore() -> None:
            for held, tables in kept:
                held.update(tables)

        return restore

    return take


def _tables(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.copy(v) for k, v in attributes.items() if isinstance(v, dict | list | set)}
