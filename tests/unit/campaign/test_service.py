"""Every campaign use case on the in-memory stores and a fake unit of work: what it stores and
announces, and above all what a refusal, a redelivery or a failure half-way leaves behind
(nothing stored, nothing announced)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import Envelope, make_event
from contracts.inspection import RectificationLapsed, RectificationOverdue, RectificationVerified
from contracts.registry import MarketUpserted, TaskForce
from services.campaign.domain.disclosures import ExposureReport
from services.campaign.domain.milestones import MilestoneReport
from services.campaign.domain.renovations import Amendment, BudgetLine, CheckReport, ScopeItem
from services.campaign.fakes import fake_stores
from services.campaign.handlers import inspection_router, suggestions_router
from services.campaign.metrics import CampaignMetrics
from services.campaign.service import (
    CampaignChanges,
    Campaigns,
    NewCampaign,
    NewProject,
)
from services.campaign.store import Stores
from services.runtime.auth import Principal
from services.runtime.directory import RegistryMemory
from services.runtime.failures import Conflict, Forbidden, InvalidInput, InvalidInputs, NotFound
from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.clock import Clock
from tests.support.complaints_events import suggestion_received
from tests.support.inspection_feed import CRITICAL_FINDING

T0 = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # 10:00 on 12 March in the city
MOBILISED = date(2026, 3, 10)
ADMIN = Principal(subject="admin", role="admin", district="*")
CLERK = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周文员")
ELSEWHERE = Principal(subject="c-li", role="clerk", district="laishan")


def market(
    market_id: str,
    district: str,
    *,
    task_force: TaskForce | None = None,
    version: int = 1,
    updated_at: datetime = T0,
) -> MarketUpserted:
    return MarketUpserted(
        market_id=market_id,
        name=f"市场{market_id}",
        district=district,
        district_name={"zhifu": "芝罘区", "laishan": "莱山区"}[district],
        kind="farmers",
        operator="幸福市场管理有限公司",
        address="幸福路1号",
        capacity=800,
        opening_hours={"open": "06:00", "close": "19:00"},
        renovation_status="not_planned",
        task_force=task_force,
        version=version,
        updated_at=updated_at,
    )


TASK_FORCE = TaskForce(leader="王组长", members=["李"])


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    stores: Stores
    directory: RegistryMemory
    clock: Clock
    campaigns: Campaigns

    def types(self) -> list[str]:
        return list(self.uow.event_types())


@pytest.fixture
def world() -> World:
    stores = fake_stores()
    uow = FakeUnitOfWork(stores, snapshot=snapshot(stores))
    directory = RegistryMemory(market("mkt_1", "zhifu"), market("mkt_2", "laishan"))
    clock = Clock(T0)
    campaigns = Campaigns(
        uow.factory(),
        directory,
        CampaignMetrics(Metrics("campaign")),
        timezone="Asia/Shanghai",
        now=clock,
    )
    return World(uow, stores, directory, clock, campaigns)


async def created(world: World, districts: tuple[str, ...] = ()) -> str:
    c = await world.campaigns.create(ADMIN, NewCampaign("专项行动", MOBILISED, districts))
    return c.id


async def planned(world: World, campaign_id: str, market_id: str = "mkt_1") -> str:
    p = await world.campaigns.add_project(
        ADMIN,
        NewProject(
            campaign_id,
            market_id,
            "old_market_upgrade",
            "改造",
            (ScopeItem("infrastructure", "新屋顶"),),
            (BudgetLine("fiscal", 100_000),),
        ),
    )
    return p.id


def delivery(event: Envelope[Any], topic: str = "inspection.events.v1") -> Delivery:
    return Delivery(topic, 0, 0, None, event.to_json(), (("ce_type", event.type.encode()),))


def nothing_changed(world: World, published: int, stored: dict[str, int]) -> None:
    assert len(world.uow.published) == published
    assert counts(world) == stored


def counts(world: World) -> dict[str, int]:
    s = world.stores
    return {
        name: len(getattr(s, name).rows)
        for name in ("campaigns", "milestones", "projects", "disclosures")
    }


# -- campaigns -----------------------------------------------------------------------------------


async def test_a_campaign_is_created_for_every_known_district_and_announced(world: World) -> None:
    cid = await created(world)
    found = await world.campaigns.campaign(cid)
    assert found.districts == ("laishan", "zhifu")
    assert [c.id for c in await world.campaigns.campaigns()] == [cid]
    assert world.types() == ["registry.campaign.upserted"]
    topic, event, key = world.uow.published[0]
    assert (topic, key, event.data.actor.subject) == ("registry.campaign.v1", cid, "admin")


@pytest.mark.parametrize(
    ("who", "districts", "error"),
    [(CLERK, (), Forbidden), (ADMIN, ("nowhere",), InvalidInput)],
)
async def test_a_refused_campaign_stores_and_announces_nothing(
    world: World, who: Principal, districts: tuple[str, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await world.campaigns.create(who, NewCampaign("x", MOBILISED, districts))
    nothing_changed(world, 0, {"campaigns": 0, "milestones": 0, "projects": 0, "disclosures": 0})


async def test_a_campaign_is_reconfigured_and_a_refused_change_leaves_it(world: World) -> None:
    cid = await created(world)
    changed = await world.campaigns.reconfigure(ADMIN, cid, CampaignChanges(name="新名字"))
    assert (await world.campaigns.campaign(cid)).name == "新名字" == changed.name
    with pytest.raises(InvalidInput):
        await world.campaigns.reconfigure(ADMIN, cid, CampaignChanges(districts=("nowhere",)))
    with pytest.raises(Forbidden):
        await world.campaigns.reconfigure(CLERK, cid, CampaignChanges(name="x"))
    with pytest.raises(NotFound):
        await world.campaigns.reconfigure(ADMIN, "cmp_nobody", CampaignChanges(name="x"))
    assert (await world.campaigns.campaign(cid)).version == changed.version
    assert world.types() == ["registry.campaign.upserted"] * 2
    with pytest.raises(NotFound):
        await world.campaigns.campaign("cmp_nobody")


# -- milestones ----------------------------------------------------------------------------------


async def test_a_late_district_milestone_is_recorded_and_disclosed(world: World) -> None:
    cid = await created(world)
    m = await world.campaigns.record_district_milestone(
        CLERK, cid, "zhifu", "work_plan_submitted", MilestoneReport(date(2026, 3, 12))
    )
    assert m.recorded and m.recorded_actor is not None
    assert world.types()[1:] == [
        "registry.milestone.recorded",
        "registry.milestone.late",
        "registry.disclosure.upserted",
    ]
    assert [x.id for x in await world.campaigns.milestones(CLERK, cid)] == [m.id]
    assert await world.campaigns.milestones(ELSEWHERE, cid) == []
    [d] = await world.campaigns.disclosures(kind="late_milestone")
    assert (d.source_id, d.state) == (m.id, "resolved")  # late, but done: disclosed as such


@pytest.mark.parametrize(
    ("who", "district", "kind", "error"),
    [
        (CLERK, "zhifu", "task_force_set_up", InvalidInput),  # a market's milestone
        (ELSEWHERE, "zhifu", "work_plan_submitted", Forbidden),
        (ADMIN, "muping", "work_plan_submitted", InvalidInput),  # not in the campaign
    ],
)
async def test_a_refused_district_milestone_stores_and_announces_nothing(
    world: World, who: Principal, district: str, kind: str, error: type[Exception]
) -> None:
    cid = await created(world)
    before = counts(world)
    with pytest.raises(error):
        await world.campaigns.record_district_milestone(
            who, cid, district, kind, MilestoneReport(date(2026, 3, 11))
        )
    nothing_changed(world, 1, before)


async def test_a_market_milestone_needs_a_known_market_with_a_task_force(world: World) -> None:
    cid = await created(world)
    before = counts(world)
    report = MilestoneReport(date(2026, 3, 11))
    with pytest.raises(NotFound):
        await world.campaigns.record_market_milestone(
            ADMIN, cid, "mkt_nobody", "task_force_set_up", report
        )
    with pytest.raises(InvalidInput):
        await world.campaigns.record_market_milestone(
            ADMIN, cid, "mkt_1", "task_force_set_up", report
        )
    with pytest.raises(InvalidInput):
        await world.campaigns.record_market_milestone(
            ADMIN, cid, "mkt_1", "work_plan_submitted", report
        )
    nothing_changed(world, 1, before)
    world.directory.markets["mkt_1"] = market("mkt_1", "zhifu", task_force=TASK_FORCE)
    m = await world.campaigns.record_market_milestone(
        CLERK, cid, "mkt_1", "task_force_set_up", report
    )
    assert (m.scope, m.market_id, m.on_time) == ("market", "mkt_1", True)
    assert world.types()[1:] == ["registry.milestone.recorded"]


async def test_the_clock_flags_each_missing_milestone_once_and_recording_resolves_it(
    world: World,
) -> None:
    cid = await created(world, ("zhifu",))
    world.clock.at = T0 + timedelta(days=1)
    flagged = await world.campaigns.check_clock()
    assert flagged == 2  # the work plan and the leadership structure of zhifu
    assert world.types().count("registry.milestone.late") == 2
    published = len(world.uow.published)
    assert await world.campaigns.check_clock() == 0
    assert len(world.uow.published) == published
    await world.campaigns.record_district_milestone(
        CLERK, cid, "zhifu", "work_plan_submitted", MilestoneReport(date(2026, 3, 13))
    )
    open_ = await world.campaigns.disclosures(kind="late_milestone", state="open")
    assert len(open_) == 1  # the leadership structure's
    progress = await world.campaigns.progress(CLERK, cid)
    assert progress["campaign_id"] == cid
    assert [d["district"] for d in progress["districts"]] == ["zhifu"]


async def test_a_clock_pass_that_fails_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await created(world, ("zhifu",))
    world.clock.at = T0 + timedelta(days=1)
    before, published = counts(world), len(world.uow.published)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.stores.disclosures, "save", broken)
    with pytest.raises(RuntimeError):
        await world.campaigns.check_clock()
    nothing_changed(world, published, before)
    assert world.uow.rollbacks == 1


async def test_a_new_task_force_records_the_milestone_once_in_the_views_transaction(
    world: World,
) -> None:
    cid = await created(world)
    with_force = market("mkt_1", "zhifu", task_force=TASK_FORCE, version=2, updated_at=T0)
    await world.campaigns.on_market(market("mkt_1", "zhifu"), with_force)
    [m] = await world.campaigns.milestones(ADMIN, cid)
    assert (m.kind, m.recorded_actor) == (
        "task_force_set_up",
        None,
    ) or m.kind == "task_force_set_up"
    published = len(world.uow.published)
    # A snapshot that already had a task force, or a campaign newer than the change: nothing.
    await world.campaigns.on_market(with_force, with_force)
    older = market("mkt_2", "laishan", task_force=TASK_FORCE, updated_at=T0 - timedelta(days=1))
    await world.campaigns.on_market(None, older)
    assert len(world.uow.published) == published
    assert len(await world.campaigns.milestones(ADMIN, cid)) == 1


async def test_a_task_force_milestone_a_clerk_recorded_is_not_recorded_again_by_the_view(
    world: World,
) -> None:
    cid = await created(world)
    world.directory.markets["mkt_1"] = market("mkt_1", "zhifu", task_force=TASK_FORCE)
    recorded = await world.campaigns.record_market_milestone(
        CLERK, cid, "mkt_1", "task_force_set_up", MilestoneReport(date(2026, 3, 11))
    )
    published = len(world.uow.published)
    with_force = market("mkt_1", "zhifu", task_force=TASK_FORCE, version=2, updated_at=T0)
    await world.campaigns.on_market(market("mkt_1", "zhifu"), with_force)
    # The clerk's report stands: its day and its actor, not today's and the registry's.
    assert await world.campaigns.milestones(ADMIN, cid) == [recorded]
    assert recorded.recorded_actor is not None and recorded.recorded_actor.subject == "c-zhou"
    assert len(world.uow.published) == published


# -- renovation projects -------------------------------------------------------------------------


async def test_a_project_is_planned_amended_and_approval_records_the_plan_milestone(
    world: World,
) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    await world.campaigns.amend_project(CLERK, pid, Amendment(title="新标题"))
    approved = await world.campaigns.advance(CLERK, pid, "approved")
    assert (approved.stage, approved.title) == ("approved", "新标题")
    [m] = await world.campaigns.milestones(ADMIN, cid)
    assert m.kind == "renovation_plan_approved" and m.recorded
    assert world.types()[1:] == [
        "registry.renovation.upserted",
        "registry.renovation.upserted",
        "registry.renovation.upserted",
        "registry.milestone.recorded",
    ]
    assert [p.id for p in await world.campaigns.projects(CLERK, campaign_id=cid)] == [pid]
    assert await world.campaigns.projects(ELSEWHERE) == []
    assert (await world.campaigns.project(CLERK, pid)).id == pid


async def test_a_refused_project_change_stores_and_announces_nothing(world: World) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    before, published = counts(world), len(world.uow.published)
    with pytest.raises(InvalidInput):
        await planned(world, cid, "mkt_nobody")
    with pytest.raises(InvalidInput):
        await planned(world, "cmp_nobody")
    with pytest.raises(Forbidden):
        await world.campaigns.amend_project(ELSEWHERE, pid, Amendment(title="x"))
    with pytest.raises(NotFound):
        await world.campaigns.project(ADMIN, "rnv_nobody")
    with pytest.raises(Conflict):  # checks wait for approval
        await world.campaigns.record_check(
            CLERK, pid, CheckReport("quality", "fail", date(2026, 3, 12), "李工", ("渗水",))
        )
    nothing_changed(world, published, before)
    assert (await world.campaigns.project(ADMIN, pid)).version == 1


async def test_a_failed_check_is_disclosed_and_a_pass_resolves_it(world: World) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    await world.campaigns.advance(CLERK, pid, "approved")
    day = date(2026, 3, 12)
    failed = await world.campaigns.record_check(
        CLERK, pid, CheckReport("quality", "fail", day, "李工", ("渗水",))
    )
    assert failed.check.result == "fail"
    assert world.types()[-3:] == [
        "registry.renovation.upserted",
        "registry.renovation.check_failed",
        "registry.disclosure.upserted",
    ]
    [d] = await world.campaigns.disclosures(kind="failed_check")
    assert d.state == "open" and (await world.campaigns.disclosure(d.id)) == d
    await world.campaigns.record_check(CLERK, pid, CheckReport("quality", "pass", day, "李工"))
    assert (await world.campaigns.disclosure(d.id)).state == "resolved"
    with pytest.raises(NotFound):
        await world.campaigns.disclosure("dsc_nobody")


async def test_a_failure_after_the_change_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    approved = await world.campaigns.advance(CLERK, pid, "approved")
    before, published = counts(world), len(world.uow.published)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.stores.disclosures, "save", broken)
    with pytest.raises(RuntimeError):
        await world.campaigns.record_check(
            CLERK, pid, CheckReport("quality", "fail", date(2026, 3, 12), "李工", ("渗水",))
        )
    nothing_changed(world, published, before)
    assert await world.campaigns.project(CLERK, pid) == approved
    assert world.uow.rollbacks == 1


# -- consultation --------------------------------------------------------------------------------


def suggestion(project_id: str | None, sid: str = "sug_1", at: datetime = T0) -> Envelope[Any]:
    data = suggestion_received("mkt_1", project_id, at, sid)
    return make_event(
        service="complaints",
        event_type="complaints.suggestion.received",
        version=1,
        subject=sid,
        data=data,
    )


async def test_a_suggestion_on_an_open_plan_is_its_comment_once(world: World) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    await world.campaigns.open_consultation(CLERK, pid, 7)
    route = suggestions_router(world.campaigns)
    event = suggestion(pid)
    await route(delivery(event, "complaints.suggestions.v1"))
    await route(delivery(event, "complaints.suggestions.v1"))  # redelivered: nothing
    project = await world.campaigns.public_consultation(pid)
    assert project.consultation is not None and len(project.consultation.comments) == 1
    assert world.types().count("registry.renovation.upserted") == 3  # planned, opened, comment
    _, comment, _ = world.uow.published[-1]
    assert comment.causationid == event.id
    answered = await world.campaigns.answer_comment(CLERK, pid, "sug_1", "采纳")
    assert answered.consultation is not None and answered.consultation.unanswered == 0
    assert [p.id for p in await world.campaigns.consultations(open_only=True)] == [pid]
    world.clock.at = T0 + timedelta(days=30)
    assert await world.campaigns.consultations(open_only=True) == []
    assert [p.id for p in await world.campaigns.consultations()] == [pid]


async def test_a_suggestion_naming_no_project_is_taken_by_no_unit_of_work(world: World) -> None:
    cid = await created(world)
    pid = await planned(world, cid)
    await world.campaigns.open_consultation(CLERK, pid, 7)
    published, commits = len(world.uow.published), world.uow.commits
    event = suggestion(None)
    assert await world.campaigns.take_comment(event, delivery(event)) is None
    assert (len(world.uow.published), world.uow.commits) == (published, commits)  # no unit
    assert world.uow.claimed == set()
    project = await world.campaigns.public_consultation(pid)
    assert project.consultation is not None and project.consultation.comments == ()


async def test_suggestions_that_change_nothing_announce_nothing(world: World) -> None:
    cid = await created(world)
    pid = await planned(world, cid)  # not open for comment
    published = len(world.uow.published)
    route = suggestions_router(world.campaigns)
    for event in (suggestion(None, "sug_a"), suggestion("rnv_nobody", "sug_b"), suggestion(pid)):
        await route(delivery(event, "complaints.suggestions.v1"))
    assert len(world.uow.published) == published
    with pytest.raises(NotFound):
        await world.campaigns.public_consultation(pid)
    with pytest.raises(InvalidInput):
        await world.campaigns.open_consultation(CLERK, pid, 0)
    assert len(world.uow.published) == published


# -- exposures -----------------------------------------------------------------------------------


async def test_an_exposure_is_disclosed_flagged_late_once_and_verified_fixed(
    world: World,
) -> None:
    report = ExposureReport("press", "烟台日报 3月12日", "污水横流", date(2026, 3, 14))
    d = await world.campaigns.record_exposure(CLERK, "mkt_1", report)
    assert (await world.campaigns.exposure(CLERK, d.id)) == d
    assert [x.id for x in await world.campaigns.exposures(CLERK)] == [d.id]
    assert await world.campaigns.exposures(ELSEWHERE) == []
    world.clock.at = T0 + timedelta(days=3)
    assert await world.campaigns.flag_late_exposures() == 1
    assert await world.campaigns.flag_late_exposures() == 0
    fixed = await world.campaigns.verify_exposure(CLERK, d.id, fixed=True, note="已整改")
    assert fixed.state == "resolved"
    assert world.types() == ["registry.disclosure.upserted"] * 3


async def test_a_refused_exposure_stores_and_announces_nothing(world: World) -> None:
    report = ExposureReport("press", "ref", "污水横流", date(2026, 3, 14))
    with pytest.raises(InvalidInput):
        await world.campaigns.record_exposure(CLERK, "mkt_nobody", report)
    with pytest.raises(Forbidden):
        await world.campaigns.record_exposure(ELSEWHERE, "mkt_1", report)
    with pytest.raises(InvalidInput):  # the deadline passed already
        await world.campaigns.record_exposure(
            CLERK, "mkt_1", ExposureReport("press", "ref", "x", date(2026, 3, 1))
        )
    with pytest.raises(NotFound):
        await world.campaigns.verify_exposure(CLERK, "dsc_nobody", fixed=True, note=None)
    with pytest.raises(NotFound):
        await world.campaigns.exposure(CLERK, "dsc_nobody")
    nothing_changed(world, 0, {"campaigns": 0, "milestones": 0, "projects": 0, "disclosures": 0})


async def test_every_problem_of_an_exposure_is_named_at_once_and_nothing_is_kept(
    world: World,
) -> None:
    # The clerk's form left the source and the deadline blank, the title blank, a detail line
    # blank, and named a market the registry does not know: one refusal names them all.
    report = ExposureReport(None, "烟台日报", " ", None, details=("水产区", " "))
    with pytest.raises(InvalidInputs) as exc:
        await world.campaigns.record_exposure(CLERK, "mkt_nobody", report)
    assert exc.value.problems == [
        ("market_id", "no market 'mkt_nobody' is registered"),
        ("source", "must be one of press, public, supervision"),
        ("title", "must not be blank"),
        ("details.1", "must not be blank"),
        ("rectify_by", "a date (YYYY-MM-DD) is needed"),
    ]
    late = ExposureReport("public", "", "污水横流", date(2026, 3, 1))
    with pytest.raises(InvalidInputs) as exc:
        await world.campaigns.record_exposure(CLERK, "mkt_1", late)
    assert [f for f, _ in exc.value.problems] == ["reference", "rectify_by"]
    nothing_changed(world, 0, {"campaigns": 0, "milestones": 0, "projects": 0, "disclosures": 0})


# -- inspection's rectification orders -----------------------------------------------------------


def order(**more: Any) -> dict[str, Any]:
    return {
        "rectification_id": "rec_1",
        "version": 2,
        "task_id": "tsk_1",
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": None,
        "stall_no": None,
        "severity": "major",
        "findings": [CRITICAL_FINDING],
        "state": "open",
        "ordered_at": T0 - timedelta(days=5),
        "deadline": T0 - timedelta(days=1),
        "suspension": False,
        "failed_verifications": 0,
        "reinspection_task_id": None,
        "overdue_at": T0 - timedelta(days=1),
    } | more


def inspection(event_type: str, data: Any) -> Envelope[Any]:
    return make_event(
        service="inspection",
        event_type=event_type,
        version=1,
        subject=data.rectification_id,
        data=data,
    )


def overdue() -> Envelope[Any]:
    return inspection(
        "inspection.rectification.overdue",
        RectificationOverdue(**order(), escalation_task_id="tsk_x"),
    )


def verified(passed: bool) -> Envelope[Any]:
    fields = order(version=3, state="verified" if passed else "open", overdue_at=None)
    return inspection(
        "inspection.rectification.verified",
        RectificationVerified(
            **fields,
            passed=passed,
            verified_by="insp-1",
            verified_at=T0,
            on_time=False,
            previous_deadline=fields["deadline"],
            suspension_lifted=False,
        ),
    )


async def test_an_overdue_order_is_disclosed_once_and_a_passed_verification_resolves_it(
    world: World,
) -> None:
    route = inspection_router(world.campaigns)
    event = overdue()
    await route(delivery(event))
    await route(delivery(event))  # redelivered: nothing
    [d] = await world.campaigns.disclosures(kind="overdue_rectification")
    assert (d.source_id, d.state) == ("rec_1", "open")
    assert world.types() == ["registry.disclosure.upserted"]
    await route(delivery(verified(passed=False)))  # resolves nothing
    assert world.types() == ["registry.disclosure.upserted"]
    passed = verified(passed=True)
    await route(delivery(passed))
    await route(delivery(passed))
    assert (await world.campaigns.disclosure(d.id)).state == "resolved"
    assert world.types() == ["registry.disclosure.upserted"] * 2
    _, resolved, _ = world.uow.published[-1]
    assert resolved.causationid == passed.id


def lapsed() -> Envelope[Any]:
    """The order after its merchant left its stall (退出经营)."""
    fields = order(version=3, state="lapsed", reinspection_task_id=None)
    return inspection(
        "inspection.rectification.lapsed",
        RectificationLapsed(**fields, lapsed_at=T0 + timedelta(days=9), reason="merchant_left"),
    )


async def test_the_disclosure_of_an_order_that_lapsed_ends_unrectified_once(
    world: World,
) -> None:
    route = inspection_router(world.campaigns)
    await route(delivery(overdue()))
    [d] = await world.campaigns.disclosures(kind="overdue_rectification")
    ended = lapsed()
    await route(delivery(ended))
    await route(delivery(ended))  # redelivered: nothing
    after = await world.campaigns.disclosure(d.id)
    assert (after.state, after.resolved_at, after.lapsed_at) == ("lapsed", None, world.clock.at)
    assert world.types() == ["registry.disclosure.upserted"] * 2
    _, event, _ = world.uow.published[-1]
    assert (event.data.state, event.data.lapsed_at, event.causationid) == (
        "lapsed",
        world.clock.at,
        ended.id,
    )
    assert await world.campaigns.disclosures(state="open") == []


async def test_a_market_that_closes_has_its_open_disclosures_lapse_once(world: World) -> None:
    """停业: an exposure and an overdue order of the market end unrectified; another market's
    exposure stays open, and the closed snapshot read again changes nothing."""
    world.directory.markets["mkt_1"] = market("mkt_1", "zhifu")
    world.directory.markets["mkt_3"] = market("mkt_3", "zhifu")
    report = ExposureReport("press", "烟台日报 3月12日", "污水横流", date(2026, 3, 14))
    exposed = await world.campaigns.record_exposure(CLERK, "mkt_1", report)
    other = await world.campaigns.record_exposure(CLERK, "mkt_3", report)
    await inspection_router(world.campaigns)(delivery(overdue()))
    published = len(world.uow.published)
    opened = world.directory.markets["mkt_1"]
    closed = opened.model_copy(
        update={"status": "closed", "closed_on": T0.date(), "version": opened.version + 1}
    )
    await world.campaigns.on_market(opened, closed)
    lapsed = await world.campaigns.disclosures(state="lapsed")
    assert sorted(d.kind for d in lapsed) == ["exposure", "overdue_rectification"]
    assert exposed.id in {d.id for d in lapsed}
    assert (await world.campaigns.disclosure(other.id)).state == "open"
    assert world.types()[published:] == ["registry.disclosure.upserted"] * 2
    await world.campaigns.on_market(closed, closed)
    assert len(world.uow.published) == published + 2


async def test_an_order_that_lapsed_undisclosed_changes_nothing(world: World) -> None:
    await inspection_router(world.campaigns)(delivery(lapsed()))
    assert world.uow.published == []
    assert await world.campaigns.disclosures() == []


async def test_a_failed_verification_given_to_the_use_case_leaves_the_disclosure_open(
    world: World,
) -> None:
    await inspection_router(world.campaigns)(delivery(overdue()))
    commits = world.uow.commits
    failed = verified(passed=False)
    assert await world.campaigns.rectification_verified(failed, delivery(failed)) is None
    assert world.uow.commits == commits  # no unit of work was opened for it
    assert all(event_id != failed.id for _, event_id in world.uow.claimed)
    [d] = await world.campaigns.disclosures(kind="overdue_rectification")
    assert d.state == "open"
    assert world.types() == ["registry.disclosure.upserted"]


async def test_the_inspection_route_passes_over_other_events(world: World) -> None:
    route = inspection_router(world.campaigns)
    await route(
        Delivery("inspection.events.v1", 0, 0, None, b'{"type": "inspection.task.created"}')
    )
    assert world.uow.published == [] and world.uow.commits == 0


async def test_a_verification_of_an_undisclosed_order_changes_nothing(world: World) -> None:
    await inspection_router(world.campaigns)(delivery(verified(passed=True)))
    assert world.uow.published == []
    assert await world.campaigns.disclosures() == []


# -- paths the tests above do not take -----------------------------------------------------------


async def test_a_market_of_a_district_outside_the_campaign_is_refused_naming_it(
    world: World,
) -> None:
    cid = await created(world, ("zhifu",))
    world.directory.markets["mkt_2"] = market("mkt_2", "laishan", task_force=TASK_FORCE)
    before = counts(world)
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.record_market_milestone(
            ADMIN, cid, "mkt_2", "task_force_set_up", MilestoneReport(date(2026, 3, 11))
        )
    assert refused.value.field == "market_id" and "laishan" in refused.value.reason
    nothing_changed(world, 1, before)


async def test_a_market_closed_for_good_is_expected_no_milestone(world: World) -> None:
    """停业: a market's own milestones (its task force, …) are flagged for open markets only."""
    await created(world, ("zhifu",))
    world.directory.markets["mkt_1"] = market("mkt_1", "zhifu")
    world.directory.markets["mkt_3"] = market("mkt_3", "zhifu").model_copy(
        update={"status": "closed", "closed_on": date(2026, 3, 1)}
    )
    world.clock.at = T0 + timedelta(days=365)
    assert await world.campaigns.check_clock() > 0
    flagged = {m.market_id for m in world.stores.milestones.rows.values() if m.market_id}
    assert flagged == {"mkt_1"}


