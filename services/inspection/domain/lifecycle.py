"""The work: claim and complete tasks, order and verify rectification, and the overdue clocks.

    task:          open ──claim──► claimed ──complete──► completed
                     └──────── overdue mark (past due, once) ───────┘ (state unchanged)
                   open or claimed ──withdraw (its merchant left, its market closed)──► withdrawn
    rectification: open ──verify(passed)──► verified
                     ├──verify(failed)──► open, new deadline as long as the first
                     ├──overdue mark (past deadline, once per deadline) + escalation
                     └──lapse (its merchant left, its market closed)──► lapsed

Completing with findings orders rectification: one order per inspection, listing every finding,
its severity the outcome's. Minor and major outcomes get a deadline (7 and 3 days); a critical
one suspends trading instead, with no deadline, and creates a re-inspection task. An order past
its deadline escalates with a re-inspection task too. A re-inspection task is closed by verifying
its order (`verify`), which completes it with the verification's result.

Each function returns the changed values and their events, or raises `IllegalTransition` (409),
`InvalidCompletion` or `InvalidVerification` (422) having changed nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from contracts.inspection import (
    DEPARTMENTS,
    NOTE_MAX_CHARS,
    OUTCOMES,
    WithdrawalReason,
    outcome_rank,
)
from contracts.people import Actor
from services.inspection.domain import events
from services.inspection.domain.catalogue import Catalogue
from services.inspection.domain.errors import (
    IllegalTransition,
    InvalidCompletion,
    InvalidVerification,
)
from services.inspection.domain.events import Outgoing
from services.inspection.domain.model import (
    Finding,
    FindingReport,
    RectificationOrder,
    Task,
    TaskForce,
    as_actor,
    derive_id,
    once_each,
)
from services.inspection.domain.photos import completion_photos, verification_photos
from services.inspection.domain.policy import Policy
from services.runtime.clock import aware

MAX_FINDINGS = 50
Problem = tuple[str, str]


@dataclass(frozen=True, slots=True)
class TaskChange:
    """A task after a claim or an overdue mark; `events` is empty when nothing changed."""

    task: Task
    events: tuple[Outgoing, ...]


@dataclass(frozen=True, slots=True)
class Completion:
    """A completed task, the order its findings issued and the re-inspection a suspension needs."""

    task: Task
    order: RectificationOrder | None
    reinspection: Task | None
    events: tuple[Outgoing, ...]


@dataclass(frozen=True, slots=True)
class Verification:
    """An order after a check, the re-inspection task it closed, and the one a failed check of a
    suspension opens."""

    order: RectificationOrder
    closed_task: Task | None
    reinspection: Task | None
    events: tuple[Outgoing, ...]


@dataclass(frozen=True, slots=True)
class Lapse:
    """An order that lapsed, with its event."""

    order: RectificationOrder
    events: tuple[Outgoing, ...]


@dataclass(frozen=True, slots=True)
class Escalation:
    """An order marked overdue, and the re-inspection task the escalation created (if any)."""

    order: RectificationOrder
    reinspection: Task | None
    events: tuple[Outgoing, ...]


# -- tasks ---------------------------------------------------------------------------------------


def claim(task: Task, *, by: Actor | str, now: datetime) -> TaskChange:
    """`by` takes the task: recorded as `claimed_actor` (its subject as `assignee`). The same
    inspector claiming again changes nothing (a retried request); another inspector gets a
    conflict naming who holds it. A bare subject is an actor named by it."""
    now = aware(now)
    actor = as_actor(by)
    if task.state == "claimed":
        if task.assignee == actor.subject:
            return TaskChange(task, ())
        raise IllegalTransition(
            "task", task.task_id, task.state, "claim", f"claimed by {_holder(task)}"
        )
    if task.state != "open":
        raise IllegalTransition("task", task.task_id, task.state, "claim")
    claimed = task.next(
        state="claimed", assignee=actor.subject, claimed_at=now, claimed_actor=actor
    )
    return TaskChange(claimed, (events.task_claimed(claimed, now),))


def complete(
    task: Task,
    *,
    by: Actor | str,
    outcome: str,
    findings: Sequence[FindingReport],
    departments: Iterable[str] = (),
    note: str | None = None,
    now: datetime,
    policy: Policy,
    catalogue: Catalogue,
    task_force: TaskForce | None = None,
    photos: Sequence[str] = (),
    task_photos: Collection[str] = (),
) -> Completion:
    """The claimer records the outcome. Any outcome but `pass` orders rectification.

    Rules (all reported at once): the outcome is one of pass/minor/major/critical; `pass` has no
    findings and every other outcome at least one; each code is in the catalogue; the outcome is
    no milder than any finding's catalogue severity (Policy `outcome_at_least_findings`);
    departments are market_regulation, health, environment (none given: the policy's default).
    `catalogue` holds the codes an inspector may record; `task_force` (the market's current one)
    staffs the re-inspection a suspension needs, by default the task's. `by` (the claimer) is
    recorded as `completed_actor`, its subject as `completed_by`. `photos` are ids of photos
    attached to the task (`task_photos`: the ids it has), recorded with the completion.
    """
    now = aware(now)
    actor = as_actor(by)
    if task.reason_kind == "reinspection" and task.is_open:
        raise IllegalTransition(
            "task",
            task.task_id,
            task.state,
            "complete",
            f"a re-inspection is closed by verifying rectification {task.reinspection_of}",
        )
    if task.state != "claimed":
        raise IllegalTransition(
            "task",
            task.task_id,
            task.state,
            "complete",
            "claim it first" if task.state == "open" else None,
        )
    if task.assignee != actor.subject:
        raise IllegalTransition(
            "task", task.task_id, task.state, "complete", f"claimed by {_holder(task)}"
        )
    chosen_photos, photo_problems = completion_photos(photos, task_photos)
    problems, recorded, chosen = _checked(outcome, findings, departments, note, policy, catalogue)
    if problems or photo_problems:
        raise InvalidCompletion([*problems, *photo_problems])

    rectification_id = None if outcome == "pass" else derive_id("rct", task.task_id)
    done = task.next(
        state="completed",
        outcome=outcome,
        findings=recorded,
        departments=chosen,
        note=note,
        completed_by=actor.subject,
        completed_at=now,
        rectification_id=rectification_id,
        completed_actor=actor,
        photos=chosen_photos,
    )
    completed_event = events.task_completed(done, now)
    if rectification_id is None:
        return Completion(done, None, None, (completed_event,))

    suspension = policy.suspends(outcome)
    deadline_after = policy.deadline_after(outcome)
    order = RectificationOrder(
        rectification_id=rectification_id,
        task_id=task.task_id,
        market_id=task.market_id,
        district=task.district,
        merchant_id=task.merchant_id,
        stall_no=task.stall_no,
        task_force=task.task_force,
        severity=outcome,
        findings=recorded,
        ordered_at=now,
        deadline=None if deadline_after is None else now + deadline_after,
        suspension=suspension,
        correlation_id=task.correlation_id,
    )
    reinspection = None
    if suspension:
        reinspection = _reinspection(order, 1, now, policy, "suspension", task_force)
        order = replace(order, reinspection_task_id=reinspection.task_id)
    ordered = events.rectification_ordered(order, now, completed_event.id)
    out = [completed_event, ordered]
    if reinspection is not None:
        out.append(events.task_created(reinspection, now, ordered.id))
    return Completion(done, order, reinspection, tuple(out))


def mark_task_overdue(task: Task, now: datetime) -> TaskChange | None:
    """Mark a task past its due date and not completed; None if it is not, or already marked.

    The scheduler may run this as often as it likes: each task is published overdue once.
    """
    now = aware(now)
    if not task.is_open or task.overdue_at is not None or now <= task.due_at:
        return None
    marked = task.next(overdue_at=now)
    return TaskChange(marked, (events.task_overdue(marked, now),))


def withdraw(task: Task, reason: WithdrawalReason, now: datetime) -> TaskChange | None:
    """Withdraw a task still to do that no inspection can close any more (`merchant_left`: the
    merchant it is about stopped trading at its stall; `market_closed`: its market closed for
    good). None if it is done or withdrawn already,
    so a snapshot read again withdraws nothing twice."""
    now = aware(now)
    if not task.is_open:
        return None
    withdrawn = task.next(state="withdrawn", withdrawn_at=now, withdrawal_reason=reason)
    return TaskChange(withdrawn, (events.task_withdrawn(withdrawn, now),))


def completion_problems(
    *,
    outcome: str | None = None,
    findings: Sequence[FindingReport] | None = None,
    departments: Iterable[str] | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    task_photos: Collection[str] = (),
    policy: Policy,
    catalogue: Catalogue,
) -> list[Problem]:
    """`complete`'s rules on the fields given (None: not given, as when a request's other
    fields did not fit its model): a rule between two fields (an outcome and its findings) is
    weighed when both are given. The problems, in the order `complete` names them."""
    problems, _, _ = _checked(outcome, findings, departments, note, policy, catalogue)
    return [*problems, *completion_photos(photos, task_photos)[1]]


def _checked(
    outcome: str | None,
    findings: Sequence[FindingReport] | None,
    departments: Iterable[str] | None,
    note: str | None,
    policy: Policy,
    catalogue: Catalogue,
) -> tuple[list[Problem], tuple[Finding, ...], tuple[str, ...]]:
    """A completion's problems, the findings it records and its departments (the policy's
    default when none are chosen); a field that is None is not given, so not checked."""
    problems: list[Problem] = []
    known = outcome is not None and outcome in OUTCOMES
    if outcome is not None and not known:
        problems.append(("outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}"))
    elif outcome == "pass" and findings:
        problems.append(("findings", "an outcome of pass records no findings"))
    elif known and findings is not None and outcome != "pass" and not findings:
        problems.append(("findings", f"an outcome of {outcome} needs at least one finding"))
    findings = findings or ()
    if len(findings) > MAX_FINDINGS:
        problems.append(("findings", f"at most {MAX_FINDINGS} findings per inspection"))

    recorded: list[Finding] = []
    for i, report in enumerate(findings):
        entry = catalogue.get(report.code)
        if entry is None:
            problems.append((f"findings.{i}.code", f"unknown finding code {report.code!r}"))
            continue
        if len(report.note) > NOTE_MAX_CHARS:
            problems.append((f"findings.{i}.note", f"at most {NOTE_MAX_CHARS} characters"))
        recorded.append(
            Finding(
                entry.code, entry.group, entry.severity, entry.title_zh, entry.title_en, report.note
            )
        )
    if policy.outcome_at_least_findings and outcome is not None and known and outcome != "pass":
        worst = max(recorded, key=lambda f: outcome_rank(f.severity), default=None)
        if worst is not None and outcome_rank(worst.severity) > outcome_rank(outcome):
            problems.append(
                (
                    "outcome",
                    f"{outcome} is milder than finding {worst.code} ({worst.severity}); "
                    f"the outcome must be at least {worst.severity}",
                )
            )

    must = f"must be one of {', '.join(DEPARTMENTS)}"
    chosen, unknown = once_each("departments", departments or (), DEPARTMENTS, lambda _: must)
    problems += unknown
    if note is not None and len(note) > NOTE_MAX_CHARS:
        problems.append(("note", f"at most {NOTE_MAX_CHARS} characters"))
    # Canonical order, so the same departments always read the same in events and queries.
    ordered = tuple(d for d in DEPARTMENTS if d in chosen) or policy.default_departments
    return problems, tuple(recorded), ordered


# -- rectification -------------------------------------------------------------------------------


def verify(
    order: RectificationOrder,
    *,
    passed: bool,
    by: Actor | str,
    now: datetime,
    policy: Policy,
    reinspection: Task | None = None,
    task_force: TaskForce | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    order_photos: Collection[str] = (),
) -> Verification:
    """Record a re-inspection's result on an open order.

    Passed: the order is `verified` (a suspension is lifted). Failed: it stays `open`; a deadline
    as long as the first is set from now (minor 7 days again, major 3 days), which may be missed
    and published overdue afresh; a suspension stays, with a new re-inspection task.

    When the order has an open re-inspection task (`order.reinspection_task_id`), pass it: the
    check closes it, with outcome `pass` or the order's severity and findings. Whoever verifies
    closes it, claimed or not: the result matters more than who held the task. `task_force`
    (the market's current one) staffs a new re-inspection; by default the order's. `by` is
    recorded as the order's `verified_actor` (and, passed, its subject as `verified_by`).

    The check's evidence (docs/console.md: evidence at the stall), passed or failed: `note` (at most
    `NOTE_MAX_CHARS`; blank is none) and `photos`, ids of photos attached to the order
    (`order_photos`: the ids it has), each once. They are recorded on the order as its latest
    check's (`verification_note`, `verification_photos`) and carried by the event; a
    re-inspection task the check closes takes the note. Every offending field is reported at
    once (`InvalidVerification`), nothing changed.
    """
    now = aware(now)
    actor = as_actor(by)
    if order.state != "open":
        raise IllegalTransition("rectification", order.rectification_id, order.state, "verify")
    _check_reinspection(order, reinspection)
    note = note or None
    chosen_photos, problems = _evidence(note, photos, order_photos)
    InvalidVerification.raise_any(problems)
    evidence = {
        "verification_note": note,
        "verification_photos": chosen_photos,
        "last_verification_at": now,
    }

    version = order.version + 1
    on_time = order.deadline is None or now <= order.deadline
    new_task: Task | None = None
    if passed:
        changed = order.next(
            state="verified",
            verified_by=actor.subject,
            verified_at=now,
            reinspection_task_id=None,
            verified_actor=actor,
            **evidence,
        )
    elif order.suspension:
        new_task = _reinspection(order, version, now, policy, "suspension", task_force)
        changed = order.next(
            failed_verifications=order.failed_verifications + 1,
            reinspection_task_id=new_task.task_id,
            verified_actor=actor,
            **evidence,
        )
    else:
        again = policy.deadline_after(order.severity)
        assert again is not None, "an order with a deadline has a deadline length"
        changed = order.next(
            failed_verifications=order.failed_verifications + 1,
            deadline=now + again,
            overdue_at=None,
            reinspection_task_id=None,
            verified_actor=actor,
            **evidence,
        )
    verified = events.rectification_verified(
        changed,
        now,
        passed=passed,
        by=actor,
        on_time=on_time,
        previous_deadline=order.deadline,
        suspension_lifted=passed and order.suspension,
        note=note,
        photos=chosen_photos,
    )
    out = [verified]
    closed: Task | None = None
    if reinspection is not None and reinspection.is_open:
        held = reinspection.assignee is not None
        closed = reinspection.next(
            state="completed",
            assignee=reinspection.assignee if held else actor.subject,
            claimed_at=reinspection.claimed_at or now,
            claimed_actor=reinspection.claimed_actor if held else actor,
            outcome="pass" if passed else order.severity,
            findings=() if passed else order.findings,
            departments=policy.default_departments,
            note=note,
            completed_by=actor.subject,
            completed_at=now,
            completed_actor=actor,
        )
        out.append(events.task_completed(closed, now, verified.id))
    if new_task is not None:
        out.append(events.task_created(new_task, now, verified.id))
    return Verification(changed, closed, new_task, tuple(out))


def verification_problems(
    *, note: str | None = None, photos: Sequence[str] = (), order_photos: Collection[str] = ()
) -> list[Problem]:
    """`verify`'s rules on the evidence given (a request whose other fields did not fit its
    model is told of these too)."""
    return _evidence(note or None, photos, order_photos)[1]


def _evidence(
    note: str | None, photos: Sequence[str], order_photos: Collection[str]
) -> tuple[tuple[str, ...], list[Problem]]:
    problems: list[Problem] = []
    if note is not None and len(note) > NOTE_MAX_CHARS:
        problems.append(("note", f"at most {NOTE_MAX_CHARS} characters"))
    chosen_photos, photo_problems = verification_photos(photos, order_photos)
    return chosen_photos, problems + photo_problems


def lapse(order: RectificationOrder, reason: WithdrawalReason, now: datetime) -> Lapse | None:
    """An open order nobody can rectify or re-inspect any more (`merchant_left`: its merchant
    stopped trading at its stall; `market_closed`: its market closed for good), or one with
    nothing to rectify (`finding_corrected`: its finding was found wrong), lapses: final, it
    goes overdue no more, and it no longer names a re-inspection task (the caller withdraws that
    task). None if it is verified or lapsed already. A deadline missed before stays marked."""
    now = aware(now)
    if order.state != "open":
        return None
    lapsed = order.next(
        state="lapsed", lapsed_at=now, lapse_reason=reason, reinspection_task_id=None
    )
    return Lapse(lapsed, (events.rectification_lapsed(lapsed, now),))


def ordered_by_finding(
    orders: Iterable[RectificationOrder], *, chain: str, found_at: datetime
) -> list[RectificationOrder]:
    """The open orders one completed inspection made: `complete` orders rectification in the
    instant it completes the task, in the task's chain, so the chain and that instant (a credit
    entry's `occurred_at`) name them; a later inspection of the same chain has another instant."""
    found_at = aware(found_at)
    return [
        o
        for o in orders
        if o.state == "open" and o.correlation_id == chain and o.ordered_at == found_at
    ]


