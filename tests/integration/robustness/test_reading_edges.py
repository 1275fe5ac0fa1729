"""Readings at the edges of JSON: values the topic's parser (orjson) cannot carry.

A JSON body may hold an integer beyond 64 bits or a lone surrogate (`"\\ud800"`); orjson, which
reads and writes the topic, takes neither. `POST /ingest` used to answer those with a 500 (the
whole request lost); it now judges such an item as the topic's consumer would judge its JSON.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support.city import InProcess, provision
from tests.support.kafka import TopicWatcher
from tests.support.poll import until
from tests.support.readings import Terminal

pytestmark = pytest.mark.integration
READINGS = "telemetry.readings.v1"


async def _terminal(telemetry: InProcess) -> Terminal:
    place = await provision(telemetry.registry, stall_no=f"E-{uuid.uuid4().hex[:4]}")
    body = {"kind": "cold_chain", "market_id": place.market_id, "profile": "chilled"}
    r = await telemetry.registry.post("/terminals", json=body | {"merchant_id": place.merchant_id})
    assert r.status_code == 201, r.text
    directory = telemetry.app.state.telemetry.directory
    await until(lambda: r.json()["id"] in directory.terminals, what="telemetry knows it")
    return Terminal(r.json()["id"], r.json()["key"])


async def test_ingest_judges_what_orjson_cannot_carry_as_the_topic_would(
    telemetry: InProcess,
) -> None:
    terminal = await _terminal(telemetry)
    at = datetime.now(UTC) - timedelta(minutes=5)
    terminal.seq = 2**64 - 1
    huge_seq = json.dumps(terminal.reading(at, temp_c=3.0)).encode()  # seq 2**64: beyond orjson
    assert b'"seq": 18446744073709551616' in huge_seq
    terminal.seq = 0
    fine = orjson.dumps(terminal.reading(at + timedelta(minutes=1), temp_c=3.0))
    items = [
        b'{"seq": 18446744073709551616, "kind": "cold_chain"}',
        b'{"terminal_id": "\\ud800", "seq": 1}',
        b"[99999999999999999999999]",
        huge_seq,
        fine,
    ]
    r = await telemetry.client.post(
        "/ingest",
        content=b"[" + b",".join(items) + b"]",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * 4 + ["accepted"]
    assert {x["reason"] for x in results[:4]} == {"malformed"}
    # The seq beyond 64 bits reads as a number that is no integer, as on the topic.
    assert results[3]["field"] == "seq"


async def test_a_seq_beyond_bigint_is_rejected_not_dead_lettered(
    telemetry: InProcess, kafka: str
) -> None:
    terminal = await _terminal(telemetry)
    terminal.seq = 2**63 - 1
    reading = terminal.reading(datetime.now(UTC) - timedelta(minutes=1), temp_c=3.0)
    async with TopicWatcher(kafka, "telemetry.rejected.v1") as rejected:
        await telemetry.producer.send_and_wait(
            READINGS, orjson.dumps(reading), key=terminal.id.encode()
        )
        [found] = await rejected.wait_for(
            lambda r: r.json()["data"].get("terminal_id") == terminal.id, timeout=8
        )
    assert found.json()["data"]["field"] == "seq"
    assert found.json()["data"]["reason"] == "malformed"
