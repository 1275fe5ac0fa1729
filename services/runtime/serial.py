"""Domain values to JSON-ready data and back, in one place for every store and API.

The domains keep frozen dataclasses and no serialisation code: `dump` and `load` go through
pydantic's `TypeAdapter` of the value's class, which reads the fields, their types and defaults
from the dataclass itself. A field stored or shown under another name declares it on the field
(`Annotated[str, Field(alias="id")]`); a field added later has a default, so what was stored
before it loads unchanged.

`dump` writes instants as `datetime.isoformat()` does (`+00:00`, not pydantic's `Z`) and
durations as seconds, so what is stored and what the APIs return keep the form they had.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(cls: Any) -> TypeAdapter[Any]:
    """The adapter of a class or type expression, built once."""
    found = _ADAPTERS.get(cls)
    if found is None:
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


def dump(value: Any) -> Any:
    """`value` (a dataclass, or any type pydantic knows) as JSON-ready data: dicts, lists,
    strings, numbers, booleans and None."""
    return jsonable(adapter(type(value)).dump_python(value, by_alias=True))


def dump_many(values: Iterable[Any]) -> list[Any]:
    return [dump(value) for value in values]


def load(cls: type[T], data: Any) -> T:
    """An instance of `cls` from what `dump` wrote (or an older form of it with fewer fields);
    pydantic's `ValidationError` (a `ValueError`) names the field when `data` does not fit."""
    return adapter(cls).validate_python(data)  # type: ignore[no-any-return]


def load_many(cls: type[T], rows: Iterable[Any]) -> list[T]:
    return [load(cls, row) for row in rows]


def into(model: type[T], value: Any, **overrides: Any) -> T:
    """A contract model (pydantic) from a domain value, or a domain value (a dataclass) from a
    contract model: each of the model's fields from the value's attribute of the same name, or
    from `overrides` (a renamed or computed field). A field neither has is left to the model's
    default; without one, pydantic names it (a contract model) or the dataclass raises
    TypeError. A contract model is validated; a dataclass is built as its constructor would."""
    if issubclass(model, BaseModel):
        names: Iterable[str] = model.model_fields
    else:
        names = (field.name for field in dataclasses.fields(model))  # type: ignore[arg-type]
    data = {
        name: overrides[name] if name in overrides else getattr(value, name)
        for name in names
        if name in overrides or hasattr(value, name)
    }
    if issubclass(model, BaseModel):
        return model.model_validate(data)
    return model(**data)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Python data as JSON-ready data, instants in `isoformat()`'s form."""
    # Exact types first: what pydantic's python-mode dump returns is almost always one of them,
    # and a type lookup costs a fraction of the isinstance chain (stores dump whole listings).
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if kind is datetime:
        return value.isoformat()
    return _jsonable_other(value)


def _jsonable_other(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
