"""Every duties use case on the in-memory store and a fake unit of work: what it stores and
announces (the market's standing among it), and above all what a refusal or a failure half-way
leaves behind (nothing stored, nothing announced)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.registry import MarketUpserted, TaskForce
from services.campaign.domain.self_inspection import Answer
from services.campaign.duties.config import CHECKLIST_FILE, DutiesConfig
from services.campaign.duties.fakes import FakeDutiesStore, fake_stores
from services.campaign.duties.metrics import DutiesMetrics
from services.campaign.duties.policy_files import load_checklist
from services.campaign.duties.service import Duties
from services.campaign.duties.store import Stores
from services.runtime.auth import Principal
from services.runtime.directory import RegistryMemory
from services.runtime.failures import Conflict, Forbidden, InvalidInput, NotFound
from services.runtime.fake_tables import snapshot
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.clock import Clock

T0 = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 09:00 on 10 May in the city
CLERK = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周文员")
ELSEWHERE = Principal(subject="c-li", role="clerk", district="laishan")
OPERATOR = Principal(subject="op-1", role="operator", district="zhifu", market_id="mkt_1")
OTHER_OPERATOR = Principal(subject="op-2", role="operator", district="zhifu", market_id="mkt_2")
ADMIN = Principal(subject="admin", role="admin", district="laishan")
CODES = ("hygiene", "cold_chain", "scales", "prices", "fire_safety", "licences", "pest_control")


def market(market_id: str = "mkt_1", *, task_force: TaskForce | None = None) -> MarketUpserted:
    return MarketUpserted(
        market_id=market_id,
        name=f"市场{market_id}",
        district="zhifu",
        kind="farmers",
        operator="幸福市场管理有限公司",
        address="幸福路1号",
        capacity=800,
        opening_hours={"open": "06:00", "close": "19:00"},
        renovation_status="not_planned",
        task_force=task_force,
        version=1,
        updated_at=T0 - timedelta(days=30),
    )


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    store: FakeDutiesStore
    clock: Clock
    duties: Duties

    def types(self) -> list[str]:
        return list(self.uow.event_types())

    def tables(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, dict) else v for k, v in vars(self.store).items()}


@pytest.fixture
def world() -> World:
    stores = fake_stores()
    store = stores.duties
    assert isinstance(store, FakeDutiesStore)
    store.campaigns = [(("zhifu",), date(2026, 3, 10))]
    uow = FakeUnitOfWork(stores, snapshot=snapshot(stores))
    directory = RegistryMemory(
        market(task_force=TaskForce(leader="王", members=[])), market("mkt_2")
    )
    clock = Clock(T0)
    duties = Duties(
        uow.factory(),
        directory,
        DutiesConfig(check_interval_s=0),
        load_checklist(CHECKLIST_FILE),
        clock,
        DutiesMetrics(Metrics("campaign")),
    )
    return World(uow, store, clock, duties)


def answers(failed: str | None = None) -> list[Answer]:
    return [Answer(c, c != failed, "脏" if c == failed else None) for c in CODES]


async def known(world: World, market_id: str = "mkt_1", days_ago: int = 20) -> None:
    """The market came into the registry view `days_ago` days before today."""
    world.clock.at = T0 - timedelta(days=days_ago)
    await world.duties.on_market_change(None, world.duties.directory.markets[market_id])
    world.clock.at = T0


# -- the registry view ---------------------------------------------------------------------------


async def test_a_market_is_known_from_its_first_snapshot_with_its_task_force_day(
    world: World,
) -> None:
    await known(world)
    row = await world.store.market_row("mkt_1")
    assert row is not None and row.known_since == date(2026, 4, 20)
    assert row.task_force_on == date(2026, 4, 10)
    assert world.uow.published == []


async def test_a_market_not_yet_in_the_view_reads_as_known_from_today_and_stores_nothing(
    world: World,
) -> None:
    schedule, periods, today = await world.duties.reports(CLERK, "mkt_1")
    # Its task force dates from 10 April, but its duties are tracked from today only.
    assert schedule is not None and schedule.starts_on == today == date(2026, 5, 10)
    assert [(p.period.start, p.filed) for p in periods] == [(today, False)]
    standing = await world.duties.current_standing(OPERATOR, "mkt_1")
    assert (standing.opening_days, standing.self_inspection_rate) == (0, None)
    assert (standing.reports_due, standing.reports_late) == (0, 0)
    assert await world.store.market_row("mkt_1") is None
    assert world.uow.published == []


# -- who may act ---------------------------------------------------------------------------------


async def test_an_admin_acts_on_any_market_even_where_only_its_operator_may(world: World) -> None:
    await known(world)
    recorded = await world.duties.record_self_inspection(ADMIN, "mkt_1", None, answers())
    assert recorded.inspection.actor is not None
    assert recorded.inspection.actor.subject == "admin"
    assert world.types()[0] == "campaign.self_inspection.recorded"
    with pytest.raises(Forbidden):  # a clerk is not an operator: it may not record one
        await world.duties.record_self_inspection(CLERK, "mkt_2", None, answers())


# -- reports -------------------------------------------------------------------------------------


async def test_a_report_is_filed_and_moves_the_standing(world: World) -> None:
    await known(world)
    report = await world.duties.file_report(
        CLERK, "mkt_1", progress="进展顺利", problems=["无"], next_steps=["继续"]
    )
    assert report.filed_on == date(2026, 5, 10)
    assert "campaign.report.filed" in world.types()
    assert world.types()[-1] == "campaign.duties.updated"
    _, periods, today = await world.duties.reports(OPERATOR, "mkt_1")
    assert today == date(2026, 5, 10) and report in periods
    found, _ = await world.duties.district_reports(CLERK, None, None, 10)
    assert [r.report_id for r in found] == [report.report_id]


async def test_a_market_without_a_task_force_owes_no_report_and_is_never_late(
    world: World,
) -> None:
    """Reports are the task force's (docs/campaign.md: each market with a task force reports
    every 14 days): mkt_2 has none, so nothing is due, and the clock flags nothing late."""
    await known(world)
    schedule, periods, _ = await world.duties.reports(CLERK, "mkt_2")
    assert (schedule, periods) == (None, [])
    run = await world.duties.check(only={"mkt_2"})
    assert run.reports_late == 0
    standing = await world.duties.current_standing(CLERK, "mkt_2")
    assert (standing.reports_due, standing.reports_late) == (0, 0)


async def test_a_refused_report_stores_and_announces_nothing(world: World) -> None:
    await known(world)
    before = world.tables()
    for who, market_id, error in (
        (ELSEWHERE, "mkt_1", Forbidden),
        (OPERATOR, "mkt_1", Forbidden),  # operators do not file the task force's reports
        (CLERK, "mkt_nobody", NotFound),
    ):
        with pytest.raises(error):
            await world.duties.file_report(who, market_id, progress="x", problems=[], next_steps=[])
    with pytest.raises(InvalidInput):
        await world.duties.file_report(CLERK, "mkt_1", progress="", problems=[], next_steps=[])
    assert world.tables() == before and world.uow.published == []


# -- self-inspections ----------------------------------------------------------------------------


async def test_a_self_inspection_opens_follow_ups_that_close(world: World) -> None:
    await known(world)
    recorded = await world.duties.record_self_inspection(
        OPERATOR, "mkt_1", None, answers(failed="hygiene")
    )
    [follow_up] = recorded.follow_ups
    assert world.types()[:1] == ["campaign.self_inspection.recorded"]
    listed = await world.duties.self_inspections(CLERK, "mkt_1", None, None, 10)
    assert [i.self_inspection_id for i, _ in listed] == [recorded.inspection.self_inspection_id]
    closed = await world.duties.close_follow_up(OPERATOR, follow_up.follow_up_id, "已清理")
    assert closed.state == "closed"
    assert await world.duties.follow_ups(CLERK, "mkt_1", "open", 10) == []
    assert "campaign.follow_up.closed" in world.types()


async def test_a_refused_self_inspection_stores_and_announces_nothing(world: World) -> None:
    await known(world)
    await world.duties.record_self_inspection(OPERATOR, "mkt_1", None, answers())
    before, published = world.tables(), len(world.uow.published)
    with pytest.raises(Conflict):  # today's is recorded already
        await world.duties.record_self_inspection(OPERATOR, "mkt_1", None, answers())
    with pytest.raises(Forbidden):
        await world.duties.record_self_inspection(OTHER_OPERATOR, "mkt_1", None, answers())
    with pytest.raises(InvalidInput):  # not every item answered
        await world.duties.record_self_inspection(
            OPERATOR, "mkt_1", date(2026, 5, 9), answers()[:2]
        )
    with pytest.raises(NotFound):
        await world.duties.close_follow_up(OPERATOR, "fup_nobody", "x")
    with pytest.raises(InvalidInput):
        await world.duties.self_inspections(CLERK, "mkt_1", date(2026, 5, 9), date(2026, 5, 1), 9)
    assert world.tables() == before and len(world.uow.published) == published


async def test_a_failure_after_the_change_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await known(world)
    before = world.tables()

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.store, "save_standing", broken)
    with pytest.raises(RuntimeError):
        await world.duties.record_self_inspection(OPERATOR, "mkt_1", None, answers("hygiene"))
    monkeypatch.undo()
    assert world.tables() == before
    assert world.uow.published == [] and world.uow.rollbacks == 1


# -- training ------------------------------------------------------------------------------------


async def test_a_manager_trained_and_passed_gets_a_certificate(world: World) -> None:
    await known(world)
    course = await world.duties.create_course(CLERK, "食品安全管理", 12)
    session = await world.duties.create_session(CLERK, course.course_id, date(2026, 5, 9), "会议室")
    assert await world.duties.courses() == [(course, [session])]
    trainee = await world.duties.add_manager(OPERATOR, "mkt_1", "王经理", "经理")
    attended = await world.duties.record_attendance(
        CLERK, session.session_id, trainee.trainee_id, True
    )
    assert attended.certificate is not None
    assert "campaign.certificate.issued" in world.types()
    [(held, certs)], _ = await world.duties.managers(OPERATOR, "mkt_1")
    assert held == trainee and certs == [attended.certificate]
    found, _ = await world.duties.certificates(CLERK, None, None, 10)
    assert [c.certificate_id for c, _, _ in found] == [attended.certificate.certificate_id]
    published = len(world.uow.published)
    with pytest.raises(Conflict):  # recorded already
        await world.duties.record_attendance(CLERK, session.session_id, trainee.trainee_id, True)
    assert len(world.uow.published) == published


async def test_refused_training_records_store_and_announce_nothing(world: World) -> None:
    await known(world)
    course = await world.duties.create_course(CLERK, "食品安全管理", 12)
    session = await world.duties.create_session(CLERK, course.course_id, date(2026, 5, 9), "会议室")
    before, published = world.tables(), len(world.uow.published)
    with pytest.raises(NotFound):
        await world.duties.create_session(CLERK, "crs_nobody", date(2026, 5, 9), "x")
    with pytest.raises(NotFound):
        await world.duties.record_attendance(CLERK, "ses_nobody", "trn_1", True)
    with pytest.raises(InvalidInput):
        await world.duties.record_attendance(CLERK, session.session_id, "trn_nobody", True)
    with pytest.raises(Forbidden):
        await world.duties.add_manager(ELSEWHERE, "mkt_1", "王", "经理")
    assert world.tables() == before and len(world.uow.published) == published


async def test_certificates_expiring_within_the_days_asked_are_listed_and_a_negative_span_refused(
    world: World,
) -> None:
    await known(world)
    course = await world.duties.create_course(CLERK, "食品安全管理", 12)
    session = await world.duties.create_session(CLERK, course.course_id, date(2026, 5, 9), "会议室")
    trainee = await world.duties.add_manager(OPERATOR, "mkt_1", "王经理", "经理")
    attended = await world.duties.record_attendance(
        CLERK, session.session_id, trainee.trainee_id, True
    )
    cert = attended.certificate
    assert cert is not None
    left = (cert.valid_until - date(2026, 5, 10)).days
    soon, _ = await world.duties.certificates(CLERK, None, left, 10)
    assert [(c.certificate_id, t, k) for c, t, k in soon] == [
        (cert.certificate_id, trainee, course)
    ]
    assert (await world.duties.certificates(CLERK, None, left - 1, 10))[0] == []
    with pytest.raises(InvalidInput) as refused:
        await world.duties.certificates(CLERK, None, -1, 10)
    assert refused.value.field == "expiring_within_days"


# -- the clock and the standing ------------------------------------------------------------------


async def test_the_clock_flags_each_missed_day_and_late_report_once(world: World) -> None:
    await known(world)
    run = await world.duties.check()
    assert run.markets == 2 and run.days_missed > 0 and run.reports_late > 0
    published = len(world.uow.published)
    again = await world.duties.check()
    assert (again.days_missed, again.reports_late, again.standings) == (0, 0, 0)
    assert len(world.uow.published) == published
    standing = await world.duties.current_standing(CLERK, "mkt_1")
    assert standing.market_id == "mkt_1"
    only = await world.duties.check(only={"mkt_2"})
    assert only.markets == 1


async def test_a_market_closed_for_good_is_flagged_for_nothing_more(world: World) -> None:
    """停业: a closed market owes no report nor self-inspection from then on."""
    await known(world)
    opened = world.duties.directory.markets["mkt_1"]
    closed = opened.model_copy(
        update={"status": "closed", "closed_on": T0.date(), "version": opened.version + 1}
    )
    world.duties.directory.keep(closed)
    run = await world.duties.check()
    assert run.markets == 1  # mkt_2 alone
    assert (await world.duties.check(only={"mkt_1"})).markets == 0


async def test_a_closed_market_files_nothing_more_and_lists_only_what_it_owed(
    world: World,
) -> None:
    """停业 ten days ago: no report, self-inspection or manager is taken (409 naming
    `market_id`, nothing stored or announced); its reports list the periods due before the
    closing, and no schedule."""
    await known(world, days_ago=60)
    opened = world.duties.directory.markets["mkt_1"]
    closed_on = T0.date() - timedelta(days=10)
    _, before, _ = await world.duties.reports(CLERK, "mkt_1")
    assert any(p.period.due_on >= closed_on for p in before)
    world.duties.directory.keep(
        opened.model_copy(
            update={"status": "closed", "closed_on": closed_on, "version": opened.version + 1}
        )
    )
    tables, published = world.tables(), len(world.uow.published)
    refusals = [
        world.duties.file_report(CLERK, "mkt_1", progress="进展", problems=[], next_steps=[]),
        world.duties.record_self_inspection(OPERATOR, "mkt_1", None, answers()),
        world.duties.add_manager(CLERK, "mkt_1", "李经理", "市场经理"),
    ]
    for refusal in refusals:
        with pytest.raises(Conflict) as refused:
            await refusal
        [error] = refused.value.errors
        assert error["field"] == "market_id"
        assert error["reason"] == (
            f"market 'mkt_1' closed on {closed_on}; "
            "it takes no report, self-inspection or manager any more"
        )
    assert world.tables() == tables and len(world.uow.published) == published
    schedule, periods, _ = await world.duties.reports(CLERK, "mkt_1")
    assert schedule is None and periods
    assert periods == [p for p in before if p.period.due_on < closed_on]


async def test_a_district_named_in_a_listing_must_be_the_callers(world: World) -> None:
    await known(world)
    report = await world.duties.file_report(
        CLERK, "mkt_1", progress="进展顺利", problems=["无"], next_steps=["继续"]
    )
    found, _ = await world.duties.district_reports(CLERK, "zhifu", None, 10)
    assert [r.report_id for r in found] == [report.report_id]
    assert (await world.duties.district_reports(ELSEWHERE, None, None, 10))[0] == []
    with pytest.raises(Forbidden):
        await world.duties.district_reports(ELSEWHERE, "zhifu", None, 10)
    with pytest.raises(Forbidden):
        await world.duties.certificates(ELSEWHERE, "zhifu", None, 10)
