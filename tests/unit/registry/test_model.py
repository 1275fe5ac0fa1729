from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.registry.domain.model import (
    Market,
    Merchant,
    TaskForce,
    Terminal,
    merchant_problems,
    opening_hours_problems,
    require_valid_licence,
    terminal_placement_problems,
)
from services.runtime.errors import Conflict, InvalidInput
from tests.unit.registry.conftest import market, merchant

NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
MARKET = market()
MERCHANT = merchant(name="老王鲜肉", licence_valid_until=date(2026, 12, 31))


def test_opening_hours_must_close_after_they_open() -> None:
    assert opening_hours_problems("06:00", "19:00") == []
    [(field, _)] = opening_hours_problems("19:00", "06:00")
    assert field == "opening_hours.close"


def test_only_licences_in_force_are_admitted() -> None:
    require_valid_licence(date(2026, 5, 1), today=date(2026, 5, 1))
    with pytest.raises(InvalidInput) as err:
        require_valid_licence(date(2026, 4, 30), today=date(2026, 5, 1))
    assert err.value.field == "licence_valid_until"
    assert "2026-04-30" in err.value.reason


def test_every_problem_of_a_merchant_is_named_at_once() -> None:
    today = date(2026, 5, 1)
    problems = merchant_problems(
        today,
        credit_code="914403001922038217",  # wrong check character
        food_licence="JY1",
        licence_valid_until=date(2026, 4, 30),
    )
    assert [field for field, _ in problems] == [
        "credit_code",
        "food_licence",
        "licence_valid_until",
    ]
    assert problems[0][1] == "check character is '7', GB 32100-2015 gives '6'"
    assert problems[2][1] == "licence expired on 2026-04-30"
    good = {"credit_code": " 914403001922038216", "licence_valid_until": today}
    assert merchant_problems(today, **good) == []  # type: ignore[arg-type]
    assert merchant_problems(today) == []  # nothing given, nothing checked


def test_expiry_and_renewal_bump_the_version_and_restore_active() -> None:
    assert MERCHANT.licence_lapsed(date(2027, 1, 1))
    assert not MERCHANT.licence_lapsed(date(2026, 12, 31))
    expired = MERCHANT.expire_licence(NOW)
    assert (expired.status, expired.version) == ("licence_expired", 2)
    renewed = expired.renew_licence("JY13706020099999", date(2028, 1, 1), date(2027, 1, 2), NOW)
    assert (renewed.status, renewed.version, renewed.food_licence) == (
        "active",
        3,
        "JY13706020099999",
    )
    suspended = Merchant(**{**vars(MERCHANT), "status": "suspended"})
    # renewing a licence does not lift a suspension
    assert (
        suspended.renew_licence("JY13706020099999", date(2028, 1, 1), date(2027, 1, 1), NOW).status
        == "suspended"
    )


def test_task_force_needs_a_leader() -> None:
    updated = MARKET.with_task_force(TaskForce("张组长", ("李", "王")), NOW)
    assert updated.version == 2 and updated.task_force is not None
    with pytest.raises(InvalidInput):
        MARKET.with_task_force(TaskForce("  ", ()), NOW)


def test_terminal_placement_rules() -> None:
    assert terminal_placement_problems("cold_chain", "chilled", MARKET, MERCHANT, "A-01") == []
    assert terminal_placement_problems("footfall", None, MARKET, None, None) == []
    elsewhere = Market(**{**vars(MARKET), "id": "mkt_2"})
    cases = [
        (("cold_chain", None, MARKET, MERCHANT, None), ["profile"]),
        (("payment", "frozen", MARKET, MERCHANT, None), ["profile"]),
        (("cold_chain", "frozen", MARKET, MERCHANT, "B-02"), ["stall_no"]),
        (("cold_chain", "frozen", elsewhere, MERCHANT, None), ["merchant_id"]),
        # Every problem at once; a merchant of another market is not told apart by its stall.
        (("cold_chain", None, elsewhere, MERCHANT, "B-02"), ["profile", "merchant_id"]),
        (("cold_chain", None, MARKET, MERCHANT, "B-02"), ["profile", "stall_no"]),
        # What the request got wrong is not checked again: an unknown kind, market.
        ((None, "frozen", None, MERCHANT, "B-02"), []),
    ]
    for args, fields in cases:
        problems = terminal_placement_problems(*args)  # type: ignore[arg-type]
        assert [field for field, _ in problems] == fields, args


def test_key_rotation_bumps_version_and_a_retired_terminal_gets_none() -> None:
    t = Terminal(id="trm_1", kind="payment", market_id="mkt_1", district="zhifu", interval_s=60)
    rotated = t.rotate_key(NOW)
    assert (rotated.key_version, rotated.version) == (2, 2)
    with pytest.raises(Conflict):
        rotated.retire(NOW).rotate_key(NOW)
