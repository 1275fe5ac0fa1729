"""Claim, complete, rectify, verify and the overdue clocks, with their illegal transitions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.inspection.domain import (
    Catalogue,
    FindingReport,
    IllegalTransition,
    InvalidCompletion,
    Policy,
    RectificationOrder,
    Task,
    TaskForce,
    claim,
    lapse,
    mark_rectification_overdue,
    mark_task_overdue,
    verify,
    withdraw,
)
from services.runtime.errors import Conflict, InvalidInput, status_of
from tests.support.inspection_builders import (
    INSPECTOR,
    POLICY,
    T0,
    D,
    H,
    claimed_task,
    complete,
    completed,
    new_task,
)

# -- claim ---------------------------------------------------------------------------------------


def test_claim_assigns_the_task_to_one_inspector() -> None:
    task = new_task()
    change = claim(task, by=INSPECTOR, now=T0 + H)

    assert (change.task.state, change.task.assignee) == ("claimed", INSPECTOR)
    assert change.task.claimed_at == T0 + H
    assert change.task.version == task.version + 1
    [event] = change.events
    assert (event.type, event.key, event.correlation_id) == (
        "inspection.task.claimed",
        task.task_id,
        "risk_1",
    )
    assert event.causation_id is None  # a person's action, not an event's


def test_claiming_again_by_the_same_inspector_changes_nothing() -> None:
    task = claimed_task()
    again = claim(task, by=INSPECTOR, now=T0 + H)
    assert again.task is task
    assert again.events == ()


def test_claiming_a_task_another_inspector_holds_is_a_conflict() -> None:
    task = claimed_task()
    with pytest.raises(IllegalTransition) as caught:
        claim(task, by="inspector-wang", now=T0 + H)
    error = caught.value
    assert isinstance(error, Conflict) and status_of(error) == 409
    assert (error.state, error.action, error.entity_id) == ("claimed", "claim", task.task_id)
    assert f"claimed by {INSPECTOR}" in error.message
    assert error.errors == [{"field": "state", "reason": error.message}]


def test_a_completed_task_cannot_be_claimed_or_completed_again() -> None:
    done = completed("pass").task
    with pytest.raises(IllegalTransition) as claimed:
        claim(done, by=INSPECTOR, now=T0)
    assert claimed.value.state == "completed"
    with pytest.raises(IllegalTransition) as again:
        complete(done, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)
    assert again.value.state == "completed"


def test_an_open_task_must_be_claimed_before_it_is_completed() -> None:
    with pytest.raises(IllegalTransition, match="claim it first") as caught:
        complete(new_task(), by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)
    assert caught.value.state == "open"


def test_only_the_inspector_holding_the_task_completes_it() -> None:
    with pytest.raises(IllegalTransition, match=f"claimed by {INSPECTOR}"):
        complete(
            claimed_task(), by="inspector-wang", outcome="pass", findings=[], now=T0, policy=POLICY
        )


# -- withdraw ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [new_task, claimed_task], ids=["open", "claimed"])
def test_a_task_still_to_do_is_withdrawn_with_its_event(make: Callable[[], Task]) -> None:
    task = make()
    change = withdraw(task, "merchant_left", T0 + 3 * H)
    assert change is not None
    gone = change.task
    assert (gone.state, gone.withdrawn_at, gone.withdrawal_reason) == (
        "withdrawn",
        T0 + 3 * H,
        "merchant_left",
    )
    assert gone.version == task.version + 1 and not gone.is_open
    [event] = change.events
    assert (event.type, event.key, event.correlation_id) == (
        "inspection.task.withdrawn",
        task.task_id,
        task.correlation_id,
    )
    assert event.data.model_dump()["reason"] == "merchant_left"


def test_a_done_or_withdrawn_task_is_not_withdrawn_again() -> None:
    assert withdraw(completed("pass").task, "merchant_left", T0) is None
    once = withdraw(new_task(), "merchant_left", T0)
    assert once is not None
    assert withdraw(once.task, "merchant_left", T0 + H) is None


def test_a_withdrawn_task_cannot_be_claimed_or_completed() -> None:
    once = withdraw(claimed_task(), "merchant_left", T0)
    assert once is not None
    with pytest.raises(IllegalTransition) as claimed:
        claim(once.task, by=INSPECTOR, now=T0)
    assert claimed.value.state == "withdrawn"
    with pytest.raises(IllegalTransition) as done:
        complete(once.task, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)
    assert done.value.state == "withdrawn"


# -- complete: outcome and findings --------------------------------------------------------------


def test_a_pass_completes_the_task_and_orders_nothing() -> None:
    result = completed("pass", now=T0 + H)

    assert result.order is None and result.reinspection is None
    task = result.task
    assert (task.state, task.outcome, task.findings, task.rectification_id) == (
        "completed",
        "pass",
        (),
        None,
    )
    assert task.departments == ("market_regulation",)  # none named: market regulation leads
    assert (task.completed_by, task.completed_at) == (INSPECTOR, T0 + H)
    [event] = result.events
    assert event.type == "inspection.task.completed"


def test_findings_are_recorded_with_the_catalogues_facts() -> None:
    task = completed("major", ("CCH-01", "HYG-01")).task
    first, second = task.findings
    assert (first.code, first.group, first.severity) == ("CCH-01", "cold_chain", "major")
    assert first.title_zh == "冷藏冷冻设备温度超出规定范围"
    assert first.note == "note on CCH-01"
    assert (second.group, second.severity) == ("hygiene", "minor")


def test_unknown_finding_codes_are_refused_naming_each() -> None:
    with pytest.raises(InvalidCompletion) as caught:
        complete(
            claimed_task(),
            by=INSPECTOR,
            outcome="major",
            findings=[FindingReport("CCH-01"), FindingReport("XXX-99"), FindingReport("hyg-01")],
            now=T0,
            policy=POLICY,
        )
    error = caught.value
    assert isinstance(error, InvalidInput) and status_of(error) == 422
    assert [e["field"] for e in error.errors] == ["findings.1.code", "findings.2.code"]
    assert "'XXX-99'" in error.errors[0]["reason"]


@pytest.mark.parametrize(
    ("outcome", "codes", "field", "reason"),
    [
        ("pass", ("HYG-01",), "findings", "pass records no findings"),
        ("minor", (), "findings", "needs at least one finding"),
        ("critical", (), "findings", "needs at least one finding"),
        ("serious", ("HYG-01",), "outcome", "must be one of pass, minor, major, critical"),
        ("minor", ("CCH-01",), "outcome", "milder than finding CCH-01 (major)"),
        ("major", ("HYG-01", "HYG-06"), "outcome", "must be at least critical"),
    ],
)
def test_the_outcome_must_agree_with_the_findings(
    outcome: str, codes: tuple[str, ...], field: str, reason: str
) -> None:
    with pytest.raises(InvalidCompletion) as caught:
        complete(
            claimed_task(),
            by=INSPECTOR,
            outcome=outcome,
            findings=[FindingReport(code) for code in codes],
            now=T0,
            policy=POLICY,
        )
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_an_outcome_may_be_worse_than_its_findings() -> None:
    # Several minor findings together may make a major inspection.
    result = completed("major", ("HYG-01", "HYG-05", "PRC-01"))
    assert result.order is not None and result.order.severity == "major"


def test_a_milder_outcome_is_allowed_when_the_policy_says_so() -> None:
    lenient = Policy(outcome_at_least_findings=False)
    result = completed("minor", ("CCH-01",), policy=lenient)
    assert result.order is not None and result.order.severity == "minor"


def test_departments_notes_and_every_problem_at_once() -> None:
    result = complete(
        claimed_task(),
        by=INSPECTOR,
        outcome="minor",
        findings=[FindingReport("HYG-01")],
        departments=["health", "market_regulation", "health"],
        note="joint inspection with the health bureau",
        now=T0,
        policy=POLICY,
    )
    assert result.task.departments == ("market_regulation", "health")
    assert result.task.note == "joint inspection with the health bureau"

    with pytest.raises(InvalidCompletion) as caught:
        complete(
            claimed_task(),
            by=INSPECTOR,
            outcome="minor",
            findings=[FindingReport("HYG-01", "x" * 1001)],
            departments=["police"],
            note="y" * 1001,
            now=T0,
            policy=POLICY,
        )
    assert [e["field"] for e in caught.value.errors] == [
        "findings.0.note",
        "departments.0",
        "note",
    ]


def test_a_refused_completion_changes_nothing() -> None:
    task = claimed_task()
    with pytest.raises(InvalidCompletion):
        complete(task, by=INSPECTOR, outcome="minor", findings=[], now=T0, policy=POLICY)
    # Frozen values: the task the caller holds is still claimed and completable.
    assert task.state == "claimed"
    complete(task, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)


def test_codes_are_checked_against_the_catalogue_given() -> None:
    tiny = Catalogue.from_dict(
        {
            "version": 1,
            "groups": {
                "hygiene": {
                    "zh": "卫生",
                    "en": "Hygiene",
                    "codes": {"HYG-77": {"zh": "测试", "en": "Test", "severity": "minor"}},
                }
            },
        }
    )
    done = complete(
        claimed_task(),
        by=INSPECTOR,
        outcome="minor",
        findings=[FindingReport("HYG-77")],
        now=T0,
        policy=POLICY,
        catalogue=tiny,
    )
    assert done.task.findings[0].code == "HYG-77"
    with pytest.raises(InvalidCompletion, match="HYG-01"):
        complete(
            claimed_task(),
            by=INSPECTOR,
            outcome="minor",
            findings=[FindingReport("HYG-01")],
            now=T0,
            policy=POLICY,
            catalogue=tiny,
        )


# -- rectification deadlines by severity ---------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "code", "deadline"), [("minor", "HYG-01", 7 * D), ("major", "CCH-01", 3 * D)]
)
def test_findings_order_rectification_with_a_deadline_by_severity(
    outcome: str, code: str, deadline: timedelta
) -> None:
    result = completed(outcome, (code,), now=T0 + H)
    order = result.order
    assert order is not None and result.reinspection is None
    assert order.deadline == T0 + H + deadline
    assert (order.state, order.severity, order.suspension) == ("open", outcome, False)
    assert order.findings == result.task.findings
    assert result.task.rectification_id == order.rectification_id
    assert (order.task_id, order.merchant_id, order.market_id) == (
        result.task.task_id,
        "mer_1",
        "mkt_1",
    )
    completed_event, ordered = result.events
    assert ordered.type == "inspection.rectification.ordered"
    # Keyed by the task, so the inspection's story stays in order; about the order itself.
    assert (ordered.key, ordered.subject) == (result.task.task_id, order.rectification_id)
    assert ordered.causation_id == completed_event.id
    assert ordered.correlation_id == completed_event.correlation_id == "risk_1"


def test_a_critical_outcome_suspends_until_a_reinspection() -> None:
    result = completed("critical", ("HYG-06",), now=T0)
    order, again = result.order, result.reinspection
    assert order is not None and again is not None

    assert (order.suspension, order.deadline) == (True, None)
    assert order.reinspection_task_id == again.task_id
    assert (again.reason_kind, again.reinspection_of, again.state) == (
        "reinspection",
        order.rectification_id,
        "open",
    )
    assert again.due_at == T0 + 3 * D
    assert (again.merchant_id, again.task_force) == ("mer_1", result.task.task_force)
    assert again.dedupe_key == (f"rectification:{order.rectification_id}", "reinspection")
    types = [e.type for e in result.events]
    assert types == [
        "inspection.task.completed",
        "inspection.rectification.ordered",
        "inspection.task.created",
    ]
    created = result.events[2]
    assert created.causation_id == result.events[1].id
    assert created.correlation_id == "risk_1"
    assert created.key == again.task_id
    assert created.data.model_dump()["reinspection_of"] == order.rectification_id


def test_deadlines_are_configurable() -> None:
    policy = Policy.from_dict({"rectification_deadline": {"minor": "10d"}})
    order = completed("minor", ("HYG-01",), policy=policy).order
    assert order is not None and order.deadline == T0 + 10 * D
    suspend_major = Policy(rectification_deadline={"minor": 7 * D}, suspend_from="major")
    order = completed("major", ("CCH-01",), policy=suspend_major).order
    assert order is not None and order.suspension


def test_a_reinspection_task_is_closed_by_verifying_not_by_completing() -> None:
    again = completed("critical", ("HYG-06",)).reinspection
    assert again is not None
    for task in (again, claim(again, by=INSPECTOR, now=T0).task):
        with pytest.raises(IllegalTransition, match="closed by verifying rectification"):
            complete(task, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)


# -- verify --------------------------------------------------------------------------------------


def order_of(outcome: str = "major", code: str = "CCH-01") -> RectificationOrder:
    order = completed(outcome, (code,)).order
    assert order is not None
    return order


def test_a_passed_verification_closes_the_order() -> None:
    order = order_of("major")
    result = verify(order, passed=True, by=INSPECTOR, now=T0 + 2 * D, policy=POLICY)

    assert (result.order.state, result.order.verified_by) == ("verified", INSPECTOR)
    assert result.order.verified_at == T0 + 2 * D
    assert result.closed_task is None and result.reinspection is None
    [event] = result.events
    data = event.data.model_dump()
    assert (event.type, event.key, event.subject) == (
        "inspection.rectification.verified",
        order.task_id,
        order.rectification_id,
    )
    assert (data["passed"], data["on_time"], data["state"]) == (True, True, "verified")
    assert event.correlation_id == "risk_1"


def test_a_failed_verification_keeps_the_order_open_with_a_new_deadline() -> None:
    order = order_of("major")  # deadline T0 + 3 days
    result = verify(order, passed=False, by=INSPECTOR, now=T0 + 3 * D, policy=POLICY)

    changed = result.order
    assert changed.state == "open"
    assert changed.deadline == T0 + 6 * D  # as long as the first, from the verification
    assert changed.failed_verifications == 1
    data = result.events[0].data.model_dump()
    assert (data["passed"], data["state"], data["previous_deadline"]) == (
        False,
        "open",
        order.deadline,
    )
    # Verifying it again later still works, and passing late is not on time.
    late = verify(changed, passed=True, by=INSPECTOR, now=T0 + 7 * D, policy=POLICY)
    assert late.order.state == "verified"
    assert late.events[0].data.model_dump()["on_time"] is False


def test_a_minor_order_failing_verification_gets_seven_days_again() -> None:
    order = order_of("minor", "HYG-01")
    result = verify(order, passed=False, by=INSPECTOR, now=T0 + 5 * D, policy=POLICY)
    assert result.order.deadline == T0 + 12 * D


def test_a_verified_order_cannot_be_verified_again() -> None:
    done = verify(order_of(), passed=True, by=INSPECTOR, now=T0, policy=POLICY).order
    with pytest.raises(IllegalTransition) as caught:
        verify(done, passed=False, by=INSPECTOR, now=T0, policy=POLICY)
    assert (caught.value.entity, caught.value.state, caught.value.action) == (
        "rectification",
        "verified",
        "verify",
    )


def test_verifying_a_suspension_closes_its_reinspection_task_and_lifts_it() -> None:
    result = completed("critical", ("HYG-06",))
    order, again = result.order, result.reinspection
    assert order is not None and again is not None

    checked = verify(
        order, passed=True, by=INSPECTOR, now=T0 + D, policy=POLICY, reinspection=again
    )

    assert checked.order.state == "verified" and checked.order.reinspection_task_id is None
    closed = checked.closed_task
    assert closed is not None
    assert (closed.state, closed.outcome, closed.completed_by) == ("completed", "pass", INSPECTOR)
    verified, completed_event = checked.events
    assert verified.data.model_dump()["suspension_lifted"] is True
    assert completed_event.type == "inspection.task.completed"
    assert completed_event.causation_id == verified.id
    assert completed_event.data.model_dump()["rectification_id"] is None


def test_a_failed_check_of_a_suspension_keeps_it_and_plans_another_reinspection() -> None:
    result = completed("critical", ("HYG-06",))
    order, again = result.order, result.reinspection
    assert order is not None and again is not None

    checked = verify(
        order, passed=False, by=INSPECTOR, now=T0 + D, policy=POLICY, reinspection=again
    )

    assert (checked.order.state, checked.order.suspension, checked.order.deadline) == (
        "open",
        True,
        None,
    )
    closed, fresh = checked.closed_task, checked.reinspection
    assert closed is not None and fresh is not None
    assert (closed.outcome, closed.findings) == ("critical", order.findings)
    assert fresh.task_id != again.task_id
    assert checked.order.reinspection_task_id == fresh.task_id
    assert fresh.due_at == T0 + D + 3 * D
    assert [e.type for e in checked.events] == [
        "inspection.rectification.verified",
        "inspection.task.completed",
        "inspection.task.created",
    ]
    assert checked.events[0].data.model_dump()["suspension_lifted"] is False


def test_verify_needs_the_orders_open_reinspection_task() -> None:
    result = completed("critical", ("HYG-06",))
    assert result.order is not None
    with pytest.raises(ValueError, match="pass re-inspection task"):
        verify(result.order, passed=True, by=INSPECTOR, now=T0, policy=POLICY)
    with pytest.raises(ValueError, match="no open re-inspection task"):
        verify(
            order_of(), passed=True, by=INSPECTOR, now=T0, policy=POLICY, reinspection=new_task()
        )


# -- overdue: tasks ------------------------------------------------------------------------------


def test_a_task_past_due_is_marked_overdue_once() -> None:
    task = new_task()  # major: due T0 + 4h
    assert mark_task_overdue(task, T0 + 4 * H) is None  # due, not yet past due

    first = mark_task_overdue(task, T0 + 4 * H + timedelta(seconds=1))
    assert first is not None
    assert first.task.overdue_at == T0 + 4 * H + timedelta(seconds=1)
    [event] = first.events
    assert (event.type, event.key, event.correlation_id) == (
        "inspection.task.overdue",
        task.task_id,
        "risk_1",
    )
    # The scheduler runs again (and again): no second event.
    assert mark_task_overdue(first.task, T0 + 5 * H) is None
    assert mark_task_overdue(first.task, T0 + 50 * H) is None


def test_an_overdue_task_can_still_be_claimed_and_completed() -> None:
    marked = mark_task_overdue(new_task(), T0 + 5 * H)
    assert marked is not None
    task = claim(marked.task, by=INSPECTOR, now=T0 + 6 * H).task
    assert task.overdue_at is not None
    assert mark_task_overdue(task, T0 + 7 * H) is None
    done = complete(task, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY)
    assert done.task.state == "completed"


def test_claimed_tasks_go_overdue_and_completed_ones_do_not() -> None:
    assert mark_task_overdue(claimed_task(), T0 + D) is not None
    assert mark_task_overdue(completed("pass").task, T0 + D) is None


# -- overdue: rectification ----------------------------------------------------------------------


def test_an_order_past_its_deadline_is_published_overdue_once_and_escalates() -> None:
    order = order_of("major")  # deadline T0 + 3 days
    assert mark_rectification_overdue(order, T0 + 3 * D, POLICY) is None

    escalation = mark_rectification_overdue(order, T0 + 3 * D + H, POLICY)
    assert escalation is not None
    marked, again = escalation.order, escalation.reinspection
    assert again is not None
    assert marked.overdue_at == T0 + 3 * D + H
    assert marked.state == "open"  # still to be rectified
    assert marked.reinspection_task_id == again.task_id
    assert again.due_at == T0 + 3 * D + H + D
    overdue, created = escalation.events
    assert (overdue.type, overdue.key, overdue.subject) == (
        "inspection.rectification.overdue",
        order.task_id,
        order.rectification_id,
    )
    assert overdue.data.model_dump()["escalation_task_id"] == again.task_id
    assert created.type == "inspection.task.created"
    assert created.causation_id == overdue.id

    # Checked twice — or a hundred times — one overdue event.
    assert mark_rectification_overdue(marked, T0 + 3 * D + 2 * H, POLICY) is None
    assert mark_rectification_overdue(marked, T0 + 30 * D, POLICY) is None


def test_an_open_order_lapses_when_its_merchant_leaves_and_goes_overdue_no_more() -> None:
    """退出经营 before the order was put right: nobody is left to rectify or re-inspect."""
    order = order_of("major")
    ended = lapse(order, "merchant_left", T0 + D)
    assert ended is not None
    gone = ended.order
    assert (gone.state, gone.lapsed_at, gone.lapse_reason) == ("lapsed", T0 + D, "merchant_left")
    assert gone.version == order.version + 1
    [event] = ended.events
    assert (event.type, event.key, event.subject) == (
        "inspection.rectification.lapsed",
        order.task_id,
        order.rectification_id,
    )
    assert event.data.model_dump()["reason"] == "merchant_left"
    assert mark_rectification_overdue(gone, T0 + 30 * D, POLICY) is None
    with pytest.raises(IllegalTransition) as refused:
        verify(gone, passed=True, by=INSPECTOR, now=T0 + 2 * D, policy=POLICY)
    assert refused.value.state == "lapsed"
    assert lapse(gone, "merchant_left", T0 + 2 * D) is None


def test_an_overdue_order_lapses_with_its_missed_deadline_kept_and_no_reinspection_named() -> None:
    escalation = mark_rectification_overdue(order_of("major"), T0 + 4 * D, POLICY)
    assert escalation is not None and escalation.reinspection is not None
    ended = lapse(escalation.order, "merchant_left", T0 + 5 * D)
    assert ended is not None
    assert ended.order.overdue_at == T0 + 4 * D  # the deadline was missed before the leaving
    assert ended.order.reinspection_task_id is None  # its task is withdrawn with the others


def test_a_verified_order_does_not_lapse() -> None:
    passed = verify(order_of("major"), passed=True, by=INSPECTOR, now=T0 + D, policy=POLICY)
    assert lapse(passed.order, "merchant_left", T0 + 2 * D) is None


def test_a_failed_check_after_overdue_sets_a_deadline_that_can_go_overdue_again() -> None:
    escalation = mark_rectification_overdue(order_of("major"), T0 + 4 * D, POLICY)
    assert escalation is not None and escalation.reinspection is not None
    checked = verify(
        escalation.order,
        passed=False,
        by=INSPECTOR,
        now=T0 + 5 * D,
        policy=POLICY,
        reinspection=escalation.reinspection,
    )
    assert checked.order.overdue_at is None
    assert checked.order.deadline == T0 + 8 * D
    assert checked.order.reinspection_task_id is None
    assert checked.closed_task is not None and checked.closed_task.outcome == "major"

    second = mark_rectification_overdue(checked.order, T0 + 9 * D, POLICY)
    assert second is not None and second.reinspection is not None
    assert second.reinspection.task_id != escalation.reinspection.task_id


def test_suspensions_and_verified_orders_never_go_overdue() -> None:
    suspended = completed("critical", ("HYG-06",)).order
    assert suspended is not None
    assert mark_rectification_overdue(suspended, T0 + 365 * D, POLICY) is None
    done = verify(order_of(), passed=True, by=INSPECTOR, now=T0, policy=POLICY).order
    assert mark_rectification_overdue(done, T0 + 365 * D, POLICY) is None


def test_a_reinspection_is_staffed_by_the_task_force_given() -> None:
    fresh = TaskForce("赵队长", ("钱",))
    suspended = complete(
        claimed_task(),
        by=INSPECTOR,
        outcome="critical",
        findings=[FindingReport("HYG-06")],
        now=T0,
        policy=POLICY,
        task_force=fresh,
    )
    assert suspended.reinspection is not None and suspended.reinspection.task_force == fresh
    escalation = mark_rectification_overdue(order_of(), T0 + 4 * D, POLICY, task_force=fresh)
    assert escalation is not None and escalation.reinspection is not None
    assert escalation.reinspection.task_force == fresh


# -- the overdue check is idempotent whenever the scheduler runs ---------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20 * 24 * 60), min_size=1, max_size=30))
def test_however_often_the_clock_is_checked_each_deadline_is_published_once(
    minutes: list[int],
) -> None:
    task: Task = new_task()
    order = order_of("minor", "HYG-01")
    task_events = order_events = 0
    for minute in sorted(minutes):
        now = T0 + timedelta(minutes=minute)
        marked_task = mark_task_overdue(task, now)
        if marked_task is not None:
            task, task_events = marked_task.task, task_events + len(marked_task.events)
        marked_order = mark_rectification_overdue(order, now, POLICY)
        if marked_order is not None:
            order = marked_order.order
            order_events += sum(e.type.endswith(".overdue") for e in marked_order.events)
    last = T0 + timedelta(minutes=max(minutes))
    assert task_events == (1 if last > T0 + 4 * H else 0)
    assert order_events == (1 if last > T0 + 7 * D else 0)
