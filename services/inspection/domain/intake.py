"""Triggers in, task decisions out: create a task, attach evidence to the open one, or ignore.

The intake rule (docs/rules.md, "Inspection"): at most one open task per (merchant, reason kind); a
new trigger for the same pair attaches to it as evidence. A trigger without a merchant — crowding,
an anomaly at a market gate, a complaint about the market itself — is about the market: it gets a
market-level task (merchant_id None, addressed to the operator), one open per (market, reason kind).

    key = task_key(trigger)
    decision = decide(store.open_task(key), trigger, policy, now, task_force=market.task_force)
    store.save(decision.task); outbox.add(decision.events)   # one transaction, with the inbox

Due dates count from the trigger's `at` and only ever move earlier: a worse trigger attached to
an open task (a critical risk, an attached risk escalating, a food-safety complaint joining a
72 h one) tightens the due date when its own SLA ends sooner.

A failed quality or safety check of a market's renovation project (campaign service) is about
the market: a market-level `renovation` task for its operator, due when the check's `rectify_by`
day ends in the city (`Policy.renovation_due`) — the date the campaign already set, not an SLA
of ours. Another failed check of the same market attaches to the open task (its earlier
`rectify_by` moves the due date earlier); the same check again is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts.telemetry import severity_rank
from services.inspection.domain import events
from services.inspection.domain.events import Outgoing
from services.inspection.domain.model import Task, TaskForce, TriggerRef, derive_id
from services.inspection.domain.policy import Policy
from services.inspection.domain.triggers import (
    ComplaintTrigger,
    PatrolTrigger,
    RenovationTrigger,
    RiskTrigger,
    Trigger,
    task_key,
)
from services.runtime.clock import aware

# Triggers that carry an event and attach to an open task as evidence (patrols do neither).
Evidence = RiskTrigger | ComplaintTrigger | RenovationTrigger

Action = Literal["create", "attach", "escalate", "clear", "ignore"]
IgnoreReason = Literal[
    "duplicate",  # this event, or this risk, complaint or check, is already on the task
    "below_threshold",  # a risk milder than any task SLA, and no open task to join
    "acknowledged",  # someone saw the risk: nothing for an inspection to do
    "not_attached",  # a risk cleared that no open task holds
    "no_change",  # an attached risk's event that is not worse than what the task knows
    "already_open",  # a patrol came due while the merchant's patrol task is still open
    "merchant_left",  # about a merchant who left its stall (退出经营): nobody to inspect there
    "market_closed",  # about a market closed for good (停业): nothing to inspect there
]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a trigger does. `task` is the new or changed task (None when ignored); `events` are
    to be published with it; `reason` says why a trigger was ignored (a bounded label)."""

    action: Action
    task: Task | None
    events: tuple[Outgoing, ...] = ()
    reason: IgnoreReason | None = None

    @property
    def changed(self) -> bool:
        return self.action != "ignore"


def _ignore(reason: IgnoreReason) -> Decision:
    return Decision("ignore", None, (), reason)


def decide(
    open_task: Task | None,
    trigger: Trigger,
    policy: Policy,
    now: datetime,
    *,
    task_force: TaskForce | None = None,
    merchant_left: bool = False,
    market_closed: bool = False,
) -> Decision:
    """Decide what `trigger` does given the open task of its key (`task_key(trigger)`) or None.

    `task_force` is the market's task force from the registry projection, snapshotted onto a new
    task (an open task keeps the one it was created with). `merchant_left`: the merchant the
    trigger is about left its stall (退出经营), so it opens no task — a complaint accepted
    before the leaving was read, say; its tasks still to do were withdrawn. `market_closed`: the
    trigger's market closed for good (停业) — a late risk of its footfall counter, a complaint
    about the market accepted before the closing was read — so, likewise, no task.
    """
    now = aware(now)
    if open_task is not None:
        if not open_task.is_open:
            raise ValueError(f"task {open_task.task_id} is {open_task.state}, not open")
        if open_task.dedupe_key != task_key(trigger):
            raise ValueError(
                f"task {open_task.task_id} is for {open_task.dedupe_key}, "
                f"the trigger for {task_key(trigger)}"
            )
    elif merchant_left:
        return _ignore("merchant_left")
    elif market_closed:
        return _ignore("market_closed")
    if isinstance(trigger, RiskTrigger):
        return _risk(open_task, trigger, policy, now, task_force)
    if isinstance(trigger, ComplaintTrigger):
        return _complaint(open_task, trigger, policy, now, task_force)
    if isinstance(trigger, RenovationTrigger):
        return _renovation(open_task, trigger, policy, now, task_force)
    return _patrol(open_task, trigger, policy, now, task_force)


