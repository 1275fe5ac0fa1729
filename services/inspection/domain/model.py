"""Tasks and rectification orders as immutable values, and their ids.

Every change makes a new value with `version` one higher; the service stores the latest (the
dedupe key, state, due date and overdue mark as columns to query by, the whole value as jsonb in
the form `services.runtime.serial` writes) and the events of the change in the same transaction.

Ids are derived, not drawn: a task made by a trigger event is named after that event, an order
after its task, an event after its subject, type and version. The same input therefore makes the
same ids on every replica and on a retried transaction, and a second insert of one task collides
with the first instead of duplicating it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import Field

from contracts.people import Actor

# Fixed namespace: ids must come out the same on every replica and every replay.
NAMESPACE: Final = uuid.UUID("8f6d2a4e-3c1b-5e7f-9a0d-4b2c6e8f1a37")


def derive_id(prefix: str, *parts: str) -> str:
    """`<prefix>_<16 hex>`, the registry's id shape, from a UUIDv5 of `parts`."""
    return f"{prefix}_{uuid.uuid5(NAMESPACE, '|'.join(parts)).hex[:16]}"


def event_id(event_type: str, subject: str, version: int) -> str:
    """The CloudEvents `id` of the event that brought `subject` to `version` (a UUID)."""
    return str(uuid.uuid5(NAMESPACE, f"{event_type}|{subject}|{version}"))


