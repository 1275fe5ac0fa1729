"""Working off dead letters, the pure part: which parked records are unresolved, which of them
are copies of one another, what a republish or discard would send and where the resolved
watermark moves (services/runtime/dead_letters.py says what it is), and corrections read from a
JSON-lines file and checked against their contract. No I/O here (sentinel_cli/dlq.py does it).

Parking is at least once, so one source record may be parked twice: records are grouped by
their source (`dlq.source_topic`, `dlq.source_partition`, `dlq.source_offset`) and a group is
shown, republished and resolved once. A copy parked after its source was resolved is shown as
such; any resolution that reaches it passes it without sending it again.

A dead-letter topic has one partition (contracts/topics.py), so an offset names a record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from sentinel_cli.events import Decoded, decode, validate
from services.runtime.dead_letters import DLQ_SUFFIX

DLQ_HEADER = "dlq."
Source = tuple[str, int, int]
Headers = tuple[tuple[str, bytes], ...]


class SelectionError(ValueError):
    """The offsets asked for cannot be resolved as asked; nothing is sent or marked."""


class CorrectionError(ValueError):
    """A corrected value is unreadable or breaks its contract; nothing is sent or marked."""


@dataclass(frozen=True)
class Parked:
    """One record of a dead-letter topic, as Kafka holds it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers = ()

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return (value or b"").decode("utf-8", "replace")
        return None

    @property
    def source_topic(self) -> str:
        """Where it came from; a record without the header came from the topic it is parked for."""
        return self.header("dlq.source_topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def source(self) -> Source | None:
        """The source coordinates, or None when the headers do not say them whole."""
        partition, offset = self.header("dlq.source_partition"), self.header("dlq.source_offset")
        try:
            return (self.source_topic, int(partition or ""), int(offset or ""))
        except ValueError:
            return None

    def identity(self) -> Source:
        """What copies share: the source, or this record itself when the source is unknown."""
        return self.source or (self.topic, self.partition, -1 - self.offset)

    def decoded(self) -> Decoded:
        return decode(
            self.topic,
            self.partition,
            self.offset,
            self.timestamp_ms,
            self.key,
            self.value,
            self.headers,
        )


def republished_headers(headers: Iterable[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The original headers: the parked record's, less what parking added (`dlq.*`)."""
    return [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER)]


@dataclass(frozen=True)
class Entry:
    """One unresolved source record: its first parked copy, the offsets of every copy, and the
    offset of an earlier copy already resolved (then only the watermark is left to move).

    Copies come from a replica parking again, and from every consumer group of the topic that
    failed on the same record: one republished record reaches them all."""

    record: Parked
    copies: tuple[int, ...]
    resolved_as: int | None = None
    groups: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        decoded = self.record.decoded()
        value = decoded.value if isinstance(decoded.value, dict) else None
        source = self.record.source
        return {
            "topic": self.record.topic,
            "offset": self.record.offset,
            "copies": list(self.copies),
            "resolved_as": self.resolved_as,
            "source_topic": self.record.source_topic,
            "source_partition": source[1] if source else None,
            "source_offset": source[2] if source else None,
            "consumer_group": self.record.header("dlq.consumer_group"),
            "consumer_groups": list(self.groups),
            "error_type": self.record.header("dlq.error_type"),
            "error": self.record.header("dlq.error"),
            "failed_at": self.record.header("dlq.failed_at"),
            "key": decoded.key,
            "type": decoded.type,
            "id": value.get("id") if value is not None else None,
            "valid": decoded.valid,
        }


def entries(records: Sequence[Parked], mark: int) -> list[Entry]:
    """The unresolved records (offset >= `mark`) of one partition, one entry per source."""
    resolved = {r.identity(): r.offset for r in records if r.offset < mark}
    grouped: dict[Source, list[Parked]] = {}
    for record in sorted(records, key=lambda r: r.offset):
        if record.offset >= mark:
            grouped.setdefault(record.identity(), []).append(record)
    return [
        Entry(
            copies[0],
            tuple(c.offset for c in copies),
            resolved.get(identity),
            tuple(dict.fromkeys(g for c in copies if (g := c.header("dlq.consumer_group")))),
        )
        for identity, copies in grouped.items()
    ]


@dataclass(frozen=True)
class Plan:
    """What resolving the chosen records does: send `send` (none for a discard), then commit
    `watermark`; `resolved` lists every offset passed, `copies` those passed unsent as copies."""

    send: tuple[Parked, ...]
    watermark: int
    resolved: tuple[int, ...]
    copies: tuple[int, ...] = field(default=())


def plan(
    records: Sequence[Parked],
    mark: int,
    chosen: Iterable[int] | Literal["all"],
    *,
    sending: bool,
) -> Plan:
    """Resolve the chosen offsets (with their copies) of one partition, in offset order.

    The watermark only moves over a run with nothing unresolved left in it, so every record
    before a chosen one must be chosen too, or a copy of one that is; `all` takes them all.
    SelectionError names an offset that is not there, already resolved, or would be skipped."""
    ordered = sorted((r for r in records if r.offset >= mark), key=lambda r: r.offset)
    end = ordered[-1].offset + 1 if ordered else mark
    if chosen == "all":
        wanted = {r.offset for r in ordered}
    else:
        wanted = set(chosen)
        if not wanted:
            raise SelectionError("--offset: give at least one offset, or --all")
        by_offset = {r.offset for r in ordered}
        for offset in sorted(wanted):
            if offset < mark:
                raise SelectionError(f"--offset {offset}: already resolved (watermark {mark})")
            if offset not in by_offset:
                raise SelectionError(f"--offset {offset}: no parked record there (end {end})")
    if not ordered:
        raise SelectionError("nothing to resolve: every parked record is resolved")
    resolved_before = {r.identity() for r in records if r.offset < mark}
    chosen_sources = {r.identity() for r in ordered if r.offset in wanted}
    last = max(wanted)
    send: list[Parked] = []
    passed: list[int] = []
    copies: list[int] = []
    sent_sources: set[Source] = set()
    for record in ordered:
        identity = record.identity()
        if identity in resolved_before or (identity in chosen_sources and identity in sent_sources):
            copies.append(record.offset)
            passed.append(record.offset)
            continue
        if identity in chosen_sources:
            if sending:
                send.append(record)
            sent_sources.add(identity)
            passed.append(record.offset)
            continue
        if record.offset < last:
            raise SelectionError(
                f"--offset {last}: offset {record.offset} before it is unresolved; resolve it "
                f"first, give it too (--offset {record.offset}), discard it, or use --all"
            )
        break
    watermark = passed[-1] + 1 if passed else mark
    # Copies of what was just resolved that come right after it are passed too.
    done = resolved_before | sent_sources
    for record in ordered:
        if record.offset == watermark and record.identity() in done:
            copies.append(record.offset)
            passed.append(record.offset)
            watermark += 1
    return Plan(tuple(send), watermark, tuple(passed), tuple(copies))


@dataclass(frozen=True)
class Correction:
    offset: int
    value: bytes
    key: str | None


def _line_error(number: int, field_name: str, reason: str) -> CorrectionError:
    return CorrectionError(f"line {number}: {field_name}: {reason}")


def read_corrections(lines: Iterable[str], dlq_topic: str) -> dict[int, Correction]:
    """Corrected values by dead-letter offset, from JSON lines as `sentinel tail --json` and
    `sentinel replay --out` write them (`topic`, `offset`, `key`, `value`; the rest is ignored).
    A JSON value is sent as compact JSON; a string value is sent as its text."""
    found: dict[int, Correction] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _line_error(number, "<line>", f"not JSON: {exc}") from None
        if not isinstance(item, dict):
            raise _line_error(number, "<line>", "not a JSON object")
        if item.get("topic", dlq_topic) != dlq_topic:
            raise _line_error(number, "topic", f"{item['topic']!r} is not {dlq_topic!r}")
        offset = item.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise _line_error(number, "offset", f"{offset!r} is not an offset")
        if offset in found:
            raise _line_error(number, "offset", f"offset {offset} is corrected twice")
        if "value" not in item or item["value"] is None:
            raise _line_error(number, "value", "missing (a tombstone is not republished)")
        value = item["value"]
        raw = value.encode() if isinstance(value, str) else orjson.dumps(value)
        key = item.get("key")
        if key is not None and not isinstance(key, str):
            raise _line_error(number, "key", f"{key!r} is not a string")
        found[offset] = Correction(offset, raw, key)
    return found


def still_open(
    corrections: Mapping[int, Correction], mark: int
) -> tuple[dict[int, Correction], tuple[int, ...]]:
    """The corrections of records not yet resolved, and the offsets of those already resolved
    (a file written with `tail --from beginning` holds them too; they are left out)."""
    kept = {o: c for o, c in corrections.items() if o >= mark}
    return kept, tuple(sorted(o for o in corrections if o < mark))


def check_correction(record: Parked, correction: Correction) -> None:
    """CorrectionError unless the corrected value keeps the record's key and meets the
    contract of the topic it goes back to."""
    parked_key = record.key.decode("utf-8", "replace") if record.key is not None else None
    if correction.key != parked_key:
        raise CorrectionError(
            f"offset {record.offset}: key: {correction.key!r} is not the parked record's "
            f"{parked_key!r} (the key chooses the partition; it is not corrected)"
        )
    _, _, error = validate(record.source_topic, correction.value)
    if error is not None:
        raise CorrectionError(
            f"offset {record.offset}: value does not meet the contract of "
            f"{record.source_topic}: {error}"
        )


def outgoing(
    record: Parked, correction: Correction | None
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers sent back to the source topic (with the parked key)."""
    value = correction.value if correction is not None else (record.value or b"")
    return value, republished_headers(record.headers)