def _risk(
    task: Task | None,
    trigger: RiskTrigger,
    policy: Policy,
    now: datetime,
    task_force: TaskForce | None,
) -> Decision:
    if trigger.transition == "acknowledged":
        return _ignore("acknowledged")
    if task is not None and task.seen(trigger.event_id):
        return _ignore("duplicate")
    ref = task.trigger(trigger.risk_id) if task is not None else None

    if trigger.transition == "cleared":
        if task is None or ref is None:
            return _ignore("not_attached")
        if ref.cleared_at is not None:
            return _ignore("duplicate")
        cleared = ref.took(
            trigger.event_id, policy.max_event_ids_per_trigger, cleared_at=trigger.at
        )
        changed = task.next(triggers=_swap(task.triggers, cleared))
        return _updated("clear", changed, trigger, now, None)

    sla = policy.risk_sla(trigger.severity)
    if task is None:
        if sla is None:
            return _ignore("below_threshold")
        ref = _risk_ref(trigger)
        return _create(trigger, ref, trigger.at + sla, trigger.risk_id, now, task_force)

    if ref is None:
        if sla is None and not policy.attach_below_threshold:
            return _ignore("below_threshold")
        # Also a risk whose reference was trimmed off a long list (`max_triggers_per_task`)
        # and escalates later: it comes back as the latest evidence.
        return _attach("attach", task, _risk_ref(trigger), trigger, _by(trigger, sla), now, policy)

    if ref.severity is not None and severity_rank(trigger.severity) <= severity_rank(ref.severity):
        return _ignore("no_change")
    worse = ref.took(trigger.event_id, policy.max_event_ids_per_trigger, severity=trigger.severity)
    return _attach("escalate", task, worse, trigger, _by(trigger, sla), now, policy)


def _complaint(
    task: Task | None,
    trigger: ComplaintTrigger,
    policy: Policy,
    now: datetime,
    task_force: TaskForce | None,
) -> Decision:
    ref = _new_ref("complaint", trigger.complaint_id, trigger, trigger.category)
    due_at = trigger.at + policy.complaint_sla(trigger.category)
    return _once(task, trigger, ref, due_at, trigger.complaint_id, now, policy, task_force)


def _renovation(
    task: Task | None,
    trigger: RenovationTrigger,
    policy: Policy,
    now: datetime,
    task_force: TaskForce | None,
) -> Decision:
    ref = _new_ref("renovation_check", trigger.check_id, trigger, trigger.check_kind)
    due_at = policy.renovation_due(trigger.rectify_by)
    return _once(task, trigger, ref, due_at, trigger.correlation_id, now, policy, task_force)


def _new_ref(
    kind: str,
    ref_id: str,
    trigger: Evidence,
    category: str,
    *,
    rule: str | None = None,
    severity: str | None = None,
    terminal_id: str | None = None,
) -> TriggerRef:
    """The evidence a trigger's first event brings (a risk's rule, severity and terminal)."""
    return TriggerRef(
        kind=kind,
        ref_id=ref_id,
        event_ids=(trigger.event_id,),
        category=category,
        attached_at=trigger.at,
        rule=rule,
        severity=severity,
        terminal_id=terminal_id,
    )


def _once(
    task: Task | None,
    trigger: Evidence,
    ref: TriggerRef,
    due_at: datetime,
    correlation_id: str,
    now: datetime,
    policy: Policy,
    task_force: TaskForce | None,
) -> Decision:
    """A complaint or a failed check is one piece of evidence, taken once: a second acceptance
    event of one complaint, or a redelivered check, adds nothing."""
    if task is not None and (task.seen(trigger.event_id) or task.trigger(ref.ref_id)):
        return _ignore("duplicate")
    if task is None:
        return _create(trigger, ref, due_at, correlation_id, now, task_force)
    return _attach("attach", task, ref, trigger, due_at, now, policy)


