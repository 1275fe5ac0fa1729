"""One Kafka record, decoded and checked against its contract — never raising.

Enveloped events are validated as the services validate them: the CloudEvent's `type` (and the
major version in its `dataschema`) picks the `contracts.events.EVENTS` entry, whose envelope and
data model parse the record's bytes. Readings on `telemetry.readings.v1` travel without an
envelope and are validated with the reading model (`contracts.events.RAW_MESSAGES`). A record
that is not JSON, names an unknown type or breaks its model is returned with `error` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from contracts import events, telemetry, topics

TOMBSTONE = "tombstone"
MAX_ERRORS = 8


@dataclass(frozen=True)
class Decoded:
    """A record as `sentinel tail --json` and `sentinel replay` show it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: str | None
    value: Any  # the parsed JSON; the text when it is not JSON; None for a tombstone
    type: str | None  # the event type, `telemetry.reading`, `tombstone`, or None if unreadable
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def time(self) -> datetime | None:
        if self.timestamp_ms is None or self.timestamp_ms < 0:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def to_json(self) -> dict[str, Any]:
        when = self.time
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if when
            else None,
            "key": self.key,
            "headers": self.headers,
            "type": self.type,
            "valid": self.valid,
            "error": self.error,
            "value": self.value,
        }


def describe(exc: ValidationError) -> str:
    """`loc: message` per error, like the services' dead-letter reasons."""
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors]
    more = f"; … {len(parts) - MAX_ERRORS} more" if len(parts) > MAX_ERRORS else ""
    return "; ".join(parts[:MAX_ERRORS]) + more


def contract_topic(topic: str) -> str:
    """The catalog topic whose contract applies: a dead-letter topic carries its source's."""
    return topic.removesuffix(".dlq")


@cache
def _raw_specs() -> dict[str, events.RawSpec]:
    return {raw.topic.name: raw for raw in events.RAW_MESSAGES}


@cache
def _raw_adapter(name: str) -> TypeAdapter[Any]:
    raw = next(r for r in events.RAW_MESSAGES if r.name == name)
    return TypeAdapter(raw.model)


@cache
def _envelope_model(event_type: str, version: int) -> Any:
    spec = next(e for e in events.EVENTS if (e.type, e.version) == (event_type, version))
    return spec.envelope[spec.data]


def _catalog_names() -> set[str]:
    return {t.name for t in topics.TOPICS}


def validate(topic: str, value: bytes) -> tuple[Any, str | None, str | None]:
    """(parsed value, type, error) of one record value."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return value.decode("utf-8", "replace"), None, f"not JSON: {exc}"
    home = contract_topic(topic)
    raw = _raw_specs().get(home)
    if raw is not None and not (isinstance(parsed, dict) and "specversion" in parsed):
        try:
            _raw_adapter(raw.name).validate_python(parsed)
        except ValidationError as exc:
            # Name the field as the terminal wrote it (`temp_c`, not `cold_chain.temp_c`).
            detail = telemetry.describe_invalid(exc)[1] if raw.name == "telemetry.reading" else ""
            return parsed, raw.name, detail or describe(exc)
        return parsed, raw.name, None
    if not isinstance(parsed, dict):
        return parsed, None, f"not a CloudEvent: a JSON {type(parsed).__name__}, not an object"
    event_type = parsed.get("type")
    if not isinstance(event_type, str):
        return parsed, None, "not a CloudEvent: `type` is missing"
    known = [e for e in events.EVENTS if e.type == event_type]
    if not known:
        return parsed, event_type, f"unknown event type {event_type!r} (not in contracts.events)"
    schema = parsed.get("dataschema")
    matching = [e for e in known if e.schema_id == schema] or (
        known if not isinstance(schema, str) else []
    )
    if not matching:
        expected = ", ".join(e.schema_id for e in known)
        return parsed, event_type, f"dataschema: {schema!r} is not the contract's ({expected})"
    spec = matching[0]
    try:
        _envelope_model(spec.type, spec.version).model_validate_json(value)
    except ValidationError as exc:
        return parsed, event_type, describe(exc)
    if home in _catalog_names() and spec.topic.name != home:
        return parsed, event_type, f"{event_type} travels on {spec.topic.name}, not on {home}"
    return parsed, event_type, None


def decode(
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
    key: bytes | None,
    value: bytes | None,
    headers: Any = (),
) -> Decoded:
    shown_headers = {k: (v or b"").decode("utf-8", "replace") for k, v in headers or ()}
    text_key = key.decode("utf-8", "replace") if key is not None else None
    if value is None:
        return Decoded(
            topic, partition, offset, timestamp_ms, text_key, None, TOMBSTONE, None, shown_headers
        )
    parsed, event_type, error = validate(topic, value)
    return Decoded(
        topic, partition, offset, timestamp_ms, text_key, parsed, event_type, error, shown_headers
    )


def from_record(record: Any) -> Decoded:
    """Decode an aiokafka ConsumerRecord."""
    return decode(
        record.topic,
        record.partition,
        record.offset,
        record.timestamp,
        record.key,
        record.value,
        record.headers,
    )
