"""Markets' duties on the real stack: task-force reports, operators' self-inspections and their
follow-ups, training and certificates, and the market's standing on campaign.duties.v1.

A minimal campaign app — the runtime's Service, a registry view and the duties component — with
a clock the tests move. The registry view starts at the end of the registry's topics, so it
knows only the markets these tests publish there; the clock runs when a test runs it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.envelope import CONTENT_TYPE, make_event
from contracts.events import spec
from contracts.registry import MarketUpserted, OpeningHours, TaskForce
from services.campaign.duties import Duties, DutiesConfig, install
from services.campaign.settings import CampaignSettings
from services.runtime.app import Service, create_app
from services.runtime.directory import RegistryDirectory
from tests.support import identity
from tests.support.city import Clock, bearer, start_group_at_end
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until

pytestmark = pytest.mark.integration
CODES = ("hygiene", "cold_chain", "scales", "prices", "fire_safety", "licences", "pest_control")


@dataclass
class Stack:
    kafka: str
    client: httpx.AsyncClient
    service: Service
    directory: RegistryDirectory
    duties: Duties
    producer: AIOKafkaProducer
    clock: Clock

    def today(self) -> date:
        return self.duties.today(self.clock())

    async def market(self, district: str) -> str:
        """A market with a task force, published as the registry would, once the view has it."""
        market_id = f"mkt_{uuid.uuid4().hex[:12]}"
        snapshot = MarketUpserted(
            version=1,
            updated_at=datetime.now(UTC),
            market_id=market_id,
            name="幸福农贸市场",
            district=district,
            district_name=district,
            kind="farmers",
            operator="幸福市场管理有限公司",
            address="幸福路1号",
            capacity=800,
            opening_hours=OpeningHours(open="06:00", close="19:00"),
            renovation_status="not_planned",
            task_force=TaskForce(leader="王队长", members=["李", "张"]),
        )
        await self.publish(snapshot)
        return market_id

    async def close(self, market_id: str, on: date) -> None:
        """The market closed for good (停业), as the registry publishes it, once the view has it."""
        opened = self.directory.markets[market_id]
        update = {"status": "closed", "closed_on": on, "version": opened.version + 1}
        await self.publish(opened.model_copy(update=update))

    async def publish(self, snapshot: MarketUpserted) -> None:
        market_id, event_type = snapshot.market_id, "registry.market.upserted"
        event = make_event(
            service="registry",
            event_type=event_type,
            version=spec(event_type).version,
            subject=market_id,
            data=snapshot,
        )
        await self.producer.send_and_wait(
            topics.REGISTRY_MARKETS.name,
            event.to_json(),
            key=market_id.encode(),
            headers=[("content-type", CONTENT_TYPE.encode()), ("ce_type", event_type.encode())],
        )

        def held() -> bool:
            found = self.directory.markets.get(market_id)
            return found is not None and found.version >= snapshot.version

        await until(held, what=f"the view has {market_id} at version {snapshot.version}")

    async def post(self, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(path, headers=headers)


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    clock = Clock()
    group = f"duties-{uuid.uuid4().hex[:8]}"
    settings = CampaignSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=secrets_env["OIDC_ISSUER"],
        outbox_poll_interval_s=0.1,
        consumer_group=group,
        db_schema=f"duties_{uuid.uuid4().hex[:8]}",
        campaign_check_interval_s=0,
    )
    service = Service(settings)
    directory = RegistryDirectory()
    directory.attach(service)
    await start_group_at_end(
        kafka, service.projections.group("markets"), topics.REGISTRY_MARKETS.name
    )
    await start_group_at_end(
        kafka, service.projections.group("merchants"), topics.REGISTRY_MERCHANTS.name
    )
    # Weekly reports make the periods short; no periodic clock: the tests run it.
    component = install(
        service,
        directory,
        config=DutiesConfig(report_interval_days=7, check_interval_s=0),
        now=clock,
    )
    app = create_app(service, [component.router], title="duties")
    await service.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaign"
        ) as client:
            yield Stack(kafka, client, service, directory, component.duties, producer, clock)
    finally:
        await producer.stop()
        await service.stop()


def district() -> str:
    return f"d{uuid.uuid4().hex[:8]}"


def checklist(**failed: str | None) -> dict[str, Any]:
    """Every item passed but those in `failed` (code: note)."""
    items: list[dict[str, Any]] = []
    for code in CODES:
        if code in failed:
            items.append({"code": code, "passed": False, "note": failed[code]})
        else:
            items.append({"code": code, "passed": True})
    return {"items": items}


def about(market_id: str, event_type: str) -> Any:
    def match(record: Record) -> bool:
        event = record.json()
        return bool(event["subject"] == market_id and event["type"] == event_type)

    return match


async def settled(stack: Stack, *watchers: TopicWatcher) -> None:
    """Everything written so far is published, and the watchers have read it."""
    await stack.service.drain_outbox()
    for watcher in watchers:
        await watcher.drain(settle_s=1.0)


def of(watcher: TopicWatcher, market_id: str, event_type: str) -> list[dict[str, Any]]:
    match = about(market_id, event_type)
    return [r.json() for r in watcher.records if match(r)]


# -- self-inspections ------------------------------------------------------------------------


async def test_a_failed_item_opens_a_follow_up_and_publishes_it(stack: Stack) -> None:
    code = district()
    market = await stack.market(code)
    operator = bearer("operator", code, market)
    operator_subject = identity.current().person("operator", code, market_id=market)[1]
    leader = bearer("leader", code)
    async with (
        TopicWatcher(stack.kafka, topics.CAMPAIGN_SELF_INSPECTIONS.name) as watch,
        TopicWatcher(stack.kafka, topics.CAMPAIGN_DUTIES.name) as standings,
    ):
        r = await stack.post(
            f"/markets/{market}/self-inspections",
            checklist(cold_chain="3号冷柜 11°C，未达冷藏要求"),
            operator,
        )
        assert r.status_code == 201, r.text
        recorded = r.json()
        assert recorded["day"] == stack.today().isoformat()
        [follow_up] = recorded["follow_ups"]
        assert follow_up["item"] == "cold_chain" and follow_up["state"] == "open"

        [record] = await watch.wait_for(about(market, "campaign.self_inspection.recorded"))
        event = record.json()
        assert record.key == market.encode()
        assert event["correlationid"] == event["id"]  # a person's change starts its own chain
        assert event["data"]["self_inspection_id"] == recorded["id"]
        assert event["data"]["checklist_version"] == "2026-01"
        assert event["data"]["actor"]["subject"] == operator_subject
        assert [f["item"] for f in event["data"]["follow_ups"]] == ["cold_chain"]
        assert {i["code"]: i["passed"] for i in event["data"]["items"]}["cold_chain"] is False

        # The district's leader sees it; the follow-up is open until the operator closes it.
        r = await stack.get(f"/markets/{market}/follow-ups?state=open", leader)
        assert [f["id"] for f in r.json()["items"]] == [follow_up["id"]]
        r = await stack.post(f"/follow-ups/{follow_up['id']}/close", {"note": " "}, operator)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
        r = await stack.post(f"/follow-ups/{follow_up['id']}/close", {"note": "已维修"}, operator)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "closed" and r.json()["closed_note"] == "已维修"
        r = await stack.post(f"/follow-ups/{follow_up['id']}/close", {"note": "again"}, operator)
        assert r.status_code == 409
        [closed] = await watch.wait_for(about(market, "campaign.follow_up.closed"))
        assert closed.json()["data"]["closed_note"] == "已维修"
        r = await stack.get(f"/markets/{market}/follow-ups?state=open", leader)
        assert r.json()["items"] == []

        # Each change moved the standing: one open follow-up, then none.
        updates = await standings.wait_for(about(market, "campaign.duties.updated"), count=2)
        assert [u.json()["data"]["open_follow_ups"] for u in updates] == [1, 0]
        assert updates[0].json()["causationid"] == event["id"]
        assert updates[1].json()["causationid"] == closed.json()["id"]

        r = await stack.get(f"/markets/{market}/self-inspections", leader)
        [listed] = r.json()["items"]
        assert listed["follow_ups"][0]["state"] == "closed"


async def test_refused_self_inspections_change_and_publish_nothing(stack: Stack) -> None:
    code = district()
    market, other = await stack.market(code), await stack.market(code)
    operator = bearer("operator", code, market)
    async with TopicWatcher(stack.kafka, topics.CAMPAIGN_SELF_INSPECTIONS.name) as watch:
        # Another market's operator, and a role that does not self-inspect: 403.
        r = await stack.post(
            f"/markets/{market}/self-inspections", checklist(), bearer("operator", code, other)
        )
        assert r.status_code == 403, r.text
        assert "own market" in r.json()["message"]
        r = await stack.get(f"/markets/{market}/duties", bearer("operator", code, other))
        assert r.status_code == 403
        r = await stack.post(
            f"/markets/{market}/self-inspections", checklist(), bearer("inspector", code)
        )
        assert r.status_code == 403

        # A missing item, and a failed item without a note: 422 naming the field.
        missing = checklist()
        missing["items"] = [i for i in missing["items"] if i["code"] != "scales"]
        r = await stack.post(f"/markets/{market}/self-inspections", missing, operator)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"field": "items", "reason": "scales (计量器具) is not answered"}
        ]
        r = await stack.post(
            f"/markets/{market}/self-inspections", checklist(prices=None), operator
        )
        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert error["field"] == f"items.{CODES.index('prices')}.note"
        assert "note" in error["reason"]
        r = await stack.post(
            f"/markets/{market}/self-inspections",
            {"day": (stack.today() + timedelta(days=1)).isoformat(), **checklist()},
            operator,
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "day"

        # Nothing was kept: the day is still free, and the first event is the valid one.
        r = await stack.post(f"/markets/{market}/self-inspections", checklist(), operator)
        assert r.status_code == 201, r.text
        r = await stack.post(f"/markets/{market}/self-inspections", checklist(), operator)
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "day"
        await settled(stack, watch)
        [event] = of(watch, market, "campaign.self_inspection.recorded")
        assert event["data"]["follow_ups"] == []
        assert of(watch, other, "campaign.self_inspection.recorded") == []


# -- the clock: late reports and missed days -------------------------------------------------


async def test_the_clock_flags_late_reports_and_missed_days_once(stack: Stack) -> None:
    code = district()
    market = await stack.market(code)
    d0 = stack.today()

    def day(n: int) -> str:
        return (d0 + timedelta(days=n)).isoformat()

    operator, clerk = bearer("operator", code, market), bearer("clerk", code)
    async with (
        TopicWatcher(stack.kafka, topics.CAMPAIGN_REPORTS.name) as reports,
        TopicWatcher(stack.kafka, topics.CAMPAIGN_SELF_INSPECTIONS.name) as inspections,
        TopicWatcher(stack.kafka, topics.CAMPAIGN_DUTIES.name) as standings,
    ):
        # Day 8: the first weekly period (days 0..6) ended unfiled; days 1..7 had no
        # self-inspection (the duty starts the day after the market became known).
        stack.clock.offset += timedelta(days=8)
        for _ in range(2):
            await stack.duties.check(only={market})
        await settled(stack, reports, inspections, standings)
        [late] = of(reports, market, "campaign.report.late")
        assert (late["data"]["period_start"], late["data"]["due_on"]) == (day(0), day(6))
        missed = of(inspections, market, "campaign.self_inspection.missed")
        assert sorted(m["data"]["day"] for m in missed) == [day(n) for n in range(1, 8)]
        standing = of(standings, market, "campaign.duties.updated")[-1]["data"]
        assert (standing["opening_days"], standing["self_inspected_days"]) == (7, 0)
        assert standing["self_inspection_rate"] == 0.0
        assert (standing["reports_due"], standing["reports_late"]) == (1, 1)
        assert standing["report_on_time_rate"] == 0.0

        r = await stack.get(f"/reports?district={code}&state=late", clerk)
        assert [(i["market_id"], i["due_on"]) for i in r.json()["items"]] == [(market, day(6))]

        # The task force files: first the late period, then the running one (on time).
        body = {"progress": "完成摊位改造 12 个", "problems": ["资金未到位"], "next_steps": []}
        r = await stack.post(f"/markets/{market}/reports", body, clerk)
        assert r.status_code == 201, r.text
        assert (r.json()["period_start"], r.json()["on_time"]) == (day(0), False)
        r = await stack.post(f"/markets/{market}/reports", body, bearer("inspector", code))
        assert r.status_code == 201, r.text
        assert (r.json()["period_start"], r.json()["on_time"]) == (day(7), True)
        r = await stack.post(f"/markets/{market}/reports", body, clerk)
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "period"
        r = await stack.post(f"/markets/{market}/reports", body, bearer("clerk", district()))
        assert r.status_code == 403
        r = await stack.post(f"/markets/{market}/reports", {**body, "progress": ""}, clerk)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "progress"
        r = await stack.get(f"/markets/{market}/reports", operator)
        schedule = r.json()["schedule"]
        assert (schedule["starts_on"], schedule["interval_days"]) == (day(0), 7)
        assert schedule["next_due_on"] == day(20)
        assert [i["state"] for i in r.json()["items"]] == ["on_time", "filed_late"]

        # Self-inspections on days 8 and 9; day 7 was flagged missed and stays missed.
        r = await stack.post(f"/markets/{market}/self-inspections", checklist(), operator)
        assert r.status_code == 201, r.text
        r = await stack.post(
            f"/markets/{market}/self-inspections", {"day": day(7), **checklist()}, operator
        )
        assert r.status_code == 409 and "flagged missed" in r.json()["errors"][0]["reason"]
        stack.clock.offset += timedelta(days=1)
        r = await stack.post(f"/markets/{market}/self-inspections", checklist(), operator)
        assert r.status_code == 201, r.text

        # Day 15: the second period (7..13) was filed on time; days 10..14 missed.
        stack.clock.offset += timedelta(days=6)
        for _ in range(2):
            await stack.duties.check(only={market})
        await settled(stack, reports, inspections, standings)
        assert len(of(reports, market, "campaign.report.late")) == 1
        missed = of(inspections, market, "campaign.self_inspection.missed")
        assert sorted(m["data"]["day"] for m in missed) == [
            day(n) for n in (*range(1, 8), *range(10, 15))
        ]
        standing = of(standings, market, "campaign.duties.updated")[-1]["data"]
        assert (standing["opening_days"], standing["self_inspected_days"]) == (14, 2)
        assert standing["self_inspection_rate"] == round(2 / 14, 4)
        assert (standing["reports_due"], standing["reports_late"]) == (2, 1)
        assert standing["report_on_time_rate"] == 0.5
        r = await stack.get(f"/markets/{market}/duties", bearer("department", code))
        assert r.json()["self_inspection_rate"] == round(2 / 14, 4)
        assert r.json()["report_on_time_rate"] == 0.5


# -- training --------------------------------------------------------------------------------


async def test_certificates_count_and_expire(stack: Stack) -> None:
    code = district()
    market = await stack.market(code)
    clerk, operator = bearer("clerk", code), bearer("operator", code, market)
    today = stack.today()
    async with (
        TopicWatcher(stack.kafka, topics.CAMPAIGN_TRAINING.name) as training,
        TopicWatcher(stack.kafka, topics.CAMPAIGN_DUTIES.name) as standings,
    ):
        r = await stack.post("/courses", {"title": "食品安全管理", "validity_months": 0}, clerk)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "validity_months"
        r = await stack.post("/courses", {"title": "食品安全管理", "validity_months": 1}, clerk)
        assert r.status_code == 201, r.text
        course = r.json()["id"]
        held_on = today - timedelta(days=10)
        r = await stack.post(
            f"/courses/{course}/sessions",
            {"held_on": held_on.isoformat(), "place": "区局会议室"},
            clerk,
        )
        assert r.status_code == 201, r.text
        session = r.json()["id"]
        r = await stack.post(
            f"/markets/{market}/managers", {"name": "张经理", "position": "市场管理员"}, clerk
        )
        assert r.status_code == 201, r.text
        manager = r.json()["id"]
        r = await stack.post(
            f"/markets/{market}/managers", {"name": "李主管", "position": "食品安全员"}, operator
        )
        assert r.status_code == 201, r.text
        other = r.json()["id"]

        r = await stack.post(
            f"/sessions/{session}/attendance",
            {"trainee_id": manager, "passed": True},
            bearer("clerk", district()),
        )
        assert r.status_code == 403
        r = await stack.post(
            f"/sessions/{session}/attendance", {"trainee_id": "trn_nobody", "passed": True}, clerk
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "trainee_id"
        r = await stack.post(
            f"/sessions/{session}/attendance", {"trainee_id": manager, "passed": True}, clerk
        )
        assert r.status_code == 201, r.text
        certificate = r.json()["certificate"]
        valid_until = date.fromisoformat(certificate["valid_until"])
        assert certificate["issued_on"] == held_on.isoformat()
        assert (valid_until - today).days < 30
        r = await stack.post(
            f"/sessions/{session}/attendance", {"trainee_id": other, "passed": False}, clerk
        )
        assert r.status_code == 201 and r.json()["certificate"] is None
        r = await stack.post(
            f"/sessions/{session}/attendance", {"trainee_id": other, "passed": True}, clerk
        )
        assert r.status_code == 409

        [attended] = await training.wait_for(
            lambda rec: (
                rec.json()["type"] == "campaign.training.attended"
                and rec.json()["data"]["trainee_id"] == manager
            )
        )
        [issued] = await training.wait_for(about(market, "campaign.certificate.issued"))
        assert issued.json()["correlationid"] == attended.json()["id"]
        assert issued.json()["data"]["valid_until"] == valid_until.isoformat()
        assert "张经理" not in issued.value.decode()  # names stay in the service

        # Two managers, one certified: the share is a half, published after the certificate.
        def certified(rec: Record) -> bool:
            return bool(
                about(market, "campaign.duties.updated")(rec)
                and rec.json()["data"]["managers_certified"] == 1
            )

        [update] = await standings.wait_for(certified)
        assert update.json()["causationid"] == issued.json()["id"]
        assert update.json()["data"]["certified_share"] == 0.5
        r = await stack.get(f"/markets/{market}/duties", operator)
        assert (r.json()["managers"], r.json()["certified_share"]) == (2, 0.5)

        r = await stack.get(f"/certificates?district={code}&expiring_within_days=30", clerk)
        [listed] = r.json()["items"]
        assert (listed["id"], listed["name"]) == (certificate["id"], "张经理")
        r = await stack.get(f"/certificates?district={code}&expiring_within_days=5", clerk)
        assert r.json()["items"] == []
        r = await stack.get(f"/certificates?district={code}", bearer("leader", district()))
        assert r.status_code == 403
        r = await stack.get(f"/markets/{market}/managers", bearer("leader", code))
        statuses = {m["name"]: m["certificate_status"] for m in r.json()["items"]}
        assert statuses == {"张经理": "expiring", "李主管": "none"}
        r = await stack.get("/self-inspection-checklist", operator)
        assert [i["code"] for i in r.json()["items"]] == list(CODES)


async def test_every_problem_of_a_course_session_manager_or_report_is_one_422(
    stack: Stack,
) -> None:
    code = district()
    market = await stack.market(code)
    clerk = bearer("clerk", code)

    async def fields(path: str, body: dict[str, object]) -> list[str]:
        r = await stack.post(path, body, clerk)
        assert r.status_code == 422, r.text
        return [e["field"] for e in r.json()["errors"]]

    assert await fields("/courses", {"title": " ", "validity_months": 0}) == [
        "title",
        "validity_months",
    ]
    r = await stack.post("/courses", {"title": "食品安全管理", "validity_months": 12}, clerk)
    assert r.status_code == 201, r.text
    course = r.json()["id"]
    sessions = f"/courses/{course}/sessions"
    assert await fields(sessions, {"held_on": None, "place": ""}) == ["held_on", "place"]
    managers = f"/markets/{market}/managers"
    assert await fields(managers, {"name": "", "position": " "}) == ["name", "position"]
    report = {"progress": "进" * 4001, "problems": [""], "next_steps": ["督促施工方"]}
    assert await fields(f"/markets/{market}/reports", report) == ["progress", "problems.0"]


async def test_a_self_inspection_note_too_long_is_named_with_the_item_not_answered(
    stack: Stack,
) -> None:
    code = district()
    market = await stack.market(code)
    body = checklist(prices="秤" * 1001)
    body["items"] = [i for i in body["items"] if i["code"] != "scales"]
    r = await stack.post(
        f"/markets/{market}/self-inspections", body, bearer("operator", code, market)
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        f"items.{CODES.index('prices') - 1}.note",
        "items",
    ]


async def test_a_closed_market_files_nothing_more(stack: Stack) -> None:
    """停业 on the registry's topic: the market's report, self-inspection and a new manager are
    409 naming `market_id`, nothing stored; its reports say when it closed, with no schedule."""
    code = district()
    market = await stack.market(code)
    clerk, operator = bearer("clerk", code), bearer("operator", code, market_id=market)
    await stack.close(market, stack.today())
    refused = [
        await stack.post(
            f"/markets/{market}/reports",
            {"progress": "进展", "problems": [], "next_steps": []},
            clerk,
        ),
        await stack.post(f"/markets/{market}/self-inspections", checklist(), operator),
        await stack.post(
            f"/markets/{market}/managers", {"name": "李经理", "position": "市场经理"}, clerk
        ),
    ]
    for r in refused:
        assert r.status_code == 409, r.text
        [error] = r.json()["errors"]
        assert error["field"] == "market_id" and "closed on" in error["reason"]
    reports = (await stack.get(f"/markets/{market}/reports", clerk)).json()
    assert reports["closed_on"] == stack.today().isoformat() and reports["schedule"] is None
    assert all(r["filed_on"] is None for r in reports["items"])
    managers = await stack.get(f"/markets/{market}/managers", clerk)
    assert managers.json()["items"] == []
