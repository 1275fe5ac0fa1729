"""`sentinel tail` and `sentinel replay` on the real Kafka of the test session.

Each test publishes to its own topic with explicit record timestamps, so positions by time are
exact and nothing else writes there. The CLI runs in a worker thread (it has its own event loop).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from click.testing import Result
from typer.testing import CliRunner

from sentinel_cli.__main__ import app
from sentinel_cli.events import Decoded
from tests.support.cli_records import broken_risk_event, risk_event
from tests.support.kafka import create_topics, unique_topic

pytestmark = pytest.mark.integration
CE = [("content-type", b"application/cloudevents+json")]
HANDLED: list[Decoded] = []


async def publish(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes, datetime, int]]
) -> None:
    """(key, value, timestamp, partition) each, acknowledged by the broker."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, when, partition in records:
            await producer.send_and_wait(
                topic,
                value,
                key=key,
                partition=partition,
                timestamp_ms=int(when.timestamp() * 1000),
                headers=CE,
            )
    finally:
        await producer.stop()


async def topic_of_minutely_risks(
    bootstrap: str, prefix: str, base: datetime, *, count: int, partitions: int
) -> str:
    """A new topic holding `count` risk events keyed k0, k1, ... one minute apart from `base`,
    dealt round the partitions in turn."""
    topic = unique_topic(prefix)
    await create_topics(bootstrap, topic, partitions=partitions)
    await publish(
        bootstrap,
        topic,
        [
            (
                f"k{i}".encode(),
                risk_event(f"trm_{i}", f"risk_{i}"),
                base + timedelta(minutes=i),
                i % partitions,
            )
            for i in range(count)
        ],
    )
    return topic


async def sentinel(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def lines(result: Result) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def base() -> datetime:
    # An hour back: inside retention, and not in the future for the broker's timestamp checks.
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def test_tail_shows_events_validated_and_a_malformed_record_with_its_error(
    kafka: str, base: datetime
) -> None:
    topic = unique_topic("cli-tail")
    await create_topics(kafka, topic)
    await publish(
        kafka,
        topic,
        [
            (b"trm_1", risk_event("trm_1", "risk_ok"), base, 0),
            (b"trm_1", broken_risk_event("trm_1"), base + timedelta(seconds=1), 0),
            (b"trm_1", b"\x00 not json", base + timedelta(seconds=2), 0),
        ],
    )

    result = await sentinel(
        "tail",
        topic,
        "--from",
        "beginning",
        "--json",
        "--max",
        "3",
        "--timeout",
        "30",
        "--bootstrap",
        kafka,
    )
    assert result.exit_code == 0, result.output
    valid, broken, garbage = lines(result)
    assert (valid["valid"], valid["type"], valid["error"]) == (True, "telemetry.risk.raised", None)
    assert valid["value"]["data"]["risk_id"] == "risk_ok"
    assert (valid["key"], valid["offset"], valid["timestamp"]) == (
        "trm_1",
        0,
        base.isoformat(timespec="milliseconds")[:-6] + "Z",
    )
    assert valid["headers"] == {"content-type": "application/cloudevents+json"}
    assert broken["valid"] is False and "data.severity: Field required" in broken["error"]
    assert garbage["valid"] is False and garbage["error"].startswith("not JSON")

    pretty = await sentinel(
        "tail",
        topic,
        "--from",
        "beginning",
        "--max",
        "3",
        "--timeout",
        "30",
        "--bootstrap",
        kafka,
    )
    assert pretty.exit_code == 0, pretty.output
    screen = pretty.stdout
    assert screen.count("telemetry.risk.raised") >= 2
    assert "✓ valid" in screen and screen.count("✗ invalid") == 2
    assert "data.severity: Field required" in screen and "not JSON" in screen
    assert '"risk_id": "risk_ok"' in screen and "cold_chain_excursion" in screen


async def test_tail_from_a_time_starts_at_the_first_record_at_or_after_it(
    kafka: str, base: datetime
) -> None:
    topic = await topic_of_minutely_risks(kafka, "cli-from", base, count=4, partitions=2)
    result = await sentinel(
        "tail",
        topic,
        "--from",
        iso(base + timedelta(minutes=2)),
        "--json",
        "--timeout",
        "2",
        "--bootstrap",
        kafka,
    )
    assert result.exit_code == 0, result.output
    assert [r["key"] for r in lines(result)] == ["k2", "k3"]  # in time order across partitions


async def test_replay_writes_the_records_between_two_times_to_a_file(
    kafka: str, base: datetime, tmp_path: Path
) -> None:
    topic = await topic_of_minutely_risks(kafka, "cli-replay", base, count=9, partitions=3)
    out = tmp_path / "replay.jsonl"
    result = await sentinel(
        "replay",
        topic,
        "--from",
        iso(base + timedelta(minutes=2)),
        "--to",
        iso(base + timedelta(minutes=6)),
        "--out",
        str(out),
        "--bootstrap",
        kafka,
    )
    assert result.exit_code == 0, result.output
    written = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["key"] for r in written) == ["k2", "k3", "k4", "k5"]  # [from, to)
    assert all(r["valid"] and r["type"] == "telemetry.risk.raised" for r in written)
    assert "replayed 4 records" in result.stderr

    # Without --to: up to where the topic ended when the replay began.
    everything = tmp_path / "all.jsonl"
    result = await sentinel(
        "replay",
        topic,
        "--from",
        iso(base + timedelta(minutes=7)),
        "--out",
        str(everything),
        "--bootstrap",
        kafka,
    )
    assert result.exit_code == 0, result.output
    assert sorted(orjson.loads(x)["key"] for x in everything.read_text().splitlines()) == [
        "k7",
        "k8",
    ]


def collect(record: Decoded) -> None:
    """The handler `replay --handler` is given in the test below."""
    HANDLED.append(record)


async def test_replay_hands_each_record_to_a_python_callable(kafka: str, base: datetime) -> None:
    topic = unique_topic("cli-handler")
    await create_topics(kafka, topic)
    await publish(
        kafka,
        topic,
        [
            (b"a", risk_event("trm_a", "risk_a"), base, 0),
            (b"b", b"{}", base + timedelta(seconds=1), 0),
        ],
    )
    HANDLED.clear()
    result = await sentinel(
        "replay",
        topic,
        "--from",
        iso(base - timedelta(seconds=1)),
        "--handler",
        f"{__name__}:collect",
        "--bootstrap",
        kafka,
    )
    assert result.exit_code == 0, result.output
    assert [(r.key, r.valid) for r in HANDLED] == [("a", True), ("b", False)]
    assert "1 invalid" in result.stderr


async def test_a_missing_topic_or_an_absent_broker_is_a_one_line_error(kafka: str) -> None:
    missing = await sentinel(
        "tail", unique_topic("cli-missing"), "--bootstrap", kafka, "--max", "1"
    )
    assert missing.exit_code == 2
    assert "no topic" in missing.stderr and "Traceback" not in missing.output

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    absent = await sentinel("tail", "telemetry.risks.v1", "--bootstrap", closed, "--max", "1")
    assert absent.exit_code == 2
    assert "not reachable" in absent.stderr and "Traceback" not in absent.output
