"""Generate the published contract files from the models: JSON Schemas and the AsyncAPI document.

    python -m contracts.generate          write contracts/schemas/*.json, contracts/asyncapi.yaml
    python -m contracts.generate --check  exit 1, writing nothing, if those files are not current

The models in this package are the source of truth; the generated files are what integrators
read, so they are committed and CI refuses a commit where the two disagree.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from contracts import events as events_module
from contracts.envelope import CONTENT_TYPE
from contracts.events import EventSpec, RawSpec
from contracts.topics import DAY_MS, FOREVER, Topic, all_topics

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = "schemas"
ASYNCAPI_FILE = "asyncapi.yaml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# AsyncAPI 3 payloads are multi-format schema objects. The official parser (@asyncapi/parser 3)
# reads JSON Schema draft-07 (and the AsyncAPI Schema, its superset), not 2020-12, so the document
# carries a draft-07 rendering of each schema file; the files stay the canonical 2020-12 schemas.
PAYLOAD_SCHEMA_FORMAT = "application/schema+json;version=draft-07"
COMPONENT_SCHEMAS = "#/components/schemas/"

# The version of the contract as a whole, shown in the AsyncAPI info. Bump the minor part when an
# event type or an optional field is added; a major bump comes only with new `.v<major>` topics.
CONTRACT_VERSION = "1.8.0"
LOCAL_KAFKA = "127.0.0.1:19092"
# The development cluster is a single KRaft node; production sets its own replication.
LOCAL_REPLICAS = 1
KAFKA_BINDING_VERSION = "0.4.0"

# CloudEvents 1.0 makes `id` and `specversion` REQUIRED, and every Sentinel event carries its
# `time` (contracts/README.md, "Reading an event"). The model fills them in when absent, a
# convenience for producers in Python, not a licence for other producers to leave them out, so
# the published schema requires them.
ALWAYS_PRESENT = ("specversion", "id", "time")

JSON = dict[str, Any]


class ContractError(ValueError):
    """The models and the topic catalog contradict each other; nothing sensible can be generated."""


def envelope_schema(spec: EventSpec) -> JSON:
    """The JSON Schema (draft 2020-12) of the whole CloudEvent carrying `spec`'s data."""
    model: Any = spec.envelope[spec.data]
    schema: JSON = copy.deepcopy(model.model_json_schema())
    props: JSON = schema["properties"]
    props["type"] = {
        "const": spec.type,
        "description": "the event type",
        "title": "Type",
        "type": "string",
    }
    props["dataschema"] = {
        "const": spec.schema_id,
        "description": "the id of this JSON Schema; its last path segment is the schema version",
        "format": "uri",
        "title": "Dataschema",
        "type": "string",
    }
    required: list[str] = schema["required"]
    schema["required"] = [*[f for f in ALWAYS_PRESENT if f not in required], *required]
    doc = (spec.data.__doc__ or "").strip().splitlines()
    summary = f" {doc[0]}" if doc else ""
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = spec.schema_id
    schema["title"] = f"{spec.type} v{spec.version}"
    schema["description"] = (
        f"CloudEvents 1.0 structured-mode event `{spec.type}` (schema v{spec.version}) on topic "
        f"`{spec.topic.name}`, Kafka key = {spec.topic.key}.{summary}"
    )
    return schema


def raw_schema(spec: RawSpec) -> JSON:
    """The JSON Schema of a message sent without an envelope: the model's own schema."""
    schema: JSON = copy.deepcopy(TypeAdapter(spec.model).json_schema())
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = spec.schema_id
    schema["title"] = f"{spec.name} v{spec.version}"
    schema["description"] = (
        f"`{spec.name}` (schema v{spec.version}) on topic `{spec.topic.name}`, Kafka key = "
        f"{spec.topic.key}; the message value itself, no CloudEvents envelope. {spec.summary}"
    )
    return schema


def _raw_default(
    specs: Sequence[EventSpec] | None, raw: Sequence[RawSpec] | None
) -> Sequence[RawSpec]:
    # Explicit `specs` describe a whole alternative contract, so they bring no raw messages
    # unless given some; the defaults are this package's.
    if raw is not None:
        return raw
    return events_module.RAW_MESSAGES if specs is None else ()


def dump_json(schema: JSON) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line descriptions as literal blocks, so the document reads like the catalog does."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(document: JSON) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _retention(ms: int) -> str:
    if ms == FOREVER:
        return "forever (retention.ms = -1)"
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS} days (retention.ms = {ms})"
    return f"retention.ms = {ms}"


