"""Routine patrols: the interval by credit grade, re-planning on a grade change, patrol tasks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.inspection.domain import (
    PatrolPlan,
    Policy,
    decide,
    first_patrol_offset,
    next_patrol,
    task_key,
)
from services.runtime import serial
from tests.support.inspection_builders import POLICY, T0, TASK_FORCE, D


@pytest.mark.parametrize(
    ("grade", "days"), [("A", 365), ("B", 180), ("C", 120), ("D", 90), (None, 180)]
)
def test_the_patrol_interval_follows_the_grade_and_no_grade_is_b(
    grade: str | None, days: int
) -> None:
    assert next_patrol(grade, T0, POLICY) == T0 + days * D


def test_an_unknown_grade_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown credit grade 'E'"):
        next_patrol("E", T0, POLICY)
    with pytest.raises(ValueError, match="unknown credit grade"):
        PatrolPlan.start("mer_1", "E", None, T0, POLICY)


def test_intervals_and_the_default_grade_are_configurable() -> None:
    policy = Policy.from_dict({"patrol_interval": {"D": "30d"}, "patrol_default_grade": "C"})
    assert next_patrol("D", T0, policy) == T0 + 30 * D
    assert next_patrol(None, T0, policy) == T0 + 120 * D


def test_a_plan_counts_from_the_last_inspection_or_from_when_planning_began() -> None:
    inspected = PatrolPlan.start("mer_1", "C", T0, T0 + 10 * D, POLICY)
    assert (inspected.anchor, inspected.due_at) == (T0, T0 + 120 * D)
    assert not inspected.first_round
    # Never inspected: its first patrol falls at its own point of B's 180 days (see below).
    new = PatrolPlan.start("mer_2", None, None, T0, POLICY)
    assert (new.anchor, new.due_at) == (T0, T0 + first_patrol_offset("mer_2", 180 * D))
    assert new.first_round and T0 < new.due_at <= T0 + 180 * D


def test_a_grade_drop_brings_the_patrol_earlier_and_a_rise_later() -> None:
    plan = PatrolPlan.start("mer_1", "B", T0, T0, POLICY)  # due T0 + 180 d
    dropped = plan.regrade("D", POLICY)
    assert dropped.due_at == T0 + 90 * D
    assert dropped.anchor == plan.anchor
    assert dropped.regrade("A", POLICY).due_at == T0 + 365 * D
    assert plan.regrade("B", POLICY) is plan
    assert plan.regrade(None, POLICY).due_at == T0 + 180 * D


def test_a_drop_past_the_new_interval_makes_the_patrol_due_at_once() -> None:
    plan = PatrolPlan.start("mer_1", "A", T0, T0, POLICY)
    now = T0 + 100 * D
    assert not plan.is_due(now)
    dropped = plan.regrade("D", POLICY)
    assert dropped.is_due(now)
    # The task is due a patrol window from now, never born overdue.
    trigger = dropped.trigger(market_id="mkt_1", stall_no="A-12", district="zhifu")
    decision = decide(None, trigger, POLICY, now, task_force=TASK_FORCE)
    assert decision.task is not None
    assert decision.task.due_at == now + 7 * D


@given(
    st.sampled_from(["A", "B", "C", "D", None]),
    st.sampled_from(["A", "B", "C", "D", None]),
    st.integers(0, 400),
)
def test_a_worse_grade_never_plans_a_later_patrol(
    before: str | None, after: str | None, days_since: int
) -> None:
    rank = {"A": 0, "B": 1, None: 1, "C": 2, "D": 3}
    plan = PatrolPlan.start("mer_1", before, T0, T0 + days_since * D, POLICY)
    replanned = plan.regrade(after, POLICY)
    if rank[after] > rank[before]:
        assert replanned.due_at < plan.due_at
    elif rank[after] == rank[before]:
        assert replanned.due_at == plan.due_at
    else:
        assert replanned.due_at > plan.due_at


def test_a_due_plan_makes_one_patrol_task() -> None:
    plan = PatrolPlan.start("mer_1", "D", T0, T0, POLICY)
    due = T0 + 90 * D
    assert not plan.is_due(due - D) and plan.is_due(due)
    trigger = plan.trigger(market_id="mkt_1", stall_no="A-12", district="zhifu")

    decision = decide(None, trigger, POLICY, due, task_force=TASK_FORCE)

    task = decision.task
    assert decision.action == "create" and task is not None
    assert (task.reason_kind, task.merchant_id, task.grade, task.triggers) == (
        "patrol",
        "mer_1",
        "D",
        (),
    )
    assert task.due_at == due + 7 * D
    assert task_key(trigger) == task.dedupe_key == ("merchant:mer_1", "patrol")
    [event] = decision.events
    # A patrol starts its own chain.
    assert event.correlation_id == task.task_id and event.causation_id is None

    pending = plan.task_created(task.task_id)
    assert not pending.is_due(due + 30 * D)  # not again while its task is open
    assert decide(task, trigger, POLICY, due).reason == "already_open"


def test_a_patrol_without_a_grade_records_b() -> None:
    plan = PatrolPlan.start("mer_1", None, T0, T0, POLICY)
    trigger = plan.trigger(market_id="mkt_1", stall_no="A-12", district="zhifu")
    decision = decide(None, trigger, POLICY, plan.due_at)
    assert decision.task is not None and decision.task.grade == "B"


def test_any_completed_inspection_moves_the_plan_and_frees_it() -> None:
    plan = PatrolPlan.start("mer_1", "C", T0, T0, POLICY).task_created("tsk_patrol")

    after_risk = plan.inspected(T0 + 50 * D, POLICY, task_id="tsk_risk")
    assert after_risk.due_at == T0 + 170 * D
    assert after_risk.task_id == "tsk_patrol"  # the patrol task itself is still open

    after_patrol = after_risk.inspected(T0 + 60 * D, POLICY, task_id="tsk_patrol")
    assert (after_patrol.anchor, after_patrol.task_id) == (T0 + 60 * D, None)
    assert after_patrol.due_at == T0 + 180 * D

    # An inspection reported late, older than the anchor, moves nothing back.
    assert after_patrol.inspected(T0 + 10 * D, POLICY).due_at == after_patrol.due_at


def test_a_plan_survives_json() -> None:
    plan = PatrolPlan.start("mer_1", "C", T0, T0, POLICY).task_created("tsk_1")
    assert serial.load(PatrolPlan, json.loads(json.dumps(serial.dump(plan)))) == plan


def test_plans_refuse_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone"):
        PatrolPlan.start("mer_1", "A", datetime(2026, 5, 1), T0, POLICY)
    with pytest.raises(ValueError, match="timezone"):
        next_patrol("A", datetime(2026, 5, 1), POLICY)


def test_an_older_or_repeated_score_version_changes_nothing() -> None:
    plan = PatrolPlan.start("mer_1", "B", None, T0, POLICY, grade_version=3)
    assert plan.grade_version == 3
    # A replay of the compacted topic, or a record read late.
    assert plan.regrade("D", POLICY, version=3) is plan
    assert plan.regrade("D", POLICY, version=2) is plan

    newer = plan.regrade("D", POLICY, version=4)
    first_d = T0 + first_patrol_offset("mer_1", 90 * D)  # never inspected: its first patrol
    assert (newer.grade, newer.grade_version, newer.due_at) == ("D", 4, first_d)
    # The same grade under a newer score only records the version.
    same = newer.regrade("D", POLICY, version=7)
    assert (same.grade, same.grade_version, same.due_at) == ("D", 7, newer.due_at)
    assert same.regrade("D", POLICY, version=7) is same


def test_the_first_score_of_a_plan_started_without_one_applies() -> None:
    plan = PatrolPlan.start("mer_1", None, None, T0, POLICY)
    assert plan.grade_version is None
    scored = plan.regrade("C", POLICY, version=1)
    first_c = T0 + first_patrol_offset("mer_1", 120 * D)  # never inspected: its first patrol
    assert (scored.grade, scored.grade_version, scored.due_at) == ("C", 1, first_c)
    # A regrade without a version (a caller that has none) keeps the version it had.
    assert scored.regrade("A", POLICY).grade_version == 1


def test_a_plan_stored_before_versions_were_kept_reads_back() -> None:
    stored = serial.dump(PatrolPlan.start("mer_1", "A", T0, T0, POLICY))
    del stored["grade_version"]
    assert serial.load(PatrolPlan, stored).grade_version is None


# -- first patrols of merchants never inspected, spread over the interval -------------------------

CITY = [f"mer_{n:016x}" for n in range(1000)]  # the registry's id shape, in creation order


def _per_day(dues: list[datetime]) -> Counter[int]:
    return Counter((due - T0) // D for due in dues)


def test_a_seeded_city_falls_due_spread_over_the_interval_not_on_one_day() -> None:
    plans = [PatrolPlan.start(m, "C", None, T0, POLICY) for m in CITY]
    assert all(T0 < p.due_at <= T0 + 120 * D for p in plans)
    days = _per_day([p.due_at for p in plans])
    mean = len(CITY) / 120
    assert max(days.values()) <= 3 * mean, days.most_common(3)
    assert len(days) >= 110  # nearly every day of the interval has some
    # Each month of it has about its share (a third of the city), none a flood.
    thirds = Counter((p.due_at - T0) // (40 * D) for p in plans)
    assert all(250 <= thirds[i] <= 420 for i in range(3)), thirds


def test_the_first_scores_of_a_seeded_city_keep_it_spread() -> None:
    """Credit scores every new merchant (grade A at 100): the plans re-plan under A from the
    same anchor, each at its own point of A's 365 days, not all 365 days on."""
    plans = [PatrolPlan.start(m, None, None, T0, POLICY).regrade("A", POLICY) for m in CITY]
    assert all(T0 < p.due_at <= T0 + 365 * D for p in plans)
    assert max(_per_day([p.due_at for p in plans]).values()) <= 3 * len(CITY) / 365 + 3


