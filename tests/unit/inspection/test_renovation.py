"""A failed renovation check (`registry.renovation.check_failed`, campaign service) opens a
market-level `renovation` task for the market's operator, due when its `rectify_by` day ends in
the city; redelivered, it opens nothing more."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.envelope import make_event
from services.inspection.domain import Policy, decide, task_key
from services.inspection.domain.model import derive_id
from services.runtime.messaging import Delivery, PoisonMessage
from tests.support.event_samples import SAMPLES
from tests.support.inspection_builders import (
    END_OF_RECTIFY_BY,
    POLICY,
    RECTIFY_BY,
    T0,
    TASK_FORCE,
    D,
    H,
    complaint,
    failed,
    schema_problems,
    wire,
)
from tests.unit.inspection.routed import renovation_trigger_of as renovation_trigger


def test_a_failed_check_opens_a_market_level_task_due_at_the_end_of_its_rectify_by_day() -> None:
    trigger = failed()
    decision = decide(None, trigger, POLICY, T0 + H, task_force=TASK_FORCE)
    assert decision.action == "create"
    task = decision.task
    assert task is not None
    assert (task.reason_kind, task.market_id, task.district) == ("renovation", "mkt_1", "zhifu")
    # About the market: addressed to its operator, no merchant or stall.
    assert (task.merchant_id, task.stall_no) == (None, None)
    assert task.dedupe_key == ("market:mkt_1", "renovation") == task_key(trigger)
    assert task.due_at == END_OF_RECTIFY_BY
    assert (task.created_at, task.task_force, task.state) == (T0 + H, TASK_FORCE, "open")
    # The chain of the consumed event goes on; the event is the new task's cause.
    assert task.correlation_id == "corr_ev_chk_1"
    [ref] = task.triggers
    assert (ref.kind, ref.ref_id, ref.category, ref.event_ids) == (
        "renovation_check",
        "chk_1",
        "safety",
        ("ev_chk_1",),
    )
    assert ref.attached_at == T0
    [created] = decision.events
    assert created.type == "inspection.task.created" and created.causation_id == "ev_chk_1"
    assert created.key == created.subject == task.task_id
    assert schema_problems(created) == []


def test_the_task_is_named_after_the_event_so_a_redelivery_makes_the_same_one() -> None:
    first = decide(None, failed(), POLICY, T0).task
    again = decide(None, failed(), POLICY, T0 + D).task  # another replica, later
    assert first is not None and again is not None
    assert first.task_id == again.task_id == derive_id("tsk", "renovation", "ev_chk_1")
    other = decide(None, failed(event_id="ev_chk_2"), POLICY, T0).task
    assert other is not None and other.task_id != first.task_id


def test_the_same_check_delivered_again_is_a_duplicate() -> None:
    task = decide(None, failed(), POLICY, T0).task
    assert task is not None
    redelivered = decide(task, failed(), POLICY, T0 + H)
    assert (redelivered.action, redelivered.reason, redelivered.task) == (
        "ignore",
        "duplicate",
        None,
    )
    # The same check under another event id (published again) is still one piece of evidence.
    again = decide(task, failed(event_id="ev_other"), POLICY, T0 + H)
    assert (again.action, again.reason) == ("ignore", "duplicate")


def test_another_failed_check_of_the_market_joins_the_open_task_and_only_moves_it_earlier() -> None:
    task = decide(None, failed(), POLICY, T0).task
    assert task is not None
    sooner = failed(check_id="chk_2", event_id="ev_2", kind="quality", rectify_by=date(2026, 5, 20))
    joined = decide(task, sooner, POLICY, T0 + H)
    assert joined.action == "attach" and joined.task is not None
    assert [r.ref_id for r in joined.task.triggers] == ["chk_1", "chk_2"]
    assert joined.task.due_at == datetime(2026, 5, 20, 16, 0, tzinfo=UTC)
    assert joined.task.task_id == task.task_id and joined.task.version == 2
    [updated] = joined.events
    assert updated.type == "inspection.task.updated"
    previous = datetime.fromisoformat(wire(updated)["data"]["previous_due_at"])
    assert previous == END_OF_RECTIFY_BY
    assert schema_problems(updated) == []

    later = failed(check_id="chk_3", event_id="ev_3", rectify_by=date(2026, 7, 1))
    kept = decide(joined.task, later, POLICY, T0 + 2 * H)
    assert kept.task is not None and kept.task.due_at == joined.task.due_at


def test_failed_checks_of_another_market_are_its_own_task() -> None:
    trigger = failed(market_id="mkt_2")
    assert task_key(trigger) == ("market:mkt_2", "renovation")
    # A market's complaint task is another reason kind: the check does not join it.
    assert task_key(complaint(merchant_id=None)) == ("market:mkt_1", "complaint")


def test_the_rectify_by_day_is_the_city_s_and_the_zone_is_configurable() -> None:
    utc = Policy.from_dict({"timezone": "UTC"})
    assert utc.renovation_due(RECTIFY_BY) == datetime(2026, 6, 5, 0, 0, tzinfo=UTC)
    assert POLICY.renovation_due(RECTIFY_BY) == END_OF_RECTIFY_BY
    with pytest.raises(ValueError, match="time zone"):
        Policy.from_dict({"timezone": "Mars/Olympus"})


def test_a_check_past_its_rectify_by_opens_a_task_already_due() -> None:
    """The operator was on notice from the check: a late event does not buy time."""
    decision = decide(None, failed(rectify_by=date(2026, 4, 1)), POLICY, T0)
    assert decision.task is not None and decision.task.due_at < T0


def test_a_check_trigger_refuses_an_unknown_kind_and_a_naive_time() -> None:
    with pytest.raises(ValueError, match="check_kind"):
        failed(kind="noise")
    with pytest.raises(ValueError, match="timezone"):
        failed(at=datetime(2026, 5, 1, 8, 0))


# -- reading the campaign topic ------------------------------------------------------------------


def _delivery(value: bytes) -> Delivery:
    return Delivery(topic="registry.campaign.v1", partition=0, offset=3, key=b"cmp_1", value=value)


def _campaign_event(event_type: str, subject: str) -> bytes:
    return make_event(
        service="campaign",
        event_type=event_type,
        version=1,
        subject=subject,
        data=SAMPLES[event_type],
    ).to_json()


def test_a_check_failed_event_is_read_into_a_trigger() -> None:
    sample = SAMPLES["registry.renovation.check_failed"]
    event = make_event(
        service="campaign",
        event_type="registry.renovation.check_failed",
        version=1,
        subject="rnv_1",
        data=sample,
        correlation_id="corr_1",
    )
    trigger = renovation_trigger(_delivery(event.to_json()))
    assert trigger is not None
    assert (trigger.check_id, trigger.project_id, trigger.check_kind) == (
        "chk_1",
        "rnv_1",
        "safety",
    )
    assert (trigger.event_id, trigger.correlation_id) == (event.id, "corr_1")
    assert (trigger.market_id, trigger.district, trigger.rectify_by) == (
        "mkt_1",
        "zhifu",
        date(2026, 6, 4),
    )
    assert trigger.at == sample.check.recorded_at  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("event_type", "subject"),
    [
        ("registry.campaign.upserted", "cmp_1"),
        ("registry.milestone.recorded", "mst_1"),
        ("registry.milestone.late", "mst_1"),
        ("registry.renovation.upserted", "rnv_1"),
    ],
)
def test_the_topic_s_other_events_are_left_alone(event_type: str, subject: str) -> None:
    assert renovation_trigger(_delivery(_campaign_event(event_type, subject))) is None
    assert renovation_trigger(_delivery(b'{"type": "registry.renovation.archived"}')) is None


def test_a_check_failed_that_cannot_be_read_is_poison() -> None:
    with pytest.raises(PoisonMessage):
        renovation_trigger(_delivery(b'{"type": "registry.renovation.check_failed", "data": {}}'))


def test_the_due_date_is_the_day_s_end_whatever_the_time_of_the_check() -> None:
    late_in_the_day = failed(at=datetime(2026, 6, 4, 15, 59, tzinfo=UTC))
    task = decide(None, late_in_the_day, POLICY, T0).task
    assert task is not None and task.due_at - END_OF_RECTIFY_BY == timedelta(0)