def message_id(spec: EventSpec | RawSpec) -> str:
    name = spec.type if isinstance(spec, EventSpec) else spec.name
    return f"{name}.v{spec.version}"


def _channel_description(topic: Topic, specs: Sequence[EventSpec]) -> str:
    modelled = {s.type for s in specs}
    lines = [
        topic.description,
        "",
        f"- key: {topic.key}",
        f"- partitions: {topic.partitions}",
        f"- cleanup policy: {topic.cleanup_policy}",
        f"- retention: {_retention(topic.retention_ms)}",
        f"- producers: {', '.join(topic.producers) or 'none'}",
        f"- consumers: {', '.join(topic.consumers) or 'none (for integrators and operators)'}",
    ]
    if topic.event_types:
        lines.append(f"- event types: {', '.join(topic.event_types)}")
    pending = [t for t in topic.event_types if t not in modelled]
    if pending:
        lines.append(f"- declared, schema not published yet: {', '.join(pending)}")
    if topic.name.endswith(".dlq"):
        lines += [
            "",
            "Payload: a message a consumer could not handle, with the error, the source topic, "
            "partition and offset (contracts/README.md, section Topics).",
        ]
    elif not topic.event_types:
        lines += [
            "",
            "Payload: the compact signed reading, not a CloudEvents envelope; "
            "contracts/README.md, section Readings, defines the canonical form and the "
            "HMAC-SHA256 `sig`.",
        ]
    return "\n".join(lines)


def _kafka_channel_binding(topic: Topic) -> JSON:
    return {
        "partitions": topic.partitions,
        "replicas": LOCAL_REPLICAS,
        "topicConfiguration": {
            "cleanup.policy": [topic.cleanup_policy],
            "retention.ms": topic.retention_ms,
        },
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


# -- the draft-07 rendering of the payload schemas ---------------------------------------------

# Keywords whose value is data, not a schema; they are copied as they are.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose value maps names (not keywords) to schemas.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties"})
_COMPONENT_KEY = re.compile(r"[^A-Za-z0-9._-]")


class _Draft07:
    """Renders the 2020-12 schemas as draft-07 schemas inside one AsyncAPI document.

    Every `$defs` entry becomes a shared `components.schemas` entry under its model name (the same
    name in two schemas with different content gets the message id as a prefix, for both), and
    the internal `$ref`s point there. Beyond that: `prefixItems` becomes draft-07's array `items`
    (and `items` `additionalItems`); a `$ref` with sibling keywords is wrapped in an `allOf`
    (draft-07 ignores a `$ref`'s siblings); pydantic's OpenAPI-style object `discriminator` is
    left out: the AsyncAPI Schema's `discriminator` is a property name with other semantics, and
    the `oneOf` variants already fix the tag property with a `const`.
    """

    def __init__(self, schemas: Mapping[str, JSON]) -> None:
        by_name: dict[str, set[str]] = {}
        for schema in schemas.values():
            for name, definition in schema.get("$defs", {}).items():
                by_name.setdefault(name, set()).add(dump_json(definition))
        self.keys: dict[tuple[str, str], str] = {}
        for owner, schema in schemas.items():
            for name in schema.get("$defs", {}):
                key = name if len(by_name[name]) == 1 else f"{owner}.{name}"
                self.keys[(owner, name)] = _COMPONENT_KEY.sub("_", key)
        self.components: JSON = {}
        for owner, schema in schemas.items():
            for name, definition in schema.get("$defs", {}).items():
                self.components[self.keys[(owner, name)]] = self._convert(definition, owner)
        self.components = dict(sorted(self.components.items()))

    def payload(self, owner: str, schema: JSON, schema_file: str) -> JSON:
        root = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
        rendered = self._convert(root, owner)
        rendered["$comment"] = (
            f"draft-07 rendering of ./{SCHEMAS_DIR}/{schema_file} ($id {schema['$id']}), the "
            "canonical JSON Schema (draft 2020-12) of this message"
        )
        return {"schemaFormat": PAYLOAD_SCHEMA_FORMAT, "schema": rendered}

    def _ref(self, owner: str, ref: str) -> str:
        prefix = "#/$defs/"
        name = ref.removeprefix(prefix)
        if not ref.startswith(prefix) or (owner, name) not in self.keys:
            raise ContractError(f"{owner}: cannot render reference {ref!r} for AsyncAPI")
        return COMPONENT_SCHEMAS + self.keys[(owner, name)]

    def _convert(self, node: Any, owner: str) -> Any:
        if isinstance(node, list):
            return [self._convert(item, owner) for item in node]
        if not isinstance(node, dict):
            return node
        out: JSON = {}
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                out[key] = copy.deepcopy(value)
            elif key == "discriminator" and isinstance(value, dict):
                continue
            elif key == "$ref":
                out[key] = self._ref(owner, value)
            elif key in _SCHEMA_MAPS:
                out[key] = {name: self._convert(sub, owner) for name, sub in value.items()}
            elif key == "prefixItems":
                out["items"] = self._convert(value, owner)
            elif key == "items" and "prefixItems" in node:
                out["additionalItems"] = self._convert(value, owner)
            elif key in ("$defs", "$schema", "$id"):
                raise ContractError(f"{owner}: nested {key} cannot be rendered for AsyncAPI")
            else:
                out[key] = self._convert(value, owner)
        if "$ref" in out and len(out) > 1:
            siblings = {k: v for k, v in out.items() if k != "$ref"}
            return {"allOf": [{"$ref": out["$ref"]}], **siblings}
        return out


def _message(spec: EventSpec, payload: JSON) -> JSON:
    doc = (spec.data.__doc__ or "").strip()
    message: JSON = {
        "name": spec.type,
        "title": f"{spec.type} v{spec.version}",
        "summary": doc.splitlines()[0] if doc else spec.type,
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                "content-type": {
                    "type": "string",
                    "const": CONTENT_TYPE,
                    "description": "CloudEvents structured mode: the whole event is the value",
                }
            },
            "required": ["content-type"],
        },
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": spec.topic.key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if doc and len(doc.splitlines()) > 1:
        message["description"] = doc
    return message