def _patrol(
    task: Task | None,
    trigger: PatrolTrigger,
    policy: Policy,
    now: datetime,
    task_force: TaskForce | None,
) -> Decision:
    if task is not None:
        return _ignore("already_open")
    task_id = derive_id("tsk", "patrol", trigger.merchant_id, trigger.at.isoformat())
    task = _new_task(
        trigger,
        task_id,
        now,
        task_force,
        # From the planned date, or from now when the plan was already past it (a grade drop,
        # a scheduler that was down): a patrol task is never born overdue.
        due_at=max(trigger.at, now) + policy.patrol_task_within,
        # A patrol starts its own chain.
        correlation_id=task_id,
        grade=policy.effective_grade(trigger.grade),
    )
    return Decision("create", task, (events.task_created(task, now, None),))


# -- helpers -------------------------------------------------------------------------------------


def _risk_ref(trigger: RiskTrigger) -> TriggerRef:
    return _new_ref(
        "risk",
        trigger.risk_id,
        trigger,
        trigger.category,
        rule=trigger.rule,
        severity=trigger.severity,
        terminal_id=trigger.terminal_id,
    )


def _new_task(
    trigger: Trigger,
    task_id: str,
    now: datetime,
    task_force: TaskForce | None,
    *,
    due_at: datetime,
    correlation_id: str,
    **more: Any,
) -> Task:
    """A task about the trigger's merchant (or its market), made now."""
    return Task(
        task_id=task_id,
        reason_kind=trigger.reason_kind,
        market_id=trigger.market_id,
        district=trigger.district,
        merchant_id=trigger.merchant_id,
        stall_no=trigger.stall_no,
        task_force=task_force,
        created_at=now,
        due_at=due_at,
        correlation_id=correlation_id,
        **more,
    )


def _by(trigger: RiskTrigger, sla: timedelta | None) -> datetime | None:
    """The due date a risk's SLA sets, if it sets one."""
    return None if sla is None else trigger.at + sla


def _create(
    trigger: Evidence,
    ref: TriggerRef,
    due_at: datetime,
    correlation_id: str,
    now: datetime,
    task_force: TaskForce | None,
) -> Decision:
    # Named after the event that made it: a second insert of the same task collides.
    task_id = derive_id("tsk", trigger.reason_kind, trigger.event_id)
    task = _new_task(
        trigger,
        task_id,
        now,
        task_force,
        due_at=due_at,
        correlation_id=correlation_id,
        triggers=(ref,),
    )
    return Decision("create", task, (events.task_created(task, now, trigger.event_id),))


def _attach(
    action: Literal["attach", "escalate"],
    task: Task,
    ref: TriggerRef,
    trigger: Evidence,
    due_by: datetime | None,
    now: datetime,
    policy: Policy,
) -> Decision:
    """`ref` attached to (or swapped on) `task`; `due_by` is the due date the trigger sets on
    its own (None: none), which moves the task's earlier, never later."""
    dropped = task.triggers_dropped
    if action == "attach":
        triggers, left_out = _appended(task.triggers, ref, policy.max_triggers_per_task)
        dropped += left_out
    else:
        triggers = _swap(task.triggers, ref)
    due_at = task.due_at
    previous: datetime | None = None
    if due_by is not None and due_by < due_at:
        previous, due_at = due_at, due_by
    changed = task.next(triggers=triggers, due_at=due_at, triggers_dropped=dropped)
    return _updated(action, changed, trigger, now, previous)


def _updated(
    action: Literal["attach", "escalate", "clear"],
    task: Task,
    trigger: Evidence,
    now: datetime,
    previous_due_at: datetime | None,
) -> Decision:
    change = {"attach": "attached", "escalate": "escalated", "clear": "cleared"}[action]
    event = events.task_updated(
        task,
        now,
        trigger.event_id,
        change=change,
        trigger_id=trigger.ref_id,
        previous_due_at=previous_due_at,
    )
    return Decision(action, task, (event,))


def _appended(
    triggers: tuple[TriggerRef, ...], ref: TriggerRef, keep: int
) -> tuple[tuple[TriggerRef, ...], int]:
    """`triggers` with `ref` appended, at most `keep`: the one that created the task (the chain's
    root, its correlation) and the latest. Returns them and how many were left out."""
    out = (*triggers, ref)
    if len(out) <= keep:
        return out, 0
    return (out[0], *out[len(out) - keep + 1 :]), len(out) - keep


def _swap(triggers: tuple[TriggerRef, ...], ref: TriggerRef) -> tuple[TriggerRef, ...]:
    return tuple(ref if t.ref_id == ref.ref_id else t for t in triggers)
