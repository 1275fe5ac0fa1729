"""People in the campaign: who recorded a milestone and who configured the campaign, on the
record and in the events; the clock's flags name nobody."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from contracts import generate
from contracts.envelope import Envelope
from contracts.events import spec
from contracts.people import Actor
from services.campaign import events as campaign_events
from services.campaign.domain.campaign import plan_campaign
from services.campaign.domain.milestones import Expected, MilestoneReport, record_milestone
from tests.support.schema_subset import validate

NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
CLERK = Actor(subject="1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d", name="赵登记员")
OTHER = Actor(subject="6f5e4d3c-2b1a-4c0d-9e8f-7a6b5c4d3e2f", name="钱登记员")


def wire(event: Envelope[Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.to_json())
    return parsed


def valid(event: Envelope[Any]) -> bool:
    return validate(wire(event), generate.envelope_schema(spec(event.type))) == []


def test_a_recorded_milestone_names_who_recorded_it() -> None:
    campaign = plan_campaign("cmp_1", "专项行动", date(2026, 3, 10), ["zhifu"], {}, NOW)
    kind = "work_plan_submitted"
    expected = Expected("cmp_1", "district", "zhifu", None, kind, campaign.deadline(kind))
    change = record_milestone(
        expected,
        None,
        MilestoneReport(date(2026, 3, 14)),  # late: flagged in this change
        by=CLERK,
        today=date(2026, 5, 1),
        now=NOW,
    )
    milestone = change.milestone
    assert change.flagged_late
    assert (milestone.recorded_by, milestone.recorded_actor) == (CLERK.subject, CLERK)
    _, event, _ = campaign_events.milestone_recorded(milestone)
    assert event.data.actor == CLERK and valid(event)
    _, late, _ = campaign_events.milestone_late(milestone, "dsc_1")
    assert "actor" not in wire(late)["data"]
    _, upserted, _ = campaign_events.campaign_upserted(campaign, OTHER)
    assert upserted.data.actor == OTHER and valid(upserted)


def test_campaign_events_come_from_the_campaign_service_under_their_registry_names() -> None:
    campaign = plan_campaign("cmp_1", "专项行动", date(2026, 3, 10), ["zhifu"], {}, NOW)
    topic, event, key = campaign_events.campaign_upserted(campaign, OTHER)
    assert (topic, key) == ("registry.campaign.v1", "cmp_1")
    assert (event.source, event.type) == ("/sentinel/campaign", "registry.campaign.upserted")
