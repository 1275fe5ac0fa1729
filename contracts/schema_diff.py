"""The rules of backward compatibility between two JSON Schemas of one event type and major
version: `compare_schemas(old, new)` lists every change, `.breaking` marking the bad ones.

Within a major version (the `.v<major>` topic and the schema file name) events must stay readable
both ways: a consumer built on the new schema reads old events (compacted topics and replays
deliver them for ever), and a consumer built on the old schema reads new events (not every
consumer is upgraded before every producer). So a change is breaking when it

- removes or renames a property, or changes a property's type (including making it nullable),
- makes an optional property required, a required one optional, or adds a required property,
- narrows what a value may be: a removed enum value, a new or changed const, pattern or format,
  a tighter minimum/maximum/length/item count, `additionalProperties` closed, items made unique,
- removes a union variant, or a `$defs` entry that is referenced (external `$ref`s point at them).

Adding an optional property and widening an enum or a bound are compatible: consumers must ignore
properties they do not know and treat enums as open. Those are reported as notes, not failures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# Keywords the checker understands. Generated schemas are tested to use nothing else, so a model
# feature that brings a new keyword makes a test fail instead of slipping past this check.
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "contentMediaType",
        "contentEncoding",
    }
)
ASSERTIONS = frozenset(
    {
        "$ref",
        "$defs",
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "pattern",
        "format",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    }
)
KNOWN_KEYWORDS = ANNOTATIONS | ASSERTIONS
DANGLING = "unresolved reference"


@dataclass(frozen=True, order=True)
class Change:
    path: str
    reason: str
    breaking: bool = True

    def render(self, event_type: str) -> str:
        return f"{event_type}: {self.path}: {self.reason}"


class _Doc:
    """One schema document, so `$ref`s resolve against the document they were written in."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise KeyError(ref)
        node = self.root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node


@dataclass(frozen=True)
class _Branch:
    """One alternative of a (possibly union) schema, with a single JSON type or `any`."""

    kind: str
    schema: JSON
    ref: str | None = None

    @property
    def name(self) -> str | None:
        if self.ref:
            return self.ref.rsplit("/", 1)[-1]
        title = self.schema.get("title")
        return title if isinstance(title, str) else None


_TYPE_OF_VALUE = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def _kind_of_value(value: Any) -> str:
    for python_type, kind in _TYPE_OF_VALUE:
        if isinstance(value, python_type):
            return kind
    raise TypeError(f"not a JSON value: {value!r}")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _as_schema(node: Any) -> JSON:
    if node is True:
        return {}
    if node is False:
        return {"not": {}}
    if isinstance(node, dict):
        return node
    raise TypeError(f"not a schema: {node!r}")