def test_the_first_patrol_date_is_the_same_on_every_replica_and_replay() -> None:
    one = PatrolPlan.start("mer_7", "B", None, T0, POLICY)
    again = PatrolPlan.start("mer_7", "B", None, T0, Policy())
    assert one == again and serial.dump(one) == serial.dump(again)
    assert first_patrol_offset("mer_7", 180 * D) == first_patrol_offset("mer_7", 180 * D)
    # The point belongs to the merchant, not to when it was first seen.
    later = PatrolPlan.start("mer_7", "B", None, T0 + 3 * D, POLICY)
    assert later.due_at - later.anchor == one.due_at - one.anchor
    assert first_patrol_offset("mer_8", 180 * D) != first_patrol_offset("mer_7", 180 * D)


@given(
    merchant=st.text(min_size=1, max_size=40),
    seconds=st.integers(min_value=1, max_value=10 * 365 * 86_400),
)
def test_the_first_patrol_falls_after_planning_began_and_within_the_interval(
    merchant: str, seconds: int
) -> None:
    interval = timedelta(seconds=seconds)
    offset = first_patrol_offset(merchant, interval)
    assert timedelta(0) < offset <= interval


@given(
    merchant=st.text(min_size=1, max_size=40),
    shorter=st.integers(min_value=1, max_value=400),
    longer=st.integers(min_value=1, max_value=400),
)
def test_a_shorter_interval_never_plans_the_first_patrol_later(
    merchant: str, shorter: int, longer: int
) -> None:
    shorter, longer = min(shorter, longer), max(shorter, longer)
    assert first_patrol_offset(merchant, shorter * D) <= first_patrol_offset(merchant, longer * D)


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        first_patrol_offset("mer_1", timedelta(0))


