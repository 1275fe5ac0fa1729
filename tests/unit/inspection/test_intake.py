"""Triggers into tasks: SLAs by severity and category, one open task per key, idempotence."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.inspection.domain import (
    ComplaintTrigger,
    Decision,
    Policy,
    RiskTrigger,
    Task,
    Trigger,
    claim,
    decide,
    task_key,
)
from tests.support.inspection_builders import (
    INSPECTOR,
    POLICY,
    T0,
    TASK_FORCE,
    H,
    complaint,
    complete,
    failed,
    risk,
)


def created(trigger: Trigger, now: datetime = T0, policy: Policy = POLICY) -> Task:
    decision = decide(None, trigger, policy, now, task_force=TASK_FORCE)
    assert decision.action == "create", decision
    assert decision.task is not None
    return decision.task


# -- a merchant who left its stall, a market closed for good ----------------------------------


@pytest.mark.parametrize("gone", ["merchant_left", "market_closed"])
@pytest.mark.parametrize(
    "trigger",
    [risk("critical"), complaint("food_safety"), failed()],
    ids=["risk", "complaint", "renovation-check"],
)
def test_a_trigger_about_a_merchant_who_left_or_a_closed_market_opens_no_task(
    trigger: Trigger, gone: str
) -> None:
    decision = decide(None, trigger, POLICY, T0, task_force=TASK_FORCE, **{gone: True})
    assert (decision.action, decision.reason, decision.task, decision.events) == (
        "ignore",
        gone,
        None,
        (),
    )
    assert decide(None, trigger, POLICY, T0, task_force=TASK_FORCE).action == "create"


# -- SLA by risk severity --------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "due_in"), [("major", 4 * H), ("critical", 2 * H)])
@pytest.mark.parametrize("transition", ["raised", "escalated"])
def test_a_major_or_critical_risk_makes_a_task_due_by_its_sla(
    severity: str, due_in: timedelta, transition: str
) -> None:
    task = created(risk(severity, transition), now=T0 + timedelta(seconds=3))

    assert task.due_at == T0 + due_in  # counted from the risk, not from when it was processed
    assert task.created_at == T0 + timedelta(seconds=3)
    assert (task.state, task.reason_kind, task.merchant_id) == ("open", "risk", "mer_1")
    assert (task.market_id, task.stall_no, task.district) == ("mkt_1", "A-12", "zhifu")
    assert task.task_force == TASK_FORCE
    [ref] = task.triggers
    assert (ref.kind, ref.ref_id, ref.rule, ref.category, ref.severity) == (
        "risk",
        "risk_1",
        "cold_chain_excursion",
        "food_safety",
        severity,
    )
    assert ref.terminal_id == "trm_1"


@pytest.mark.parametrize("severity", ["warning", "minor"])
@pytest.mark.parametrize("transition", ["raised", "escalated"])
def test_a_risk_below_major_makes_no_task(severity: str, transition: str) -> None:
    decision = decide(None, risk(severity, transition), POLICY, T0)
    assert decision == Decision("ignore", None, (), "below_threshold")
    assert not decision.changed


def test_the_thresholds_are_configurable() -> None:
    policy = Policy.from_dict({"risk_due": {"minor": "24h", "critical": "1h"}})
    assert created(risk("minor"), policy=policy).due_at == T0 + 24 * H
    assert created(risk("critical"), policy=policy).due_at == T0 + H
    assert created(risk("major"), policy=policy).due_at == T0 + 4 * H


def test_acknowledged_and_cleared_risks_start_nothing() -> None:
    assert decide(None, risk("critical", "acknowledged"), POLICY, T0).reason == "acknowledged"
    assert decide(None, risk("major", "cleared"), POLICY, T0).reason == "not_attached"


# -- SLA by complaint category ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "due_in"),
    [
        ("food_safety", 24 * H),
        ("short_weight", 72 * H),
        ("price", 72 * H),
        ("hygiene", 72 * H),
        ("service", 72 * H),
        ("other", 72 * H),
        ("a_category_added_later", 72 * H),
    ],
)
def test_an_accepted_complaint_makes_a_task_due_by_category(
    category: str, due_in: timedelta
) -> None:
    task = created(complaint(category))

    assert task.due_at == T0 + due_in
    assert task.reason_kind == "complaint"
    [ref] = task.triggers
    assert (ref.kind, ref.ref_id, ref.category, ref.rule, ref.severity) == (
        "complaint",
        "cmp_1",
        category,
        None,
        None,
    )


def test_complaint_slas_are_configurable() -> None:
    policy = Policy.from_dict(
        {"complaint_due": {"short_weight": "48h"}, "complaint_due_default": 5 * 86_400}
    )
    assert created(complaint("short_weight"), policy=policy).due_at == T0 + 48 * H
    assert created(complaint("food_safety"), policy=policy).due_at == T0 + 24 * H
    assert created(complaint("price"), policy=policy).due_at == T0 + 5 * 24 * H


# -- one open task per (merchant, reason kind) ---------------------------------------------------


def test_a_second_risk_for_the_merchant_attaches_to_the_open_task() -> None:
    task = created(risk("major", risk_id="risk_1"))
    second = risk("major", risk_id="risk_2", terminal_id="trm_2", at=T0 + H)

    assert task_key(second) == task.dedupe_key == ("merchant:mer_1", "risk")
    decision = decide(task, second, POLICY, T0 + H)

    assert decision.action == "attach"
    assert decision.task is not None
    assert decision.task.task_id == task.task_id
    assert [r.ref_id for r in decision.task.triggers] == ["risk_1", "risk_2"]
    assert decision.task.due_at == task.due_at  # T0 + 1h + 4h is later: the due date stays
    assert decision.task.version == task.version + 1
    [event] = decision.events
    assert event.type == "inspection.task.updated"
    assert (event.data.change, event.data.trigger_id) == ("attached", "risk_2")  # type: ignore[attr-defined]
    assert event.data.previous_due_at is None  # type: ignore[attr-defined]


def test_a_redelivered_trigger_attaches_nothing() -> None:
    first = risk("major", event_id="ev_raise")
    task = created(first)

    assert decide(task, first, POLICY, T0 + H).reason == "duplicate"
    # ... also after the task has moved on, and for an attached complaint redelivered.
    claimed = claim(task, by=INSPECTOR, now=T0).task
    assert decide(claimed, first, POLICY, T0 + H) == Decision("ignore", None, (), "duplicate")
    complained = created(complaint(event_id="ev_accept"))
    again = complaint(event_id="ev_accept")
    assert decide(complained, again, POLICY, T0).reason == "duplicate"
    # A second acceptance event of the same complaint adds nothing either.
    assert decide(complained, complaint(), POLICY, T0).reason == "duplicate"


def test_the_same_trigger_makes_the_same_task_and_events() -> None:
    # A retried transaction (or a replica) derives the same ids, so a second insert collides.
    trigger = risk("major")
    one = decide(None, trigger, POLICY, T0, task_force=TASK_FORCE)
    two = decide(None, trigger, POLICY, T0, task_force=TASK_FORCE)
    assert one == two
    assert one.task is not None and one.task.task_id.startswith("tsk_")


def test_a_worse_trigger_tightens_the_due_date_never_loosens_it() -> None:
    task = created(risk("major", risk_id="risk_1"))  # due T0 + 4h
    critical = risk("critical", risk_id="risk_2", at=T0 + 30 * 60 * timedelta(seconds=1))

    tightened = decide(task, critical, POLICY, T0 + H)
    assert tightened.task is not None
    assert tightened.task.due_at == T0 + timedelta(minutes=150)
    assert tightened.events[0].data.previous_due_at == T0 + 4 * H  # type: ignore[attr-defined]

    later_major = risk("major", risk_id="risk_3", at=T0 + 2 * H)
    kept = decide(tightened.task, later_major, POLICY, T0 + 2 * H)
    assert kept.task is not None and kept.task.due_at == T0 + timedelta(minutes=150)


def test_an_attached_risk_escalating_tightens_the_due_date() -> None:
    task = created(risk("major", "raised"))
    escalated = risk("critical", "escalated", at=T0 + H)

    decision = decide(task, escalated, POLICY, T0 + H)

    assert decision.action == "escalate"
    assert decision.task is not None
    assert decision.task.due_at == T0 + 3 * H  # escalated at T0 + 1h, critical: 2 h
    [ref] = decision.task.triggers
    assert ref.severity == "critical"
    assert len(ref.event_ids) == 2
    assert decision.events[0].data.change == "escalated"  # type: ignore[attr-defined]
    # An event of an attached risk that is not worse changes nothing.
    same = risk("critical", "escalated", at=T0 + 2 * H)
    assert decide(decision.task, same, POLICY, T0 + 2 * H).reason == "no_change"


def test_a_food_safety_complaint_tightens_an_open_complaint_task() -> None:
    task = created(complaint("price", complaint_id="cmp_1"))  # due T0 + 72h
    food = complaint("food_safety", complaint_id="cmp_2", at=T0 + H)

    decision = decide(task, food, POLICY, T0 + H)

    assert decision.action == "attach"
    assert decision.task is not None
    assert decision.task.due_at == T0 + 25 * H
    assert [r.ref_id for r in decision.task.triggers] == ["cmp_1", "cmp_2"]


def test_risks_and_complaints_for_one_merchant_are_separate_tasks() -> None:
    assert task_key(risk()) == ("merchant:mer_1", "risk")
    assert task_key(complaint()) == ("merchant:mer_1", "complaint")
    task = created(risk())
    with pytest.raises(ValueError, match="is for"):
        decide(task, complaint(), POLICY, T0)


def test_a_minor_risk_joins_an_open_task_as_evidence_without_moving_its_due_date() -> None:
    task = created(risk("major", risk_id="risk_1"))
    minor = risk("minor", risk_id="risk_2", rule="cold_chain_cumulative")

    decision = decide(task, minor, POLICY, T0)
    assert decision.action == "attach"
    assert decision.task is not None and decision.task.due_at == task.due_at

    strict = Policy(attach_below_threshold=False)
    assert decide(task, minor, strict, T0).reason == "below_threshold"


def test_a_risk_that_clears_is_noted_on_the_task_not_removed() -> None:
    task = created(risk("major"))
    cleared = risk("major", "cleared", at=T0 + H)

    decision = decide(task, cleared, POLICY, T0 + H)

    assert decision.action == "clear"
    assert decision.task is not None
    [ref] = decision.task.triggers
    assert ref.cleared_at == T0 + H
    assert (decision.task.state, decision.task.due_at) == ("open", task.due_at)
    assert decision.events[0].data.change == "cleared"  # type: ignore[attr-defined]
    # Cleared twice (another event id) or a risk the task never held: nothing.
    assert decide(decision.task, risk("major", "cleared"), POLICY, T0).reason == "duplicate"
    other = risk("minor", "cleared", risk_id="risk_9")
    assert decide(decision.task, other, POLICY, T0).reason == "not_attached"


def test_acknowledging_an_attached_risk_changes_nothing() -> None:
    task = created(risk("major"))
    assert decide(task, risk("major", "acknowledged"), POLICY, T0).reason == "acknowledged"


def test_a_risk_without_a_merchant_makes_a_market_level_task() -> None:
    crowd = risk("major", rule="crowding", merchant_id=None, terminal_id="gate_1")
    task = created(crowd)

    assert task.merchant_id is None and task.stall_no is None
    assert task.dedupe_key == ("market:mkt_1", "risk")
    # Another market-level risk attaches to it; a merchant's risk does not.
    again = risk("major", rule="crowding", merchant_id=None, risk_id="risk_2")
    assert decide(task, again, POLICY, T0).action == "attach"
    assert task_key(risk()) != task.dedupe_key


def test_a_complaint_about_the_market_makes_a_market_level_task() -> None:
    task = created(complaint("hygiene", merchant_id=None))
    assert task.dedupe_key == ("market:mkt_1", "complaint")
    assert task.due_at == T0 + 72 * H


def test_a_completed_task_is_not_open_for_evidence() -> None:
    task = claim(created(risk()), by=INSPECTOR, now=T0).task
    done = complete(task, by=INSPECTOR, outcome="pass", findings=[], now=T0, policy=POLICY).task
    with pytest.raises(ValueError, match="completed, not open"):
        decide(done, risk("critical", risk_id="risk_2"), POLICY, T0)
    # The service looks up open tasks only: the next trigger starts a new task.
    assert decide(None, risk("critical", risk_id="risk_2"), POLICY, T0).action == "create"


# -- chain: correlation and causation ------------------------------------------------------------


def test_a_task_belongs_to_the_chain_of_the_risk_or_complaint_that_started_it() -> None:
    trigger = risk("major", event_id="ev_raise")
    decision = decide(None, trigger, POLICY, T0)
    [event] = decision.events
    assert (event.correlation_id, event.causation_id) == ("risk_1", "ev_raise")
    assert event.key == event.subject == decision.task.task_id  # type: ignore[union-attr]

    second = risk("major", risk_id="risk_2", event_id="ev_other")
    attach = decide(decision.task, second, POLICY, T0)
    # Still the first risk's chain; caused by the second risk's event.
    assert (attach.events[0].correlation_id, attach.events[0].causation_id) == (
        "risk_1",
        "ev_other",
    )
    complained = decide(None, complaint(event_id="ev_accept"), POLICY, T0)
    assert (complained.events[0].correlation_id, complained.events[0].causation_id) == (
        "cmp_1",
        "ev_accept",
    )


def test_triggers_refuse_naive_times_and_unknown_vocabulary() -> None:
    with pytest.raises(ValueError, match="timezone"):
        risk(at=T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="transition"):
        risk(transition="resolved")
    with pytest.raises(ValueError, match="severity"):
        risk(severity="grave")
    with pytest.raises(ValueError, match="timezone"):
        decide(None, risk(), POLICY, T0.replace(tzinfo=None))


# -- invariants over any sequence of triggers ----------------------------------------------------

Event = RiskTrigger | ComplaintTrigger
RISK_IDS = ["risk_a", "risk_b"]
SEVERITY = st.sampled_from(["warning", "minor", "major", "critical"])
TRANSITION = st.sampled_from(["raised", "escalated", "cleared", "acknowledged"])


@st.composite
def trigger_streams(draw: st.DrawFn) -> list[tuple[Event | str, int]]:
    """Risks and complaints for one merchant (or its market), redeliveries and completions mixed
    in any order; each step carries minutes since T0."""
    steps: list[tuple[Event | str, int]] = []
    sent: list[Event] = []
    for _ in range(draw(st.integers(1, 40))):
        minute = draw(st.integers(0, 600))
        kind = draw(st.sampled_from(["risk", "risk", "complaint", "redeliver", "complete"]))
        if kind == "redeliver" and sent:
            steps.append((draw(st.sampled_from(sent)), minute))
            continue
        if kind == "complete":
            steps.append((draw(st.sampled_from(["risk", "complaint"])), minute))
            continue
        merchant = draw(st.sampled_from(["mer_1", "mer_1", None]))
        trigger: Event
        if kind == "complaint":
            category = draw(st.sampled_from(["food_safety", "price", "other"]))
            cid = draw(st.sampled_from(["cmp_1", "cmp_2"]))
            at = T0 + timedelta(minutes=minute)
            trigger = complaint(category, complaint_id=cid, merchant_id=merchant, at=at)
        else:
            trigger = risk(
                draw(SEVERITY),
                draw(TRANSITION),
                risk_id=draw(st.sampled_from(RISK_IDS)),
                merchant_id=merchant,
                at=T0 + timedelta(minutes=minute),
            )
        sent.append(trigger)
        steps.append((trigger, minute))
    return steps


@settings(max_examples=300, deadline=None)
@given(trigger_streams())
def test_any_sequence_keeps_at_most_one_open_task_per_key(
    steps: list[tuple[Event | str, int]],
) -> None:
    open_tasks: dict[tuple[str, str], Task] = {}
    done: list[Task] = []
    handled: set[str] = set()
    slas: dict[str, list[datetime]] = {}
    for step, minute in steps:
        now = T0 + timedelta(minutes=minute)
        if isinstance(step, str):  # an inspector completes the open task of this reason kind
            for key in [k for k in open_tasks if k[1] == step]:
                task = claim(open_tasks.pop(key), by=INSPECTOR, now=now).task
                done.append(
                    complete(
                        task, by=INSPECTOR, outcome="pass", findings=[], now=now, policy=POLICY
                    ).task
                )
            continue
        key = task_key(step)
        before = open_tasks.get(key)
        if step.event_id in handled:
            # The service's inbox drops a handled event; where the open task holds it, the rules
            # must absorb it on their own too.
            if before is not None and before.seen(step.event_id):
                assert decide(before, step, POLICY, now).reason == "duplicate"
            continue
        handled.add(step.event_id)
        decision = decide(before, step, POLICY, now)
        if decision.action == "create":
            assert before is None
        if decision.task is None:
            assert decision.events == ()
            continue
        assert decision.task.dedupe_key == key
        assert len(decision.events) == 1
        sla = _sla(step, POLICY)
        if decision.action in ("create", "attach", "escalate") and sla is not None:
            slas.setdefault(decision.task.task_id, []).append(step.at + sla)
        assert decision.events[0].data.version == decision.task.version  # type: ignore[attr-defined]
        if before is not None:
            assert decision.task.task_id == before.task_id
            assert decision.task.due_at <= before.due_at  # never loosened
            assert decision.task.version == before.version + 1
        open_tasks[key] = decision.task

    every = [*open_tasks.values(), *done]
    assert len({t.task_id for t in every}) == len(every)
    for task in every:
        # Every event id is taken in at most once, and each risk or complaint is one reference.
        ids = [e for ref in task.triggers for e in ref.event_ids]
        assert len(ids) == len(set(ids))
        assert len({r.ref_id for r in task.triggers}) == len(task.triggers)
        # The due date is the earliest end of any SLA the task's triggers brought.
        assert task.due_at == min(slas[task.task_id])


def _sla(trigger: Event, policy: Policy) -> timedelta | None:
    if isinstance(trigger, ComplaintTrigger):
        return policy.complaint_sla(trigger.category)
    assert isinstance(trigger, RiskTrigger)
    return policy.risk_sla(trigger.severity)


@settings(max_examples=200, deadline=None)
@given(trigger_streams())
def test_redelivering_every_trigger_changes_nothing(steps: list[tuple[Event | str, int]]) -> None:
    def run(with_redelivery: bool) -> dict[tuple[str, str], Task]:
        tasks: dict[tuple[str, str], Task] = {}
        for step, minute in steps:
            if isinstance(step, str):
                continue
            now = T0 + timedelta(minutes=minute)
            for _ in range(2 if with_redelivery else 1):
                decision = decide(tasks.get(task_key(step)), step, POLICY, now)
                if decision.task is not None:
                    tasks[task_key(step)] = decision.task
        return tasks

    assert run(with_redelivery=True) == run(with_redelivery=False)
