from __future__ import annotations

from typing import Any

import pytest
import yaml

from contracts import generate
from contracts.envelope import CONTENT_TYPE
from contracts.events import EVENTS, RAW_MESSAGES
from contracts.topics import TOPICS, all_topics


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


def test_every_event_is_a_message_on_its_topic(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    assert set(messages) == {generate.message_id(s) for s in (*EVENTS, *RAW_MESSAGES)}
    for spec in EVENTS:
        message = messages[generate.message_id(spec)]
        assert message["name"] == spec.type
        assert message["contentType"] == CONTENT_TYPE
        assert message["payload"] == {"$ref": f"./schemas/{spec.schema_file}"}
        assert (generate.CONTRACTS_DIR / "schemas" / spec.schema_file).is_file()
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
    assert "DESIGN §6" in channel["description"]
    [raw] = [r for r in RAW_MESSAGES if r.topic == readings]
    message = _resolve(document, channel["messages"][generate.message_id(raw)]["$ref"])
    assert message["contentType"] == "application/json"  # the value is the reading itself
    assert "headers" not in message
    assert message["payload"] == {"$ref": f"./schemas/{raw.schema_file}"}
    assert (generate.CONTRACTS_DIR / "schemas" / raw.schema_file).is_file()


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