def close(world: World, market_id: str, on: date = date(2026, 3, 12)) -> None:
    opened = world.directory.markets[market_id]
    world.directory.markets[market_id] = opened.model_copy(
        update={"status": "closed", "closed_on": on, "version": opened.version + 1}
    )


async def test_a_closed_market_takes_no_new_project_exposure_or_milestone(world: World) -> None:
    """停业: refused naming `market_id` and the day, beside the request's other problems;
    nothing is stored or announced."""
    cid = await created(world, ("zhifu",))
    close(world, "mkt_1")
    before, published = counts(world), len(world.uow.published)
    with pytest.raises(InvalidInputs) as project:
        await world.campaigns.add_project(
            CLERK, NewProject(cid, "mkt_1", "old_market_upgrade", " ", (), ())
        )
    fields = [field for field, _ in project.value.problems]
    assert "market_id" in fields and "title" in fields
    assert dict(project.value.problems)["market_id"] == "market 'mkt_1' closed on 2026-03-12"
    report = ExposureReport("press", "烟台日报 3月12日", "污水横流", date(2026, 3, 14))
    with pytest.raises(InvalidInputs) as exposure:
        await world.campaigns.record_exposure(CLERK, "mkt_1", report)
    assert [field for field, _ in exposure.value.problems] == ["market_id"]
    with pytest.raises(InvalidInput) as milestone:
        await world.campaigns.record_market_milestone(
            CLERK, cid, "mkt_1", "task_force_set_up", MilestoneReport(date(2026, 3, 11))
        )
    assert milestone.value.field == "market_id" and "closed on 2026-03-12" in milestone.value.reason
    nothing_changed(world, published, before)