def mark_rectification_overdue(
    order: RectificationOrder,
    now: datetime,
    policy: Policy,
    *,
    task_force: TaskForce | None = None,
) -> Escalation | None:
    """Mark an open order whose deadline passed unverified, and escalate; None if not due, or
    this deadline was already marked (each deadline is published overdue once).

    The escalation is a re-inspection task due within `policy.overdue_reinspection_within`,
    unless the order already has an open one.
    """
    now = aware(now)
    if (
        order.state != "open"
        or order.deadline is None
        or order.overdue_at is not None
        or now <= order.deadline
    ):
        return None
    reinspection: Task | None = None
    if order.reinspection_task_id is None:
        reinspection = _reinspection(order, order.version + 1, now, policy, "overdue", task_force)
    marked = order.next(
        overdue_at=now,
        reinspection_task_id=order.reinspection_task_id
        or (reinspection.task_id if reinspection else None),
    )
    overdue = events.rectification_overdue(
        marked, now, reinspection.task_id if reinspection else None
    )
    out = [overdue]
    if reinspection is not None:
        out.append(events.task_created(reinspection, now, overdue.id))
    return Escalation(marked, reinspection, tuple(out))


def _holder(task: Task) -> str:
    """Who holds a claimed task, for a conflict's message: the name, and the subject."""
    actor = task.claimed_actor
    if actor is None or actor.name == actor.subject:
        return str(task.assignee)
    return f"{actor.name} ({actor.subject})"


