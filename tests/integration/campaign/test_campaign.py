"""The campaign on real Postgres and Kafka: milestones and their events, lateness flagged once
by the clock, renovation projects through their stages, the progress view, public disclosure.
The city is registered at the registry; the campaign learns it from the registry's topics."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import topics
from contracts.campaign import (
    CampaignUpserted,
    DisclosureUpserted,
    MilestoneLate,
    MilestoneRecorded,
    RenovationCheckFailed,
    RenovationUpserted,
)
from contracts.registry import MarketUpserted
from services.campaign.service import Campaigns
from services.runtime.messaging import Delivery
from tests.integration.campaign.conftest import Api
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.registry_api import market_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOB = date(2026, 3, 10)


class Clock:
    """The campaign clock, set to 10:00 city time on the day a test chooses."""

    def __init__(self, campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = datetime.combine(MOB, time(10), SHANGHAI)
        monkeypatch.setattr(campaigns, "now", lambda: self.at)

    def set(self, day: date) -> None:
        self.at = datetime.combine(day, time(10), SHANGHAI)


@pytest.fixture
def campaigns(api: Api) -> Campaigns:
    return api.campaigns


@pytest.fixture
def clock(campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(campaigns, monkeypatch)


async def _district(api: Api) -> str:
    code = f"d{uuid.uuid4().hex[:8]}"
    r = await api.registry.post("/districts", {"code": code, "name": f"{code}区"})
    assert r.status_code == 201, r.text
    return code


async def _market(api: Api, district: str, task_force: bool = True) -> dict[str, Any]:
    """A market registered at the registry, once the campaign knows it as it ends up."""
    r = await api.registry.post("/markets", market_body(district))
    assert r.status_code == 201, r.text
    market: dict[str, Any] = r.json()
    if task_force:
        tf = await api.registry.put(
            f"/markets/{market['id']}/task-force", {"leader": "张组长", "members": ["李"]}
        )
        assert tf.status_code == 200, tf.text
        market = tf.json()
    await api.knows(market)
    return market


async def _known_district(api: Api) -> str:
    """A district the campaign knows: the campaign learns districts through their markets, so
    it has one (without a task force)."""
    district = await _district(api)
    await _market(api, district, task_force=False)
    return district


async def _campaign(api: Api, districts: list[str], **more: Any) -> dict[str, Any]:
    body = {
        "name": "提升改造专项行动",
        "mobilisation_date": MOB.isoformat(),
        "districts": districts,
    }
    r = await api.post("/campaigns", body | more)
    assert r.status_code == 201, r.text
    campaign: dict[str, Any] = r.json()
    return campaign


def _typed(key: str, event_type: str) -> Callable[[Record], bool]:
    def match(rec: Record) -> bool:
        return rec.key == key.encode() and rec.json()["type"] == event_type

    return match


def _parse(rec: Record, model: Any) -> Any:
    return Delivery(rec.topic, rec.partition, rec.offset, rec.key, rec.value).envelope(model)


# -- campaign and milestones -----------------------------------------------------------------


async def test_a_campaign_derives_its_deadlines_and_checks_its_configuration(
    api: Api, kafka: str, clock: Clock
) -> None:
    district = await _known_district(api)
    campaign = await _campaign(
        api, [district], deadlines={"deployment_meeting_held": {"month_day": "05-15"}}
    )
    deadlines = {d["kind"]: d["deadline"] for d in campaign["deadlines"]}
    assert deadlines == {
        "work_plan_submitted": "2026-03-11",
        "leadership_structure_submitted": "2026-03-11",
        "deployment_meeting_held": "2026-05-15",
        "task_force_set_up": "2026-03-24",
        "renovation_plan_approved": "2026-05-09",
    }
    bad = await api.post(
        "/campaigns",
        {
            "name": "x",
            "mobilisation_date": MOB.isoformat(),
            "districts": [district],
            "deadlines": {"work_plan_submitted": {"fixed_date": "2026-03-01"}},
        },
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "deadlines.work_plan_submitted"
    unknown = await api.post(
        "/campaigns", {"name": "x", "mobilisation_date": "2026-03-10", "districts": ["nowhere"]}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "districts"
    district_clerk = await api.post(
        "/campaigns", {"name": "x", "mobilisation_date": "2026-03-10"}, "clerk", district
    )
    assert district_clerk.status_code == 403

    # Reconfigured: the deadlines follow, as a new version of the campaign on its topic.
    cid = campaign["id"]
    async with TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as watcher:
        r = await api.patch(
            f"/campaigns/{cid}",
            {
                "mobilisation_date": "2026-03-16",
                "deadlines": {"task_force_set_up": {"fixed_date": "2026-04-01"}},
            },
        )
        assert r.status_code == 200, r.text
        # The creation's own event may still be on its way from the outbox: wait for v2.
        [record] = await watcher.wait_for(
            lambda rec: (
                _typed(cid, "registry.campaign.upserted")(rec)
                and rec.json()["data"]["version"] == 2
            )
        )
    changed = _parse(record, CampaignUpserted).data
    assert changed.version == 2 and changed.mobilisation_date == date(2026, 3, 16)
    assert {d.kind: d.deadline for d in changed.deadlines} == {
        "work_plan_submitted": date(2026, 3, 17),
        "leadership_structure_submitted": date(2026, 3, 17),
        "deployment_meeting_held": date(2026, 5, 15),
        "task_force_set_up": date(2026, 4, 1),
        "renovation_plan_approved": date(2026, 5, 15),
    }
    assert (await api.get(f"/campaigns/{cid}", "inspector", district)).json() == r.json()
    listed = (await api.get("/campaigns", "handler", district)).json()["items"]
    assert cid in [c["id"] for c in listed]


async def test_milestone_submission_is_published_on_the_campaign_topic(
    api: Api, kafka: str, clock: Clock
) -> None:
    district, other = await _known_district(api), await _known_district(api)
    campaign = await _campaign(api, [district, other])
    cid = campaign["id"]
    clock.set(date(2026, 3, 11))
    path = f"/campaigns/{cid}/districts/{district}/milestones/work_plan_submitted"
    body = {"achieved_on": "2026-03-11", "documents": ["芝政办发〔2026〕12号"]}
    async with TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as watcher:
        r = await api.put(path, body, "clerk", district)
        assert r.status_code == 200, r.text
        [record] = await watcher.wait_for(_typed(cid, "registry.milestone.recorded"))
    milestone = r.json()
    assert (milestone["status"], milestone["on_time"], milestone["version"]) == (
        "on_time",
        True,
        1,
    )
    event = _parse(record, MilestoneRecorded)
    assert event.subject == milestone["id"] and event.source == "/sentinel/campaign"
    assert event.dataschema.endswith("/registry.milestone.recorded/v1.json")
    data = event.data
    assert (data.campaign_id, data.district, data.kind, data.state) == (
        cid,
        district,
        "work_plan_submitted",
        "recorded",
    )
    assert (data.deadline, data.achieved_on, data.on_time) == (
        date(2026, 3, 11),
        date(2026, 3, 11),
        True,
    )
    assert data.documents == ["芝政办发〔2026〕12号"] and data.late_flagged_at is None

    # Another district's clerk may not record it; bad reports change nothing.
    assert (await api.put(path, body, "clerk", other)).status_code == 403
    meeting = f"/campaigns/{cid}/districts/{district}/milestones/deployment_meeting_held"
    no_attendees = await api.put(meeting, {"achieved_on": "2026-03-11"}, "clerk", district)
    assert no_attendees.status_code == 422
    assert no_attendees.json()["errors"][0]["field"] == "attendees"
    future = await api.put(
        meeting, {"achieved_on": "2026-03-12", "attendees": 5}, "clerk", district
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "achieved_on"
    wrong = await api.put(
        f"/campaigns/{cid}/districts/{district}/milestones/task_force_set_up", body
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "kind"
    listed = await api.get(f"/campaigns/{cid}/milestones", "clerk", district)
    assert [m["kind"] for m in listed.json()["items"]] == ["work_plan_submitted"]


async def test_a_late_milestone_is_flagged_and_published_once(
    api: Api, kafka: str, clock: Clock, campaigns: Campaigns
) -> None:
    district = await _district(api)
    market = await _market(api, district, task_force=False)
    campaign = await _campaign(api, [district])
    cid = campaign["id"]
    async with (
        TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as events,
        TopicWatcher(kafka, topics.REGISTRY_DISCLOSURES.name) as disclosures,
    ):
        # On the deadline day nothing is late yet; the work plan comes in on time.
        clock.set(date(2026, 3, 11))
        await campaigns.check_clock()
        r = await api.put(
            f"/campaigns/{cid}/districts/{district}/milestones/work_plan_submitted",
            {"achieved_on": "2026-03-11"},
            "clerk",
            district,
        )
        assert r.status_code == 200, r.text
        # The day after, the leadership structure is late: flagged and disclosed once.
        clock.set(date(2026, 3, 12))
        assert await campaigns.check_clock() >= 1
        [late] = await events.wait_for(_typed(cid, "registry.milestone.late"))
        assert await campaigns.check_clock() == 0  # a second run publishes nothing
        event = _parse(late, MilestoneLate)
        assert (event.data.kind, event.data.state, event.data.on_time) == (
            "leadership_structure_submitted",
            "missing",
            None,
        )
        assert event.data.deadline == date(2026, 3, 11) and event.causationid is None
        [opened] = await disclosures.wait_for(
            lambda rec: rec.key == event.data.disclosure_id.encode()
        )
        disclosure = _parse(opened, DisclosureUpserted)
        assert disclosure.causationid == event.id
        assert (disclosure.data.kind, disclosure.data.state) == ("late_milestone", "open")
        assert disclosure.data.source_id == event.data.milestone_id
        assert disclosure.data.title == f"{district}区未按期报送领导机构名单"

        # Recorded late: the milestone says so, no second late event, the disclosure resolves.
        clock.set(date(2026, 3, 13))
        r = await api.put(
            f"/campaigns/{cid}/districts/{district}/milestones/leadership_structure_submitted",
            {"achieved_on": "2026-03-13", "documents": ["补报"]},
            "clerk",
            district,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["version"]) == ("late", 2)
        [recorded] = await events.wait_for(
            lambda rec: (
                _typed(cid, "registry.milestone.recorded")(rec)
                and rec.json()["subject"] == event.data.milestone_id
            )
        )
        assert _parse(recorded, MilestoneRecorded).data.on_time is False
        [_, resolved] = await disclosures.wait_for(
            lambda rec: rec.key == event.data.disclosure_id.encode(), count=2
        )
        assert _parse(resolved, DisclosureUpserted).data.state == "resolved"

        # Weeks on, the market's milestones are late too — each flagged once.
        clock.set(date(2026, 6, 1))
        await campaigns.check_clock()
        assert await campaigns.check_clock() == 0
        await events.drain(settle_s=0.5)
    late_kinds = sorted(
        (r.json()["data"]["kind"], r.json()["data"].get("market_id"))
        for r in events.records
        if _typed(cid, "registry.milestone.late")(r)
    )
    assert late_kinds == [
        ("deployment_meeting_held", None),
        ("leadership_structure_submitted", None),
        ("renovation_plan_approved", market["id"]),
        ("task_force_set_up", market["id"]),
    ]
    public = (await api.client.get(f"/public/disclosures?campaign_id={cid}")).json()["items"]
    assert sorted((d["state"], d["overdue"]) for d in public) == [
        ("open", True),
        ("open", True),
        ("open", True),
        ("resolved", False),
    ]
    progress = (await api.get(f"/campaigns/{cid}/progress")).json()
    [row] = progress["districts"]
    assert row["milestones"] == {
        "expected": 5,
        "on_time": 1,
        "late": 1,
        "missing": 3,
        "overdue": 3,
        "pending": 0,
        "missed_deadline": 4,
    }


async def test_registering_a_task_force_records_the_market_milestone(
    api: Api, clock: Clock
) -> None:
    district = await _district(api)
    market = await _market(api, district, task_force=False)
    campaign = await _campaign(api, [district])
    clock.set(date(2026, 3, 20))
    r = await api.put(
        f"/campaigns/{campaign['id']}/markets/{market['id']}/milestones/task_force_set_up",
        {"achieved_on": "2026-03-20"},
        "clerk",
        district,
    )
    assert r.status_code == 422 and "no task force" in r.json()["errors"][0]["reason"]
    tf = await api.registry.put(
        f"/markets/{market['id']}/task-force",
        {"leader": "王组长", "members": []},
        "clerk",
        district,
    )
    assert tf.status_code == 200, tf.text

    async def recorded() -> list[dict[str, Any]]:
        items = (await api.get(f"/campaigns/{campaign['id']}/milestones")).json()["items"]
        return [m for m in items if m["market_id"] == market["id"]]

    # The campaign sees the task force appear in the market's snapshot.
    [milestone] = await until(recorded, what="task_force_set_up recorded")
    assert (milestone["kind"], milestone["achieved_on"], milestone["status"]) == (
        "task_force_set_up",
        "2026-03-20",
        "on_time",
    )


# -- renovation projects ---------------------------------------------------------------------


async def test_a_renovation_moves_through_its_stages_with_budget_totals_in_the_progress_view(
    api: Api, kafka: str, clock: Clock
) -> None:
    district, other = await _district(api), await _known_district(api)
    market = await _market(api, district)
    second = await _market(api, district)
    campaign = await _campaign(api, [district, other])
    cid = campaign["id"]
    clock.set(date(2026, 4, 1))
    body = {
        "campaign_id": cid,
        "market_id": market["id"],
        "kind": "old_market_upgrade",
        "title": "幸福农贸市场提升改造工程",
        "scope_items": [
            {"area": "infrastructure", "description": "更换排水管网"},
            {"area": "hygiene", "description": "增设洗手池"},
        ],
        "budget": [
            {"source": "fiscal", "amount_yuan": "1200000.00"},
            {"source": "ppp", "amount_fen": 80_000_000},
            {"source": "special_fund", "amount_yuan": "350000.50"},
        ],
    }
    async with (
        TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as events,
        TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as markets,
    ):
        r = await api.post("/renovations", body, "clerk", district)
        assert r.status_code == 201, r.text
        project = r.json()
        pid = project["id"]
        assert (project["stage"], project["budget_total_fen"]) == ("planned", 235_000_050)
        assert project["budget_total_yuan"] == "2350000.50"
        planned_only = await api.post(
            "/renovations",
            body
            | {
                "market_id": second["id"],
                "kind": "new_market",
                "budget": [{"source": "fiscal", "amount_fen": 1_000}],
            },
            "clerk",
            district,
        )
        assert planned_only.status_code == 201, planned_only.text

        stage = f"/renovations/{pid}/stage"
        skip = await api.post(stage, {"stage": "under_construction"}, "clerk", district)
        assert skip.status_code == 409
        assert skip.json()["current_stage"] == "planned"
        assert (await api.post(stage, {"stage": "approved"}, "clerk", other)).status_code == 403
        approved = await api.post(
            stage, {"stage": "approved", "reached_on": "2026-04-01"}, "clerk", district
        )
        assert approved.status_code == 200, approved.text
        late_budget = await api.patch(
            f"/renovations/{pid}", {"budget": [{"source": "fiscal", "amount_fen": 1}]}
        )
        assert late_budget.status_code == 409 and late_budget.json()["current_stage"] == "approved"

        clock.set(date(2026, 4, 20))
        built = await api.post(stage, {"stage": "under_construction"}, "clerk", district)
        assert built.status_code == 200, built.text
        check = f"/renovations/{pid}/checks"
        failed = await api.post(
            check,
            {
                "kind": "safety",
                "result": "fail",
                "checked_on": "2026-04-20",
                "inspector": "质安站 刘工",
                "findings": ["临时用电线路裸露"],
            },
            "clerk",
            district,
        )
        assert failed.status_code == 201, failed.text
        assert failed.json()["check"]["rectify_by"] == "2026-05-05"
        [check_failed] = await events.wait_for(_typed(cid, "registry.renovation.check_failed"))
        refused = await api.post(stage, {"stage": "accepted"}, "clerk", district)
        assert refused.status_code == 409
        assert refused.json()["current_stage"] == "under_construction"
        assert "unresolved failed checks" in refused.json()["message"]
        passed = await api.post(
            check,
            {"kind": "safety", "result": "pass", "checked_on": "2026-04-20", "inspector": "刘工"},
            "clerk",
            district,
        )
        assert passed.json()["resolved"] == [failed.json()["check"]["check_id"]]
        accepted = await api.post(stage, {"stage": "accepted"}, "clerk", district)
        assert accepted.status_code == 200, accepted.text
        final = await api.post(stage, {"stage": "accepted"}, "clerk", district)
        assert final.status_code == 409 and final.json()["current_stage"] == "accepted"
        upserts = await events.wait_for(
            lambda rec: (
                _typed(cid, "registry.renovation.upserted")(rec) and rec.json()["subject"] == pid
            ),
            count=6,
        )
        await markets.wait_for(
            lambda rec: (
                rec.key == market["id"].encode()
                and rec.json()["data"]["renovation_status"] == "completed"
            )
        )

    failure = _parse(check_failed, RenovationCheckFailed)
    assert (failure.subject, failure.data.market_id, failure.data.district) == (
        pid,
        market["id"],
        district,
    )
    assert failure.data.check.findings == ["临时用电线路裸露"]
    assert failure.data.rectify_by == date(2026, 5, 5)
    changes = [_parse(r, RenovationUpserted).data for r in upserts]
    assert [(c.change, c.stage, c.version) for c in changes] == [
        ("created", "planned", 1),
        ("stage_changed", "approved", 2),
        ("stage_changed", "under_construction", 3),
        ("check_recorded", "under_construction", 4),
        ("check_recorded", "under_construction", 5),
        ("stage_changed", "accepted", 6),
    ]
    assert {b.source: b.amount_fen for b in changes[-1].budget} == {
        "fiscal": 120_000_000,
        "ppp": 80_000_000,
        "special_fund": 35_000_050,
    }
    # (the market's registration snapshots may still have been in flight when watching began)
    statuses = [
        _parse(r, MarketUpserted).data.renovation_status
        for r in markets.records
        if r.key == market["id"].encode() and r.json()["data"]["renovation_status"] != "not_planned"
    ]
    assert statuses == ["planned", "in_progress", "completed"]

    progress = (await api.get(f"/campaigns/{cid}/progress", "clerk", district)).json()
    [row] = progress["districts"]  # a district clerk sees their own district
    renovations = row["renovations"]
    assert renovations["total"] == 2
    assert renovations["by_stage"] == {
        "planned": 1,
        "approved": 0,
        "under_construction": 0,
        "accepted": 1,
    }
    assert renovations["budget"]["fen"] == {
        "fiscal": 120_001_000,
        "ppp": 80_000_000,
        "special_fund": 35_000_050,
    }
    assert renovations["committed"]["fen"] == {
        "fiscal": 120_000_000,
        "ppp": 80_000_000,
        "special_fund": 35_000_050,
    }
    assert renovations["committed"]["yuan"]["special_fund"] == "350000.50"
    assert renovations["committed"]["total_fen"] == 235_000_050
    assert row["markets"] == {"total": 2, "with_task_force": 2}
    # Approval recorded the market's renovation plan milestone on its day.
    plan = [
        i
        for i in row["milestone_items"]
        if i["market_id"] == market["id"] and i["kind"] == "renovation_plan_approved"
    ]
    assert [(i["achieved_on"], i["status"]) for i in plan] == [("2026-04-01", "on_time")]
    city = (await api.get(f"/campaigns/{cid}/progress")).json()
    assert [d["district"] for d in city["districts"]] == [district, other]
    assert city["totals"]["renovations"]["committed"]["total_fen"] == 235_000_050

    public = (await api.client.get(f"/public/disclosures?market_id={market['id']}")).json()
    [disclosure] = public["items"]
    assert (disclosure["kind"], disclosure["state"], disclosure["deadline_date"]) == (
        "failed_check",
        "resolved",
        "2026-05-05",
    )


async def test_bad_renovation_input_is_refused_naming_the_field(api: Api, clock: Clock) -> None:
    district = await _district(api)
    market = await _market(api, district)
    campaign = await _campaign(api, [district])
    base = {
        "campaign_id": campaign["id"],
        "market_id": market["id"],
        "kind": "new_market",
        "title": "t",
        "scope_items": [{"area": "layout", "description": "划行归市"}],
    }
    cases = [
        ([{"source": "fiscal", "amount_yuan": "1.001"}], "budget.0.amount_yuan"),
        ([{"source": "fiscal", "amount_yuan": "1", "amount_fen": 100}], "budget.0"),
        ([{"source": "fiscal", "amount_fen": 1}, {"source": "fiscal", "amount_fen": 2}], None),
        ([{"source": "lottery", "amount_fen": 1}], "budget.0.source"),
    ]
    for budget, field in cases:
        r = await api.post("/renovations", base | {"budget": budget}, "clerk", district)
        assert r.status_code == 422, (budget, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field, r.text
    ok = await api.post(
        "/renovations", base | {"budget": [{"source": "ppp", "amount_fen": 5}]}, "clerk", district
    )
    assert ok.status_code == 201, ok.text
    pid = ok.json()["id"]
    amended = await api.patch(
        f"/renovations/{pid}",
        {"title": "新市场建设", "budget": [{"source": "special_fund", "amount_yuan": "12.34"}]},
        "clerk",
        district,
    )
    assert amended.status_code == 200, amended.text
    assert (amended.json()["version"], amended.json()["budget_by_source_fen"]["special_fund"]) == (
        2,
        1234,
    )
    assert (await api.get(f"/renovations/{pid}", "inspector", district)).json() == amended.json()
    listed = await api.get(f"/renovations?market_id={market['id']}&stage=planned")
    assert [p["id"] for p in listed.json()["items"]] == [pid]
    stranger = await _district(api)
    assert (await api.get(f"/renovations/{pid}", "clerk", stranger)).status_code == 403
    assert (await api.get(f"/renovations?market_id={market['id']}", "clerk", stranger)).json() == {
        "items": []
    }
    outside = await _market(api, await _district(api))
    r = await api.post(
        "/renovations",
        base | {"market_id": outside["id"], "budget": [{"source": "ppp", "amount_fen": 5}]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "market_id"


async def test_every_problem_of_a_renovation_plan_is_one_422(api: Api, clock: Clock) -> None:
    # A blank title and an amount in yuan with three decimals (once the request schema's,
    # answered alone), a campaign that does not exist and a plan dated tomorrow (the rules'):
    # one answer names the four.
    district = await _district(api)
    market = await _market(api, district)
    clock.set(date(2026, 3, 11))
    body = {
        "campaign_id": "cmp_gone",
        "market_id": market["id"],
        "kind": "new_market",
        "title": " ",
        "scope_items": [{"area": "layout", "description": "划行归市"}],
        "budget": [{"source": "ppp", "amount_yuan": "1.001"}],
        "planned_on": "2026-03-12",
    }
    r = await api.post("/renovations", body, "clerk", district)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "campaign_id",
        "title",
        "budget.0.amount_yuan",
        "planned_on",
    ]
    listed = await api.get(f"/renovations?market_id={market['id']}")
    assert listed.json()["items"] == []


async def test_a_closed_markets_project_goes_no_further_and_it_takes_no_new_one(
    api: Api, clock: Clock
) -> None:
    """停业 at the registry's API: once the campaign's view holds the closed snapshot, the
    market's planned project takes no stage change (409 naming `market_id`, the project as it
    was) and a new project or exposure of it is refused (422 naming `market_id`)."""
    district = await _district(api)
    market = await _market(api, district)
    campaign = await _campaign(api, [district])
    clock.set(date(2026, 4, 1))
    body = {
        "campaign_id": campaign["id"],
        "market_id": market["id"],
        "kind": "old_market_upgrade",
        "title": "幸福农贸市场提升改造工程",
        "scope_items": [{"area": "infrastructure", "description": "更换排水管网"}],
        "budget": [{"source": "fiscal", "amount_fen": 1_000}],
    }
    planned = await api.post("/renovations", body, "clerk", district)
    assert planned.status_code == 201, planned.text
    pid = planned.json()["id"]
    opened = await api.post(f"/renovations/{pid}/consultation", {"days": 10}, "clerk", district)
    assert opened.status_code == 200, opened.text
    asked = {"market_id": market["id"], "open": "true"}
    assert [
        c["project_id"]
        for c in (await api.client.get("/public/consultations", params=asked)).json()["items"]
    ] == [pid]
    closed = await api.registry.post(
        f"/markets/{market['id']}/close", {"reason": "并入新市场", "closed_on": "2026-03-31"}
    )
    assert closed.status_code == 200, closed.text
    await api.knows(closed.json())

    stage = await api.post(f"/renovations/{pid}/stage", {"stage": "approved"}, "clerk", district)
    assert stage.status_code == 409, stage.text
    [error] = stage.json()["errors"]
    assert error["field"] == "market_id" and "closed on 2026-03-31" in error["reason"]
    assert (await api.get(f"/renovations/{pid}")).json() == opened.json()
    # Its window still runs; citizens are no longer asked for comments on it.
    assert (await api.client.get("/public/consultations", params=asked)).json()["items"] == []
    public = (await api.client.get(f"/public/consultations/{pid}")).json()
    assert (public["project_id"], public["open"]) == (pid, False)
    again = await api.post("/renovations", body, "clerk", district)
    assert again.status_code == 422, again.text
    assert [e["field"] for e in again.json()["errors"]] == ["market_id"]
    exposure = {
        "market_id": market["id"],
        "source": "press",
        "reference": "烟台日报 4月1日",
        "title": "污水横流",
        "rectify_by": "2026-04-10",
    }
    exposed = await api.post("/exposures", exposure, "clerk", district)
    assert exposed.status_code == 422 and exposed.json()["errors"][0]["field"] == "market_id"
    listed = await api.get(f"/renovations?market_id={market['id']}")
    assert [p["id"] for p in listed.json()["items"]] == [pid]


async def test_every_problem_of_a_campaign_and_of_a_milestone_is_one_422(
    api: Api, clock: Clock
) -> None:
    # A blank name (once the request schema's, answered alone) and a district the registry
    # does not know (the rules'); a milestone dated tomorrow with a blank document (once the
    # schema's) and no attendees: each one answer naming every field.
    district = await _known_district(api)
    r = await api.post(
        "/campaigns",
        {"name": " ", "mobilisation_date": MOB.isoformat(), "districts": [district, "nowhere"]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "name", "reason": "must not be blank"},
        {"field": "districts", "reason": "no district with code 'nowhere'"},
    ]
    cid = (await _campaign(api, [district]))["id"]
    clock.set(date(2026, 3, 11))
    meeting = f"/campaigns/{cid}/districts/{district}/milestones/deployment_meeting_held"
    body = {"achieved_on": "2026-03-12", "documents": [""]}
    r = await api.put(meeting, body, "clerk", district)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["achieved_on", "attendees", "documents"]


async def test_every_public_route_is_rate_limited_per_client(api: Api) -> None:
    """Disclosures and consultations are open data like the other services' public routes: a
    client past its burst is told to wait (429 with Retry-After), on each of them."""
    from services.runtime.ratelimit import TokenBuckets

    limits = api.app.state.rate_limits
    saved = limits.get("public")
    limits["public"] = TokenBuckets(rate=0.01, burst=2)  # this test's tight limit
    paths = [
        "/public/disclosures",
        "/public/consultations",
        "/public/disclosures/dsc_unknown",
        "/public/consultations/prj_unknown",
    ]
    try:
        answers = [await api.client.get(path) for path in paths]
    finally:
        if saved is None:
            limits.pop("public")
        else:
            limits["public"] = saved
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert answers[3].json()["error"] == "too_many_requests"