def test_a_first_patrol_keeps_its_point_through_grades_and_the_warning_list() -> None:
    plan = PatrolPlan.start("mer_1", None, None, T0, POLICY)
    point = {g: T0 + first_patrol_offset("mer_1", n * D) for g, n in DAYS.items()}
    assert plan.due_at == point["B"]
    assert plan.regrade("A", POLICY).due_at == point["A"]
    dropped = plan.regrade("D", POLICY)
    assert dropped.due_at == point["D"] < plan.due_at
    warned = plan.regrade("A", POLICY).warn("2026-11", POLICY)
    assert warned.due_at == point["D"]
    assert warned.unwarn("2026-12", POLICY).due_at == point["A"]


def test_the_first_inspection_ends_the_first_round() -> None:
    plan = PatrolPlan.start("mer_1", "C", None, T0, POLICY)
    inspected = plan.inspected(T0 + 5 * D, POLICY)
    assert not inspected.first_round
    assert (inspected.anchor, inspected.due_at) == (T0 + 5 * D, T0 + 125 * D)
    assert inspected.regrade("D", POLICY).due_at == T0 + 95 * D
    # An inspection from before planning began moves nothing.
    assert plan.inspected(T0 - D, POLICY) == plan


def test_a_plan_stored_before_first_patrols_were_spread_keeps_its_whole_interval() -> None:
    stored = serial.dump(PatrolPlan.start("mer_1", "B", None, T0, POLICY))
    del stored["first_round"]
    stored["due_at"] = (T0 + 180 * D).isoformat()
    old = serial.load(PatrolPlan, stored)
    assert not old.first_round
    assert old.regrade("C", POLICY).due_at == T0 + 120 * D


def test_a_spread_plan_survives_json() -> None:
    plan = PatrolPlan.start("mer_1", "C", None, T0, POLICY)
    assert serial.load(PatrolPlan, json.loads(json.dumps(serial.dump(plan)))) == plan


DAYS = {"A": 365, "B": 180, "C": 120, "D": 90}