def _check_reinspection(order: RectificationOrder, task: Task | None) -> None:
    # A programming error, not a user's: the service must load the task the order names.
    expected = order.reinspection_task_id
    if expected is None and task is not None:
        raise ValueError(f"rectification {order.rectification_id} has no open re-inspection task")
    if expected is not None and (task is None or task.task_id != expected):
        raise ValueError(f"pass re-inspection task {expected} of {order.rectification_id}")
    if task is not None and task.reinspection_of != order.rectification_id:
        raise ValueError(f"task {task.task_id} does not re-inspect {order.rectification_id}")


def _reinspection(
    order: RectificationOrder,
    version: int,
    now: datetime,
    policy: Policy,
    reason: str,
    task_force: TaskForce | None,
) -> Task:
    # Named after the order version that asked for it: each failed check or escalation gets its
    # own task, and a retried transaction the same one.
    task_id = derive_id("tsk", "reinspection", order.rectification_id, str(version))
    within = policy.reinspection_due(reason)
    return Task(
        task_id=task_id,
        reason_kind="reinspection",
        market_id=order.market_id,
        district=order.district,
        merchant_id=order.merchant_id,
        stall_no=order.stall_no,
        task_force=task_force or order.task_force,
        created_at=now,
        due_at=now + within,
        correlation_id=order.correlation_id,
        reinspection_of=order.rectification_id,
        reinspection_reason=reason,
    )
