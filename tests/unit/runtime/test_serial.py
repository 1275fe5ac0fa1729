"""The one serialisation of domain values (services/runtime/serial.py): what a store writes it
reads back equal, in the form stores and APIs had before (isoformat instants, seconds), and an
older row without a newer field still loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.runtime import serial


@dataclass(frozen=True, slots=True)
class Ref:
    ref_id: Annotated[str, Field(alias="id")]
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    merchant_id: str
    due_at: datetime
    every: timedelta
    refs: tuple[Ref, ...] = ()
    grade: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    first_round: bool = False  # added later: rows stored before it have no such key


AT = datetime(2026, 12, 4, 3, 0, 0, 123456, tzinfo=UTC)


def test_a_value_round_trips_equal_in_the_form_stores_had() -> None:
    plan = Plan(
        "mer_1",
        AT,
        timedelta(days=120),
        (Ref("rsk_1", AT - timedelta(hours=1)),),
        "C",
        frozenset({"b", "a"}),
        True,
    )
    data = serial.dump(plan)
    assert data == {
        "merchant_id": "mer_1",
        "due_at": "2026-12-04T03:00:00.123456+00:00",
        "every": 120 * 86400.0,
        "refs": [{"id": "rsk_1", "seen_at": "2026-12-04T02:00:00.123456+00:00"}],
        "grade": "C",
        "tags": ["a", "b"],
        "first_round": True,
    }
    assert serial.load(Plan, data) == plan


def test_an_older_row_without_a_later_field_loads_with_its_default() -> None:
    old = {"merchant_id": "mer_1", "due_at": AT.isoformat(), "every": 3600}
    assert serial.load(Plan, old) == Plan("mer_1", AT, timedelta(hours=1))


def test_an_instant_keeps_its_offset_and_compares_by_the_moment() -> None:
    east8 = timezone(timedelta(hours=8))
    plan = Plan("mer_1", AT.astimezone(east8), timedelta(0))
    data = serial.dump(plan)
    assert data["due_at"] == "2026-12-04T11:00:00.123456+08:00"
    assert serial.load(Plan, data).due_at == AT


def test_data_that_does_not_fit_names_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        serial.load(Plan, {"merchant_id": "mer_1", "due_at": "yesterday", "every": 1})
    assert raised.value.errors()[0]["loc"] == ("due_at",)


def test_what_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="object"):
        serial.jsonable(object())


class PlanData(BaseModel):
    """A contract model: strict about what it is given, as producers are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan_id: str
    due_at: datetime
    grade: str | None
    refs: list[str]
    source: str = "inspection"


def test_a_contract_model_takes_its_fields_from_the_value_and_the_overrides() -> None:
    plan = Plan("mer_1", AT, timedelta(days=1), (Ref("rsk_1", AT),), "B")
    data = serial.into(PlanData, plan, plan_id=plan.merchant_id, refs=["rsk_1"])
    assert data == PlanData(plan_id="mer_1", due_at=AT, grade="B", refs=["rsk_1"])


def test_a_contract_field_the_value_lacks_is_named() -> None:
    plan = Plan("mer_1", AT, timedelta(days=1))
    with pytest.raises(ValidationError) as raised:
        serial.into(PlanData, plan, refs=[])
    assert [e["loc"] for e in raised.value.errors()] == [("plan_id",)]


def test_a_domain_value_takes_its_fields_from_a_contract_model_and_the_overrides() -> None:
    data = PlanData(plan_id="mer_1", due_at=AT, grade="B", refs=["rsk_1"])
    refs = tuple(Ref(ref, AT) for ref in data.refs)
    plan = serial.into(Plan, data, merchant_id=data.plan_id, every=timedelta(days=1), refs=refs)
    assert plan == Plan("mer_1", AT, timedelta(days=1), (Ref("rsk_1", AT),), "B")


def test_a_domain_field_the_model_lacks_is_a_type_error() -> None:
    data = PlanData(plan_id="mer_1", due_at=AT, grade=None, refs=[])
    with pytest.raises(TypeError, match="merchant_id"):
        serial.into(Plan, data, every=timedelta(days=1))
