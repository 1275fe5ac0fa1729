from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.registry.domain.model import (
    Market,
    Merchant,
    TaskForce,
    Terminal,
    check_terminal_placement,
    require_valid_licence,
    validate_opening_hours,
)
from services.runtime.errors import Conflict, InvalidInput
from tests.unit.registry.conftest import market, merchant

NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
MARKET = market()
MERCHANT = merchant(name="老王鲜肉", licence_valid_until=date(2026, 12, 31))


def test_opening_hours_must_close_after_they_open() -> None:
    validate_opening_hours("06:00", "19:00")
    with pytest.raises(InvalidInput) as err:
        validate_opening_hours("19:00", "06:00")
    assert err.value.field == "opening_hours.close"


def test_only_licences_in_force_are_admitted() -> None:
    require_valid_licence(date(2026, 5, 1), today=date(2026, 5, 1))
    with pytest.raises(InvalidInput) as err:
        require_valid_licence(date(2026, 4, 30), today=date(2026, 5, 1))
    assert err.value.field == "licence_valid_until"
    assert "2026-04-30" in err.value.reason


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
    check_terminal_placement("cold_chain", "chilled", MARKET, MERCHANT, "A-01")
    check_terminal_placement("footfall", None, MARKET, None, None)
    cases = [
        (("cold_chain", None, MARKET, MERCHANT, None), "profile"),
        (("payment", "frozen", MARKET, MERCHANT, None), "profile"),
        (("cold_chain", "frozen", MARKET, MERCHANT, "B-02"), "stall_no"),
        (
            ("cold_chain", "frozen", Market(**{**vars(MARKET), "id": "mkt_2"}), MERCHANT, None),
            "merchant_id",
        ),
    ]
    for args, field in cases:
        with pytest.raises(InvalidInput) as err:
            check_terminal_placement(*args)  # type: ignore[arg-type]
        assert err.value.field == field


def test_key_rotation_bumps_version_and_a_retired_terminal_gets_none() -> None:
    t = Terminal(id="trm_1", kind="payment", market_id="mkt_1", district="zhifu", interval_s=60)
    rotated = t.rotate_key(NOW)
    assert (rotated.key_version, rotated.version) == (2, 2)
    with pytest.raises(Conflict):
        rotated.retire(NOW).rotate_key(NOW)
