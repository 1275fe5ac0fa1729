"""People in the events: the `actor` a person's change carries, optional and backward compatible."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import compat, generate
from contracts.events import EVENTS, spec
from contracts.people import NAME_MAX_CHARS, Actor, actor_dict, actor_from
from tests.support.event_samples import SAMPLES as REGISTRY_SAMPLES
from tests.support.event_samples import TELEMETRY_SAMPLES
from tests.support.schema_subset import validate

SAMPLES = {**REGISTRY_SAMPLES, **TELEMETRY_SAMPLES}

LI = Actor(subject="5f0c7a9e-1b2d-4c3e-8f40-123456789abc", name="李检查员")

# Every event a person's action causes, and only those: the clock's and other events' keep none.
PERSON_EVENTS = {
    "registry.market.upserted",
    "registry.merchant.upserted",
    "registry.terminal.upserted",
    "registry.campaign.upserted",
    "registry.milestone.recorded",
    "registry.renovation.upserted",
    "telemetry.risk.acknowledged",
    "inspection.task.claimed",
    "inspection.task.completed",
    "inspection.rectification.verified",
    "complaints.complaint.accepted",
    "complaints.complaint.rejected",
    "complaints.complaint.transferred",
    "complaints.complaint.closed",
    "complaints.suggestion.answered",
    "campaign.report.filed",
    "campaign.self_inspection.recorded",
    "campaign.follow_up.closed",
    "campaign.training.attended",
    "campaign.meeting.recorded",
    "campaign.action_item.done",
    "campaign.enforcement.opened",
    "campaign.enforcement.decided",
    "campaign.enforcement.closed",
    # An admin's drawing or publishing by hand (the schedule's carry no actor).
    "credit.honour.listed",
    "credit.honour.delisted",
    "credit.assessment.published",
    "credit.objection.filed",
    "credit.objection.decided",
    "credit.objection.withdrawn",
}


def data_schema(event_type: str) -> dict[str, Any]:
    schema = generate.envelope_schema(spec(event_type))
    data: dict[str, Any] = schema["$defs"][schema["properties"]["data"]["$ref"].split("/")[-1]]
    return data


def test_an_actor_is_a_subject_and_a_name_both_required_and_bounded() -> None:
    assert LI.to_dict() == {"subject": LI.subject, "name": "李检查员"}
    for bad in (
        {"subject": "", "name": "李"},
        {"subject": "u1", "name": ""},
        {"subject": "u1"},
        {"subject": "u1", "name": "李", "role": "inspector"},
        {"subject": "u1", "name": "李" * (NAME_MAX_CHARS + 1)},
        {"subject": "u" * 256, "name": "李"},
    ):
        with pytest.raises(ValidationError):
            Actor.model_validate(bad)


def test_of_falls_back_to_the_subject_and_cuts_a_long_name() -> None:
    assert Actor.of("u1") == Actor(subject="u1", name="u1")
    assert Actor.of(" u1 ", "  ") == Actor(subject="u1", name="u1")
    assert Actor.of("u1", " 张三 ").name == "张三"
    assert Actor.of("u1", "名" * 500).name == "名" * NAME_MAX_CHARS
    with pytest.raises(ValidationError):
        Actor.of("  ", "张三")


def test_records_read_back_what_they_stored() -> None:
    assert actor_from(actor_dict(LI)) == LI
    assert actor_from(None) is None and actor_dict(None) is None


def test_exactly_the_events_a_person_causes_have_an_optional_actor() -> None:
    with_actor = {s.type for s in EVENTS if "actor" in s.data.model_fields}
    assert with_actor == PERSON_EVENTS
    for event_type in PERSON_EVENTS:
        field = spec(event_type).data.model_fields["actor"]
        assert not field.is_required() and field.default is None, event_type
        data = data_schema(event_type)
        assert "actor" in data["properties"] and "actor" not in data.get("required", ())


def test_the_published_actor_is_a_closed_object_of_subject_and_name() -> None:
    schema = generate.envelope_schema(spec("inspection.task.claimed"))
    actor = schema["$defs"]["Actor"]
    assert actor["additionalProperties"] is False
    assert sorted(actor["required"]) == ["name", "subject"]


def without_actor(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as it was before `actor`: without the property and its definition."""
    old = copy.deepcopy(schema)
    old["$defs"].pop("Actor")
    for definition in old["$defs"].values():
        definition.get("properties", {}).pop("actor", None)
    return old


def test_adding_the_actor_is_a_compatible_change() -> None:
    for event_type in PERSON_EVENTS:
        new = generate.envelope_schema(spec(event_type))
        assert compat.breaking_changes(without_actor(new), new) == [], event_type


@pytest.mark.parametrize(
    "event_type", sorted(t for t in PERSON_EVENTS if t in SAMPLES), ids=lambda t: t
)
def test_old_and_new_producers_both_validate(event_type: str) -> None:
    model = spec(event_type).data
    old = SAMPLES[event_type].model_dump(mode="json", exclude={"actor"})
    assert "actor" not in old
    assert model.model_validate(old).actor is None  # type: ignore[attr-defined]
    new = {**old, "actor": LI.to_dict()}
    assert model.model_validate(new).actor == LI  # type: ignore[attr-defined]
    schema = {
        **data_schema(event_type),
        "$defs": generate.envelope_schema(spec(event_type))["$defs"],
    }
    for data in (old, new, {**old, "actor": None}):
        assert validate(data, schema) == [], data.get("actor")
    broken = {**old, "actor": {"subject": LI.subject}}
    assert validate(broken, schema) != []
    with pytest.raises(ValidationError):
        model.model_validate(broken)
