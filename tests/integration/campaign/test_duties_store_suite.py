"""One suite for the duties store, run against Postgres (a fresh schema, migrated) and the
in-memory fake the use-case tests rely on: both must give the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.people import Actor
from services.campaign.app import MIGRATIONS as CAMPAIGN_MIGRATIONS
from services.campaign.domain.campaign import plan_campaign
from services.campaign.domain.reports import Period, Report
from services.campaign.domain.self_inspection import Answer, FollowUp, SelfInspection
from services.campaign.domain.training import Attendance, Certificate, Course, Session, Trainee
from services.campaign.duties.app import MIGRATIONS
from services.campaign.duties.fakes import FakeDutiesStore, fake_stores
from services.campaign.duties.store import MarketRow, Stores, postgres_stores
from services.campaign.store import PostgresCampaignStore
from tests.support.store_suite import migrated

T0 = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
DAY = date(2026, 5, 10)
CLERK = Actor.of("clerk-1", "张文员")


@pytest.fixture
async def stores(database: str | None) -> AsyncIterator[Stores]:
    if database is None:
        stores = fake_stores()
        assert isinstance(stores.duties, FakeDutiesStore)
        stores.duties.campaigns = [(("zhifu",), date(2026, 3, 10)), (("zhifu",), date(2026, 4, 20))]
        yield stores
        return
    async with migrated(
        database, "duties", {"campaign": CAMPAIGN_MIGRATIONS, "duties": MIGRATIONS}
    ) as conn:
        campaigns = PostgresCampaignStore(conn)
        for cid, mobilised in (("cmp_a", date(2026, 3, 10)), ("cmp_b", date(2026, 4, 20))):
            await campaigns.save(plan_campaign(cid, "专项", mobilised, ["zhifu"], {}, T0))
        yield postgres_stores(conn)


def report(market_id: str, start: date, **more: object) -> Report:
    period = Period(start, start + timedelta(days=13))
    return Report(market_id, "zhifu", period, **more)  # type: ignore[arg-type]


def inspection(sid: str, day: date, market_id: str = "mkt_1") -> SelfInspection:
    return SelfInspection(
        sid,
        market_id,
        "zhifu",
        day,
        "v1",
        (Answer("A1", True), Answer("A2", False, "脏")),
        T0,
        CLERK,
    )


def follow_up(fid: str, sid: str, at: datetime = T0, market_id: str = "mkt_1") -> FollowUp:
    return FollowUp(fid, sid, market_id, "zhifu", "A2", "脏", at)


# -- markets -------------------------------------------------------------------------------------


async def test_a_market_is_known_from_its_first_day_and_keeps_its_task_force_day(
    stores: Stores,
) -> None:
    s = stores.duties
    await s.ensure_market("mkt_1", "zhifu", DAY)
    await s.ensure_market("mkt_1", "zhifu", DAY + timedelta(days=3), DAY + timedelta(days=2))
    await s.ensure_market("mkt_1", "zhifu", DAY + timedelta(days=5), DAY + timedelta(days=4))
    expected = MarketRow("mkt_1", "zhifu", DAY, DAY + timedelta(days=2), None)
    assert await s.market_row("mkt_1") == expected
    assert await s.lock_market("mkt_1") == expected
    await s.save_standing("mkt_1", {"score": 90, "missed": [1, 2]}, T0)
    row = await s.market_row("mkt_1")
    assert row is not None and row.standing == {"score": 90, "missed": [1, 2]}
    assert await s.market_row("mkt_nobody") is None


async def test_the_mobilisation_is_the_latest_begun_campaign_of_the_district(
    stores: Stores,
) -> None:
    s = stores.duties
    assert await s.mobilisation("zhifu", date(2026, 4, 1)) == date(2026, 3, 10)
    assert await s.mobilisation("zhifu", DAY) == date(2026, 4, 20)
    assert await s.mobilisation("zhifu", date(2026, 3, 1)) is None
    assert await s.mobilisation("laishan", DAY) is None


# -- reports -------------------------------------------------------------------------------------


async def test_reports_are_kept_per_period_and_listed_by_state(stores: Stores) -> None:
    s = stores.duties
    first = report("mkt_1", date(2026, 4, 1), late_flagged_at=T0)
    await s.save_report(first)
    filed = report(
        "mkt_1",
        date(2026, 4, 15),
        report_id="rpt_1",
        filed_on=date(2026, 4, 28),
        filed_at=T0,
        on_time=True,
        progress="进展",
        problems=("问题",),
        next_steps=("下一步",),
        actor=CLERK,
    )
    await s.save_report(filed)
    other = report("mkt_2", date(2026, 4, 15), late_flagged_at=T0)
    await s.save_report(other)
    assert await s.reports("mkt_1") == [first, filed]
    late_filed = report(
        "mkt_1",
        date(2026, 4, 1),
        report_id="rpt_2",
        filed_on=date(2026, 5, 2),
        filed_at=T0,
        on_time=False,
        progress="补报",
        late_flagged_at=T0,
    )
    await s.save_report(late_filed)
    assert await s.reports("mkt_1") == [late_filed, filed]

    async def listed(
        state: str | None, district: str | None = None, limit: int = 10
    ) -> list[tuple[str, date]]:
        found = await s.district_reports(district, state=state, limit=limit)
        return [(r.market_id, r.period.start) for r in found]

    assert await listed(None) == [
        ("mkt_1", date(2026, 4, 15)),
        ("mkt_2", date(2026, 4, 15)),
        ("mkt_1", date(2026, 4, 1)),
    ]
    assert await listed("late") == [("mkt_2", date(2026, 4, 15))]
    assert await listed("filed_late") == [("mkt_1", date(2026, 4, 1))]
    assert await listed("on_time", "zhifu") == [("mkt_1", date(2026, 4, 15))]
    assert await listed(None, "laishan") == []
    assert await listed(None, limit=1) == [("mkt_1", date(2026, 4, 15))]


# -- self-inspections ----------------------------------------------------------------------------


async def test_self_inspections_and_their_follow_ups(stores: Stores) -> None:
    s = stores.duties
    older, newer = inspection("sin_1", DAY - timedelta(days=2)), inspection("sin_2", DAY)
    await s.insert_self_inspection(older, [follow_up("fup_1", "sin_1")])
    await s.insert_self_inspection(
        newer,
        [follow_up("fup_3", "sin_2", T0 + timedelta(hours=1)), follow_up("fup_2", "sin_2")],
    )
    await s.insert_self_inspection(inspection("sin_9", DAY, "mkt_2"), [])
    assert await s.inspected_days("mkt_1", DAY - timedelta(days=1)) == {DAY}
    assert await s.inspected_days("mkt_1", DAY - timedelta(days=5)) == {older.day, DAY}
    listed = await s.self_inspections("mkt_1", None, None, 10)
    assert [(i, [f.follow_up_id for f in fs]) for i, fs in listed] == [
        (newer, ["fup_2", "fup_3"]),
        (older, ["fup_1"]),
    ]
    assert [i.self_inspection_id for i, _ in await s.self_inspections("mkt_1", DAY, DAY, 10)] == [
        "sin_2"
    ]
    assert len(await s.self_inspections("mkt_1", None, None, 1)) == 1
    assert await s.open_follow_ups("mkt_1") == 3
    opened = await s.follow_up("fup_2")
    assert opened == follow_up("fup_2", "sin_2")
    closed = FollowUp(
        "fup_2", "sin_2", "mkt_1", "zhifu", "A2", "脏", T0, "closed", "已清理", T0, CLERK
    )
    await s.close_follow_up(closed)
    assert await s.follow_up("fup_2") == closed
    assert await s.open_follow_ups("mkt_1") == 2
    ids = [f.follow_up_id for f in await s.follow_ups("mkt_1", None, 10)]
    assert ids == ["fup_3", "fup_1", "fup_2"]
    assert [f.follow_up_id for f in await s.follow_ups("mkt_1", "closed", 10)] == ["fup_2"]
    assert await s.follow_up("fup_nobody") is None


async def test_missed_days_are_kept_once_each(stores: Stores) -> None:
    s = stores.duties
    days = [DAY - timedelta(days=3), DAY - timedelta(days=1)]
    await s.insert_missed("mkt_1", "zhifu", days, T0)
    await s.insert_missed("mkt_1", "zhifu", [], T0)
    assert await s.missed_days("mkt_1", DAY - timedelta(days=2)) == {days[1]}
    assert await s.missed_days("mkt_1", DAY - timedelta(days=9)) == set(days)
    assert await s.missed_days("mkt_2", DAY - timedelta(days=9)) == set()


# -- training ------------------------------------------------------------------------------------


async def test_courses_sessions_trainees_attendance_and_certificates(stores: Stores) -> None:
    s = stores.duties
    course = Course("crs_1", "食品安全", 12, T0, CLERK)
    later = Course("crs_2", "消防", 24, T0 + timedelta(hours=1), CLERK)
    for c in (later, course):
        await s.insert_course(c)
    session = Session("ses_1", "crs_1", DAY, "会议室", T0, CLERK)
    await s.insert_session(session)
    assert await s.courses() == [(course, [session]), (later, [])]
    assert await s.course("crs_1") == course and await s.session("ses_1") == session
    assert await s.course("crs_nobody") is None and await s.session("ses_nobody") is None
    first = Trainee("trn_1", "mkt_1", "zhifu", "王经理", "经理", T0, CLERK)
    second = Trainee("trn_2", "mkt_1", "zhifu", "李主管", "主管", T0 + timedelta(hours=1))
    elsewhere = Trainee("trn_3", "mkt_9", "laishan", "赵", "经理", T0)
    for t in (second, first, elsewhere):
        await s.insert_trainee(t)
    assert await s.trainees("mkt_1") == [first, second]
    assert await s.trainee("trn_1") == first and await s.trainee("trn_nobody") is None
    cert = Certificate(
        "crt_1", "trn_1", "mkt_1", "zhifu", "crs_1", "ses_1", DAY, date(2027, 5, 9), T0
    )
    far = Certificate(
        "crt_3", "trn_3", "mkt_9", "laishan", "crs_1", "ses_1", DAY, date(2028, 5, 9), T0
    )
    await s.insert_attendance(Attendance("ses_1", "trn_1", True, T0, CLERK), cert)
    await s.insert_attendance(Attendance("ses_1", "trn_2", False, T0), None)
    await s.insert_attendance(Attendance("ses_1", "trn_3", True, T0), far)
    assert await s.attended("ses_1", "trn_1") and await s.attended("ses_1", "trn_2")
    assert not await s.attended("ses_1", "trn_nobody")
    assert await s.certificates("mkt_1") == [cert]
    assert await s.valid_certificates(None, DAY) == [cert, far]
    assert await s.valid_certificates("laishan", DAY) == [far]
    assert await s.valid_certificates(None, date(2027, 6, 1)) == [far]
    assert await s.trainees_by_id(["trn_1", "trn_1", "trn_nobody"]) == {"trn_1": first}
    assert await s.courses_by_id(["crs_2"]) == {"crs_2": later}