def once_each(
    field: str, given: Iterable[str], known: Collection[str], unknown: Callable[[str], str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """What `given` names of `known`, each once, in the order given; and a problem for each name
    that is not known, at `field.i`, saying `unknown(name)`."""
    chosen: list[str] = []
    problems: list[tuple[str, str]] = []
    for i, name in enumerate(given):
        if name not in known:
            problems.append((f"{field}.{i}", unknown(name)))
        elif name not in chosen:
            chosen.append(name)
    return chosen, problems


def as_actor(by: Actor | str) -> Actor:
    """The person behind a change: an `Actor`, or a bare subject that is its own name (older
    callers and tests). ValueError for a blank subject: naming nobody is the caller's bug."""
    if isinstance(by, Actor):
        return by
    if not by.strip():
        raise ValueError("by must name the inspector")
    return Actor.of(by)


# -- value objects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskForce:
    """The market's task force (专班) as the registry last said."""

    leader: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TriggerRef:
    """A risk or complaint attached to a task as evidence.

    `event_ids` holds the events of it the task took in — the first and the latest few, when
    there were more than the policy keeps (`took`); `event_count` counts them all. A redelivered
    event found there changes nothing (the inbox, and the rules on severity and clearing, catch
    one that was trimmed away). `severity` is the highest a risk reached while attached.
    """

    kind: str
    # Stored and shown as "id", the name the contract's TriggerRef has.
    ref_id: Annotated[str, Field(alias="id")]
    event_ids: tuple[str, ...]
    category: str
    attached_at: datetime
    rule: str | None = None
    severity: str | None = None
    terminal_id: str | None = None
    cleared_at: datetime | None = None
    # Absent in what was stored before counts were kept: then the ids were all of them.
    event_count: int = 0

    def __post_init__(self) -> None:
        if not self.event_ids:
            raise ValueError("a trigger holds at least the event that attached it")
        if self.event_count < len(self.event_ids):
            object.__setattr__(self, "event_count", len(self.event_ids))

    def took(self, event_id: str, keep: int, **changes: Any) -> TriggerRef:
        """This trigger after one more of its events: `event_id` recorded, keeping the first id
        and the latest ones, `keep` in all."""
        return replace(
            self,
            event_ids=bounded(self.event_ids, event_id, keep),
            event_count=self.event_count + 1,
            **changes,
        )


def bounded(ids: tuple[str, ...], new: str, keep: int) -> tuple[str, ...]:
    """`ids` with `new` appended, at most `keep` of them: the first and the latest."""
    if keep < 2:
        raise ValueError("keep at least the first and the latest")
    ids = (*ids, new)
    return ids if len(ids) <= keep else (ids[0], *ids[len(ids) - keep + 1 :])


@dataclass(frozen=True, slots=True)
class FindingReport:
    """What an inspector reports: a catalogue code and a note (the body of `POST .../complete`)."""

    code: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """A recorded finding: the code with the catalogue's facts as they were when recorded."""

    code: str
    group: str
    severity: str
    title_zh: str
    title_en: str
    note: str = ""


# -- tasks ---------------------------------------------------------------------------------------

OPEN_STATES: Final = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class Task:
    """An inspection task. `state` is `open` → `claimed` → `completed`, or `withdrawn` while still
    to do when nobody is left to inspect (its merchant left its stall, its market closed for
    good); `overdue_at` marks a task
    that passed its due date unfinished (it can still be claimed and completed)."""

    task_id: str
    reason_kind: str
    market_id: str
    district: str
    merchant_id: str | None
    stall_no: str | None
    task_force: TaskForce | None
    created_at: datetime
    due_at: datetime
    correlation_id: str
    triggers: tuple[TriggerRef, ...] = ()
    state: str = "open"
    grade: str | None = None
    reinspection_of: str | None = None
    # Why a re-inspection was ordered, so its page can name the rule that set its due time:
    # `suspension` (a suspended merchant's visit) or `overdue` (an order past its deadline);
    # None for other tasks, and for re-inspections recorded before it was kept.
    reinspection_reason: str | None = None
    assignee: str | None = None
    claimed_at: datetime | None = None
    overdue_at: datetime | None = None
    outcome: str | None = None
    findings: tuple[Finding, ...] = ()
    departments: tuple[str, ...] = ()
    note: str | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None
    rectification_id: str | None = None
    # Who claimed and who completed it, as the identity provider named them (`assignee` and
    # `completed_by` keep the bare subjects the events have always carried).
    claimed_actor: Actor | None = None
    completed_actor: Actor | None = None
    # How many triggers were left out of `triggers` to keep it bounded (Policy
    # `max_triggers_per_task`); the first, which made the task, is always kept.
    triggers_dropped: int = 0
    # Photos recorded with the completion (ids of the task's photos, at most 5).
    photos: tuple[str, ...] = ()
    # Withdrawn (never inspected): when, and why (contracts.inspection.WithdrawalReason).
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        """Not completed: new evidence attaches to it, and it may go overdue."""
        return self.state in OPEN_STATES

    @property
    def dedupe_key(self) -> tuple[str, str]:
        """At most one open task per key: store it as a column with a partial unique index."""
        if self.reason_kind == "reinspection":
            assert self.reinspection_of is not None
            return (f"rectification:{self.reinspection_of}", "reinspection")
        return (target_of(self.merchant_id, self.market_id), self.reason_kind)

    def seen(self, event_id: str) -> bool:
        return any(event_id in ref.event_ids for ref in self.triggers)

    def trigger(self, ref_id: str) -> TriggerRef | None:
        for ref in self.triggers:
            if ref.ref_id == ref_id:
                return ref
        return None

    def next(self, **changes: Any) -> Task:
        """The task after a change: `version` one higher."""
        return replace(self, version=self.version + 1, **changes)


def target_of(merchant_id: str | None, market_id: str) -> str:
    """Whom a task is about: a merchant, or the market itself when no merchant is concerned."""
    return f"merchant:{merchant_id}" if merchant_id is not None else f"market:{market_id}"


# -- rectification orders ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RectificationOrder:
    """A rectification order (责令整改): `open` until a verification passes, then `verified`;
    `lapsed` instead when its merchant leaves its stall first (nobody is left to rectify).

    `deadline` is None under suspension. `overdue_at` marks the current deadline as missed; a new
    deadline (after a failed verification) clears it, so each deadline is published overdue once.
    """

    rectification_id: str
    task_id: str
    market_id: str
    district: str
    merchant_id: str | None
    stall_no: str | None
    task_force: TaskForce | None
    severity: str
    findings: tuple[Finding, ...]
    ordered_at: datetime
    deadline: datetime | None
    suspension: bool
    correlation_id: str
    state: str = "open"
    failed_verifications: int = 0
    reinspection_task_id: str | None = None
    overdue_at: datetime | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    # Who made the latest verification, passed or failed (`verified_by`, the bare subject, is set
    # by a passed one only, as the events have always carried it).
    verified_actor: Actor | None = None
    # The latest check's evidence, passed or failed (docs/console.md: evidence at the stall): the
    # inspector's note, the ids of the order's photos it recorded, and when it was made (photos
    # uploaded since then await the next check).
    verification_note: str | None = None
    verification_photos: tuple[str, ...] = ()
    last_verification_at: datetime | None = None
    # Lapsed (never verified): when, and why (contracts.inspection.WithdrawalReason).
    lapsed_at: datetime | None = None
    lapse_reason: str | None = None
    version: int = 1

    def next(self, **changes: Any) -> RectificationOrder:
        return replace(self, version=self.version + 1, **changes)
