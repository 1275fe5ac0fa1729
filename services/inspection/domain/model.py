"""Tasks and rectification orders as immutable values, their ids, and their JSON form.

Every change makes a new value with `version` one higher; the service stores the latest (the
dedupe key, state, due date and overdue mark as columns to query by, `to_dict()` as jsonb) and
the events of the change in the same transaction.

Ids are derived, not drawn: a task made by a trigger event is named after that event, an order
after its task, an event after its subject, type and version. The same input therefore makes the
same ids on every replica and on a retried transaction, and a second insert of one task collides
with the first instead of duplicating it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from contracts.people import Actor, actor_dict, actor_from

# Fixed namespace: ids must come out the same on every replica and every replay.
NAMESPACE: Final = uuid.UUID("8f6d2a4e-3c1b-5e7f-9a0d-4b2c6e8f1a37")


def derive_id(prefix: str, *parts: str) -> str:
    """`<prefix>_<16 hex>`, the registry's id shape, from a UUIDv5 of `parts`."""
    return f"{prefix}_{uuid.uuid5(NAMESPACE, '|'.join(parts)).hex[:16]}"


def event_id(event_type: str, subject: str, version: int) -> str:
    """The CloudEvents `id` of the event that brought `subject` to `version` (a UUID)."""
    return str(uuid.uuid5(NAMESPACE, f"{event_type}|{subject}|{version}"))


def aware(moment: datetime, name: str = "now") -> datetime:
    """`moment` in UTC; ValueError for a naive datetime, whose meaning would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a timezone")
    return moment.astimezone(UTC)


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _req(text: str) -> datetime:
    return datetime.fromisoformat(text)


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
    ref_id: str
    event_ids: tuple[str, ...]
    category: str
    attached_at: datetime
    rule: str | None = None
    severity: str | None = None
    terminal_id: str | None = None
    cleared_at: datetime | None = None
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.ref_id,
            "event_ids": list(self.event_ids),
            "category": self.category,
            "attached_at": _ts(self.attached_at),
            "rule": self.rule,
            "severity": self.severity,
            "terminal_id": self.terminal_id,
            "cleared_at": _ts(self.cleared_at),
            "event_count": self.event_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TriggerRef:
        return cls(
            kind=data["kind"],
            ref_id=data["id"],
            event_ids=tuple(data["event_ids"]),
            category=data["category"],
            attached_at=_req(data["attached_at"]),
            rule=data.get("rule"),
            severity=data.get("severity"),
            terminal_id=data.get("terminal_id"),
            cleared_at=_dt(data.get("cleared_at")),
            # Absent in what was stored before counts were kept: then the ids were all of them.
            event_count=data.get("event_count") or 0,
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "group": self.group,
            "severity": self.severity,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            data["code"],
            data["group"],
            data["severity"],
            data["title_zh"],
            data["title_en"],
            data.get("note", ""),
        )


def _task_force_dict(task_force: TaskForce | None) -> dict[str, Any] | None:
    if task_force is None:
        return None
    return {"leader": task_force.leader, "members": list(task_force.members)}


def _task_force(data: Mapping[str, Any] | None) -> TaskForce | None:
    return None if data is None else TaskForce(data["leader"], tuple(data["members"]))


# -- tasks ---------------------------------------------------------------------------------------

OPEN_STATES: Final = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class Task:
    """An inspection task. `state` is `open` → `claimed` → `completed`; `overdue_at` marks a task
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "reason_kind": self.reason_kind,
            "market_id": self.market_id,
            "district": self.district,
            "merchant_id": self.merchant_id,
            "stall_no": self.stall_no,
            "task_force": _task_force_dict(self.task_force),
            "created_at": _ts(self.created_at),
            "due_at": _ts(self.due_at),
            "correlation_id": self.correlation_id,
            "triggers": [ref.to_dict() for ref in self.triggers],
            "state": self.state,
            "grade": self.grade,
            "reinspection_of": self.reinspection_of,
            "assignee": self.assignee,
            "claimed_at": _ts(self.claimed_at),
            "overdue_at": _ts(self.overdue_at),
            "outcome": self.outcome,
            "findings": [f.to_dict() for f in self.findings],
            "departments": list(self.departments),
            "note": self.note,
            "completed_by": self.completed_by,
            "completed_at": _ts(self.completed_at),
            "rectification_id": self.rectification_id,
            "claimed_actor": actor_dict(self.claimed_actor),
            "completed_actor": actor_dict(self.completed_actor),
            "triggers_dropped": self.triggers_dropped,
            "photos": list(self.photos),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        return cls(
            task_id=data["task_id"],
            reason_kind=data["reason_kind"],
            market_id=data["market_id"],
            district=data["district"],
            merchant_id=data["merchant_id"],
            stall_no=data["stall_no"],
            task_force=_task_force(data["task_force"]),
            created_at=_req(data["created_at"]),
            due_at=_req(data["due_at"]),
            correlation_id=data["correlation_id"],
            triggers=tuple(TriggerRef.from_dict(ref) for ref in data["triggers"]),
            state=data["state"],
            grade=data["grade"],
            reinspection_of=data["reinspection_of"],
            assignee=data["assignee"],
            claimed_at=_dt(data["claimed_at"]),
            overdue_at=_dt(data["overdue_at"]),
            outcome=data["outcome"],
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
            departments=tuple(data["departments"]),
            note=data["note"],
            completed_by=data["completed_by"],
            completed_at=_dt(data["completed_at"]),
            rectification_id=data["rectification_id"],
            # Absent in what was stored before actors were recorded.
            claimed_actor=actor_from(data.get("claimed_actor")),
            completed_actor=actor_from(data.get("completed_actor")),
            triggers_dropped=data.get("triggers_dropped", 0),
            photos=tuple(data.get("photos", ())),
            version=data["version"],
        )


