from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from contracts import generate
from contracts.envelope import CONTENT_TYPE, make_event
from contracts.events import EVENTS, RAW_MESSAGES, EventSpec, RawSpec
from contracts.events import spec as spec_of
from contracts.topics import TOPICS, all_topics
from tests.support.event_samples import SAMPLES
from tests.support.schema_subset import validate


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Parse the committed file, which is what integrators get; test_generate proves it is current.
    text = (generate.CONTRACTS_DIR / generate.ASYNCAPI_FILE).read_text(encoding="utf-8")
    parsed: dict[str, Any] = yaml.safe_load(text)
    return parsed


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve at {part!r}"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for k, v in node.items() if k != "$ref" for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_header_info_and_local_server(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "Market Sentinel"
    assert document["info"]["version"] == generate.CONTRACT_VERSION
    assert document["servers"]["local"] == {
        "host": "127.0.0.1:19092",
        "protocol": "kafka",
        "description": document["servers"]["local"]["description"],
    }
    assert document["defaultContentType"] == CONTENT_TYPE


def test_one_channel_per_catalogued_topic_with_its_kafka_settings(
    document: dict[str, Any],
) -> None:
    channels = document["channels"]
    assert sorted(c["address"] for c in channels.values()) == sorted(t.name for t in all_topics())
    for topic in all_topics():
        channel = channels[topic.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions
        assert kafka["replicas"] >= 1
        assert kafka["topicConfiguration"] == {
            "cleanup.policy": [topic.cleanup_policy],
            "retention.ms": topic.retention_ms,
        }
        for fact in (
            f"key: {topic.key}",
            f"partitions: {topic.partitions}",
            f"cleanup policy: {topic.cleanup_policy}",
            f"retention.ms = {topic.retention_ms}",
            *topic.producers,
            *topic.consumers,
        ):
            assert fact in channel["description"], (topic.name, fact)


def test_an_operation_for_every_producer_and_consumer(document: dict[str, Any]) -> None:
    operations = document["operations"]
    expected = {
        (service, action, topic.name)
        for topic in all_topics()
        for services, action in ((topic.producers, "send"), (topic.consumers, "receive"))
        for service in services
    }
    found = {
        (op["tags"][0]["name"], op["action"], _resolve(document, op["channel"]["$ref"])["address"])
        for op in operations.values()
    }
    assert found == expected
    assert len(operations) == len(expected)


def _payload_of_file(message: dict[str, Any], schema_file: str) -> dict[str, Any]:
    """The message's payload schema, after checking it renders the committed `schema_file`."""
    payload = message["payload"]
    assert set(payload) == {"schemaFormat", "schema"}
    assert payload["schemaFormat"] == "application/schema+json;version=draft-07"
    schema: dict[str, Any] = payload["schema"]
    assert f"./schemas/{schema_file}" in schema["$comment"]
    committed = json.loads((generate.CONTRACTS_DIR / "schemas" / schema_file).read_text())
    assert schema["title"] == committed["title"]
    assert committed["$id"] in schema["$comment"]
    return schema


def test_every_event_is_a_message_on_its_topic(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    assert set(messages) == {generate.message_id(s) for s in (*EVENTS, *RAW_MESSAGES)}
    for spec in EVENTS:
        message = messages[generate.message_id(spec)]
        assert message["name"] == spec.type
        assert message["contentType"] == CONTENT_TYPE
        payload = _payload_of_file(message, spec.schema_file)
        assert payload["properties"]["type"]["const"] == spec.type
        assert message["bindings"]["kafka"]["key"]["description"] == spec.topic.key
        channel = document["channels"][spec.topic.name]
        assert _resolve(document, channel["messages"][generate.message_id(spec)]["$ref"]) == message


def test_operations_carry_the_messages_of_their_channel(document: dict[str, Any]) -> None:
    for name, operation in document["operations"].items():
        channel = _resolve(document, operation["channel"]["$ref"])
        channel_messages = [
            f"{operation['channel']['$ref']}/messages/{key}" for key in channel.get("messages", {})
        ]
        assert [m["$ref"] for m in operation.get("messages", [])] == channel_messages, name


def test_every_internal_reference_resolves(document: dict[str, Any]) -> None:
    internal = [ref for ref in _refs(document) if ref.startswith("#")]
    assert internal
    for ref in internal:
        _resolve(document, ref)


def test_readings_channel_carries_the_raw_reading_without_an_envelope(
    document: dict[str, Any],
) -> None:
    readings = next(t for t in TOPICS if not t.event_types)
    channel = document["channels"][readings.name]
    assert "compact signed reading" in channel["description"]
    assert "contracts/README.md" in channel["description"]
    [raw] = [r for r in RAW_MESSAGES if r.topic == readings]
    message = _resolve(document, channel["messages"][generate.message_id(raw)]["$ref"])
    assert message["contentType"] == "application/json"  # the value is the reading itself
    assert "headers" not in message
    payload = _payload_of_file(message, raw.schema_file)
    assert "data" not in payload.get("properties", {})  # no envelope


def test_catalogued_event_types_without_a_model_are_listed_as_pending(
    document: dict[str, Any],
) -> None:
    modelled = {s.type for s in EVENTS}
    for topic in TOPICS:
        pending = [t for t in topic.event_types if t not in modelled]
        description = document["channels"][topic.name]["description"]
        if pending:
            assert f"schema not published yet: {', '.join(pending)}" in description
        else:
            assert "schema not published yet" not in description


# -- the payloads: draft-07 renderings of the schema files ------------------------------------

# Every keyword of JSON Schema draft-07 (validation and annotations, as in its meta-schema).
DRAFT_07_KEYWORDS = frozenset(
    {
        "$ref", "$comment", "title", "description", "default", "readOnly", "writeOnly", "examples",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
        "minLength", "pattern", "additionalItems", "items", "maxItems", "minItems", "uniqueItems",
        "contains", "maxProperties", "minProperties", "required", "additionalProperties",
        "definitions", "properties", "patternProperties", "dependencies", "propertyNames", "const",
        "enum", "type", "format", "contentMediaType", "contentEncoding", "if", "then", "else",
        "allOf", "anyOf", "oneOf", "not",
    }
)  # fmt: skip


def _keywords(node: Any) -> set[str]:
    if isinstance(node, list):
        return {k for item in node for k in _keywords(item)}
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            found |= {k for sub in value.values() for k in _keywords(sub)}
        elif key not in ("enum", "const", "default", "examples"):
            found |= _keywords(value)
    return found


def _payloads(document: dict[str, Any]) -> dict[str, Any]:
    return {
        name: message["payload"]["schema"]
        for name, message in document["components"]["messages"].items()
    }


def _inline(node: Any, resolve: Any, seen: tuple[str, ...] = ()) -> Any:
    """`node` with every `$ref` replaced by what it points at, comments and `$defs` left out."""
    if isinstance(node, list):
        return [_inline(item, resolve, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, f"recursive reference {ref}: extend this test"
        return _inline(resolve(ref), resolve, (*seen, ref)) | {
            k: _inline(v, resolve, seen) for k, v in node.items() if k != "$ref"
        }
    skipped = {"$schema", "$id", "$defs", "$comment", "discriminator"}
    return {
        k: v if k in ("enum", "const", "default", "examples") else _inline(v, resolve, seen)
        for k, v in node.items()
        if k not in skipped
    }


def test_payloads_use_only_draft_07_keywords(document: dict[str, Any]) -> None:
    used = _keywords(list(_payloads(document).values())) | _keywords(
        list(document["components"]["schemas"].values())
    )
    assert used - DRAFT_07_KEYWORDS == set()
    assert "$ref" in used


def test_payload_references_point_into_the_document(document: dict[str, Any]) -> None:
    refs = _refs(_payloads(document)) + _refs(document["components"]["schemas"])
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        _resolve(document, ref)


@pytest.mark.parametrize("declared", [*EVENTS, *RAW_MESSAGES], ids=lambda s: s.schema_file)
def test_each_payload_says_what_its_schema_file_says(
    document: dict[str, Any], declared: EventSpec | RawSpec
) -> None:
    # The same schema once every reference is inlined, but for what draft-07 spells differently.
    schema_file = generate.CONTRACTS_DIR / "schemas" / declared.schema_file
    committed = json.loads(schema_file.read_text(encoding="utf-8"))
    payload = _payloads(document)[generate.message_id(declared)]

    def in_file(ref: str) -> Any:
        return committed["$defs"][ref.removeprefix("#/$defs/")]

    assert _inline(payload, lambda ref: _resolve(document, ref)) == _inline(committed, in_file)


def test_sample_events_validate_against_the_payloads(document: dict[str, Any]) -> None:
    payloads = _payloads(document)
    for event_type, data in SAMPLES.items():
        event = spec_of(event_type)
        wire = json.loads(
            make_event(
                service="registry",
                event_type=event_type,
                version=event.version,
                subject="s-1",
                data=data,
            ).to_json()
        )
        payload = payloads[generate.message_id(event)]
        assert validate(wire, payload, root=document) == [], event_type
        del wire["data"][next(iter(wire["data"]))]  # a required field of the data, gone
        assert validate(wire, payload, root=document) != [], event_type


def _rendered(schemas: dict[str, Any]) -> dict[str, Any]:
    draft07 = generate._Draft07(schemas)
    return {
        "components": draft07.components,
        "payloads": {
            owner: draft07.payload(owner, schema, f"{owner}.json")
            for owner, schema in schemas.items()
        },
    }


def _schema(**defs: Any) -> dict[str, Any]:
    return {"$schema": generate.JSON_SCHEMA_DIALECT, "$id": "https://x/a", "$defs": defs}


def test_same_named_definitions_are_shared_or_told_apart() -> None:
    point = {"type": "object", "properties": {"x": {"type": "number"}}}
    other = {"type": "string"}
    rendered = _rendered(
        {
            "a.v1": _schema(Point=point, Tag=other) | {"$ref": "#/$defs/Point"},
            "b.v1": _schema(Point=point, Tag={"type": "integer"}) | {"$ref": "#/$defs/Tag"},
        }
    )
    assert rendered["components"] == {
        "Point": point,
        "a.v1.Tag": other,
        "b.v1.Tag": {"type": "integer"},
    }
    assert rendered["payloads"]["a.v1"]["schema"]["$ref"] == "#/components/schemas/Point"
    assert rendered["payloads"]["b.v1"]["schema"]["$ref"] == "#/components/schemas/b.v1.Tag"


def test_2020_12_only_constructs_are_rendered_in_draft_07_terms() -> None:
    schema = _schema(Reading={"type": "object"}) | {
        "properties": {
            "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
            "reading": {"$ref": "#/$defs/Reading", "description": "the reading"},
        },
        "oneOf": [{"$ref": "#/$defs/Reading"}],
        "discriminator": {"propertyName": "kind", "mapping": {"a": "#/$defs/Reading"}},
    }
    payload = _rendered({"a.v1": schema})["payloads"]["a.v1"]
    assert payload["schemaFormat"] == "application/schema+json;version=draft-07"
    rendered = payload["schema"]
    assert rendered["properties"]["pair"] == {
        "type": "array",
        "items": [{"type": "string"}],
        "additionalItems": False,
    }
    # draft-07 ignores a $ref's siblings; inside an allOf they count
    assert rendered["properties"]["reading"] == {
        "allOf": [{"$ref": "#/components/schemas/Reading"}],
        "description": "the reading",
    }
    assert "discriminator" not in rendered
    assert not {"$schema", "$id", "$defs"} & set(rendered)


def test_a_reference_outside_the_schema_cannot_be_rendered() -> None:
    with pytest.raises(generate.ContractError, match="cannot render reference"):
        _rendered({"a.v1": _schema() | {"$ref": "https://elsewhere/x.json"}})
