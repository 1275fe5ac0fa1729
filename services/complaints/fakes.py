"""In-memory stores for use-case tests: the same answers as the Postgres ones (the store suite,
tests/integration/complaints/test_store_suite.py, runs against both).

Locks have nothing to guard in one process, so `for_update`, `lock_intake` and the skipping of
locked rows are no-ops here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.complaints.domain import OPEN_STATES, Complaint
from services.complaints.domain.photos import ComplaintPhoto
from services.complaints.domain.suggestions import Suggestion
from services.complaints.store import CaseQuery, InspectionRecord, StaleWrite, Stores
from services.runtime import serial


@dataclass
class _Row:
    case: Complaint
    intake_id: str | None
    external_ref: str | None


def _unique(taken: bool, what: str) -> None:
    if taken:
        raise ValueError(f"{what} is already stored")


class FakeComplaintStore:
    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}
        self.inspected: dict[tuple[str, str], InspectionRecord] = {}

    async def insert(
        self, case: Complaint, *, intake_id: str | None, external_ref: str | None
    ) -> None:
        _unique(case.complaint_id in self.rows, f"complaint {case.complaint_id}")
        codes = {r.case.tracking_code for r in self.rows.values()}
        _unique(case.tracking_code in codes, f"tracking code {case.tracking_code}")
        intakes = {r.intake_id for r in self.rows.values() if r.intake_id is not None}
        _unique(intake_id in intakes, f"intake {intake_id}")
        self.rows[case.complaint_id] = _Row(case, intake_id, external_ref)

    async def update(self, case: Complaint) -> None:
        row = self.rows.get(case.complaint_id)
        if row is None or row.case.version != case.version - 1:
            raise StaleWrite(f"complaint {case.complaint_id} changed under us (v{case.version})")
        row.case = case

    async def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        row = self.rows.get(complaint_id)
        return None if row is None else row.case

    async def external_ref(self, complaint_id: str) -> str | None:
        row = self.rows.get(complaint_id)
        return None if row is None else row.external_ref

    async def by_tracking_code(self, code: str) -> Complaint | None:
        return next((r.case for r in self.rows.values() if r.case.tracking_code == code), None)

    async def lock_intake(self, intake_id: str) -> None:
        return None

    async def by_intake(self, intake_id: str) -> Complaint | None:
        return next((r.case for r in self.rows.values() if r.intake_id == intake_id), None)

    async def recent(
        self, merchant_id: str, category: str, since: datetime, *, for_update: bool = False
    ) -> list[Complaint]:
        found = [
            c
            for c in self._cases()
            if c.merchant_id == merchant_id and c.category == category and c.received_at >= since
        ]
        return sorted(found, key=lambda c: c.received_at)

    async def cases(self, query: CaseQuery) -> list[Complaint]:
        # The columns a query compares are named as the case's fields.
        found = [
            c
            for c in self._cases()
            if all(value is None or getattr(c, column) == value for column, value in query.equal())
            and (not query.open_only or c.state in OPEN_STATES)
            and (not query.overdue or c.overdue_marked_at is not None)
            and query.window.holds(c.received_at)
            and (query.after is None or _listed(c) < (query.after.at, query.after.id))
        ]
        return sorted(found, key=_listed, reverse=True)[: query.limit]

    async def past_deadline(self, now: datetime, limit: int) -> list[Complaint]:
        found = [c for c in self._cases() if _past_deadline(c, now)]
        return sorted(found, key=lambda c: c.received_at)[:limit]

    async def counts(self) -> list[tuple[str, str, int]]:
        tally: dict[tuple[str, str], int] = {}
        for c in self._cases():
            tally[(c.state, c.category)] = tally.get((c.state, c.category), 0) + 1
        return [(state, category, n) for (state, category), n in tally.items()]

    async def record_inspection(self, complaint_id: str, inspection: InspectionRecord) -> bool:
        key = (complaint_id, inspection.task_id)
        if complaint_id not in self.rows or key in self.inspected:
            return False
        # A copy, as the database keeps one: the caller's findings may change after.
        self.inspected[key] = replace(inspection, findings=[dict(f) for f in inspection.findings])
        return True

    async def inspections(self, complaint_id: str) -> list[dict[str, Any]]:
        found = [v for (cid, _), v in self.inspected.items() if cid == complaint_id]
        return serial.dump_many(sorted(found, key=lambda v: v.completed_at))

    def _cases(self) -> list[Complaint]:
        return [r.case for r in self.rows.values()]


def _listed(c: Complaint) -> tuple[datetime, str]:
    """A case's place in the listing (received_at, then id), as the store's row comparison."""
    return c.received_at, c.complaint_id


def _past_deadline(c: Complaint, now: datetime) -> bool:
    deadline = c.current_deadline
    return c.overdue_marked_at is None and deadline is not None and deadline < now


class FakeSuggestionStore:
    def __init__(self) -> None:
        self.rows: dict[str, Suggestion] = {}

    async def insert(self, s: Suggestion) -> None:
        _unique(s.suggestion_id in self.rows, f"suggestion {s.suggestion_id}")
        codes = {r.tracking_code for r in self.rows.values()}
        _unique(s.tracking_code in codes, f"tracking code {s.tracking_code}")
        self.rows[s.suggestion_id] = s

    async def update(self, s: Suggestion) -> None:
        held = self.rows.get(s.suggestion_id)
        if held is None or held.version != s.version - 1:
            raise StaleWrite(f"suggestion {s.suggestion_id} changed under us (v{s.version})")
        self.rows[s.suggestion_id] = s

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
        return self.rows.get(suggestion_id)

    async def by_tracking_code(self, code: str) -> Suggestion | None:
        return next((s for s in self.rows.values() if s.tracking_code == code), None)

    async def listed(
        self, *, district: str | None, state: str | None, limit: int
    ) -> list[Suggestion]:
        found = [
            s
            for s in self.rows.values()
            if (district is None or s.district == district or s.about == "campaign")
            and (state is None or s.state == state)
        ]
        return sorted(found, key=lambda s: s.received_at, reverse=True)[:limit]

    async def published(
        self, *, market_id: str | None, about: str | None, limit: int
    ) -> list[Suggestion]:
        found = [
            s
            for s in self.rows.values()
            if s.public
            and s.answered_at is not None
            and (market_id is None or s.market_id == market_id)
            and (about is None or s.about == about)
        ]
        return sorted(found, key=lambda s: s.answered_at or s.received_at, reverse=True)[:limit]


class FakePhotoStore:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[ComplaintPhoto, bytes]] = {}

    async def add(self, photo: ComplaintPhoto, data: bytes) -> None:
        _unique(photo.photo_id in self.rows, f"photo {photo.photo_id}")
        self.rows[photo.photo_id] = (photo, bytes(data))

    async def found(
        self, photo_ids: Sequence[str], *, for_update: bool = False
    ) -> list[ComplaintPhoto]:
        return [self.rows[p][0] for p in sorted(set(photo_ids)) if p in self.rows]

    async def attach(self, photos: Sequence[ComplaintPhoto]) -> None:
        for p in photos:
            held, data = self.rows[p.photo_id]
            self.rows[p.photo_id] = (replace(held, complaint_id=p.complaint_id), data)

    async def of_complaint(self, complaint_id: str) -> list[ComplaintPhoto]:
        found = [p for p, _ in self.rows.values() if p.complaint_id == complaint_id]
        return sorted(found, key=lambda p: (p.uploaded_at, p.photo_id))

    async def get(self, complaint_id: str, photo_id: str) -> tuple[ComplaintPhoto, bytes] | None:
        held = self.rows.get(photo_id)
        return held if held is not None and held[0].complaint_id == complaint_id else None

    async def expire(self, before: datetime, limit: int) -> int:
        gone = sorted(
            (p for p, _ in self.rows.values() if p.complaint_id is None and p.uploaded_at < before),
            key=lambda p: p.uploaded_at,
        )[:limit]
        for p in gone:
            del self.rows[p.photo_id]
        return len(gone)

    async def unclaimed(self) -> int:
        return sum(1 for p, _ in self.rows.values() if p.complaint_id is None)


def fake_stores() -> Stores:
    return Stores(FakeComplaintStore(), FakeSuggestionStore(), FakePhotoStore())
