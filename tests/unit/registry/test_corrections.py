"""更正: a registered market's details and a merchant's name and categories, as a clerk corrects
them. The rules (pure) and the use cases on the fakes: a correction is published as the entity's
next snapshot, the same details again make none, and a refused one changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.people import Actor
from services.registry.domain.model import MarketDetails, market_details_problems
from services.registry.fakes import FakeRegistryUnits
from services.registry.service import Registry
from services.runtime.failures import Conflict, Forbidden, InvalidInputs, NotFound
from tests.unit.registry.conftest import CLERK, ELSEWHERE, NOW, market, refused, snapshots

CLERK_ACTOR = Actor(subject="clerk-1", name="赵登记员")
# market()'s details as registered.
AS_IS = MarketDetails("幸福农贸市场", "幸福市场管理公司", "幸福路1号", 800, "06:00", "19:00")
WINTER = replace(AS_IS, name=" 幸福农贸市场（东区） ", opens="06:30", closes="18:00")


def test_every_problem_of_a_markets_details_is_told_at_once() -> None:
    assert market_details_problems(AS_IS) == []
    wrong = replace(AS_IS, name=" ", address="", capacity=0, opens="19:00", closes="06:00")
    assert market_details_problems(wrong) == [
        ("name", "must not be blank"),
        ("address", "must not be blank"),
        ("capacity", "must be at least 1"),
        ("opening_hours.close", "must be later than open (19:00)"),
    ]


def test_a_market_corrected_keeps_its_district_kind_and_location() -> None:
    held = market(latitude=37.5, longitude=121.4)
    corrected = held.with_details(WINTER, NOW, by=CLERK_ACTOR)
    assert (corrected.name, corrected.opens, corrected.closes) == (
        "幸福农贸市场（东区）",
        "06:30",
        "18:00",
    )
    assert (corrected.district, corrected.kind, corrected.location) == (
        "zhifu",
        "farmers",
        (37.5, 121.4),
    )
    assert (corrected.version, corrected.updated_actor) == (2, CLERK_ACTOR)
    assert held.with_details(AS_IS, NOW, by=CLERK_ACTOR) is held


def test_a_kind_picked_wrong_is_corrected_and_an_unknown_one_refused() -> None:
    """农贸 registered as 批发 (or the other way): the kind changes with the details; the same
    kind again is no change; a kind the registry does not know is named with the others."""
    held = market()
    wholesale = held.with_details(replace(AS_IS, kind="wholesale"), NOW, by=CLERK_ACTOR)
    assert (wholesale.kind, wholesale.name, wholesale.version) == ("wholesale", held.name, 2)
    assert held.with_details(replace(AS_IS, kind="farmers"), NOW, by=CLERK_ACTOR) is held
    assert market_details_problems(replace(AS_IS, kind="retail", capacity=0)) == [
        ("kind", "must be one of farmers, wholesale"),
        ("capacity", "must be at least 1"),
    ]


async def test_a_kind_corrected_is_in_the_markets_next_snapshot(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.correct_market(CLERK, "mkt_1", replace(AS_IS, kind="wholesale"))
    [(_, _, version, data)] = snapshots(units)
    assert (version, data.kind, data.name) == (2, "wholesale", "幸福农贸市场")


async def test_a_correction_is_the_markets_next_snapshot_and_the_same_again_is_none(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    corrected = await registry.correct_market(CLERK, "mkt_1", WINTER)
    assert units.tables.markets["mkt_1"] == corrected
    [(kind, subject, version, data)] = snapshots(units)
    assert (kind, subject, version) == ("registry.market.upserted", "mkt_1", 2)
    assert (data.name, data.opening_hours.open, data.opening_hours.close) == (
        "幸福农贸市场（东区）",
        "06:30",
        "18:00",
    )
    assert data.actor == CLERK_ACTOR
    again = await registry.correct_market(CLERK, "mkt_1", WINTER)
    assert again == corrected and len(units.published) == 1


@pytest.mark.parametrize(
    ("who", "market_id", "details", "error"),
    [
        (CLERK, "mkt_1", replace(AS_IS, opens="19:00", closes="06:00"), InvalidInputs),
        (ELSEWHERE, "mkt_1", WINTER, Forbidden),
        (CLERK, "mkt_nowhere", WINTER, NotFound),
    ],
)
async def test_a_refused_market_correction_changes_nothing(
    registry: Registry,
    units: FakeRegistryUnits,
    who: object,
    market_id: str,
    details: MarketDetails,
    error: type[Exception],
) -> None:
    await refused(units, registry.correct_market(who, market_id, details), error)  # type: ignore[arg-type]


async def test_a_merchant_corrected_is_its_next_snapshot_its_codes_and_stall_unchanged(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    held = units.tables.merchants["mer_1"]
    corrected = await registry.correct_merchant(CLERK, "mer_1", " 老王鲜肉铺 ", ("pork", "beef"))
    assert (corrected.name, corrected.categories) == ("老王鲜肉铺", ("pork", "beef"))
    assert (corrected.credit_code, corrected.stall_no) == (held.credit_code, held.stall_no)
    [(kind, subject, version, data)] = snapshots(units)
    assert (kind, subject, version, data.name) == (
        "registry.merchant.upserted",
        "mer_1",
        2,
        "老王鲜肉铺",
    )
    await registry.correct_merchant(CLERK, "mer_1", "老王鲜肉铺", ("pork", "beef"))
    assert len(units.published) == 1


@pytest.mark.parametrize(
    ("who", "merchant_id", "name", "error"),
    [
        (CLERK, "mer_1", "  ", InvalidInputs),
        (ELSEWHERE, "mer_1", "新名", Forbidden),
        (CLERK, "mer_nobody", "新名", NotFound),
    ],
)
async def test_a_refused_merchant_correction_changes_nothing(
    registry: Registry,
    units: FakeRegistryUnits,
    who: object,
    merchant_id: str,
    name: str,
    error: type[Exception],
) -> None:
    call = registry.correct_merchant(who, merchant_id, name, ())  # type: ignore[arg-type]
    await refused(units, call, error)


async def test_a_merchant_who_left_is_corrected_no_more(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    await registry.leave(CLERK, "mer_1", "转让")
    await refused(units, registry.correct_merchant(CLERK, "mer_1", "新名", ()), Conflict)