@dataclass
class _Comparison:
    old: _Doc
    new: _Doc
    changes: list[Change] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def report(self, path: str, reason: str, *, breaking: bool = True) -> None:
        self.changes.append(Change(path, reason, breaking))

    # -- unions and references -------------------------------------------------------------

    def branches(self, doc: _Doc, node: Any, path: str, *, old: bool) -> list[_Branch]:
        return list(self._branches(doc, _as_schema(node), None, path, old, frozenset()))

    def _branches(
        self, doc: _Doc, node: JSON, ref: str | None, path: str, old: bool, chain: frozenset[str]
    ) -> Iterator[_Branch]:
        if "$ref" in node:
            target = node["$ref"]
            if target in chain:
                yield _Branch("any", {}, target)
                return
            try:
                resolved = _as_schema(doc.resolve(target))
            except (KeyError, IndexError, TypeError, ValueError):
                if not old:
                    self.report(path, f"reference {target} does not resolve")
                yield _Branch(DANGLING, {}, target)
                return
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            yield from self._branches(
                doc, {**resolved, **siblings}, target, path, old, chain | {target}
            )
            return
        if "allOf" in node:
            merged = _merge_all_of([_deref(doc, part) for part in node["allOf"]])
            rest = {k: v for k, v in node.items() if k != "allOf"}
            yield from self._branches(doc, {**merged, **rest}, ref, path, old, chain)
            return
        for union in ("anyOf", "oneOf"):
            if union in node:
                for alternative in node[union]:
                    yield from self._branches(doc, _as_schema(alternative), None, path, old, chain)
                return
        if node.get("not") == {}:
            return
        values = _values(node)
        declared = node.get("type")
        if isinstance(declared, str):
            kinds = [declared]
        elif isinstance(declared, list):
            kinds = list(declared)
        elif values is not None:
            kinds = sorted({_kind_of_value(v) for v in values})
        elif "properties" in node or "additionalProperties" in node or "required" in node:
            kinds = ["object"]
        elif "items" in node or "prefixItems" in node:
            kinds = ["array"]
        else:
            kinds = ["any"]
        for kind in kinds:
            narrowed = dict(node)
            if len(kinds) > 1:
                narrowed["type"] = kind
                if values is not None:
                    narrowed.pop("const", None)
                    narrowed["enum"] = [v for v in values if _fits(kind, v)]
            yield _Branch(kind, narrowed, ref)

    # -- the walk ----------------------------------------------------------------------------

    def compare(self, old: Any, new: Any, path: str) -> None:
        old_branches = self.branches(self.old, old, path, old=True)
        new_branches = self.branches(self.new, new, path, old=False)
        if any(b.kind == DANGLING for b in (*old_branches, *new_branches)):
            return  # nothing to compare with; a dangling new reference is already reported
        old_kinds = _group(old_branches)
        new_kinds = _group(new_branches)
        if ("any" in old_kinds) != ("any" in new_kinds):
            if "any" in old_kinds:
                self.report(path, f"was unconstrained, now {_kinds(new_kinds)}")
            else:
                self.report(path, f"was {_kinds(old_kinds)}, now unconstrained")
            return
        removed = [k for k in old_kinds if k not in new_kinds]
        added = [k for k in new_kinds if k not in old_kinds]
        lost = [k for k in removed if k != "null"]
        gained = [k for k in added if k != "null"]
        if lost and gained:
            self.report(path, f"type changed from {_kinds(old_kinds)} to {_kinds(new_kinds)}")
        else:
            for kind in lost:
                self.report(path, f"no longer accepts {kind} (was {_kinds(old_kinds)})")
            for kind in gained:
                self.report(path, f"may now be {kind} (was {_kinds(old_kinds)})")
        if "null" in removed:
            self.report(path, "no longer nullable")
        if "null" in added:
            self.report(path, "may now be null")
        for kind, olds in old_kinds.items():
            if kind in new_kinds:
                self._pair(kind, olds, new_kinds[kind], path)

    def _pair(self, kind: str, olds: list[_Branch], news: list[_Branch], path: str) -> None:
        if len(olds) == 1 and len(news) == 1:
            self._compare_branch(kind, olds[0], news[0], path)
            return
        unmatched_new = list(news)
        unmatched_old: list[_Branch] = []
        for o in olds:
            match = next((n for n in unmatched_new if o.name and n.name == o.name), None)
            if match is None:
                unmatched_old.append(o)
            else:
                unmatched_new.remove(match)
                self._compare_branch(kind, o, match, path)
        # Variants renamed without changing shape pair up in order; anything left over is real.
        for o, n in zip(unmatched_old, unmatched_new, strict=False):
            self._compare_branch(kind, o, n, path)
        for o in unmatched_old[len(unmatched_new) :]:
            self.report(path, f"{kind} variant {o.name or '(unnamed)'} removed")
        for n in unmatched_new[len(unmatched_old) :]:
            self.report(path, f"new {kind} variant {n.name or '(unnamed)'}; old readers reject it")

    def _compare_branch(self, kind: str, old: _Branch, new: _Branch, path: str) -> None:
        if old.ref and new.ref:
            if (old.ref, new.ref) in self.seen:
                return
            self.seen.add((old.ref, new.ref))
        o, n = old.schema, new.schema
        self._values(o, n, path)
        if kind == "string":
            self._string(o, n, path)
        elif kind in ("integer", "number"):
            self._number(kind, o, n, path)
        elif kind == "array":
            self._array(o, n, path)
        elif kind == "object":
            self._object(o, n, path)

    # -- per kind ----------------------------------------------------------------------------

    def _values(self, o: JSON, n: JSON, path: str) -> None:
        old_values, new_values = _values(o), _values(n)
        if new_values is None:
            if old_values is not None:
                self.report(path, "no longer restricted to fixed values", breaking=False)
            return
        shown = ", ".join(sorted(_canon(v) for v in new_values))
        if old_values is None:
            self.report(path, f"now restricted to {shown}")
            return
        old_set = {_canon(v) for v in old_values}
        new_set = {_canon(v) for v in new_values}
        if old_set - new_set:
            gone = ", ".join(sorted(old_set - new_set))
            self.report(path, f"enum narrowed: {gone} no longer allowed")
        if new_set - old_set:
            more = ", ".join(sorted(new_set - old_set))
            self.report(path, f"enum widened: {more} added", breaking=False)

    def _string(self, o: JSON, n: JSON, path: str) -> None:
        for keyword in ("pattern", "format"):
            before, after = o.get(keyword), n.get(keyword)
            if after is not None and before != after:
                was = f"{before!r}" if before is not None else "none"
                self.report(path, f"{keyword} narrowed from {was} to {after!r}")
            elif before is not None and after is None:
                self.report(path, f"{keyword} {before!r} dropped", breaking=False)
        self._count_bounds(o, n, path, "minLength", "maxLength", "length")

    def _number(self, kind: str, o: JSON, n: JSON, path: str) -> None:
        integral = kind == "integer"
        for side in ("lower", "upper"):
            before, after = _bound(o, side, integral), _bound(n, side, integral)
            if after is None:
                if before is not None:
                    self.report(path, f"{side} bound {_show(before, side)} dropped", breaking=False)
                continue
            if before is None or _tighter(after, before, side):
                was = _show(before, side) if before else "none"
                self.report(path, f"{side} bound narrowed from {was} to {_show(after, side)}")
            elif after != before:
                self.report(
                    path,
                    f"{side} bound widened from {_show(before, side)} to {_show(after, side)}",
                    breaking=False,
                )
        before_step, after_step = o.get("multipleOf"), n.get("multipleOf")
        if after_step is not None and (
            before_step is None or not _is_multiple(before_step, after_step)
        ):
            self.report(path, f"multipleOf narrowed from {before_step} to {after_step}")

    def _array(self, o: JSON, n: JSON, path: str) -> None:
        self._count_bounds(o, n, path, "minItems", "maxItems", "item count")
        if n.get("uniqueItems") and not o.get("uniqueItems"):
            self.report(path, "items must now be unique")
        old_prefix, new_prefix = o.get("prefixItems", []), n.get("prefixItems", [])
        for index, (before, after) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.compare(before, after, f"{path}[{index}]")
        if len(old_prefix) != len(new_prefix):
            self.report(path, f"tuple length changed from {len(old_prefix)} to {len(new_prefix)}")
        if "items" in o or "items" in n:
            self.compare(o.get("items", True), n.get("items", True), f"{path}[]")

    def _object(self, o: JSON, n: JSON, path: str) -> None:
        old_props: Mapping[str, Any] = o.get("properties", {})
        new_props: Mapping[str, Any] = n.get("properties", {})
        old_required, new_required = set(o.get("required", ())), set(n.get("required", ()))
        old_open = o.get("additionalProperties", True) is not False
        added = [name for name in new_props if name not in old_props]
        for name, schema in old_props.items():
            where = f"{path}.{name}"
            if name not in new_props:
                hint = f" (renamed to {added[0]!r}?)" if len(added) == 1 else ""
                self.report(where, f"property removed{hint}")
                continue
            self.compare(schema, new_props[name], where)
            if name in old_required and name not in new_required:
                self.report(where, "required property became optional")
            elif name not in old_required and name in new_required:
                self.report(where, "optional property became required")
        for name in added:
            where = f"{path}.{name}"
            if name in new_required:
                self.report(where, "new required property")
            elif old_open:
                self.report(where, "new optional property", breaking=False)
            else:
                self.report(
                    where,
                    "new optional property on a closed object (strict old readers reject it)",
                    breaking=False,
                )
        for name in sorted(new_required - set(new_props) - old_required):
            self.report(f"{path}.{name}", "new required property")
        before = o.get("additionalProperties", True)
        after = n.get("additionalProperties", True)
        if after is False and before is not False:
            self.report(path, "additionalProperties closed: unknown properties now rejected")
        elif before is False and after is not False:
            self.report(path, "additionalProperties opened", breaking=False)
        elif before is not False and (isinstance(before, dict) or isinstance(after, dict)):
            self.compare(before, after, f"{path}.*")
        old_patterns: Mapping[str, Any] = o.get("patternProperties", {})
        new_patterns: Mapping[str, Any] = n.get("patternProperties", {})
        for pattern, schema in old_patterns.items():
            if pattern in new_patterns:
                self.compare(schema, new_patterns[pattern], f"{path}[/{pattern}/]")
            else:
                self.report(f"{path}[/{pattern}/]", "pattern property removed")
        for pattern in new_patterns:
            if pattern not in old_patterns:
                self.report(f"{path}[/{pattern}/]", "pattern property added")
        if "propertyNames" in o or "propertyNames" in n:
            self.compare(
                o.get("propertyNames", True), n.get("propertyNames", True), f"{path}.<key>"
            )
        self._count_bounds(o, n, path, "minProperties", "maxProperties", "property count")

    def _count_bounds(self, o: JSON, n: JSON, path: str, low: str, high: str, what: str) -> None:
        old_low, new_low = o.get(low, 0), n.get(low, 0)
        old_high, new_high = o.get(high, math.inf), n.get(high, math.inf)
        if new_low > old_low:
            self.report(path, f"minimum {what} narrowed from {old_low} to {new_low}")
        elif new_low < old_low:
            self.report(path, f"minimum {what} widened to {new_low}", breaking=False)
        if new_high < old_high:
            self.report(path, f"maximum {what} narrowed from {old_high} to {new_high}")
        elif new_high > old_high:
            self.report(path, f"maximum {what} widened to {new_high}", breaking=False)


