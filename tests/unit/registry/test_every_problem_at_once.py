"""A request with several problems is told of every one in one answer, each naming its field
(a clerk's form is not refused a second time for what the first refusal left out), and nothing
is stored; a request with one problem is answered as before (test_service.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.registry.fakes import FakeRegistryUnits
from services.registry.service import (
    MerchantDraft,
    NewMarket,
    NewMerchant,
    NewTerminal,
    Registry,
)
from services.runtime.auth import Principal
from services.runtime.failures import Conflict, Forbidden, InvalidInput
from tests.unit.registry.conftest import CLERK, ELSEWHERE, NEW_MARKET, NEW_MERCHANT, refused

WRONG_CHECK = "914403001922038217"  # GB 32100-2015 gives 6 as the check character
PAST = date(2026, 4, 30)  # the day before the fixture's today


def fields(exc: InvalidInput) -> list[str]:
    return [e["field"] for e in exc.errors]


async def test_a_merchant_is_told_of_a_wrong_check_character_and_an_expired_licence_at_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    cmd = replace(NEW_MERCHANT, credit_code=WRONG_CHECK, licence_valid_until=PAST)
    raised = await refused(units, registry.add_merchant(CLERK, cmd), InvalidInput)
    assert fields(raised) == ["credit_code", "licence_valid_until"]
    assert raised.errors[1]["reason"] == "licence expired on 2026-04-30"
    # The check of a form as typed says the very same.
    checked = await refused(
        units,
        registry.check_merchant(
            CLERK,
            MerchantDraft(credit_code=WRONG_CHECK, licence_valid_until=PAST, market_id="mkt_1"),
        ),
        InvalidInput,
    )
    assert checked.errors == raised.errors


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"food_licence": "JY1", "licence_valid_until": PAST, "market_id": "mkt_nobody"},
            ["food_licence", "licence_valid_until", "market_id"],
        ),
        # The fields' problems first; a taken stall is the registry's state, answered (409)
        # once they are right.
        ({"credit_code": WRONG_CHECK, "stall_no": "A-01"}, ["credit_code"]),
    ],
)
async def test_every_problem_of_a_merchant_is_named(
    registry: Registry, units: FakeRegistryUnits, change: dict[str, object], expected: list[str]
) -> None:
    cmd: NewMerchant = replace(NEW_MERCHANT, **change)  # type: ignore[arg-type]
    assert fields(await refused(units, registry.add_merchant(CLERK, cmd), InvalidInput)) == expected


async def test_the_fields_come_before_the_district_and_the_taken_stall(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    wrong = replace(NEW_MERCHANT, credit_code=WRONG_CHECK, licence_valid_until=PAST)
    raised = await refused(units, registry.add_merchant(ELSEWHERE, wrong), InvalidInput)
    assert fields(raised) == ["credit_code", "licence_valid_until"]
    await refused(units, registry.add_merchant(ELSEWHERE, NEW_MERCHANT), Forbidden)
    taken = replace(NEW_MERCHANT, stall_no="A-01")
    await refused(units, registry.add_merchant(CLERK, taken), Conflict)


async def test_a_market_is_told_of_its_hours_and_an_unknown_district_at_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    city = Principal("clerk-9", "clerk", "*", name="全市登记员")
    cmd: NewMarket = replace(NEW_MARKET, district="nowhere", opens="19:00", closes="06:00")
    raised = await refused(units, registry.add_market(city, cmd), InvalidInput)
    assert fields(raised) == ["opening_hours.close", "district"]
    # Another district's clerk is refused first, before anything is read.
    await refused(units, registry.add_market(ELSEWHERE, replace(cmd, district="zhifu")), Forbidden)


async def test_a_terminal_is_told_of_every_placement_problem_at_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    cmd = NewTerminal(kind="cold_chain", market_id="mkt_1", interval_s=30, merchant_id="mer_x")
    raised = await refused(units, registry.add_terminal(CLERK, cmd), InvalidInput)
    assert fields(raised) == ["merchant_id", "profile"]
    cmd = NewTerminal(
        kind="payment",
        market_id="mkt_1",
        interval_s=30,
        merchant_id="mer_1",
        stall_no="Z-9",
        profile="frozen",
    )
    raised = await refused(units, registry.add_terminal(CLERK, cmd), InvalidInput)
    assert fields(raised) == ["profile", "stall_no"]
    # Another district's market: 403 before any of its merchants is read.
    await refused(units, registry.add_terminal(ELSEWHERE, cmd), Forbidden)


async def test_a_renewal_is_told_of_a_bad_number_and_a_past_date_at_once(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    raised = await refused(units, registry.renew_licence(CLERK, "mer_1", "JY1", PAST), InvalidInput)
    assert fields(raised) == ["food_licence", "licence_valid_until"]
