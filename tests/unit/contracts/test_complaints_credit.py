"""Complaints and credit contracts: intake validation, the integrators' envelope, closed cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import complaints, credit, generate, suggestions
from contracts.envelope import Envelope
from contracts.events import spec
from tests.support.schema_subset import validate

AT = datetime(2026, 5, 6, 9, 30, tzinfo=UTC)


def submission(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainant": {"name": "张三", "phone": "13812345678"},
        "market_id": "mkt_1",
        "merchant_id": "mer_1",
        "category": "short_weight",
        "facts": "称重少了二两",
        "request": "退还差价",
        "channel": "hotline_12345",
    }
    body.update(changes)
    return body


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"complainant": {"name": "张三", "phone": "12345"}}, "complainant.phone"),
        ({"complainant": {"name": " ", "phone": "13812345678"}}, "complainant.name"),
        ({"category": "noise"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"facts": "   "}, "facts"),
        ({"facts": "x" * 2001}, "facts"),
        ({"market_id": ""}, "market_id"),
        ({"occurred_at": "2026-05-01T08:00:00"}, "occurred_at"),
        ({"ssn": "1"}, "ssn"),
    ],
)
def test_a_bad_submission_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        complaints.ComplaintSubmission.model_validate(submission(**changes))
    assert error_fields(caught.value) == {field}


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138-1234-5678",
        "0535-6543210",
        "053565432101",
    ],
)
def test_mobiles_and_landlines_are_phones(phone: str) -> None:
    body = submission(complainant={"name": "李四", "phone": phone})
    parsed = complaints.ComplaintSubmission.model_validate(body)
    assert " " not in parsed.complainant.phone


@pytest.mark.parametrize("typed", ["+86 138-1234-5678", "+8613812345678", "138-1234-5678"])
def test_a_mobile_typed_with_its_country_code_or_dashes_is_the_same_mobile(typed: str) -> None:
    body = submission(complainant={"name": "李四", "phone": typed})
    assert complaints.ComplaintSubmission.model_validate(body).complainant.phone == "13812345678"
    suggestion = suggestions.SuggestionSubmission.model_validate(
        {"about": "campaign", "text": "建议", "phone": typed}
    )
    assert suggestion.phone == "13812345678"


@pytest.mark.parametrize("typed", ["+852 9123 4567", "+86 0535-6543210", "+86 12812345678"])
def test_a_foreign_or_malformed_number_is_still_refused_naming_the_phone(typed: str) -> None:
    body = submission(complainant={"name": "李四", "phone": typed})
    with pytest.raises(ValidationError) as caught:
        complaints.ComplaintSubmission.model_validate(body)
    assert error_fields(caught.value) == {"complainant.phone"}


def test_integrators_may_submit_under_their_own_source_but_not_publish_as_services() -> None:
    wire = {
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "id": "b5c9a6a4-2b1e-4f43-9d55-7f1a1c6d2e10",
        "source": "/integrators/hotline-12345",
        "type": "complaints.intake.submitted",
        "subject": "12345-2026-000017",
        "time": "2026-05-06T09:30:00Z",
        "dataschema": spec("complaints.intake.submitted").schema_id,
        "correlationid": "b5c9a6a4-2b1e-4f43-9d55-7f1a1c6d2e10",
        "data": submission(),
    }
    intake: Any = complaints.IntakeEnvelope[complaints.ComplaintSubmitted]
    assert intake.model_validate(wire).source == "/integrators/hotline-12345"
    assert validate(wire, generate.envelope_schema(spec("complaints.intake.submitted"))) == []
    with pytest.raises(ValidationError) as caught:
        Envelope[complaints.ComplaintSubmitted].model_validate(wire)
    assert error_fields(caught.value) == {"source"}
    with pytest.raises(ValidationError):
        intake.model_validate(dict(wire, source="https://evil.example/x"))


def case(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complaint_id": "cmp_1",
        "version": 4,
        "tracking_code": "K7QX3MWP9A",
        "state": "closed",
        "complainant": {"name": "张*", "phone": "138****5678"},
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": "mer_1",
        "stall_no": "A-12",
        "category": "short_weight",
        "facts": "称重少了二两",
        "request": "退还差价",
        "channel": "web",
        "occurred_at": None,
        "received_at": AT.isoformat(),
        "acceptance_deadline": AT.isoformat(),
        "accepted_at": AT.isoformat(),
        "mediation_deadline": AT.isoformat(),
        "rejected_at": None,
        "reject_reason": None,
        "closed_at": AT.isoformat(),
        "outcome": "refunded",
        "substantiated": True,
        "satisfaction": 5,
        "duplicate_of": None,
        "duplicates": [],
        "acceptance_overdue_at": None,
        "mediation_overdue_at": None,
        "handled_by": "handler-1",
        "external_ref": None,
        "within_limit": True,
    }
    body.update(changes)
    return body


def test_a_closed_case_carries_substantiated_and_its_schema_agrees() -> None:
    closed = complaints.ComplaintClosed.model_validate(case())
    assert closed.substantiated is True
    with pytest.raises(ValidationError) as caught:
        complaints.ComplaintClosed.model_validate(case(substantiated=None))
    assert error_fields(caught.value) == {"substantiated"}
    with pytest.raises(ValidationError) as caught:
        complaints.ComplaintClosed.model_validate(case(satisfaction=6))
    assert error_fields(caught.value) == {"satisfaction"}
    schema = generate.envelope_schema(spec("complaints.complaint.closed"))["$defs"]
    closed_schema = schema["ComplaintClosed"]
    assert "substantiated" in closed_schema["required"]
    data = json.loads(closed.model_dump_json())
    assert validate(data, closed_schema, root={"$defs": schema}) == []


def test_a_score_is_bounded_and_graded() -> None:
    base: dict[str, Any] = {
        "merchant_id": "mer_1",
        "market_id": "mkt_1",
        "district": "zhifu",
        "version": 2,
        "score": 85,
        "grade": "B",
        "previous_score": 100,
        "previous_grade": "A",
        "policy_version": "2026-01",
        "reason": "adjustment",
        "adjustment": None,
        "changed_at": AT.isoformat(),
    }
    assert credit.ScoreChanged.model_validate(base).grade == "B"
    for field, value in (("score", 101), ("grade", "E"), ("version", 0)):
        with pytest.raises(ValidationError) as caught:
            credit.ScoreChanged.model_validate(dict(base, **{field: value}))
        assert error_fields(caught.value) == {field}
    assert credit.district_key("zhifu") == "district:zhifu"
