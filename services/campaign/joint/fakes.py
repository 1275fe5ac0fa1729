"""In-memory stores of joint meetings and enforcement for use-case tests: the same answers as the
Postgres ones (the store suite, tests/integration/campaign/test_joint_store_suite.py, runs against
both).

Locks have nothing to guard in one process, so `for_update` and the skipping of locked rows are
no-ops. Their rows are frozen values kept in tables, so that the runtime's
`fake_tables.snapshot(stores)` lets a rolled-back `FakeUnitOfWork` put them back as Postgres would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Unpack

from services.campaign.domain.enforcement import Case, Origin
from services.campaign.domain.meetings import ActionItem, Meeting
from services.campaign.joint.store import (
    CASE_FILTERS,
    CaseFilters,
    CaseRow,
    CaseTaken,
    ItemFilters,
    ItemRow,
    Stores,
)
from services.campaign.rows import Match


class FakeMeetingStore:
    def __init__(self) -> None:
        self.meetings: dict[str, Meeting] = {}
        self.items_by_id: dict[str, ActionItem] = {}

    async def insert(self, m: Meeting) -> None:
        if m.meeting_id in self.meetings:
            raise ValueError(f"meeting {m.meeting_id} is already stored")
        self.meetings[m.meeting_id] = replace(m, items=())
        for i in m.items:
            self.items_by_id[i.item_id] = i

    def _whole(self, m: Meeting) -> Meeting:
        items = sorted(
            (i for i in self.items_by_id.values() if i.meeting_id == m.meeting_id),
            key=lambda i: i.position,
        )
        return replace(m, items=tuple(items))

    async def get(self, meeting_id: str, *, for_update: bool = False) -> Meeting | None:
        found = self.meetings.get(meeting_id)
        return None if found is None else self._whole(found)

    async def listed(self, districts: Sequence[str] | None, limit: int) -> list[Meeting]:
        found = [m for m in self.meetings.values() if districts is None or m.district in districts]
        found.sort(key=lambda m: (m.held_on, m.recorded_at), reverse=True)
        return [self._whole(m) for m in found[:limit]]

    async def update_item(self, i: ActionItem) -> None:
        held = self.items_by_id.get(i.item_id)
        if held is not None:
            # Only what changes after the meeting is written (as the UPDATE does).
            self.items_by_id[i.item_id] = replace(
                held,
                state=i.state,
                done_on=i.done_on,
                done_note=i.done_note,
                done_at=i.done_at,
                done_actor=i.done_actor,
                late_flagged_at=i.late_flagged_at,
            )

    async def items(
        self, districts: Sequence[str] | None, **where: Unpack[ItemFilters]
    ) -> list[ItemRow]:
        state, department = where["state"], where["department"]
        rows = []
        for i in self.items_by_id.values():
            m = self.meetings[i.meeting_id]
            if districts is not None and m.district not in districts:
                continue
            if state is not None and not _in_state(i, state, where["today"]):
                continue
            if department is not None and i.department != department:
                continue
            rows.append(ItemRow(i, m.district, m.title, m.held_on))
        rows.sort(key=lambda r: (r.item.deadline, r.item.meeting_id, r.item.position))
        return rows[: where["limit"]]

    async def items_to_flag(self, today: date, limit: int) -> list[tuple[ActionItem, str]]:
        found = [
            i
            for i in self.items_by_id.values()
            if i.state == "open" and i.late_flagged_at is None and i.deadline < today
        ]
        found.sort(key=lambda i: (i.deadline, i.item_id))
        return [(i, self.meetings[i.meeting_id].district) for i in found[:limit]]


def _in_state(i: ActionItem, state: str, today: date) -> bool:
    if state == "late":
        return i.state == "open" and i.deadline < today
    return state in ("open", "done") and i.state == state


class FakeOriginStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Origin] = {}

    async def upsert(self, o: Origin) -> None:
        held = self.rows.get((o.kind, o.origin_id))
        if held is None or held.occurred_at <= o.occurred_at:
            self.rows[(o.kind, o.origin_id)] = o

    async def get(self, kind: str, origin_id: str, *, for_update: bool = False) -> Origin | None:
        return self.rows.get((kind, origin_id))


class FakeCaseStore:
    def __init__(self) -> None:
        self.rows: dict[str, CaseRow] = {}

    async def insert(self, c: Case, *, correlation_id: str, event_id: str) -> None:
        if c.case_id in self.rows:
            raise ValueError(f"case {c.case_id} is already stored")
        if await self.active(c.origin_kind, c.origin_id) is not None:
            raise CaseTaken(f"a case for {c.origin_kind} {c.origin_id} is not closed yet")
        self.rows[c.case_id] = CaseRow(c, correlation_id, event_id)

    async def update(self, c: Case, *, event_id: str) -> None:
        held = self.rows.get(c.case_id)
        if held is not None:
            self.rows[c.case_id] = CaseRow(c, held.correlation_id, event_id)

    async def get(self, case_id: str, *, for_update: bool = False) -> CaseRow | None:
        return self.rows.get(case_id)

    async def active(self, kind: str, origin_id: str) -> Case | None:
        return next(
            (
                r.case
                for r in self.rows.values()
                if (r.case.origin_kind, r.case.origin_id) == (kind, origin_id)
                and r.case.state != "closed"
            ),
            None,
        )

    async def listed(
        self, districts: Sequence[str] | None, **where: Unpack[CaseFilters]
    ) -> list[Case]:
        match = Match.of(CASE_FILTERS, where)
        found = [
            r.case
            for r in self.rows.values()
            if (districts is None or r.case.district in districts) and match(r.case)
        ]
        found.sort(key=lambda c: c.case_id)
        found.sort(key=lambda c: c.opened_at, reverse=True)
        return found[: where["limit"]]


def fake_stores() -> Stores:
    return Stores(FakeMeetingStore(), FakeOriginStore(), FakeCaseStore())