async def test_a_closed_markets_project_goes_no_further_but_a_comment_is_answered(
    world: World,
) -> None:
    """A project of a market that closed after it was planned: no amendment, stage, check or
    consultation (409 naming `market_id`); a comment a citizen made before is still answered."""
    cid = await created(world, ("zhifu",))
    pid = await planned(world, cid)
    await world.campaigns.open_consultation(CLERK, pid, 7)
    await suggestions_router(world.campaigns)(
        delivery(suggestion(pid), "complaints.suggestions.v1")
    )
    close(world, "mkt_1")
    before, published = counts(world), len(world.uow.published)
    version = (await world.campaigns.project(CLERK, pid)).version
    check = CheckReport("quality", "fail", date(2026, 3, 12), "李工", ("渗水",))
    changes: list[Callable[[], Awaitable[object]]] = [
        lambda: world.campaigns.amend_project(CLERK, pid, Amendment(title="新标题")),
        lambda: world.campaigns.advance(CLERK, pid, "approved"),
        lambda: world.campaigns.record_check(CLERK, pid, check),
        lambda: world.campaigns.open_consultation(CLERK, pid, 7),
    ]
    for change in changes:
        with pytest.raises(Conflict) as refused:
            await change()
        [error] = refused.value.errors
        assert error["field"] == "market_id" and "closed on 2026-03-12" in error["reason"]
    nothing_changed(world, published, before)
    project = await world.campaigns.project(CLERK, pid)
    assert project.version == version
    # Its window still runs, but citizens are no longer asked: it is listed, not as open.
    assert project.consultation is not None and project.consultation.is_open(T0.date())
    assert not world.campaigns.takes_comments(project, T0.date())
    assert await world.campaigns.consultations(open_only=True) == []
    assert [p.id for p in await world.campaigns.consultations()] == [pid]
    # The leaders' progress counts it stopped, apart from the projects going on.
    renovations = (await world.campaigns.progress(ADMIN, cid))["totals"]["renovations"]
    assert (renovations["total"], renovations["stopped"]) == (0, 1)
    answered = await world.campaigns.answer_comment(
        CLERK, pid, "sug_1", "市场已停业，改造不再进行。"
    )
    assert answered.consultation is not None
    assert answered.consultation.comments[0].answer == "市场已停业，改造不再进行。"


