"""Routine patrols: when each merchant is next due, from its credit grade (the A–D scheme) and
the credit service's monthly warning list (黑榜, issue 17).

A plan counts from its anchor — the merchant's last completed inspection, or, for a merchant
never inspected, when planning began. A merchant never inspected is first patrolled within one
interval of being first seen, at a point of the interval its id fixes (`first_patrol_offset`):
the merchants of a city seeded in one go fall due spread over the interval, about as many on each
day as in the steady state, instead of all on its last day. A grade change re-plans from the
same anchor (a first patrol keeps its point of the new interval): a drop brings the patrol
earlier (possibly due at once), a rise pushes it later.
A merchant on the warning list is patrolled at the D grade's interval (`Policy.
warning_list_grade`) whatever its grade, until it is delisted; then its grade's interval is back.

    plan = PatrolPlan.start(merchant_id, grade, last_inspection_at, now, policy)
    plan = plan.regrade(new_grade, policy, version=score.version)   # on credit.score.changed
    if plan.is_due(now):                            # the scheduler
        decision = decide(open_patrol_task, plan.trigger(...), policy, now)
        plan = plan.task_created(decision.task.task_id)
    plan = plan.inspected(completed_at, policy, task_id)   # any completed task of the merchant
    plan = plan.warn("2026-11", policy)             # credit.honour.listed (warning list)
    plan = plan.unwarn("2026-12", policy)           # credit.honour.delisted (from it)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from contracts.registry import MERCHANT_LEFT
from services.inspection.domain.policy import Policy
from services.inspection.domain.triggers import PatrolTrigger
from services.runtime.clock import aware

_MICROSECOND = timedelta(microseconds=1)

# Registry statuses of merchants not patrolled. `licence_expired`: it may not trade (市场准入),
# so a routine visit is the licensing desk's business; its plan stays due and the patrol is made
# once the licence is renewed. `left` (退出经营): it trades there no more, for good.
UNPATROLLED: tuple[str, ...] = ("licence_expired", MERCHANT_LEFT)


def patrolled(merchant_status: str) -> bool:
    return merchant_status not in UNPATROLLED


def first_patrol_offset(merchant_id: str, interval: timedelta) -> timedelta:
    """How long after planning began the first patrol of a merchant never inspected falls: a
    point of `interval`, after its start and at most its end.

    The point is the same fraction of any interval for one merchant, taken from a hash of its id,
    so merchants spread evenly over the interval. A hash rather than a random draw: every replica,
    a retried transaction and a replay of the registry topic compute the same date. A fraction
    rather than an offset: a worse grade's shorter interval never plans the patrol later.
    """
    if interval <= timedelta(0):
        raise ValueError(f"interval must be positive, got {interval}")
    digest = hashlib.sha256(merchant_id.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") + 1  # of 2**64: (0, 1]
    micros = interval // _MICROSECOND
    # Rounded up, in integers (no float that could round differently elsewhere): at least 1 µs.
    return timedelta(microseconds=-((-fraction * micros) >> 64))


def next_patrol(
    grade: str | None,
    last_inspection_at: datetime,
    policy: Policy,
    *,
    warned: bool = False,
    first_of: str | None = None,
) -> datetime:
    """When a merchant graded `grade` (None: the default, B) inspected at `last_inspection_at`
    is next due for a routine patrol; `warned`: it is on the warning list. `first_of` names the
    merchant when it was never inspected and `last_inspection_at` is when planning began: its
    first patrol falls within the interval (`first_patrol_offset`), not at its end."""
    at = aware(last_inspection_at, "last_inspection_at")
    interval = policy.patrol_every(grade, warned=warned)
    if first_of is not None:
        return at + first_patrol_offset(first_of, interval)
    return at + interval


@dataclass(frozen=True, slots=True)
class PatrolPlan:
    """One merchant's patrol plan. `task_id` is the patrol task made when it came due, until an
    inspection completes; while it is set the plan does not come due again. `grade_version` is
    the version of the credit score the grade came from (None: no score yet).

    `warning_list` is the month (YYYY-MM) of the warning list the merchant is on (None: on
    none), `delisted` the month it was last delisted in: a listing or a delisting not newer than
    the one the plan has (a replay, an old record read late) changes nothing.

    `first_round`: the anchor is when planning began, the merchant was never inspected, and its
    first patrol falls at its own point of the interval (`first_patrol_offset`) until an
    inspection re-anchors the plan. Plans stored before it existed read back without it and keep
    the whole interval they were planned with."""

    merchant_id: str
    grade: str | None
    anchor: datetime
    due_at: datetime
    task_id: str | None = None
    grade_version: int | None = None
    # Absent from plans stored before the warning list existed.
    warning_list: str | None = None
    delisted: str | None = None
    # Absent from plans stored before first patrols were spread: the whole interval.
    first_round: bool = False

    @property
    def warned(self) -> bool:
        return self.warning_list is not None

    def _due(self, anchor: datetime, policy: Policy, **changes: Any) -> datetime:
        grade = changes.get("grade", self.grade)
        warned = changes.get("warning_list", self.warning_list) is not None
        first = changes.get("first_round", self.first_round)
        return next_patrol(
            grade, anchor, policy, warned=warned, first_of=self.merchant_id if first else None
        )

    @classmethod
    def start(
        cls,
        merchant_id: str,
        grade: str | None,
        last_inspection_at: datetime | None,
        now: datetime,
        policy: Policy,
        *,
        grade_version: int | None = None,
    ) -> PatrolPlan:
        first = last_inspection_at is None
        anchor = aware(now) if last_inspection_at is None else aware(last_inspection_at, "at")
        policy.effective_grade(grade)  # an unknown grade fails here, not at the first patrol
        return cls(
            merchant_id,
            grade,
            anchor,
            next_patrol(grade, anchor, policy, first_of=merchant_id if first else None),
            grade_version=grade_version,
            first_round=first,
        )

    def regrade(
        self, grade: str | None, policy: Policy, *, version: int | None = None
    ) -> PatrolPlan:
        """The plan under a new grade, from the same anchor.

        `version` is the score's: a score no newer than the one the plan has (a replay of the
        compacted scores topic, a redelivery, an old record read late) changes nothing.
        """
        old = self.grade_version
        if version is not None and old is not None and version <= old:
            return self
        known = version if version is not None else self.grade_version
        if grade == self.grade:
            return self if known == self.grade_version else replace(self, grade_version=known)
        due_at = self._due(self.anchor, policy, grade=grade)
        return replace(self, grade=grade, due_at=due_at, grade_version=known)

    def warn(self, month: str, policy: Policy) -> PatrolPlan:
        """On the warning list of `month`: patrolled at the warning list's interval, from the
        same anchor, until delisted."""
        if any(held is not None and month <= held for held in (self.warning_list, self.delisted)):
            return self
        return replace(
            self,
            warning_list=month,
            due_at=self._due(self.anchor, policy, warning_list=month),
        )

    def unwarn(self, month: str, policy: Policy) -> PatrolPlan:
        """Delisted from the warning list in `month`: the grade's interval is back."""
        if self.warning_list is None or month <= self.warning_list:
            return self
        return replace(
            self,
            warning_list=None,
            delisted=month,
            due_at=self._due(self.anchor, policy, warning_list=None),
        )

    def inspected(self, at: datetime, policy: Policy, task_id: str | None = None) -> PatrolPlan:
        """The merchant was inspected at `at` (any completed task about it counts: an inspector
        on a risk or complaint looks at the whole stall). Completing the plan's own patrol task
        (`task_id`) frees the plan to come due again. An older inspection moves nothing back."""
        at = aware(at, "at")
        anchor = max(self.anchor, at)
        # An inspection from before planning began moves nothing, so it ends no first round.
        first = self.first_round and at < self.anchor
        pending = None if task_id is not None and task_id == self.task_id else self.task_id
        return replace(
            self,
            anchor=anchor,
            due_at=self._due(anchor, policy, first_round=first),
            task_id=pending,
            first_round=first,
        )

    def is_due(self, now: datetime) -> bool:
        return self.task_id is None and aware(now) >= self.due_at

    def task_created(self, task_id: str) -> PatrolPlan:
        return replace(self, task_id=task_id)

    def trigger(self, *, market_id: str, stall_no: str | None, district: str) -> PatrolTrigger:
        """The trigger for `decide`; the merchant's placement comes from the registry projection."""
        return PatrolTrigger(
            merchant_id=self.merchant_id,
            market_id=market_id,
            stall_no=stall_no,
            district=district,
            grade=self.grade,
            at=self.due_at,
        )