def _raw_message(spec: RawSpec, payload: JSON) -> JSON:
    return {
        "name": spec.name,
        "title": f"{spec.name} v{spec.version}",
        "summary": spec.summary,
        "contentType": "application/json",
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": spec.topic.key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def operation_id(service: str, action: str, topic: Topic) -> str:
    return f"{service}.{action}.{topic.name}"


def asyncapi_document(
    specs: Sequence[EventSpec] | None = None, raw: Sequence[RawSpec] | None = None
) -> JSON:
    raw = _raw_default(specs, raw)
    specs = _validated(events_module.EVENTS if specs is None else specs, raw)
    channels: JSON = {}
    operations: JSON = {}
    messages: JSON = {}
    sources: dict[str, tuple[JSON, str]] = {
        message_id(s): (envelope_schema(s), s.schema_file) for s in specs
    }
    sources |= {message_id(r): (raw_schema(r), r.schema_file) for r in raw}
    draft07 = _Draft07({owner: schema for owner, (schema, _) in sources.items()})

    def payload(owner: str) -> JSON:
        schema, schema_file = sources[owner]
        return draft07.payload(owner, schema, schema_file)

    for topic in all_topics():
        on_topic = [s for s in specs if s.topic.name == topic.name]
        raw_on_topic = [r for r in raw if r.topic.name == topic.name]
        carried: list[EventSpec | RawSpec] = [*on_topic, *raw_on_topic]
        channel: JSON = {
            "address": topic.name,
            "title": topic.name,
            "description": _channel_description(topic, on_topic),
        }
        if carried:
            channel["messages"] = {
                message_id(s): {"$ref": f"#/components/messages/{message_id(s)}"} for s in carried
            }
        channel["bindings"] = {"kafka": _kafka_channel_binding(topic)}
        channels[topic.name] = channel
        for services, action in ((topic.producers, "send"), (topic.consumers, "receive")):
            for service in services:
                operation: JSON = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{topic.name}"},
                    "title": f"{service} {action}s on {topic.name}",
                    "tags": [{"name": service}],
                }
                if carried:
                    operation["messages"] = [
                        {"$ref": f"#/channels/{topic.name}/messages/{message_id(s)}"}
                        for s in carried
                    ]
                operations[operation_id(service, action, topic)] = operation
        for s in on_topic:
            messages[message_id(s)] = _message(s, payload(message_id(s)))
        for r in raw_on_topic:
            messages[message_id(r)] = _raw_message(r, payload(message_id(r)))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Market Sentinel",
            "version": CONTRACT_VERSION,
            "description": (
                "Topics and events of Market Sentinel. Every event is a CloudEvents 1.0 event in "
                "structured mode (Kafka header `content-type: application/cloudevents+json`, "
                "the value is one JSON object). Each message's payload is the JSON Schema of the "
                "whole value, rendered as draft-07 with shared definitions in "
                "`components.schemas`; the canonical schemas (draft 2020-12) are the files "
                "`schemas/<type>.v<N>.json` next to this document, also served by every service "
                "at `/schemas/<type>.v<N>.json`. Readings on `telemetry.readings.v1` are the "
                "exception: compact signed objects without an envelope. See contracts/README.md."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": LOCAL_KAFKA,
                "protocol": "kafka",
                "description": "the development broker started by `make up` (KRaft, one node)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": draft07.components, "messages": messages},
    }


