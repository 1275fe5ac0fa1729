"""The monthly warning list (黑榜, issue 17) in patrol plans: a listed merchant is patrolled at
the D interval whatever its grade, until it is delisted; listings are applied in month order."""

from __future__ import annotations

import json

import pytest

from services.inspection.domain import PatrolPlan, Policy, next_patrol
from services.runtime import serial
from tests.support.inspection_builders import POLICY, T0, D


def plan(grade: str | None = "A") -> PatrolPlan:
    return PatrolPlan.start("mer_1", grade, T0, T0, POLICY)


@pytest.mark.parametrize(("grade", "days"), [("A", 365), ("B", 180), ("C", 120), (None, 180)])
def test_a_listed_merchant_is_patrolled_at_the_d_interval_until_delisted(
    grade: str | None, days: int
) -> None:
    start = plan(grade)
    assert start.due_at == T0 + days * D and not start.warned
    warned = start.warn("2026-11", POLICY)
    assert warned.warned and warned.warning_list == "2026-11"
    assert (warned.anchor, warned.due_at) == (T0, T0 + 90 * D)
    assert POLICY.patrol_grade(grade, warned=True) == "D"
    back = warned.unwarn("2026-12", POLICY)
    assert not back.warned and back.delisted == "2026-12"
    assert back.due_at == T0 + days * D


def test_the_warning_holds_through_regrades_and_inspections() -> None:
    warned = plan("B").warn("2026-11", POLICY)
    better = warned.regrade("A", POLICY, version=5)
    assert better.grade == "A" and better.due_at == T0 + 90 * D
    inspected = better.inspected(T0 + 10 * D, POLICY)
    assert inspected.due_at == T0 + 100 * D
    assert inspected.unwarn("2026-12", POLICY).due_at == T0 + 10 * D + 365 * D
    # Grade D on the list: D's interval, the same either way.
    assert plan("D").warn("2026-11", POLICY).due_at == T0 + 90 * D


def test_listings_apply_in_month_order() -> None:
    warned = plan().warn("2026-11", POLICY)
    assert warned.warn("2026-11", POLICY) is warned  # the same listing again
    assert warned.warn("2026-10", POLICY) is warned  # an older one
    assert warned.unwarn("2026-11", POLICY) is warned  # not newer than the listing
    assert warned.warn("2026-12", POLICY).warning_list == "2026-12"  # listed again next month
    back = warned.unwarn("2026-12", POLICY)
    assert back.warn("2026-11", POLICY) is back  # the old listing read again: stays delisted
    assert back.unwarn("2027-01", POLICY) is back  # not on the list: nothing to leave
    again = back.warn("2027-02", POLICY)
    assert again.warned and again.due_at == T0 + 90 * D


def test_the_plan_round_trips_and_old_rows_read_as_not_listed() -> None:
    warned = plan().warn("2026-11", POLICY)
    assert serial.load(PatrolPlan, json.loads(json.dumps(serial.dump(warned)))) == warned
    old = {k: v for k, v in serial.dump(plan()).items() if k not in ("warning_list", "delisted")}
    assert serial.load(PatrolPlan, old) == plan()


def test_the_warning_grade_is_configurable_and_never_lengthens_the_interval() -> None:
    policy = Policy.from_dict({"warning_list_grade": "C"})
    assert next_patrol("A", T0, policy, warned=True) == T0 + 120 * D
    assert next_patrol("D", T0, policy, warned=True) == T0 + 90 * D  # its own is shorter
    assert policy.patrol_grade("D", warned=True) == "D"
    with pytest.raises(ValueError, match="warning_list_grade must be one of"):
        Policy.from_dict({"warning_list_grade": "E"})
    with pytest.raises(ValueError, match="warning_list_grade must be a str"):
        Policy.from_dict({"warning_list_grade": 4})