def target_of(merchant_id: str | None, market_id: str) -> str:
    """Whom a task is about: a merchant, or the market itself when no merchant is concerned."""
    return f"merchant:{merchant_id}" if merchant_id is not None else f"market:{market_id}"


# -- rectification orders ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RectificationOrder:
    """A rectification order (责令整改): `open` until a verification passes, then `verified`.

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
    version: int = 1

    def next(self, **changes: Any) -> RectificationOrder:
        return replace(self, version=self.version + 1, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rectification_id": self.rectification_id,
            "task_id": self.task_id,
            "market_id": self.market_id,
            "district": self.district,
            "merchant_id": self.merchant_id,
            "stall_no": self.stall_no,
            "task_force": _task_force_dict(self.task_force),
            "severity": self.severity,
            "findings": [f.to_dict() for f in self.findings],
            "ordered_at": _ts(self.ordered_at),
            "deadline": _ts(self.deadline),
            "suspension": self.suspension,
            "correlation_id": self.correlation_id,
            "state": self.state,
            "failed_verifications": self.failed_verifications,
            "reinspection_task_id": self.reinspection_task_id,
            "overdue_at": _ts(self.overdue_at),
            "verified_by": self.verified_by,
            "verified_at": _ts(self.verified_at),
            "verified_actor": actor_dict(self.verified_actor),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RectificationOrder:
        return cls(
            rectification_id=data["rectification_id"],
            task_id=data["task_id"],
            market_id=data["market_id"],
            district=data["district"],
            merchant_id=data["merchant_id"],
            stall_no=data["stall_no"],
            task_force=_task_force(data["task_force"]),
            severity=data["severity"],
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
            ordered_at=_req(data["ordered_at"]),
            deadline=_dt(data["deadline"]),
            suspension=data["suspension"],
            correlation_id=data["correlation_id"],
            state=data["state"],
            failed_verifications=data["failed_verifications"],
            reinspection_task_id=data["reinspection_task_id"],
            overdue_at=_dt(data["overdue_at"]),
            verified_by=data["verified_by"],
            verified_at=_dt(data["verified_at"]),
            verified_actor=actor_from(data.get("verified_actor")),
            version=data["version"],
        )