def _validated(specs: Sequence[EventSpec], raw: Sequence[RawSpec] = ()) -> Sequence[EventSpec]:
    catalog = {t.name: t for t in all_topics()}
    problems: list[str] = []
    files: dict[str, str] = {}
    for r in raw:
        if catalog.get(r.topic.name) != r.topic:
            problems.append(f"{r.name} v{r.version}: topic {r.topic.name} is not in the catalog")
        elif r.topic.event_types:
            problems.append(f"{r.name} v{r.version}: {r.topic.name} carries enveloped events")
        if r.schema_file in files:
            problems.append(f"{r.name} v{r.version}: declared twice")
        files[r.schema_file] = r.name
    for s in specs:
        if catalog.get(s.topic.name) != s.topic:
            problems.append(f"{s.type} v{s.version}: topic {s.topic.name} is not in the catalog")
        elif s.type not in s.topic.event_types:
            problems.append(f"{s.type} v{s.version}: not among {s.topic.name}'s event types")
        if s.schema_file in files:
            problems.append(f"{s.type} v{s.version}: declared twice")
        files[s.schema_file] = s.type
    if problems:
        raise ContractError("; ".join(problems))
    return specs


def render_schemas(
    specs: Sequence[EventSpec] | None = None, raw: Sequence[RawSpec] | None = None
) -> dict[str, str]:
    """The schema files alone (no AsyncAPI document), keyed by their file name."""
    raw = _raw_default(specs, raw)
    specs = _validated(events_module.EVENTS if specs is None else specs, raw)
    files = {s.schema_file: dump_json(envelope_schema(s)) for s in specs}
    files |= {r.schema_file: dump_json(raw_schema(r)) for r in raw}
    return files


def render(
    specs: Sequence[EventSpec] | None = None, raw: Sequence[RawSpec] | None = None
) -> dict[str, str]:
    """Every generated file, keyed by its path relative to the contracts directory."""
    raw = _raw_default(specs, raw)
    specs = _validated(events_module.EVENTS if specs is None else specs, raw)
    files = {f"{SCHEMAS_DIR}/{name}": text for name, text in render_schemas(specs, raw).items()}
    files[ASYNCAPI_FILE] = dump_yaml(asyncapi_document(specs, raw))
    return files


def _on_disk(directory: Path) -> dict[str, str]:
    found = {
        f"{SCHEMAS_DIR}/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((directory / SCHEMAS_DIR).glob("*.json"))
    }
    asyncapi = directory / ASYNCAPI_FILE
    if asyncapi.exists():
        found[ASYNCAPI_FILE] = asyncapi.read_text(encoding="utf-8")
    return found


def check(directory: Path = CONTRACTS_DIR, specs: Sequence[EventSpec] | None = None) -> list[str]:
    """What differs between the files in `directory` and what would be generated; empty if none."""
    expected = render(specs)
    actual = _on_disk(directory)
    problems = [
        f"stale: {path}"
        for path in sorted(expected)
        if path in actual and actual[path] != expected[path]
    ]
    problems += [f"missing: {path}" for path in sorted(expected) if path not in actual]
    problems += [
        f"extra: {path} (no event declares it)" for path in sorted(actual) if path not in expected
    ]
    return problems


def write(directory: Path = CONTRACTS_DIR, specs: Sequence[EventSpec] | None = None) -> list[str]:
    """Bring `directory` up to date; returns the paths it wrote or removed."""
    expected = render(specs)
    actual = _on_disk(directory)
    changed: list[str] = []
    (directory / SCHEMAS_DIR).mkdir(parents=True, exist_ok=True)
    for path, content in expected.items():
        if actual.get(path) != content:
            (directory / path).write_text(content, encoding="utf-8")
            changed.append(path)
    for path in sorted(set(actual) - set(expected)):
        (directory / path).unlink()
        changed.append(f"{path} (removed)")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files are not current"
    )
    parser.add_argument("--dir", type=Path, default=CONTRACTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.dir)
            if problems:
                print(
                    "contracts are out of date with the models "
                    "(run `make contracts` and commit the result):",
                    file=sys.stderr,
                )
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            print("contracts: generated files are current")
            return 0
        changed = write(args.dir)
    except ContractError as exc:
        print(f"contracts: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"wrote {path}")
    print(f"contracts: {len(changed)} file(s) changed" if changed else "contracts: already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
