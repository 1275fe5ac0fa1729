"""The compatibility rules, each shown on a hand-made pair of schemas."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.compat import Change, breaking_changes, compare_schemas


def obj(required: tuple[str, ...] = (), closed: bool = False, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
NULLABLE_STR = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


def breaking(old: Any, new: Any) -> list[tuple[str, str]]:
    return [(c.path, c.reason) for c in breaking_changes(old, new)]


def notes(old: Any, new: Any) -> list[tuple[str, str]]:
    return [(c.path, c.reason) for c in compare_schemas(old, new) if not c.breaking]


# -- breaking --------------------------------------------------------------------------------


def test_removed_property_is_breaking_and_a_rename_is_hinted() -> None:
    old = obj(("name",), name=STR, note=STR)
    assert breaking(old, obj(("name",), name=STR)) == [("$.note", "property removed")]
    assert breaking(old, obj(("name",), name=STR, remark=STR)) == [
        ("$.note", "property removed (renamed to 'remark'?)")
    ]


def test_changed_type_is_breaking_in_both_directions() -> None:
    assert breaking(obj(n=INT), obj(n=STR)) == [("$.n", "type changed from integer to string")]
    # integer -> number lets new readers read old events, but old readers choke on 1.5
    assert breaking(obj(n=INT), obj(n={"type": "number"})) == [
        ("$.n", "type changed from integer to number")
    ]


def test_making_a_property_nullable_or_not_is_breaking() -> None:
    assert breaking(obj(s=STR), obj(s=NULLABLE_STR)) == [("$.s", "may now be null")]
    assert breaking(obj(s=NULLABLE_STR), obj(s=STR)) == [("$.s", "no longer nullable")]


def test_new_required_property_is_breaking() -> None:
    assert breaking(obj(a=STR), obj(("b",), a=STR, b=STR)) == [("$.b", "new required property")]


def test_optional_to_required_and_back_are_breaking() -> None:
    assert breaking(obj(a=STR), obj(("a",), a=STR)) == [
        ("$.a", "optional property became required")
    ]
    assert breaking(obj(("a",), a=STR), obj(a=STR)) == [
        ("$.a", "required property became optional")
    ]


def test_narrowed_enum_and_new_or_changed_const_are_breaking() -> None:
    wide = {"type": "string", "enum": ["a", "b", "c"]}
    assert breaking(obj(k=wide), obj(k={"type": "string", "enum": ["a", "c"]})) == [
        ("$.k", 'enum narrowed: "b" no longer allowed')
    ]
    assert breaking(obj(k=STR), obj(k={"type": "string", "const": "a"})) == [
        ("$.k", 'now restricted to "a"')
    ]
    assert breaking(obj(k={"const": "a", "type": "string"}), obj(k={"const": "b"})) == [
        ("$.k", 'enum narrowed: "a" no longer allowed')
    ]


def test_new_or_changed_pattern_and_format_are_breaking() -> None:
    assert breaking(obj(s=STR), obj(s={"type": "string", "pattern": "^a"})) == [
        ("$.s", "pattern narrowed from none to '^a'")
    ]
    assert breaking(
        obj(s={"type": "string", "pattern": "^a"}), obj(s={"type": "string", "pattern": "^b"})
    ) == [("$.s", "pattern narrowed from '^a' to '^b'")]
    assert breaking(obj(s=STR), obj(s={"type": "string", "format": "date"})) == [
        ("$.s", "format narrowed from none to 'date'")
    ]


def test_tighter_bounds_are_breaking() -> None:
    assert breaking(obj(n={"type": "integer", "minimum": 1}), obj(n={**INT, "minimum": 2})) == [
        ("$.n", "lower bound narrowed from >= 1 to >= 2")
    ]
    assert breaking(obj(n=INT), obj(n={**INT, "maximum": 10})) == [
        ("$.n", "upper bound narrowed from none to <= 10")
    ]
    assert breaking(obj(s=STR), obj(s={**STR, "maxLength": 3})) == [
        ("$.s", "maximum length narrowed from inf to 3")
    ]
    assert breaking(
        obj(a={"type": "array", "items": STR}),
        obj(a={"type": "array", "items": STR, "minItems": 1}),
    ) == [("$.a", "minimum item count narrowed from 0 to 1")]
    assert breaking(obj(n={"type": "number"}), obj(n={"type": "number", "multipleOf": 0.5})) == [
        ("$.n", "multipleOf narrowed from None to 0.5")
    ]


def test_equivalent_integer_bounds_are_not_a_change() -> None:
    # pydantic writes gt=0 as exclusiveMinimum 0; ge=1 is the same set of integers
    assert (
        compare_schemas(obj(n={**INT, "exclusiveMinimum": 0}), obj(n={**INT, "minimum": 1})) == []
    )


def test_closing_additional_properties_is_breaking() -> None:
    assert breaking(obj(a=STR), obj(closed=True, a=STR)) == [
        ("$", "additionalProperties closed: unknown properties now rejected")
    ]


def test_constraining_map_values_is_breaking() -> None:
    old = {"type": "object", "additionalProperties": True}
    new = {"type": "object", "additionalProperties": INT}
    assert breaking(old, new) == [("$.*", "was unconstrained, now integer")]


def test_changes_are_found_through_refs_into_defs() -> None:
    def envelope(hours: dict[str, Any]) -> dict[str, Any]:
        return {
            "$defs": {"Hours": hours, "Market": obj(("hours",), hours={"$ref": "#/$defs/Hours"})},
            **obj(("data",), data={"$ref": "#/$defs/Market"}),
        }

    old = envelope(obj(("open",), open=STR))
    new = envelope(obj(("open",), open=INT))
    assert breaking(old, new) == [("$.data.hours.open", "type changed from string to integer")]


def test_changes_are_found_inside_optional_anyof_with_null() -> None:
    def schema(leader: dict[str, Any]) -> dict[str, Any]:
        task_force = {"anyOf": [{"$ref": "#/$defs/TaskForce"}, {"type": "null"}], "default": None}
        return {"$defs": {"TaskForce": obj(("leader",), leader=leader)}, **obj(tf=task_force)}

    assert breaking(schema(STR), schema(INT)) == [
        ("$.tf.leader", "type changed from string to integer")
    ]


def test_changes_are_found_in_array_items() -> None:
    old = obj(items={"type": "array", "items": obj(("sku",), sku=STR)})
    new = obj(items={"type": "array", "items": obj(sku=STR)})
    assert breaking(old, new) == [("$.items[].sku", "required property became optional")]


def test_removing_a_referenced_definition_is_breaking_even_if_the_shape_is_kept() -> None:
    # Integrators may `$ref` a schema's `$defs` from their own schemas.
    old = {"$defs": {"Hours": obj(open=STR)}, **obj(h={"$ref": "#/$defs/Hours"})}
    new = {"$defs": {"OpeningHours": obj(open=STR)}, **obj(h={"$ref": "#/$defs/OpeningHours"})}
    assert breaking(old, new) == [("#/$defs/Hours", "referenced definition removed")]


def test_a_reference_that_does_not_resolve_is_breaking() -> None:
    old = {"$defs": {"Hours": obj(open=STR)}, **obj(h={"$ref": "#/$defs/Hours"})}
    new = {"$defs": {"Hours": obj(open=STR)}, **obj(h={"$ref": "#/$defs/Gone"})}
    assert breaking(old, new) == [("$.h", "reference #/$defs/Gone does not resolve")]


def test_removed_union_variant_is_breaking() -> None:
    variants = {
        "$defs": {"Cold": obj(t={"const": "cold"}), "Foot": obj(t={"const": "foot"})},
    }
    old = {**variants, **obj(r={"oneOf": [{"$ref": "#/$defs/Cold"}, {"$ref": "#/$defs/Foot"}]})}
    new = {**variants, **obj(r={"oneOf": [{"$ref": "#/$defs/Cold"}]})}
    assert breaking(old, new) == [("$.r", "object variant Foot removed")]
    assert breaking(new, old) == [("$.r", "new object variant Foot; old readers reject it")]


def test_recursive_models_terminate() -> None:
    node = obj(children={"type": "array", "items": {"$ref": "#/$defs/Node"}}, name=STR)
    old = {"$defs": {"Node": node}, "$ref": "#/$defs/Node"}
    new = copy.deepcopy(old)
    new["$defs"]["Node"]["properties"]["name"] = INT
    assert breaking(old, new) == [("$.name", "type changed from string to integer")]


# -- compatible ------------------------------------------------------------------------------


def test_new_optional_property_is_compatible() -> None:
    assert breaking(obj(("a",), a=STR), obj(("a",), a=STR, b=NULLABLE_STR)) == []
    assert notes(obj(("a",), a=STR), obj(("a",), a=STR, b=NULLABLE_STR)) == [
        ("$.b", "new optional property")
    ]


def test_widened_enum_is_compatible() -> None:
    old = obj(k={"type": "string", "enum": ["a"]})
    new = obj(k={"type": "string", "enum": ["a", "b"]})
    assert breaking(old, new) == []
    assert notes(old, new) == [("$.k", 'enum widened: "b" added')]


def test_widened_bounds_and_dropped_pattern_are_compatible() -> None:
    old = obj(n={**INT, "minimum": 5}, s={**STR, "pattern": "^a"})
    new = obj(n={**INT, "minimum": 0}, s=STR)
    assert breaking(old, new) == []
    assert {path for path, _ in notes(old, new)} == {"$.n", "$.s"}


def test_annotations_do_not_matter() -> None:
    old = obj(a={**STR, "title": "A", "description": "old words", "examples": ["x"]})
    new = obj(a={**STR, "title": "Alpha", "description": "new words"})
    assert compare_schemas(old, new) == []


def test_changes_render_as_type_path_reason() -> None:
    change = Change("$.data.kind", 'enum narrowed: "x" no longer allowed')
    assert change.render("registry.market.upserted") == (
        'registry.market.upserted: $.data.kind: enum narrowed: "x" no longer allowed'
    )


# -- properties over generated schemas -------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.just({"type": "boolean"}),
    st.builds(lambda lo: {"type": "integer", "minimum": lo}, st.integers(-5, 5)),
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True).map(
        lambda values: {"type": "string", "enum": values}
    ),
    st.just({"type": "string", "pattern": "^[a-z]+$", "maxLength": 8}),
)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(NAMES, children, min_size=1, max_size=4))
        required = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
        closed = draw(st.booleans())
        return obj(tuple(required), closed, **props)

    return build()


SCHEMAS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        _objects(children),
        children.map(lambda item: {"type": "array", "items": item}),
        children.map(lambda inner: {"anyOf": [inner, {"type": "null"}], "default": None}),
    ),
    max_leaves=12,
)
ROOTS = _objects(SCHEMAS)


@given(ROOTS)
def test_a_schema_is_compatible_with_itself(schema: dict[str, Any]) -> None:
    assert compare_schemas(schema, copy.deepcopy(schema)) == []


@given(ROOTS, SCHEMAS)
def test_adding_an_optional_property_never_breaks(schema: dict[str, Any], extra: Any) -> None:
    grown = copy.deepcopy(schema)
    grown["properties"]["zz_new"] = extra
    assert breaking(schema, grown) == []


@given(ROOTS, st.data())
def test_removing_any_property_breaks_at_its_path(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(schema["properties"])))
    shrunk = copy.deepcopy(schema)
    del shrunk["properties"][name]
    shrunk["required"] = [r for r in shrunk["required"] if r != name]
    assert (f"$.{name}", "property removed") in breaking(schema, shrunk)


@given(ROOTS, st.data())
def test_making_any_optional_property_required_breaks(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    optional = sorted(set(schema["properties"]) - set(schema["required"]))
    if not optional:
        schema["properties"]["zz_opt"] = {"type": "string"}
        optional = ["zz_opt"]
    name = data.draw(st.sampled_from(optional))
    stricter = copy.deepcopy(schema)
    stricter["required"].append(name)
    assert breaking(schema, stricter) == [(f"$.{name}", "optional property became required")]


@settings(max_examples=50)
@given(ROOTS)
def test_moving_every_object_into_defs_changes_nothing(schema: dict[str, Any]) -> None:
    # pydantic decides which models become `$defs`; that choice alone must not look like a change.
    defs: dict[str, Any] = {}

    def hoist(node: Any) -> Any:
        if isinstance(node, list):
            return [hoist(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {
            k: (hoist(v) if k != "properties" else {p: hoist(s) for p, s in v.items()})
            for k, v in node.items()
        }
        if node.get("type") == "object":
            name = f"M{len(defs)}"
            defs[name] = node
            return {"$ref": f"#/$defs/{name}"}
        return node

    root = {"$defs": defs, **hoist(schema)}
    assert compare_schemas(schema, root) == []
    assert compare_schemas(root, root) == []
