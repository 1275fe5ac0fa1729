"""Reading a topic from a position: the beginning, the end, or the first record at or after a
time (Kafka's offsets-for-times index), with plain aiokafka and no consumer group — the CLI
never commits offsets and never joins a service's group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from sentinel_cli.events import Decoded, from_record
from services.runtime.kafka_login import INTEGRATOR, explain_failure

Start = Literal["beginning", "end"] | datetime
_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest `start()` may take: a broker that drops a client without a login never answers.
START_TIMEOUT_S = 20.0
# The CLI reports what goes wrong in one line of its own; aiokafka's log lines would repeat it.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


class CliError(Exception):
    """A problem to report in one line (exit status 2), never with a traceback."""


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """RFC 3339 with an offset (`2026-05-01T08:00:00Z`), or relative to now (`-10m`, `-2h`)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        seconds = float(relative.group(1)) * _UNITS[relative.group(2)]
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CliError(
            f"not a time: {text!r} (RFC 3339 like 2026-05-01T08:00:00Z, or -10m / -2h / -1d)"
        ) from exc
    if when.tzinfo is None:
        raise CliError(f"time {text!r} needs an offset, e.g. {text}Z for UTC")
    return when.astimezone(UTC)


def parse_start(text: str) -> Start:
    lowered = text.strip().lower()
    if lowered in ("beginning", "earliest"):
        return "beginning"
    if lowered in ("end", "latest", "now"):
        return "end"
    return parse_time(text)


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def start(
    consumer: AIOKafkaConsumer, bootstrap: str, login: Mapping[str, Any], principal: str
) -> None:
    """Start `consumer` logged in as `principal`; CliError saying why Kafka did not answer or
    refused the login."""
    try:
        await asyncio.wait_for(consumer.start(), START_TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as exc:
        with contextlib.suppress(Exception):
            await consumer.stop()
        reason = " ".join(str(exc).split()) or type(exc).__name__
        why = await explain_failure(bootstrap, login, principal)
        raise CliError(f"Kafka at {bootstrap} is not reachable: {reason}; {why}") from exc


@asynccontextmanager
async def assigned(
    bootstrap: str, topic: str, login: Mapping[str, Any] | None = None
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer assigned every partition of `topic`, logged in with `login` (aiokafka's
    options, services/runtime/kafka_login.py); CliError if Kafka or the topic is not there, or
    the broker refuses the login."""
    login = dict(login or {})
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="sentinel-cli",
        request_timeout_ms=15000,
        **login,
    )
    await start(consumer, bootstrap, login, INTEGRATOR)
    try:
        # An unassigned consumer's metadata never learns the topic: ask the cluster.
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            raise CliError(f"no topic {topic!r} on {bootstrap} (`sentinel topics` lists them)")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        yield consumer, tps
    finally:
        await consumer.stop()


async def offsets_at(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], when: datetime
) -> dict[TopicPartition, int]:
    """Per partition, the first offset whose timestamp is at or after `when` (the end offset
    where there is none)."""
    found = await consumer.offsets_for_times({tp: millis(when) for tp in tps})
    ends = await consumer.end_offsets(tps)
    return {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in tps}


async def seek(consumer: AIOKafkaConsumer, tps: list[TopicPartition], start: Start) -> None:
    if start == "beginning":
        await consumer.seek_to_beginning(*tps)
    elif start == "end":
        await consumer.seek_to_end(*tps)
    else:
        assert isinstance(start, datetime)
        for tp, offset in (await offsets_at(consumer, tps, start)).items():
            consumer.seek(tp, offset)
    # Resolve the positions now, so nothing produced from here on is missed.
    for tp in tps:
        await consumer.position(tp)


async def tail(
    bootstrap: str,
    topic: str,
    start: Start,
    emit: Callable[[Decoded], None],
    *,
    max_records: int | None = None,
    idle_timeout_s: float | None = None,
    on_ready: Callable[[], None] | None = None,
    login: Mapping[str, Any] | None = None,
) -> int:
    """Emit decoded records until `max_records`, or `idle_timeout_s` passes with none new, or
    the caller is interrupted; returns how many were emitted."""
    seen = 0
    async with assigned(bootstrap, topic, login) as (consumer, tps):
        await seek(consumer, tps, start)
        if on_ready is not None:
            on_ready()
        loop = asyncio.get_running_loop()
        last = loop.time()
        while max_records is None or seen < max_records:
            wait = 1.0 if idle_timeout_s is None else max(0.0, last + idle_timeout_s - loop.time())
            if idle_timeout_s is not None and wait <= 0:
                break
            batch = await consumer.getmany(timeout_ms=int(min(wait, 1.0) * 1000))
            records = sorted(
                (r for rs in batch.values() for r in rs), key=lambda r: (r.timestamp, r.partition)
            )
            if records:
                last = loop.time()
            for record in records:
                emit(from_record(record))
                seen += 1
                if max_records is not None and seen >= max_records:
                    break
    return seen


@dataclass
class ReplayResult:
    records: int = 0
    invalid: int = 0
    skipped: int = 0  # within the offsets but outside [from, to) by their timestamp


async def replay(
    bootstrap: str,
    topic: str,
    since: datetime,
    until: datetime | None,
    handle: Callable[[Decoded], Awaitable[None]],
    *,
    idle_timeout_s: float = 30.0,
    login: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Hand every record with `since <= timestamp < until` to `handle`, partition by partition
    in offset order, up to where the topic ended when the replay began."""
    result = ReplayResult()
    async with assigned(bootstrap, topic, login) as (consumer, tps):
        starts = await offsets_at(consumer, tps, since)
        ends = await consumer.end_offsets(tps)
        stops = await offsets_at(consumer, tps, until) if until is not None else ends
        pending = [tp for tp in tps if starts[tp] < min(stops[tp], ends[tp])]
        for tp in pending:
            consumer.seek(tp, starts[tp])
        loop = asyncio.get_running_loop()
        last = loop.time()
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= stops[tp]:
                        break
                    last = loop.time()
                    in_window = record.timestamp >= millis(since) and (
                        until is None or record.timestamp < millis(until)
                    )
                    if not in_window:
                        result.skipped += 1
                        continue
                    decoded = from_record(record)
                    await handle(decoded)
                    result.records += 1
                    result.invalid += 0 if decoded.valid else 1
            still: list[TopicPartition] = []
            for tp in pending:
                if await consumer.position(tp) < min(stops[tp], ends[tp]):
                    still.append(tp)
            pending = still
            if pending and loop.time() - last > idle_timeout_s:
                raise CliError(
                    f"replay stalled: nothing read for {idle_timeout_s:.0f}s "
                    f"({result.records} records so far)"
                )
    return result
