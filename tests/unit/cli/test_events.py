"""Decoding a record never raises: a valid event, each way of being invalid, readings."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from contracts import events
from contracts.envelope import schema_id
from sentinel_cli.events import Decoded, decode
from tests.support.cli_records import broken_risk_event, reading, risk_event


def _decode(topic: str, value: bytes | None, **kw: Any) -> Decoded:
    return decode(topic, 2, 7, 1_777_622_400_000, b"trm_1", value, [("h", b"v")], **kw)


def test_a_valid_event_is_decoded_with_its_type_and_coordinates() -> None:
    d = _decode("telemetry.risks.v1", risk_event())
    assert (d.valid, d.error, d.type) == (True, None, "telemetry.risk.raised")
    line = d.to_json()
    assert line["topic"] == "telemetry.risks.v1"
    assert (line["partition"], line["offset"], line["key"]) == (2, 7, "trm_1")
    assert line["timestamp"] == "2026-05-01T08:00:00.000Z"
    assert line["headers"] == {"h": "v"}
    assert line["value"]["data"]["severity"] == "major"


def test_a_contract_violation_names_the_field() -> None:
    d = _decode("telemetry.risks.v1", broken_risk_event())
    assert not d.valid
    assert d.type == "telemetry.risk.raised"
    assert d.error is not None and "data.severity" in d.error and "required" in d.error
    assert d.value["data"]["risk_id"] == "risk_broken"  # still shown


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a CloudEvent"),
        (b'{"hello": "world"}', "`type` is missing"),
        (b'{"type": "telemetry.risk.exploded"}', "unknown event type"),
    ],
)
def test_unreadable_records_carry_their_error(value: bytes, error: str) -> None:
    d = _decode("telemetry.risks.v1", value)
    assert not d.valid
    assert d.error is not None and error in d.error


def test_an_event_on_the_wrong_catalog_topic_is_flagged_but_not_on_other_topics() -> None:
    wrong = _decode("credit.scores.v1", risk_event())
    assert (
        wrong.error
        == "telemetry.risk.raised travels on telemetry.risks.v1, not on credit.scores.v1"
    )
    assert _decode("test.private.v1", risk_event()).valid
    # A dead-letter topic carries its source topic's contract.
    assert _decode("telemetry.risks.v1.dlq", risk_event()).valid


def test_a_dataschema_of_another_major_version_is_not_taken_for_this_one() -> None:
    value = orjson.loads(risk_event())
    value["dataschema"] = schema_id("telemetry.risk.raised", 2)
    d = _decode("telemetry.risks.v1", orjson.dumps(value))
    assert d.error is not None and "dataschema" in d.error


def test_readings_are_validated_without_an_envelope() -> None:
    ok = _decode("telemetry.readings.v1", orjson.dumps(reading()))
    assert (ok.valid, ok.type) == (True, "telemetry.reading")
    bad = _decode("telemetry.readings.v1", orjson.dumps(reading(temp_c="hot")))
    assert bad.type == "telemetry.reading"
    assert bad.error is not None and bad.error.startswith("temp_c:")
    unknown_kind = _decode("telemetry.readings.v1", orjson.dumps(reading(kind="laser")))
    assert unknown_kind.error is not None and "kind" in unknown_kind.error


def test_a_tombstone_is_shown_as_one() -> None:
    d = _decode("registry.markets.v1", None)
    assert (d.valid, d.type, d.value) == (True, "tombstone", None)


def test_every_catalog_event_type_has_a_contract_the_cli_finds() -> None:
    # The decoder dispatches on EVENTS; a type declared on a topic without a model is reported
    # as unknown rather than crashing.
    for spec in events.EVENTS:
        value = orjson.dumps({"type": spec.type, "dataschema": spec.schema_id})
        d = _decode(spec.topic.name, value)
        assert d.type == spec.type
        assert d.error is not None and "unknown" not in d.error
