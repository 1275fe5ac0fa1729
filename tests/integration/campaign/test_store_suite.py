"""One suite for the campaign stores, run against Postgres (a fresh schema, migrated) and the
in-memory fakes the use-case tests rely on: both must give the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.people import Actor
from services.campaign.app import MIGRATIONS
from services.campaign.domain.campaign import Campaign, plan_campaign
from services.campaign.domain.disclosures import (
    Disclosure,
    ExposureReport,
    disclose_exposure,
    flag_late_exposure,
)
from services.campaign.domain.milestones import (
    Expected,
    MilestoneReport,
    flag_missing,
    record_milestone,
)
from services.campaign.domain.renovations import (
    BudgetLine,
    CheckReport,
    RenovationProject,
    ScopeItem,
    advance_project,
    open_consultation,
    plan_project,
    record_check,
)
from services.campaign.fakes import fake_stores
from services.campaign.store import Stores, postgres_stores
from tests.support.store_suite import migrated

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 20)
TZ = ZoneInfo("Asia/Shanghai")
CLERK = Actor.of("clerk-1", "张文员")


@pytest.fixture
async def stores(database: str | None) -> AsyncIterator[Stores]:
    if database is None:
        yield fake_stores()
        return
    async with migrated(database, "campaign", {"campaign": MIGRATIONS}) as conn:
        yield postgres_stores(conn)


def campaign(
    cid: str = "cmp_1", mobilised: date = date(2026, 3, 10), districts: tuple[str, ...] = ("zhifu",)
) -> Campaign:
    return plan_campaign(cid, "专项行动", mobilised, list(districts), {}, T0)


def project(
    c: Campaign, pid: str, *, market_id: str = "mkt_1", district: str = "zhifu", at: datetime = T0
) -> RenovationProject:
    return plan_project(
        c,
        project_id=pid,
        market_id=market_id,
        district=district,
        kind="old_market_upgrade",
        title="改造",
        scope_items=(ScopeItem("infrastructure", "新屋顶"),),
        budget=(BudgetLine("fiscal", 100_000),),
        by="clerk-1",
        today=TODAY,
        now=at,
    )


def exposure(
    did: str, *, rectify_by: date, district: str = "zhifu", at: datetime = T0
) -> Disclosure:
    return disclose_exposure(
        ExposureReport("press", f"ref-{did}", "污水横流", rectify_by),
        disclosure_id=did,
        district=district,
        market_id="mkt_1",
        tz=TZ,
        today=TODAY,
        now=at,
        by=CLERK,
    )


def expected(c: Campaign, kind: str = "work_plan_submitted", district: str = "zhifu") -> Expected:
    return Expected(c.id, "district", district, None, kind, c.deadline(kind))


# -- campaigns -----------------------------------------------------------------------------------


async def test_a_campaign_is_saved_read_and_replaced_keeping_its_creation_time(
    stores: Stores,
) -> None:
    s = stores.campaigns
    c = campaign()
    await s.save(c)
    assert await s.get(c.id) == c
    assert await s.get(c.id, for_update=True) == c
    later = T0 + timedelta(days=1)
    changed = c.reconfigure(later, name="新名字")
    await s.save(replace(changed, created_at=later))
    assert await s.get(c.id) == replace(changed, created_at=c.created_at)
    assert await s.get("cmp_nobody") is None


async def test_campaigns_are_listed_by_mobilisation_and_found_by_the_districts_they_cover(
    stores: Stores,
) -> None:
    s = stores.campaigns
    late = campaign("cmp_a", date(2026, 4, 1), ("zhifu", "laishan"))
    early = campaign("cmp_b", date(2026, 3, 1), ("zhifu",))
    other = campaign("cmp_c", date(2026, 3, 1), ("laishan",))
    for c in (late, early, other):
        await s.save(c)
    assert [c.id for c in await s.listed()] == ["cmp_b", "cmp_c", "cmp_a"]
    assert sorted(c.id for c in await s.covering("zhifu", date(2026, 3, 15))) == ["cmp_b"]
    assert sorted(c.id for c in await s.covering("laishan", date(2026, 4, 1))) == [
        "cmp_a",
        "cmp_c",
    ]
    assert await s.covering("muping", date(2026, 5, 1)) == []


# -- milestones ----------------------------------------------------------------------------------


async def test_a_milestone_is_inserted_once_per_campaign_scope_and_kind(stores: Stores) -> None:
    c = campaign()
    await stores.campaigns.save(c)
    s = stores.milestones
    flagged = flag_missing(expected(c), T0, make_id=lambda: "mst_1")
    assert await s.insert(flagged)
    assert await s.get(c.id, "zhifu", "work_plan_submitted") == flagged
    assert await s.get(c.id, "zhifu", "work_plan_submitted", for_update=True) == flagged
    # Another writer's row for the same slot wins; ours is not stored.
    assert not await s.insert(flag_missing(expected(c), T0, make_id=lambda: "mst_2"))
    assert [m.id for m in await s.listed(c.id)] == ["mst_1"]
    assert await s.get(c.id, "zhifu", "deployment_meeting_held") is None


async def test_a_saved_milestone_replaces_the_one_of_its_id(stores: Stores) -> None:
    c = campaign()
    await stores.campaigns.save(c)
    s = stores.milestones
    flagged = flag_missing(expected(c), T0, make_id=lambda: "mst_1")
    await s.insert(flagged)
    done = record_milestone(
        expected(c),
        flagged,
        MilestoneReport(TODAY, note="交了"),
        by=CLERK,
        today=TODAY,
        now=T0 + timedelta(hours=1),
    ).milestone
    await s.save(done)
    assert await s.get(c.id, "zhifu", "work_plan_submitted") == done
    assert (await s.listed(c.id))[0].recorded_actor == CLERK


async def test_milestones_are_listed_by_district_scope_and_kind_and_filtered_by_district(
    stores: Stores,
) -> None:
    c = campaign(districts=("zhifu", "laishan"))
    await stores.campaigns.save(c)
    other = campaign("cmp_2")
    await stores.campaigns.save(other)
    s = stores.milestones
    for n, (camp, kind, district) in enumerate(
        [
            (c, "work_plan_submitted", "zhifu"),
            (c, "deployment_meeting_held", "zhifu"),
            (c, "work_plan_submitted", "laishan"),
            (other, "work_plan_submitted", "zhifu"),
        ]
    ):
        await s.insert(
            flag_missing(expected(camp, kind, district), T0, make_id=lambda n=n: f"m{n}")
        )
    listed = await s.listed(c.id)
    assert [(m.district, m.kind) for m in listed] == [
        ("laishan", "work_plan_submitted"),
        ("zhifu", "deployment_meeting_held"),
        ("zhifu", "work_plan_submitted"),
    ]
    assert [m.id for m in await s.listed(c.id, "laishan")] == ["m2"]
    assert await s.listed("cmp_nobody") == []


# -- renovation projects -------------------------------------------------------------------------


async def test_a_project_is_saved_read_and_replaced(stores: Stores) -> None:
    c = campaign()
    await stores.campaigns.save(c)
    s = stores.projects
    p = project(c, "rnv_1")
    await s.save(p)
    assert await s.get("rnv_1") == p
    approved = advance_project(
        p, "approved", reached_on=TODAY, by="clerk-1", today=TODAY, now=T0 + timedelta(hours=1)
    )
    checked = record_check(
        approved,
        CheckReport("quality", "fail", TODAY, "李工", ("渗水",), rectify_by=TODAY + timedelta(7)),
        check_id="chk_1",
        by="clerk-1",
        today=TODAY,
        now=T0 + timedelta(hours=1),
    ).project
    await s.save(checked)
    assert await s.get("rnv_1", for_update=True) == checked
    assert await s.get("rnv_nobody") is None


async def test_projects_are_listed_by_district_market_and_creation_with_each_filter(
    stores: Stores,
) -> None:
    c = campaign(districts=("zhifu", "laishan"))
    other = campaign("cmp_2", districts=("zhifu",))
    for x in (c, other):
        await stores.campaigns.save(x)
    s = stores.projects
    await s.save(project(c, "rnv_b", market_id="mkt_2", at=T0))
    await s.save(project(c, "rnv_a", market_id="mkt_1", at=T0 + timedelta(hours=2)))
    await s.save(project(c, "rnv_c", market_id="mkt_1", at=T0 + timedelta(hours=1)))
    await s.save(project(c, "rnv_d", market_id="mkt_9", district="laishan"))
    await s.save(project(other, "rnv_e", market_id="mkt_1"))
    assert [p.id for p in await s.listed()] == ["rnv_d", "rnv_e", "rnv_c", "rnv_a", "rnv_b"]
    assert [p.id for p in await s.listed(campaign_id=c.id, market_id="mkt_1")] == [
        "rnv_c",
        "rnv_a",
    ]
    assert [p.id for p in await s.listed(district="laishan")] == ["rnv_d"]
    assert await s.listed(stage="approved") == []
    assert len(await s.listed(stage="planned")) == 5


async def test_consultations_are_the_projects_ever_opened_the_latest_window_first(
    stores: Stores,
) -> None:
    c = campaign(districts=("zhifu", "laishan"))
    await stores.campaigns.save(c)
    s = stores.projects
    short = open_consultation(project(c, "rnv_1"), days=7, today=TODAY, now=T0, by=CLERK)
    long = open_consultation(
        project(c, "rnv_2", market_id="mkt_2"), days=14, today=TODAY, now=T0, by=CLERK
    )
    elsewhere = open_consultation(
        project(c, "rnv_3", market_id="mkt_3", district="laishan"),
        days=14,
        today=TODAY,
        now=T0,
        by=CLERK,
    )
    for p in (short, long, elsewhere, project(c, "rnv_4")):
        await s.save(p)
    assert [p.id for p in await s.consultations()] == ["rnv_2", "rnv_3", "rnv_1"]
    assert [p.id for p in await s.consultations(market_id="mkt_2")] == ["rnv_2"]
    assert [p.id for p in await s.consultations(district="zhifu")] == ["rnv_2", "rnv_1"]


# -- disclosures ---------------------------------------------------------------------------------


async def test_a_disclosure_is_found_by_id_and_by_its_kind_and_source(stores: Stores) -> None:
    s = stores.disclosures
    d = exposure("dsc_1", rectify_by=TODAY + timedelta(days=5))
    await s.save(d)
    assert await s.get("dsc_1") == d
    assert await s.get("dsc_1", for_update=True) == d
    assert await s.of("exposure", "dsc_1") == d
    assert await s.of("exposure", "dsc_1", for_update=True) == d
    assert await s.of("late_milestone", "dsc_1") is None
    assert await s.get("dsc_nobody") is None
    flagged = flag_late_exposure(d, d.deadline + timedelta(seconds=1))
    assert flagged is not None
    await s.save(flagged)
    assert await s.get("dsc_1") == flagged


async def test_a_disclosure_that_lapsed_reads_back_whole_and_is_open_no_more(
    stores: Stores,
) -> None:
    s = stores.disclosures
    d = exposure("dsc_1", rectify_by=TODAY + timedelta(days=5))
    await s.save(d)
    ended = d.lapse(d.opened_at + timedelta(days=1))
    assert ended is not None
    await s.save(ended)
    assert await s.get("dsc_1") == ended
    assert [x.id for x in await s.listed(state="lapsed")] == ["dsc_1"]
    assert await s.listed(state="open") == []


async def test_exposures_are_listed_by_deadline_with_filters_and_paging(stores: Stores) -> None:
    s = stores.disclosures
    await s.save(exposure("dsc_b", rectify_by=TODAY + timedelta(days=9)))
    await s.save(exposure("dsc_a", rectify_by=TODAY + timedelta(days=3)))
    await s.save(exposure("dsc_c", rectify_by=TODAY + timedelta(days=5), district="laishan"))
    assert [d.id for d in await s.exposures()] == ["dsc_a", "dsc_c", "dsc_b"]
    assert [d.id for d in await s.exposures(district="zhifu")] == ["dsc_a", "dsc_b"]
    assert [d.id for d in await s.exposures(limit=1, offset=1)] == ["dsc_c"]
    assert await s.exposures(state="resolved") == []
    assert await s.exposures(market_id="mkt_9") == []


async def test_exposures_to_flag_are_the_open_unflagged_ones_past_their_deadline(
    stores: Stores,
) -> None:
    s = stores.disclosures
    due = exposure("dsc_1", rectify_by=TODAY)
    due_later = exposure("dsc_2", rectify_by=TODAY + timedelta(days=1))
    not_yet = exposure("dsc_3", rectify_by=TODAY + timedelta(days=30))
    for d in (due_later, due, not_yet):
        await s.save(d)
    now = due_later.deadline + timedelta(seconds=1)
    assert [d.id for d in await s.exposures_to_flag(now, 10)] == ["dsc_1", "dsc_2"]
    assert [d.id for d in await s.exposures_to_flag(now, 1)] == ["dsc_1"]
    flagged = flag_late_exposure(due, now)
    assert flagged is not None
    await s.save(flagged)
    assert [d.id for d in await s.exposures_to_flag(now, 10)] == ["dsc_2"]


async def test_disclosures_are_listed_newest_first_with_filters_and_paging(
    stores: Stores,
) -> None:
    s = stores.disclosures
    await s.save(exposure("dsc_1", rectify_by=TODAY + timedelta(days=3), at=T0))
    await s.save(exposure("dsc_2", rectify_by=TODAY + timedelta(days=3), at=T0 + timedelta(1)))
    await s.save(exposure("dsc_3", rectify_by=TODAY + timedelta(days=3), district="laishan", at=T0))
    assert [d.id for d in await s.listed()] == ["dsc_2", "dsc_1", "dsc_3"]
    assert [d.id for d in await s.listed(district="laishan")] == ["dsc_3"]
    assert [d.id for d in await s.listed(kind="exposure", state="open", limit=1, offset=1)] == [
        "dsc_1"
    ]
    assert await s.listed(kind="late_milestone") == []
    assert await s.listed(campaign_id="cmp_1") == []
    assert [d.id for d in await s.listed(market_id="mkt_1")] == ["dsc_2", "dsc_1", "dsc_3"]