async def test_a_milestone_flagged_by_another_transaction_meanwhile_takes_the_report(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock flagged the milestone late between the recording's read and its insert: the
    insert finds the slot taken, and the report is applied to the stored milestone, which keeps
    its late flag."""
    cid = await created(world, ("zhifu",))
    world.clock.at = T0 + timedelta(days=1)
    assert await world.campaigns.check_clock() == 2
    store = world.stores.milestones
    [flagged] = [m for m in store.rows.values() if m.kind == "work_plan_submitted"]
    real_get, reads = store.get, []

    async def first_read_misses(*args: Any, **kw: Any) -> Any:
        reads.append(args)
        return None if len(reads) == 1 else await real_get(*args, **kw)

    monkeypatch.setattr(store, "get", first_read_misses)
    m = await world.campaigns.record_district_milestone(
        CLERK, cid, "zhifu", "work_plan_submitted", MilestoneReport(date(2026, 3, 13))
    )
    assert len(reads) == 2  # read again after the insert found the slot taken
    assert m.id == flagged.id and m.recorded
    assert m.late_flagged_at == flagged.late_flagged_at is not None
    assert [x.id for x in store.rows.values() if x.kind == "work_plan_submitted"] == [m.id]


async def test_an_order_overdue_again_after_it_was_resolved_reopens_its_disclosure(
    world: World,
) -> None:
    route = inspection_router(world.campaigns)
    await route(delivery(overdue()))
    await route(delivery(verified(passed=True)))
    [d] = await world.campaigns.disclosures(kind="overdue_rectification")
    assert d.state == "resolved"
    again = inspection(
        "inspection.rectification.overdue",
        RectificationOverdue(**order(version=4), escalation_task_id="tsk_y"),
    )
    await route(delivery(again))
    [reopened] = await world.campaigns.disclosures(kind="overdue_rectification")
    assert reopened.id == d.id and reopened.state == "open"
    assert world.types() == ["registry.disclosure.upserted"] * 3


async def test_a_district_clerk_reads_its_own_districts_exposures_and_no_other(
    world: World,
) -> None:
    for who, district in ((CLERK, "zhifu"), (ELSEWHERE, "laishan")):
        market_id = "mkt_1" if district == "zhifu" else "mkt_2"
        report = ExposureReport("press", f"{district} 日报", "水产区污水横流", date(2026, 3, 20))
        await world.campaigns.record_exposure(who, market_id, report)
    assert {d.district for d in await world.campaigns.exposures(CLERK)} == {"zhifu"}
    assert {d.district for d in await world.campaigns.exposures(ADMIN)} == {"zhifu", "laishan"}
    with pytest.raises(Forbidden):
        await world.campaigns.exposures(CLERK, district="laishan")
