"""退出经营 and 换摊位: a merchant leaves its stall, or moves to another. The rules (pure) and
the use cases on the fakes: the stall left is free for the next merchant, the merchant's
terminals retire or move with it, and a refused leaving or move, or a second leaving, changes
nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from contracts.people import Actor
from services.registry.domain.model import leaving_problems
from services.registry.fakes import FakeRegistryUnits
from services.registry.service import Claim, MerchantDraft, Registry
from services.runtime.delivery import Delivery
from services.runtime.failures import Conflict, Forbidden, InvalidInputs, NotFound
from tests.unit.registry.conftest import (
    CLERK,
    ELSEWHERE,
    NEW_MERCHANT,
    NOW,
    TODAY,
    merchant,
    refused,
    snapshots,
    terminal,
)

CLERK_ACTOR = Actor(subject="clerk-1", name="赵登记员")


# the rule ----------------------------------------------------------------------------------
def test_a_leaving_needs_a_reason_and_a_day_that_has_come() -> None:
    tomorrow = TODAY + timedelta(days=1)
    assert leaving_problems(TODAY, "租约到期", TODAY) == []
    assert leaving_problems(tomorrow, "  ", TODAY) == [
        ("left_on", "must not be after today (2026-05-01)"),
        ("reason", "must not be blank"),
    ]
    assert leaving_problems(None, "x" * 501, TODAY) == [
        ("reason", "must be at most 500 characters")
    ]
    # Only what is given is checked (a request whose reason broke its model).
    assert leaving_problems(tomorrow, None, TODAY) == [
        ("left_on", "must not be after today (2026-05-01)")
    ]


def test_a_merchant_who_left_is_left_for_good() -> None:
    gone = merchant().leave(date(2026, 4, 30), " 租约到期 ", TODAY, NOW, by=CLERK_ACTOR)
    assert (gone.status, gone.left_on, gone.left_reason) == ("left", date(2026, 4, 30), "租约到期")
    assert (gone.version, gone.updated_actor) == (2, CLERK_ACTOR)
    with pytest.raises(Conflict, match="left the market on 2026-04-30"):
        gone.leave(TODAY, "again", TODAY, NOW)
    with pytest.raises(Conflict):
        gone.renew_licence("JY13706020099999", date(2028, 1, 1), TODAY, NOW)


# the use case ------------------------------------------------------------------------------
@pytest.fixture
def placed(units: FakeRegistryUnits) -> FakeRegistryUnits:
    """mer_1 at A-01 with a cold-chain sensor in its fridge, a retired one from before, and the
    market's footfall counter (no merchant's)."""
    t = units.tables
    t.terminals["trm_cold"] = terminal(
        "trm_cold", kind="cold_chain", profile="chilled", merchant_id="mer_1", stall_no="A-01"
    )
    t.terminals["trm_old"] = terminal(
        "trm_old", kind="payment", merchant_id="mer_1", stall_no="A-01", status="retired"
    )
    t.terminals["trm_gate"] = terminal("trm_gate")
    return units


async def test_leaving_frees_the_stall_and_retires_the_merchants_terminals(
    registry: Registry, placed: FakeRegistryUnits
) -> None:
    units = placed
    taken = registry.add_merchant(CLERK, replace(NEW_MERCHANT, stall_no="A-01"))
    await refused(units, taken, Conflict)

    gone, retired = await registry.leave(CLERK, "mer_1", "租约到期，不再续租")

    assert (gone.status, gone.left_on, gone.updated_actor) == ("left", TODAY, CLERK_ACTOR)
    assert units.tables.merchants["mer_1"] == gone
    assert [t.id for t in retired] == ["trm_cold"]
    t = units.tables.terminals
    assert (t["trm_cold"].status, t["trm_cold"].updated_actor) == ("retired", CLERK_ACTOR)
    assert t["trm_old"].version == 1  # retired before: untouched
    assert t["trm_gate"].status == "active"
    published = [(kind, subject, data.status) for kind, subject, _, data in snapshots(units)]
    assert published == [
        ("registry.merchant.upserted", "mer_1", "left"),
        ("registry.terminal.upserted", "trm_cold", "retired"),
    ]
    assert snapshots(units)[0][3].left_on == TODAY

    # The stall is free: a new merchant takes it, the one who left stays on record.
    await registry.check_merchant(CLERK, MerchantDraft(market_id="mkt_1", stall_no="A-01"))
    newcomer = await registry.add_merchant(CLERK, replace(NEW_MERCHANT, stall_no="A-01"))
    assert [m.id for m in await registry.trading_merchants("mkt_1")] == [newcomer.id]
    listed = await registry.merchants(CLERK, "mkt_1")
    assert {m.id: m.status for m in listed} == {"mer_1": "left", newcomer.id: "active"}


async def test_a_leaving_on_an_earlier_day_keeps_that_day(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    gone, retired = await registry.leave(CLERK, "mer_1", "转让", date(2026, 4, 20))
    assert (gone.left_on, gone.left_reason, retired) == (date(2026, 4, 20), "转让", [])


@pytest.mark.parametrize(
    ("who", "merchant_id", "reason", "left_on", "error"),
    [
        (CLERK, "mer_1", " ", None, InvalidInputs),
        (CLERK, "mer_1", "转让", TODAY + timedelta(days=1), InvalidInputs),
        (ELSEWHERE, "mer_1", "转让", None, Forbidden),
        (CLERK, "mer_nobody", "转让", None, NotFound),
    ],
)
async def test_a_refused_leaving_changes_nothing(
    registry: Registry,
    placed: FakeRegistryUnits,
    who: object,
    merchant_id: str,
    reason: str,
    left_on: date | None,
    error: type[Exception],
) -> None:
    await refused(placed, registry.leave(who, merchant_id, reason, left_on), error)  # type: ignore[arg-type]


async def test_a_second_leaving_is_refused_and_changes_nothing(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.leave(CLERK, "mer_1", "转让")
    await refused(units, registry.leave(CLERK, "mer_1", "转让"), Conflict)


async def test_every_problem_of_a_leaving_is_told_at_once_before_anything_is_read(
    registry: Registry,
) -> None:
    with pytest.raises(InvalidInputs) as raised:
        await registry.check_leaving(TODAY + timedelta(days=2), "")
    assert [field for field, _ in raised.value.problems] == ["left_on", "reason"]
    await registry.check_leaving(TODAY, None)


async def test_a_merchant_who_left_is_not_suspended_by_a_later_order(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.leave(CLERK, "mer_1", "转让")
    before = len(units.published)
    claim = Claim("registry-suspensions", "evt_1", Delivery("inspection.events.v1", 0, 1, b"", b""))
    changed = await registry.suspend(
        merchant_id="mer_1", rectification_id="rct_1", task_id="tsk_1", claim=claim
    )
    assert changed is None
    assert units.tables.merchants["mer_1"].status == "left"
    assert len(units.published) == before


async def test_a_merchant_who_left_is_not_among_the_licences_running_out(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    units.tables.merchants["mer_2"] = merchant(
        "mer_2", "A-02", licence_valid_until=TODAY + timedelta(days=10)
    )
    units.tables.merchants["mer_1"] = merchant(licence_valid_until=TODAY + timedelta(days=5))
    await registry.leave(CLERK, "mer_1", "转让")
    expiring = await registry.merchants(CLERK, None, expiring_within_days=30)
    assert [m.id for m in expiring] == ["mer_2"]


# 换摊位 ---------------------------------------------------------------------------------------
async def test_a_merchant_moves_to_a_free_stall_with_its_record_and_its_sensor(
    registry: Registry, placed: FakeRegistryUnits
) -> None:
    units = placed
    moved, terminals = await registry.move(CLERK, "mer_1", " B-07 ")
    assert (moved.id, moved.stall_no, moved.version) == ("mer_1", "B-07", 2)
    assert moved.updated_actor == CLERK_ACTOR
    assert [t.id for t in terminals] == ["trm_cold"]  # the retired one and the gate's stay
    t = units.tables.terminals
    assert (t["trm_cold"].stall_no, t["trm_old"].stall_no, t["trm_gate"].stall_no) == (
        "B-07",
        "A-01",
        None,
    )
    published = [(kind, subject, data.stall_no) for kind, subject, _, data in snapshots(units)]
    assert published == [
        ("registry.merchant.upserted", "mer_1", "B-07"),
        ("registry.terminal.upserted", "trm_cold", "B-07"),
    ]
    # The old stall is free, the new one taken.
    await registry.check_merchant(CLERK, MerchantDraft(market_id="mkt_1", stall_no="A-01"))
    with pytest.raises(Conflict):
        await registry.check_merchant(CLERK, MerchantDraft(market_id="mkt_1", stall_no="B-07"))


@pytest.mark.parametrize(
    ("who", "merchant_id", "stall_no", "error"),
    [
        (CLERK, "mer_1", "A-02", Conflict),  # mer_2 trades there
        (CLERK, "mer_1", "A-01", InvalidInputs),  # where it is
        (CLERK, "mer_1", "  ", InvalidInputs),
        (ELSEWHERE, "mer_1", "B-07", Forbidden),
        (CLERK, "mer_nobody", "B-07", NotFound),
    ],
)
async def test_a_refused_move_changes_nothing(
    registry: Registry,
    placed: FakeRegistryUnits,
    who: object,
    merchant_id: str,
    stall_no: str,
    error: type[Exception],
) -> None:
    placed.tables.merchants["mer_2"] = merchant("mer_2", "A-02")
    raised = await refused(placed, registry.move(who, merchant_id, stall_no), error)  # type: ignore[arg-type]
    if error is Conflict:
        assert [e["field"] for e in raised.errors] == ["stall_no"]


async def test_a_merchant_who_left_moves_no_more(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.leave(CLERK, "mer_1", "转让")
    await refused(units, registry.move(CLERK, "mer_1", "B-07"), Conflict)