def _deref(doc: _Doc, node: Any) -> JSON:
    schema = _as_schema(node)
    seen: set[str] = set()
    while "$ref" in schema and schema["$ref"] not in seen:
        seen.add(schema["$ref"])
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**_as_schema(doc.resolve(schema["$ref"])), **siblings}
    return schema


def _merge_all_of(parts: Sequence[JSON]) -> JSON:
    merged: JSON = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged[key] = value
    return merged


def _values(node: JSON) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    if "enum" in node:
        return list(node["enum"])
    return None


def _fits(kind: str, value: Any) -> bool:
    actual = _kind_of_value(value)
    return actual == kind or (kind == "number" and actual == "integer")


def _group(branches: Sequence[_Branch]) -> dict[str, list[_Branch]]:
    grouped: dict[str, list[_Branch]] = {}
    for branch in branches:
        grouped.setdefault(branch.kind, []).append(branch)
    return grouped


def _kinds(grouped: Mapping[str, Any]) -> str:
    return " | ".join(grouped) or "nothing"


Bound = tuple[float, bool]  # (value, exclusive)


def _bound(node: JSON, side: str, integral: bool) -> Bound | None:
    inclusive_key, exclusive_key = (
        ("minimum", "exclusiveMinimum") if side == "lower" else ("maximum", "exclusiveMaximum")
    )
    candidates: list[Bound] = []
    if inclusive_key in node:
        candidates.append((node[inclusive_key], False))
    if exclusive_key in node:
        value = node[exclusive_key]
        if integral and float(value).is_integer():
            # For integers `> 0` and `>= 1` are the same constraint; compare them as equal.
            candidates.append((value + 1 if side == "lower" else value - 1, False))
        else:
            candidates.append((value, True))
    if not candidates:
        return None
    best = candidates[0]
    for candidate in candidates[1:]:
        if _tighter(candidate, best, side):
            best = candidate
    return best


