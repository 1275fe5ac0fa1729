"""A small JSON Schema (2020-12) instance validator for the keywords the generated schemas use.

`jsonschema` is not a dependency of the project, and round-tripping an event through its pydantic
model proves nothing about the published schema (the generator adds `const`s and `required`s the
model does not have). This validator checks an instance against the file an integrator would use.
It refuses keywords it does not know, so it cannot pass a schema by ignoring part of it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from contracts.compat import ANNOTATIONS

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _date_time(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None  # RFC 3339 needs the offset


def _date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


_FORMATS = {"date-time": _date_time, "date": _date, "uri": _uri}


def validate(instance: Any, schema: Any, root: Any | None = None, path: str = "$") -> list[str]:
    """Every violation of `schema` by `instance`, as `<path>: <reason>`; empty when valid."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return [f"{path}: no value is allowed here"]
    errors: list[str] = []
    for key, rule in schema.items():
        if key in ANNOTATIONS or key == "$defs":
            continue
        check = _KEYWORDS.get(key)
        if check is None:
            raise NotImplementedError(f"keyword {key!r} at {path} is not supported")
        errors += check(instance, rule, schema, root, path)
    return errors


def _ref(instance: Any, ref: str, _s: Any, root: Any, path: str) -> list[str]:
    assert ref.startswith("#/"), f"only local references are supported: {ref}"
    target = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return validate(instance, target, root, path)


def _type(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
    allowed = rule if isinstance(rule, list) else [rule]
    if any(_TYPES[t](instance) for t in allowed):
        return []
    return [f"{path}: expected {' or '.join(allowed)}, got {type(instance).__name__}"]


def _enum(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
    ok = any(instance == v and type(instance) is type(v) for v in rule)
    return [] if ok else [f"{path}: {instance!r} is not one of {rule!r}"]


def _const(instance: Any, rule: Any, s: Any, r: Any, path: str) -> list[str]:
    return _enum(instance, [rule], s, r, path)


def _properties(instance: Any, rule: Any, _s: Any, root: Any, path: str) -> list[str]:
    if not isinstance(instance, dict):
        return []
    errors: list[str] = []
    for name, sub in rule.items():
        if name in instance:
            errors += validate(instance[name], sub, root, f"{path}.{name}")
    return errors


def _required(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
    if not isinstance(instance, dict):
        return []
    return [f"{path}.{name}: required property missing" for name in rule if name not in instance]


def _additional(instance: Any, rule: Any, schema: Any, root: Any, path: str) -> list[str]:
    if not isinstance(instance, dict):
        return []
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    errors: list[str] = []
    for name, value in instance.items():
        if name in known or any(p.search(name) for p in patterns):
            continue
        errors += validate(value, rule, root, f"{path}.{name}")
    return errors


def _items(instance: Any, rule: Any, _s: Any, root: Any, path: str) -> list[str]:
    if not isinstance(instance, list):
        return []
    errors: list[str] = []
    for index, item in enumerate(instance):
        errors += validate(item, rule, root, f"{path}[{index}]")
    return errors


def _any_of(instance: Any, rule: Any, _s: Any, root: Any, path: str) -> list[str]:
    failures = [validate(instance, alternative, root, path) for alternative in rule]
    if any(not f for f in failures):
        return []
    return [f"{path}: matches no alternative ({'; '.join(e for f in failures for e in f)})"]


def _one_of(instance: Any, rule: Any, _s: Any, root: Any, path: str) -> list[str]:
    matches = sum(not validate(instance, alternative, root, path) for alternative in rule)
    return [] if matches == 1 else [f"{path}: matches {matches} alternatives, not exactly one"]


def _all_of(instance: Any, rule: Any, _s: Any, root: Any, path: str) -> list[str]:
    return [e for part in rule for e in validate(instance, part, root, path)]


def _pattern(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
    if not isinstance(instance, str) or re.search(rule, instance):
        return []
    return [f"{path}: {instance!r} does not match {rule!r}"]


def _format(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
    if not isinstance(instance, str) or _FORMATS[rule](instance):
        return []
    return [f"{path}: {instance!r} is not a {rule}"]


def _compare(op: Any, name: str) -> Any:
    def check(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
        if not _TYPES["number"](instance) or op(instance, rule):
            return []
        return [f"{path}: {instance!r} violates {name} {rule}"]

    return check


def _length(attribute: type, op: Any, name: str) -> Any:
    def check(instance: Any, rule: Any, _s: Any, _r: Any, path: str) -> list[str]:
        if not isinstance(instance, attribute) or op(len(instance), rule):
            return []
        return [f"{path}: length {len(instance)} violates {name} {rule}"]

    return check


_KEYWORDS: dict[str, Any] = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "allOf": _all_of,
    "pattern": _pattern,
    "format": _format,
    "minimum": _compare(lambda v, r: v >= r, "minimum"),
    "maximum": _compare(lambda v, r: v <= r, "maximum"),
    "exclusiveMinimum": _compare(lambda v, r: v > r, "exclusiveMinimum"),
    "exclusiveMaximum": _compare(lambda v, r: v < r, "exclusiveMaximum"),
    "minLength": _length(str, lambda n, r: n >= r, "minLength"),
    "maxLength": _length(str, lambda n, r: n <= r, "maxLength"),
    "minItems": _length(list, lambda n, r: n >= r, "minItems"),
    "maxItems": _length(list, lambda n, r: n <= r, "maxItems"),
}
