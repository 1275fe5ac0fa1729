"""The telemetry contracts: reading model, canonical form and HMAC, rejected and risk events."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import compat, generate, telemetry
from contracts.envelope import make_event
from contracts.events import EVENTS, RAW_MESSAGES, RawSpec, spec
from contracts.telemetry import (
    RAW_MAX_CHARS,
    ReadingRejected,
    RiskCleared,
    RiskEscalated,
    RiskEvidence,
    RiskRaised,
    at_least,
    canonical_bytes,
    describe_invalid,
    max_severity,
    parse_reading,
    range_violation,
    severity_rank,
    sign,
    verify,
)
from contracts.topics import TELEMETRY_READINGS, TELEMETRY_RISKS
from services.runtime.terminal_keys import derive_key
from services.telemetry.domain import Sample
from tests.support.event_samples import TELEMETRY_SAMPLES, risk_data, risk_evidence
from tests.support.schema_subset import validate

KEY = derive_key(b"master-secret-for-tests", "trm_1", 1)
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def signed(kind: str, **values: Any) -> dict[str, Any]:
    reading: dict[str, Any] = {"terminal_id": "trm_1", "seq": 7, "ts": "2026-05-01T08:00:00Z"}
    reading |= {"kind": kind, **values}
    reading["sig"] = sign(reading, KEY)
    return reading


READINGS: dict[str, dict[str, Any]] = {
    "cold_chain": signed("cold_chain", temp_c=4.25),
    "footfall": signed("footfall", entries=12, exits=9, occupancy=640),
    "payment": signed("payment", tx_count=14, tx_amount=356.5, refunds=1, interval_s=60),
}


# -- canonical form and signature ---------------------------------------------------------------


def test_canonical_form_is_sorted_compact_utf8_without_sig() -> None:
    reading = {"ts": "2026-05-01T08:00:00Z", "terminal_id": "冷柜-1", "seq": 1, "sig": "x"}
    assert canonical_bytes(reading) == (
        '{"seq":1,"terminal_id":"冷柜-1","ts":"2026-05-01T08:00:00Z"}'.encode()
    )


def test_numbers_are_signed_in_the_form_they_arrived() -> None:
    # 8 and 8.0 parse to different Python values and print back as they came.
    as_int = json.loads('{"temp_c": 8, "seq": 1}')
    as_float = json.loads('{"temp_c": 8.0, "seq": 1}')
    assert canonical_bytes(as_int) == b'{"seq":1,"temp_c":8}'
    assert canonical_bytes(as_float) == b'{"seq":1,"temp_c":8.0}'


def test_signature_is_lowercase_hex_hmac_sha256() -> None:
    reading = READINGS["cold_chain"]
    expected = hmac.new(KEY, canonical_bytes(reading), hashlib.sha256).hexdigest()
    assert reading["sig"] == expected
    assert len(expected) == 64 and expected == expected.lower()


@pytest.mark.parametrize("kind", sorted(READINGS))
def test_verify_accepts_the_signed_reading_and_refuses_any_change(kind: str) -> None:
    reading = READINGS[kind]
    assert verify(reading, KEY)
    assert not verify(reading, derive_key(b"master-secret-for-tests", "trm_1", 2))
    for field, value in reading.items():
        if field == "sig":
            continue
        tampered = dict(reading)
        tampered[field] = value + 1 if isinstance(value, int | float) else f"{value}x"
        assert not verify(tampered, KEY), field
    assert not verify({**reading, "extra": 1}, KEY)


@pytest.mark.parametrize("sig", [None, 42, "", "A" * 64, "é" * 64, ["x"]])
def test_verify_refuses_missing_or_odd_signatures(sig: Any) -> None:
    reading = dict(READINGS["cold_chain"])
    if sig is None:
        del reading["sig"]
    else:
        reading["sig"] = sig
    assert not verify(reading, KEY)


@given(
    terminal_id=st.text(min_size=1, max_size=30),
    seq=st.integers(0, 2**53),
    temp=st.floats(-60, 80, allow_nan=False),
)
def test_a_json_round_trip_keeps_the_signature_valid(
    terminal_id: str, seq: int, temp: float
) -> None:
    reading = {"terminal_id": terminal_id, "seq": seq, "ts": "2026-05-01T08:00:00Z"}
    reading |= {"kind": "cold_chain", "temp_c": temp}
    reading["sig"] = sign(reading, KEY)
    received = json.loads(json.dumps(reading, ensure_ascii=False).encode())
    assert verify(received, KEY)


# -- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(READINGS))
def test_each_kind_parses_and_normalises_ts_to_utc(kind: str) -> None:
    model = parse_reading(READINGS[kind])
    assert model.kind == kind
    assert model.ts == NOW
    assert parse_reading({**READINGS[kind], "ts": "2026-05-01T16:00:00+08:00"}).ts == NOW


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"temp_c": "4.2"}, "temp_c"),
        ({"temp_c": True}, "temp_c"),
        ({"seq": -1}, "seq"),
        ({"seq": 1.5}, "seq"),
        ({"ts": "2026-05-01 08:00:00"}, "ts"),
        ({"ts": "2026-05-01T08:00:00"}, "ts"),
        ({"ts": 1777622400}, "ts"),
        ({"sig": "ABC"}, "sig"),
        ({"terminal_id": ""}, "terminal_id"),
        ({"interval_s": 0}, "interval_s"),
        ({"kind": "smoke"}, "kind"),
        ({"entries": 1}, "entries"),
    ],
)
def test_malformed_readings_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_reading({**READINGS["cold_chain"], **change})
    named, detail = describe_invalid(caught.value)
    assert named == field
    assert detail.startswith(f"{field}: ")
    assert "cold_chain." not in detail


def test_a_missing_kind_is_named() -> None:
    reading = dict(READINGS["cold_chain"])
    del reading["kind"]
    with pytest.raises(ValidationError) as caught:
        parse_reading(reading)
    assert describe_invalid(caught.value)[0] == "kind"


@pytest.mark.parametrize(
    ("kind", "field", "inside", "outside"),
    [
        ("cold_chain", "temp_c", 80.0, 80.5),
        ("cold_chain", "temp_c", -60.0, -61.0),
        ("footfall", "occupancy", 0, -1),
        ("footfall", "entries", 100_000, 100_001),
        ("payment", "tx_amount", 0.0, -0.01),
        ("payment", "refunds", 5, -2),
        ("payment", "interval_s", 86_400, 86_401),
    ],
)
def test_physical_ranges_are_inclusive_and_named(
    kind: str, field: str, inside: float, outside: float
) -> None:
    assert range_violation(parse_reading({**READINGS[kind], field: inside})) is None
    named, detail = range_violation(parse_reading({**READINGS[kind], field: outside})) or ("", "")
    assert named == field
    assert detail.startswith(f"{field} ")
    assert kind in detail


def test_samples_for_the_rules_come_from_the_models() -> None:
    at = NOW.timestamp()
    assert Sample.from_reading(parse_reading(READINGS["cold_chain"]), received_at=at + 1) == Sample(
        7, at, "cold_chain", temp_c=4.25, received_at=at + 1
    )
    assert Sample.from_reading(parse_reading(READINGS["footfall"])) == Sample(
        7, at, "footfall", entries=12, exits=9, occupancy=640
    )
    assert Sample.from_reading(parse_reading(READINGS["payment"])) == Sample(
        7, at, "payment", tx_count=14, tx_amount=356.5, refunds=1, interval_s=60
    )


# -- telemetry.reading.rejected -----------------------------------------------------------------


def test_rejected_event_bounds_hostile_payloads() -> None:
    payload = b"\xff\xfe{" + b"x" * (RAW_MAX_CHARS * 2)
    event = ReadingRejected.of(
        payload=payload,
        reason="malformed",
        detail="reading: not JSON " * 100,
        received_at=NOW,
    )
    assert event.terminal_id is None
    assert event.raw_truncated
    assert len(event.raw) == RAW_MAX_CHARS
    assert event.raw.startswith("\ufffd\ufffd{")
    assert len(event.detail) == telemetry.DETAIL_MAX_CHARS

    small = ReadingRejected.of(
        payload=json.dumps(READINGS["cold_chain"]),
        reason="replay",
        detail="seq 7 is not above the last seq 9",
        received_at=NOW,
        terminal_id="trm_1",
        field="seq",
        seq=7,
        channel="ingest",
    )
    assert not small.raw_truncated
    assert json.loads(small.raw) == READINGS["cold_chain"]


def test_rejected_reasons_are_the_designed_codes() -> None:
    assert set(telemetry.REJECT_REASONS) == {
        "signature",
        "unknown_terminal",
        "replay",
        "future_ts",
        "out_of_range",
        "malformed",
    }
    with pytest.raises(ValidationError):
        ReadingRejected.of(payload="{}", reason="bored", detail="", received_at=NOW)  # type: ignore[arg-type]


# -- risks ---------------------------------------------------------------------------------------


def test_every_telemetry_event_is_registered_on_its_topic() -> None:
    telemetry_events = {s.type: s for s in EVENTS if s.type.startswith("telemetry.")}
    assert set(telemetry_events) == set(TELEMETRY_SAMPLES)
    for event_type, event_spec in telemetry_events.items():
        assert event_spec.version == 1
        assert event_type in event_spec.topic.event_types
    assert {s.topic.name for s in telemetry_events.values() if ".risk." in s.type} == {
        TELEMETRY_RISKS.name
    }


@pytest.mark.parametrize("event_type", sorted(TELEMETRY_SAMPLES))
def test_sample_events_validate_against_their_published_schema(event_type: str) -> None:
    event = make_event(
        service="telemetry",
        event_type=event_type,
        version=1,
        subject=getattr(TELEMETRY_SAMPLES[event_type], "risk_id", "trm_1"),
        data=TELEMETRY_SAMPLES[event_type],
    )
    wire = json.loads(event.to_json())
    assert validate(wire, generate.envelope_schema(spec(event_type))) == []


def test_risk_models_refuse_inconsistent_facts() -> None:
    with pytest.raises(ValidationError, match="category"):
        RiskRaised.model_validate(risk_data(category="market_order"))
    with pytest.raises(ValidationError, match=r"evidence\.rule"):
        RiskRaised.model_validate(risk_data(evidence=risk_evidence("crowding")))
    with pytest.raises(ValidationError, match="escalation"):
        RiskEscalated.model_validate(risk_data(severity="minor", previous_severity="major"))
    with pytest.raises(ValidationError):
        RiskCleared.model_validate(risk_data(cleared_at="2026-05-01T09:00:00Z"))  # state "open"
    with pytest.raises(ValidationError):
        RiskRaised.model_validate(risk_data(raised_at="2026-05-01T08:00:00"))  # no offset
    with pytest.raises(ValidationError):
        RiskRaised.model_validate({k: v for k, v in risk_data().items() if k != "merchant_id"})


def test_evidence_is_open_for_rule_specific_fields() -> None:
    model = RiskEvidence.model_validate({**risk_evidence(), "door_open": True})
    assert model.model_dump()["door_open"] is True


def test_severity_order() -> None:
    assert [severity_rank(s) for s in ("warning", "minor", "major", "critical")] == [0, 1, 2, 3]
    assert max_severity("minor", "critical", "warning") == "critical"
    assert at_least("critical", "major") and at_least("major", "major")
    assert not at_least("minor", "major")
    with pytest.raises(KeyError):
        severity_rank("grave")


def test_every_rule_has_a_category() -> None:
    assert set(telemetry.CATEGORY_OF_RULE) == set(telemetry.RISK_RULES)
    assert {r for r, c in telemetry.CATEGORY_OF_RULE.items() if c == "market_order"} == {
        "crowding",
        "transaction_anomaly",
    }


# -- the published reading schema ------------------------------------------------------------


def reading_schema() -> dict[str, Any]:
    [raw] = [r for r in RAW_MESSAGES if r.topic == TELEMETRY_READINGS]
    return generate.raw_schema(raw)


@pytest.mark.parametrize("kind", sorted(READINGS))
def test_readings_validate_against_the_published_schema(kind: str) -> None:
    schema = reading_schema()
    assert validate(READINGS[kind], schema) == []
    assert validate({**READINGS[kind], "kind": "smoke"}, schema) != []
    assert validate({**READINGS[kind], "unknown": 1}, schema) != []


def test_reading_schema_is_generated_and_checkable() -> None:
    schema = reading_schema()
    assert schema["$id"] == "https://schemas.market-sentinel.dev/telemetry.reading/v1.json"
    assert "no CloudEvents envelope" in schema["description"]
    assert compat.unknown_keywords(schema) == set()
    files = generate.render()
    assert json.loads(files["schemas/telemetry.reading.v1.json"]) == schema


def test_a_raw_message_on_an_enveloped_topic_is_refused() -> None:
    wrong = RawSpec("telemetry.reading", 1, telemetry.Reading, TELEMETRY_RISKS, "wrong")
    with pytest.raises(generate.ContractError, match="carries enveloped events"):
        generate.render(EVENTS, [wrong])