def _tighter(a: Bound, b: Bound, side: str) -> bool:
    """Whether bound `a` admits strictly less than bound `b` on that side."""
    (a_value, a_exclusive), (b_value, b_exclusive) = a, b
    if a_value == b_value:
        return a_exclusive and not b_exclusive
    return a_value > b_value if side == "lower" else a_value < b_value


def _show(bound: Bound, side: str) -> str:
    value, exclusive = bound
    operator = (">" if exclusive else ">=") if side == "lower" else ("<" if exclusive else "<=")
    return f"{operator} {value:g}" if isinstance(value, float) else f"{operator} {value}"


def _is_multiple(value: float, step: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient))


def _referenced(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _referenced(value)
    elif isinstance(node, list):
        for item in node:
            yield from _referenced(item)


def compare_schemas(old: Any, new: Any) -> list[Change]:
    """Every difference between two versions of one event's schema; `.breaking` marks bad ones."""
    comparison = _Comparison(_Doc(old), _Doc(new))
    old_defs = old.get("$defs", {}) if isinstance(old, dict) else {}
    new_defs = new.get("$defs", {}) if isinstance(new, dict) else {}
    used = set(_referenced(old))
    for name in old_defs:
        if name not in new_defs and f"#/$defs/{name}" in used:
            comparison.report(f"#/$defs/{name}", "referenced definition removed")
    comparison.compare(old, new, "$")
    return sorted(set(comparison.changes))


def breaking_changes(old: Any, new: Any) -> list[Change]:
    return [c for c in compare_schemas(old, new) if c.breaking]


def unknown_keywords(schema: Any) -> set[str]:
    """Keywords in `schema` this checker does not understand (property names are not keywords)."""
    found: set[str] = set()

    def walk(node: Any, in_map: bool) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, False)
        elif isinstance(node, dict):
            for key, value in node.items():
                if in_map:
                    walk(value, False)
                    continue
                if key not in KNOWN_KEYWORDS:
                    found.add(key)
                if key in ("default", "examples", "const", "enum", "discriminator"):
                    continue
                walk(value, key in ("properties", "$defs", "patternProperties"))

    walk(schema, False)
    return found


# -- command line ----------------------------------------------------------------------------


def event_type_of(schema: Any, file_name: str) -> str:
    try:
        const = schema["properties"]["type"]["const"]
    except (KeyError, TypeError):
        const = None
    return const if isinstance(const, str) else file_name.removesuffix(".json")
