"""The envelope as integrators see it: make_event's output against the published JSON Schema.

`jsonschema` is not installed in this project, so events are validated twice: against the
generated schema with the small validator in `schema_subset` (which refuses keywords it does not
implement), and by a round trip through the pydantic model.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import generate
from contracts.envelope import Envelope, make_event, schema_id
from contracts.events import EVENTS, spec
from tests.support.event_samples import SAMPLES
from tests.support.schema_subset import validate

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
AWARE_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=OFFSETS
)
IDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
SERVICES = st.sampled_from(["registry", "telemetry", "inspection", "complaints", "credit"])


def schema_of(event_type: str) -> dict[str, Any]:
    return generate.envelope_schema(spec(event_type))


def market_upserted(
    service: str = "registry",
    subject: str = "mkt_1",
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    time: datetime | None = None,
) -> Envelope[Any]:
    """A registry.market.upserted event (version 1, its sample data) as `service` makes it: the
    one event the envelope's own rules are tried on."""
    return make_event(
        service=service,
        event_type="registry.market.upserted",
        version=1,
        subject=subject,
        data=SAMPLES["registry.market.upserted"],
        correlation_id=correlation_id,
        causation_id=causation_id,
        time=time,
    )


def test_every_published_event_type_has_a_sample() -> None:
    assert {s.type for s in EVENTS if s.type.startswith("registry.")} <= set(SAMPLES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
@given(service=SERVICES, subject=IDS, time=AWARE_TIMES, causation=st.none() | IDS)
def test_make_event_output_validates_against_the_generated_schema(
    event_type: str, service: str, subject: str, time: datetime, causation: str | None
) -> None:
    version = spec(event_type).version
    event = make_event(
        service=service,
        event_type=event_type,
        version=version,
        subject=subject,
        data=SAMPLES[event_type],
        causation_id=causation,
        time=time,
    )
    wire = json.loads(event.to_json())

    assert validate(wire, schema_of(event_type)) == []
    assert wire["specversion"] == "1.0"
    assert wire["datacontenttype"] == "application/json"
    assert wire["dataschema"] == schema_id(event_type, version)
    assert wire["time"].endswith("Z")
    assert datetime.fromisoformat(wire["time"]) == time
    model: Any = Envelope[spec(event_type).data]  # type: ignore[name-defined]
    assert model.model_validate_json(event.to_json()) == event


def test_the_schema_rejects_what_the_contract_forbids() -> None:
    event_type = "registry.market.upserted"
    good = json.loads(market_upserted().to_json())
    schema = schema_of(event_type)
    assert validate(good, schema) == []

    def broken(**changes: Any) -> dict[str, Any]:
        event = json.loads(json.dumps(good))
        for key, value in changes.items():
            if value is None:
                del event[key]
            else:
                event[key] = value
        return event

    assert validate(broken(type="registry.merchant.upserted"), schema) != []
    assert validate(broken(dataschema=schema_id(event_type, 2)), schema) != []
    assert validate(broken(id=None), schema) == ["$.id: required property missing"]
    assert validate(broken(time="2026-05-01T08:00:00"), schema) != []  # no offset
    assert validate(broken(source="/elsewhere/registry"), schema) != []
    assert validate(broken(extension="x"), schema) != []  # envelope is closed
    data = dict(good["data"], kind="supermarket")
    assert any(e.startswith("$.data.kind:") for e in validate(broken(data=data), schema))


@given(service=SERVICES, subject=IDS)
def test_correlation_id_defaults_to_the_events_own_id(service: str, subject: str) -> None:
    event = market_upserted(service, subject)
    assert uuid.UUID(event.id).version == 4
    assert event.correlationid == event.id
    assert event.causationid is None


def test_given_correlation_and_causation_ids_are_kept() -> None:
    event = market_upserted("inspection", correlation_id="risk-7", causation_id="evt-6")
    assert (event.correlationid, event.causationid) == ("risk-7", "evt-6")
    assert event.id not in ("risk-7", "evt-6")


def test_every_event_gets_a_fresh_id() -> None:
    ids = {market_upserted().id for _ in range(50)}
    assert len(ids) == 50


def _error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(part) for part in error["loc"]) for error in exc.errors()}


@given(
    st.text(min_size=1, max_size=20).filter(
        lambda s: not (s.isascii() and s.isalpha() and s.islower())
    )
)
def test_a_bad_source_is_rejected_naming_the_field(service: str) -> None:
    with pytest.raises(ValidationError) as caught:
        market_upserted(service)
    assert _error_fields(caught.value) == {"source"}
    assert "source" in str(caught.value)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_a_naive_time_is_rejected_naming_the_field(naive: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        market_upserted(time=naive)
    assert _error_fields(caught.value) == {"time"}
    assert "timezone" in str(caught.value)


@given(AWARE_TIMES)
def test_time_is_normalised_to_utc(time: datetime) -> None:
    event = market_upserted(time=time)
    assert event.time.utcoffset() == timedelta(0)
    assert event.time == time
    assert event.time.tzinfo == UTC


def test_an_empty_subject_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        market_upserted(subject="")
    assert _error_fields(caught.value) == {"subject"}
