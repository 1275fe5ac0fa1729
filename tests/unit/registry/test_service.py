"""Every registry use case on the fakes: what it stores and publishes, and above all what a
refused input, a redelivered event or a failure half-way leaves behind (nothing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contracts.people import Actor
from services.registry.domain.model import District, Merchant, TaskForce
from services.registry.fakes import FakeMerchants, FakeRegistryUnits
from services.registry.service import Claim, MerchantDraft, NewTerminal, Registry
from services.registry.store import DirectoryQuery
from services.runtime import serial
from services.runtime.delivery import Delivery
from services.runtime.failures import Conflict, Forbidden, InvalidInput, NotFound
from services.runtime.terminal_keys import derive_key
from tests.unit.registry.conftest import (
    ADMIN,
    CLERK,
    ELSEWHERE,
    NEW_MARKET,
    NEW_MERCHANT,
    NOW,
    REGISTRANT,
    SECRET,
    TODAY,
    market,
    merchant,
    refused,
    snapshots,
    terminal,
)

CLERK_ACTOR = Actor(subject="clerk-1", name="赵登记员")
DELIVERY = Delivery("inspection.events.v1", 0, 7, b"tsk_1", b"{}")


# districts ---------------------------------------------------------------------------------
async def test_a_district_is_added_once(registry: Registry, units: FakeRegistryUnits) -> None:
    assert await registry.add_district(District("fushan", "福山区")) == District("fushan", "福山区")
    assert [d.code for d in await registry.districts()] == ["fushan", "laishan", "zhifu"]
    await refused(units, registry.add_district(District("zhifu", "又一个")), Conflict)
    assert units.published == []


# markets -----------------------------------------------------------------------------------
async def test_a_market_is_registered_and_announced_with_its_district_name(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    added = await registry.add_market(CLERK, NEW_MARKET)
    assert units.tables.markets[added.id] == added
    assert (added.version, added.updated_at) == (1, NOW)
    assert added.registered_actor == added.updated_actor == CLERK_ACTOR
    [(kind, subject, version, data)] = snapshots(units)
    assert (kind, subject, version) == ("registry.market.upserted", added.id, 1)
    assert (data.district_name, data.actor) == ("芝罘区", CLERK_ACTOR)


@pytest.mark.parametrize(
    ("who", "change", "error"),
    [
        (ELSEWHERE, {}, Forbidden),
        (CLERK, {"opens": "19:00", "closes": "06:00"}, InvalidInput),
        (ADMIN, {"district": "nowhere"}, InvalidInput),
    ],
)
async def test_a_refused_market_changes_nothing(
    registry: Registry, units: FakeRegistryUnits, who: object, change: dict[str, str], error: type
) -> None:
    await refused(units, registry.add_market(who, replace(NEW_MARKET, **change)), error)  # type: ignore[arg-type]


async def test_markets_are_read_within_the_callers_district(registry: Registry) -> None:
    assert (await registry.market(CLERK, "mkt_1")).id == "mkt_1"
    with pytest.raises(Forbidden):
        await registry.market(ELSEWHERE, "mkt_1")
    with pytest.raises(NotFound):
        await registry.market(ADMIN, "mkt_nobody")
    assert [m.id for m in await registry.markets(CLERK, None)] == ["mkt_1"]
    assert await registry.markets(ELSEWHERE, None) == []
    assert [m.id for m in await registry.markets(ADMIN, "zhifu")] == ["mkt_1"]
    with pytest.raises(Forbidden):
        await registry.markets(ELSEWHERE, "zhifu")


async def test_a_task_force_is_set_by_hand(registry: Registry, units: FakeRegistryUnits) -> None:
    staffed = await registry.set_task_force(CLERK, "mkt_1", TaskForce("王队长", ("李",)))
    assert staffed.task_force == TaskForce("王队长", ("李",))
    assert (staffed.version, staffed.registered_actor, staffed.updated_actor) == (
        2,
        REGISTRANT,
        CLERK_ACTOR,
    )
    assert [(k, v) for k, _, v, _ in snapshots(units)] == [("registry.market.upserted", 2)]


async def test_a_market_is_located_by_hand_and_announced(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    located = await registry.set_location(CLERK, "mkt_1", 37.5384, 121.3977)
    assert located.location == (37.5384, 121.3977)
    assert (located.version, located.updated_actor) == (2, CLERK_ACTOR)
    assert [(k, v) for k, _, v, _ in snapshots(units)] == [("registry.market.upserted", 2)]
    assert (await registry.market(CLERK, "mkt_1")).location == (37.5384, 121.3977)


async def test_a_refused_location_names_each_field_and_changes_nothing(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    refusal = await refused(units, registry.set_location(CLERK, "mkt_1", 91.0, 181.0), InvalidInput)
    assert set(refusal.problems) == {
        ("latitude", "must be from -90 to 90 degrees"),
        ("longitude", "must be from -180 to 180 degrees"),
    }
    await refused(units, registry.set_location(ELSEWHERE, "mkt_1", 37.5, 121.4), Forbidden)
    await refused(units, registry.set_location(CLERK, "mkt_x", 37.5, 121.4), NotFound)
    assert (units.commits, units.rollbacks) == (0, 3)


async def test_a_market_registered_at_its_gate_is_located_from_the_start(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    added = await registry.add_market(
        CLERK, replace(NEW_MARKET, latitude=37.5384, longitude=121.3977)
    )
    assert added.location == (37.5384, 121.3977) and added.version == 1
    assert units.tables.markets[added.id].location == (37.5384, 121.3977)
    found, _ = await registry.directory(DirectoryQuery(near=(37.50, 121.44)))
    assert [m.id for m, _ in found] == [added.id]


@pytest.mark.parametrize(
    ("where", "problems"),
    [
        ({"latitude": 37.5}, {("longitude", "must be given with latitude")}),
        ({"longitude": 121.4}, {("latitude", "must be given with longitude")}),
        (
            {"latitude": -91.0, "longitude": 200.0},
            {
                ("latitude", "must be from -90 to 90 degrees"),
                ("longitude", "must be from -180 to 180 degrees"),
            },
        ),
    ],
)
async def test_a_half_or_impossible_location_refuses_the_registration(
    registry: Registry, units: FakeRegistryUnits, where: dict[str, float], problems: set[Any]
) -> None:
    late = {"opens": "19:00", "closes": "06:00"}  # named in the same answer
    refusal = await refused(
        units, registry.add_market(CLERK, replace(NEW_MARKET, **where, **late)), InvalidInput
    )
    assert problems <= set(refusal.problems)
    assert "opening_hours.close" in {field for field, _ in refusal.problems}
    assert len(units.tables.markets) == 1  # only the fixture's


async def test_the_directory_near_a_point_lists_located_markets_nearest_first(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.markets["mkt_2"] = market("mkt_2", name="只楚果蔬批发市场")  # never located
    await registry.set_location(CLERK, "mkt_1", 37.5384, 121.3977)
    far = await registry.add_market(CLERK, NEW_MARKET)
    await registry.set_location(CLERK, far.id, 37.4946, 121.4452)
    found, total = await registry.directory(DirectoryQuery(near=(37.50, 121.44)))
    assert ([m.id for m, _ in found], total) == ([far.id, "mkt_1"], 2)


async def test_a_refused_task_force_rolls_back_and_publishes_nothing(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await refused(units, registry.set_task_force(CLERK, "mkt_1", TaskForce(" ", ())), InvalidInput)
    await refused(
        units, registry.set_task_force(ELSEWHERE, "mkt_1", TaskForce("王", ())), Forbidden
    )
    await refused(units, registry.set_task_force(CLERK, "mkt_x", TaskForce("王", ())), NotFound)
    assert (units.commits, units.rollbacks) == (0, 3)


# merchants ---------------------------------------------------------------------------------
async def test_a_merchant_is_admitted_with_normalised_identifiers(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    added = await registry.add_merchant(CLERK, NEW_MERCHANT)
    assert added.food_licence == "JY13706020012345" and added.district == "zhifu"
    assert units.tables.merchants[added.id] == added
    [(kind, subject, version, data)] = snapshots(units)
    assert (kind, subject, version, data.actor) == (
        "registry.merchant.upserted",
        added.id,
        1,
        CLERK_ACTOR,
    )


@pytest.mark.parametrize(
    ("who", "change", "error", "field"),
    [
        (CLERK, {"credit_code": "914403001922038217"}, InvalidInput, "credit_code"),
        (CLERK, {"food_licence": "JY1"}, InvalidInput, "food_licence"),
        (CLERK, {"licence_valid_until": date(2026, 4, 30)}, InvalidInput, "licence_valid_until"),
        (CLERK, {"market_id": "mkt_nobody"}, InvalidInput, "market_id"),
        (CLERK, {"stall_no": "A-01"}, Conflict, "stall_no"),
        (ELSEWHERE, {}, Forbidden, None),
    ],
)
async def test_a_refused_merchant_changes_nothing(
    registry: Registry,
    units: FakeRegistryUnits,
    who: object,
    change: dict[str, object],
    error: type,
    field: str | None,
) -> None:
    cmd = replace(NEW_MERCHANT, **change)  # type: ignore[arg-type]
    raised = await refused(units, registry.add_merchant(who, cmd), error)  # type: ignore[arg-type]
    assert [e["field"] for e in raised.errors] == ([field] if field else [])
    # The check of a draft raises the very same error, and stores nothing either.
    draft = serial.into(MerchantDraft, cmd)
    again = await refused(units, registry.check_merchant(who, draft), error)  # type: ignore[arg-type]
    assert (type(again), again.errors) == (type(raised), raised.errors)


async def test_a_licence_runs_by_the_citys_date_not_utcs(units: FakeRegistryUnits) -> None:
    # 30 April 17:00 UTC is already 1 May in the city: a licence valid until 30 April is out.
    late = Registry(
        units.factory(),
        now=lambda: datetime(2026, 4, 30, 17, tzinfo=NOW.tzinfo),
        timezone="Asia/Shanghai",
        master_secret=SECRET,
    )
    cmd = replace(NEW_MERCHANT, licence_valid_until=date(2026, 4, 30))
    await refused(units, late.add_merchant(CLERK, cmd), InvalidInput)


async def test_a_good_draft_is_checked_and_nothing_is_stored(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    before = units.tables.copy()
    await registry.check_merchant(
        CLERK, MerchantDraft(credit_code="914403001922038216", market_id="mkt_1")
    )
    await registry.check_merchant(CLERK, MerchantDraft())
    assert units.tables == before and units.published == []


async def test_merchants_are_listed_within_the_district_and_by_licence_expiry(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.merchants["mer_2"] = merchant("mer_2", "A-02", licence_valid_until=TODAY)
    units.tables.merchants["mer_3"] = merchant(
        "mer_3", "A-03", licence_valid_until=TODAY + timedelta(days=31)
    )
    assert [m.id for m in await registry.merchants(CLERK, None)] == ["mer_1", "mer_2", "mer_3"]
    assert await registry.merchants(ELSEWHERE, None) == []
    assert [m.id for m in await registry.merchants(ADMIN, "mkt_1", 0)] == ["mer_2"]
    assert [m.id for m in await registry.merchants(ADMIN, "mkt_1", 31)] == ["mer_2", "mer_3"]
    assert (await registry.merchant(CLERK, "mer_1")).id == "mer_1"
    with pytest.raises(Forbidden):
        await registry.merchant(ELSEWHERE, "mer_1")
    with pytest.raises(NotFound):
        await registry.merchant(ADMIN, "mer_nobody")


async def test_a_renewed_licence_reactivates_an_expired_merchant(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.merchants["mer_1"] = merchant(status="licence_expired", version=2)
    renewed = await registry.renew_licence(CLERK, "mer_1", "JY13706020054321", date(2028, 1, 1))
    assert (renewed.status, renewed.version, renewed.updated_actor) == ("active", 3, CLERK_ACTOR)
    assert [v for _, _, v, _ in snapshots(units)] == [3]


async def test_a_refused_renewal_changes_nothing(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    past = date(2026, 4, 30)
    await refused(units, registry.renew_licence(CLERK, "mer_1", "JY1", TODAY), InvalidInput)
    await refused(
        units, registry.renew_licence(CLERK, "mer_1", "JY13706020054321", past), InvalidInput
    )
    good = ("JY13706020054321", date(2028, 1, 1))
    await refused(units, registry.renew_licence(ELSEWHERE, "mer_1", *good), Forbidden)
    await refused(units, registry.renew_licence(CLERK, "mer_x", *good), NotFound)


async def test_lapsed_licences_expire_once(registry: Registry, units: FakeRegistryUnits) -> None:
    units.tables.merchants["mer_2"] = merchant(
        "mer_2", "A-02", licence_valid_until=date(2026, 4, 30)
    )
    units.tables.merchants["mer_3"] = merchant(
        "mer_3", "A-03", licence_valid_until=date(2026, 4, 1), status="suspended"
    )
    [expired] = await registry.expire_licences()
    assert (expired.id, expired.status, expired.version) == ("mer_2", "licence_expired", 2)
    assert await registry.expire_licences() == []
    assert [(s, v, d.actor) for _, s, v, d in snapshots(units)] == [("mer_2", 2, None)]
    # A later day catches the next one.
    assert [m.id for m in await registry.expire_licences(on=date(2027, 1, 2))] == ["mer_1"]


async def test_a_failure_half_way_through_the_licence_job_rolls_the_batch_back(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    for n in (2, 3):
        units.tables.merchants[f"mer_{n}"] = merchant(
            f"mer_{n}", f"A-0{n}", licence_valid_until=date(2026, 4, 30)
        )

    class Failing(FakeMerchants):
        async def save(self, merchant: Merchant) -> None:
            if merchant.id == "mer_3":
                raise RuntimeError("the database went away")
            await super().save(merchant)

    units.stores = replace(units.stores, merchants=Failing(units.tables))
    await refused(units, registry.expire_licences(), RuntimeError)
    assert units.tables.merchants["mer_2"].status == "active"
    assert (units.commits, units.rollbacks, units.published) == (0, 1, [])


# suspensions -------------------------------------------------------------------------------
async def test_a_suspension_is_applied_once_per_event_and_per_order(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    order = {"merchant_id": "mer_1", "rectification_id": "rec_1", "task_id": "tsk_1"}
    claim = Claim("registry-inspection", "evt_1", DELIVERY)
    suspended = await registry.suspend(**order, claim=claim)
    assert suspended is not None and (suspended.status, suspended.version) == ("suspended", 2)
    assert suspended.updated_actor == REGISTRANT  # an event made it, not a person
    # The same event again (a redelivery) and the same order in another event: nothing.
    before = units.tables.copy()
    assert await registry.suspend(**order, claim=claim) is None
    assert await registry.suspend(**order, claim=replace(claim, event_id="evt_2")) is None
    assert units.tables == before
    assert [(s, v, d.status) for _, s, v, d in snapshots(units)] == [("mer_1", 2, "suspended")]
    assert units.claimed == {("registry-inspection", "evt_1"), ("registry-inspection", "evt_2")}


async def test_a_second_order_keeps_the_merchant_suspended_until_both_are_lifted(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.suspend(merchant_id="mer_1", rectification_id="rec_1", task_id="tsk_1")
    assert (
        await registry.suspend(merchant_id="mer_1", rectification_id="rec_2", task_id="t2") is None
    )
    assert await registry.lift_suspension(merchant_id="mer_1", rectification_id="rec_1") is None
    lifted = await registry.lift_suspension(merchant_id="mer_1", rectification_id="rec_2")
    assert lifted is not None and (lifted.status, lifted.version) == ("active", 3)
    assert [d.status for _, _, _, d in snapshots(units)] == ["suspended", "active"]


async def test_a_lifted_suspension_leaves_a_lapsed_licence_expired(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.suspend(merchant_id="mer_1", rectification_id="rec_1", task_id="tsk_1")
    held = units.tables.merchants["mer_1"]
    units.tables.merchants["mer_1"] = replace(held, licence_valid_until=date(2026, 4, 30))
    claim = Claim("registry-inspection", "evt_9", DELIVERY)
    lifted = await registry.lift_suspension(
        merchant_id="mer_1", rectification_id="rec_1", claim=claim
    )
    assert lifted is not None and lifted.status == "licence_expired"
    published = len(units.published)
    assert (
        await registry.lift_suspension(merchant_id="mer_1", rectification_id="rec_1", claim=claim)
        is None
    )
    assert len(units.published) == published


async def test_suspensions_of_unknown_merchants_change_nothing(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    before = units.tables.copy()
    assert await registry.suspend(merchant_id="mer_x", rectification_id="r", task_id="t") is None
    assert await registry.lift_suspension(merchant_id="mer_x", rectification_id="r") is None
    assert units.tables == before and units.published == []


# renovations -------------------------------------------------------------------------------
async def test_the_market_follows_its_renovation_projects(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    claim = Claim("registry-renovations", "evt_1", DELIVERY)
    project: dict[str, Any] = {"project_id": "rnv_1", "market_id": "mkt_1"}
    planned = await registry.follow_renovation(**project, stage="planned", version=1, claim=claim)
    assert planned is not None and (planned.renovation_status, planned.version) == ("planned", 2)
    # Redelivered, older, or no change of status: no new snapshot.
    assert (
        await registry.follow_renovation(**project, stage="accepted", version=9, claim=claim)
        is None
    )
    assert await registry.follow_renovation(**project, stage="accepted", version=1) is None
    assert await registry.follow_renovation(**project, stage="approved", version=2) is None
    built = await registry.follow_renovation(**project, stage="under_construction", version=3)
    assert built is not None and built.renovation_status == "in_progress"
    assert [(d.renovation_status, v) for _, _, v, d in snapshots(units)] == [
        ("planned", 2),
        ("in_progress", 3),
    ]
    assert [d.district_name for _, _, _, d in snapshots(units)] == ["芝罘区", "芝罘区"]
    assert (
        await registry.follow_renovation(
            project_id="rnv_2", market_id="mkt_x", stage="planned", version=1
        )
        is None
    )


# terminals ---------------------------------------------------------------------------------
async def test_a_terminal_is_provisioned_with_its_key_and_the_merchants_stall(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    cmd = NewTerminal(
        kind="cold_chain", market_id="mkt_1", interval_s=30, merchant_id="mer_1", profile="chilled"
    )
    added, key = await registry.add_terminal(CLERK, cmd)
    assert (added.stall_no, added.district, added.key_version) == ("A-01", "zhifu", 1)
    assert key == derive_key(SECRET, added.id, 1)
    assert units.tables.terminals[added.id] == added
    [(kind, subject, _, data)] = snapshots(units)
    assert (kind, subject, data.actor) == ("registry.terminal.upserted", added.id, CLERK_ACTOR)


@pytest.mark.parametrize(
    ("who", "change", "error"),
    [
        (CLERK, {"market_id": "mkt_x"}, InvalidInput),
        (CLERK, {"merchant_id": "mer_x"}, InvalidInput),
        (CLERK, {"profile": None}, InvalidInput),
        (CLERK, {"stall_no": "Z-99"}, InvalidInput),
        (ELSEWHERE, {}, Forbidden),
    ],
)
async def test_a_refused_terminal_changes_nothing(
    registry: Registry,
    units: FakeRegistryUnits,
    who: object,
    change: dict[str, object],
    error: type,
) -> None:
    cmd = NewTerminal(
        kind="cold_chain", market_id="mkt_1", interval_s=30, merchant_id="mer_1", profile="chilled"
    )
    await refused(units, registry.add_terminal(who, replace(cmd, **change)), error)  # type: ignore[arg-type]


async def test_a_key_rotates_until_the_terminal_retires(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.terminals["trm_1"] = terminal()
    rotated, key = await registry.rotate_key(CLERK, "trm_1")
    assert (rotated.key_version, key) == (2, derive_key(SECRET, "trm_1", 2))
    retired = await registry.retire_terminal(CLERK, "trm_1")
    assert (retired.status, retired.version) == ("retired", 3)
    await refused(units, registry.rotate_key(CLERK, "trm_1"), Conflict)
    await refused(units, registry.rotate_key(ELSEWHERE, "trm_1"), Forbidden)
    await refused(units, registry.retire_terminal(CLERK, "trm_x"), NotFound)
    assert [v for _, _, v, _ in snapshots(units)] == [2, 3]


async def test_terminals_are_read_within_the_callers_district(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.terminals["trm_1"] = terminal()
    assert [t.id for t in await registry.terminals(CLERK, "mkt_1")] == ["trm_1"]
    assert await registry.terminals(ELSEWHERE, "mkt_1") == []
    # No market: every terminal of the caller's district (the clerk's 终端 list).
    assert [t.id for t in await registry.terminals(CLERK, None)] == ["trm_1"]
    assert await registry.terminals(ELSEWHERE, None) == []
    assert (await registry.terminal(ADMIN, "trm_1")).id == "trm_1"
    with pytest.raises(Forbidden):
        await registry.terminal(ELSEWHERE, "trm_1")
    with pytest.raises(NotFound):
        await registry.terminal(ADMIN, "trm_x")


# the public directory ----------------------------------------------------------------------
async def test_the_directory_shows_markets_and_their_trading_merchants(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.markets["mkt_2"] = market("mkt_2", "laishan", name="阳光市场", kind="wholesale")
    units.tables.merchants["mer_2"] = merchant("mer_2", "A-00", status="suspended")
    found, total = await registry.directory(DirectoryQuery(q="阳光", limit=5))
    assert ([(m.id, name) for m, name in found], total) == ([("mkt_2", "莱山区")], 1)
    shown, name = await registry.public_market("mkt_1")
    assert (shown.id, name) == ("mkt_1", "芝罘区")
    assert [m.id for m in await registry.trading_merchants("mkt_1")] == ["mer_1"]
    with pytest.raises(NotFound):
        await registry.public_market("mkt_x")
    with pytest.raises(NotFound):
        await registry.trading_merchants("mkt_x")
