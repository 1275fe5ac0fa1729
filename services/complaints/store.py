"""Complaint cases and suggestions: what the use cases ask of storage (the protocols), and the
Postgres implementation (SQL only; the rules are in `domain`).

The whole value is kept as jsonb, with the columns queries filter on. Every method runs on the
connection (and transaction) of the caller's unit of work, so a change and its outbox event
commit together. The in-memory fakes (`fakes.py`) pass the same store suite
(tests/integration/complaints/test_store_suite.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.complaints.domain import Complaint
from services.complaints.domain.photos import ComplaintPhoto
from services.complaints.domain.suggestions import Suggestion
from services.runtime import serial
from services.runtime.db import OnConnection
from services.runtime.paging import ANY_TIME, Keyset, Position, Window

# The cases listed newest received first (a ledger's pages).
RECEIVED = Keyset("received_at")


class StaleWrite(RuntimeError):
    """A stored value changed under us: its version is not the one before ours (a lost update)."""


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases a listing asks for: those of the district, state and market given (None: any),
    only open ones, only those whose running clock is marked overdue, received in `window`, and
    past `after` in the listing's order (a page's start); at most `limit`."""

    district: str | None
    state: str | None
    market_id: str | None
    overdue: bool
    open_only: bool
    limit: int
    window: Window = ANY_TIME
    after: Position | None = None

    def equal(self) -> tuple[tuple[str, str | None], ...]:
        """The columns asked to hold a value, and the value (None: not asked)."""
        return (("district", self.district), ("state", self.state), ("market_id", self.market_id))


@dataclass(frozen=True, slots=True)
class InspectionRecord:
    """What one inspection task found, as kept beside each complaint it was about (for the
    handler who settles it): the task's outcome and findings as inspection sent them."""

    task_id: str
    outcome: str
    findings: list[dict[str, Any]]
    completed_at: datetime


class ComplaintStore(Protocol):
    async def insert(
        self, case: Complaint, *, intake_id: str | None, external_ref: str | None
    ) -> None: ...

    async def update(self, case: Complaint) -> None:
        """Store a changed case; StaleWrite unless the stored one is the version before."""

    async def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None: ...

    async def external_ref(self, complaint_id: str) -> str | None: ...

    async def by_tracking_code(self, code: str) -> Complaint | None: ...

    async def lock_intake(self, intake_id: str) -> None:
        """Hold resubmissions of one intake id back until this transaction ends."""

    async def by_intake(self, intake_id: str) -> Complaint | None: ...

    async def recent(
        self, merchant_id: str, category: str, since: datetime, *, for_update: bool = False
    ) -> list[Complaint]:
        """Earlier complaints against the merchant in the category, received since `since`,
        oldest first."""

    async def cases(self, query: CaseQuery) -> list[Complaint]:
        """Newest first, cases received at one instant by id, descending (ids compared as code
        points): a total order, so that keyset pages neither lose nor repeat a case."""

    async def past_deadline(self, now: datetime, limit: int) -> list[Complaint]:
        """Open cases whose running clock ran out and is not yet marked, oldest first; locked,
        skipping those another transaction holds."""

    async def counts(self) -> list[tuple[str, str, int]]:
        """(state, category, number of cases)."""

    async def record_inspection(self, complaint_id: str, inspection: InspectionRecord) -> bool:
        """Keep what an inspection of the complaint found, once per task; False when the
        complaint is unknown or the task was already kept."""

    async def inspections(self, complaint_id: str) -> list[dict[str, Any]]:
        """Oldest first."""


class SuggestionStore(Protocol):
    async def insert(self, s: Suggestion) -> None: ...

    async def update(self, s: Suggestion) -> None:
        """StaleWrite unless the stored one is the version before."""

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None: ...

    async def by_tracking_code(self, code: str) -> Suggestion | None: ...

    async def listed(
        self, *, district: str | None, state: str | None, limit: int
    ) -> list[Suggestion]:
        """Newest first; `district` given: that district's market suggestions and every
        campaign one."""

    async def published(
        self, *, market_id: str | None, about: str | None, limit: int
    ) -> list[Suggestion]:
        """Answered ones whose author agreed to publication, newest answer first."""


class PhotoStore(Protocol):
    """Citizens' photos: unclaimed uploads, and those a complaint named."""

    async def add(self, photo: ComplaintPhoto, data: bytes) -> None: ...

    async def found(
        self, photo_ids: Sequence[str], *, for_update: bool = False
    ) -> list[ComplaintPhoto]:
        """Those of `photo_ids` that are stored (no bytes), in no particular order."""

    async def attach(self, photos: Sequence[ComplaintPhoto]) -> None:
        """Store each photo's `complaint_id` (the complaint that named it)."""

    async def of_complaint(self, complaint_id: str) -> list[ComplaintPhoto]:
        """The complaint's photos, by upload time, then id."""

    async def get(self, complaint_id: str, photo_id: str) -> tuple[ComplaintPhoto, bytes] | None:
        """A photo of the complaint, with its bytes."""

    async def expire(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` unclaimed photos uploaded before `before`; how many went."""

    async def unclaimed(self) -> int:
        """How many photos no complaint has named yet."""


@dataclass(frozen=True, slots=True)
class Stores:
    complaints: ComplaintStore
    suggestions: SuggestionStore
    photos: PhotoStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(
        PostgresComplaintStore(conn), PostgresSuggestionStore(conn), PostgresPhotoStore(conn)
    )


def _case(row: asyncpg.Record) -> Complaint:
    return serial.load(Complaint, row["complaint"])


def _suggestion(row: asyncpg.Record) -> Suggestion:
    return serial.load(Suggestion, row["suggestion"])


class PostgresComplaintStore(OnConnection):
    async def insert(
        self, case: Complaint, *, intake_id: str | None, external_ref: str | None
    ) -> None:
        await self.conn.execute(
            """INSERT INTO complaints
                   (id, tracking_code, district, market_id, merchant_id, category, channel, state,
                    received_at, acceptance_deadline, mediation_deadline, acceptance_overdue_at,
                    mediation_overdue_at, duplicate_of, intake_id, external_ref, version,
                    complaint)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17, $18)""",
            case.complaint_id, case.tracking_code, case.district, case.market_id,
            case.merchant_id, case.category, case.channel, case.state, case.received_at,
            case.acceptance_deadline, case.mediation_deadline, case.acceptance_overdue_at,
            case.mediation_overdue_at, case.duplicate_of, intake_id, external_ref, case.version,
            serial.dump(case),
        )  # fmt: skip

    async def update(self, case: Complaint) -> None:
        done = await self.conn.execute(
            """UPDATE complaints SET
                   state = $2, mediation_deadline = $3, acceptance_overdue_at = $4,
                   mediation_overdue_at = $5, duplicate_of = $6, version = $7, complaint = $8,
                   district = $9, market_id = $10, merchant_id = $11, acceptance_deadline = $12,
                   updated_at = now()
               WHERE id = $1 AND version = $7 - 1""",
            case.complaint_id, case.state, case.mediation_deadline, case.acceptance_overdue_at,
            case.mediation_overdue_at, case.duplicate_of, case.version, serial.dump(case),
            case.district, case.market_id, case.merchant_id, case.acceptance_deadline,
        )  # fmt: skip
        if done != "UPDATE 1":
            raise StaleWrite(f"complaint {case.complaint_id} changed under us (v{case.version})")

    async def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        row = await self.conn.fetchrow(
            f"SELECT complaint FROM complaints WHERE id = $1{' FOR UPDATE' if for_update else ''}",
            complaint_id,
        )
        return None if row is None else _case(row)

    async def external_ref(self, complaint_id: str) -> str | None:
        ref: str | None = await self.conn.fetchval(
            "SELECT external_ref FROM complaints WHERE id = $1", complaint_id
        )
        return ref

    async def by_tracking_code(self, code: str) -> Complaint | None:
        row = await self.conn.fetchrow(
            "SELECT complaint FROM complaints WHERE tracking_code = $1", code
        )
        return None if row is None else _case(row)

    async def lock_intake(self, intake_id: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", intake_id)

    async def by_intake(self, intake_id: str) -> Complaint | None:
        row = await self.conn.fetchrow(
            "SELECT complaint FROM complaints WHERE intake_id = $1", intake_id
        )
        return None if row is None else _case(row)

    async def recent(
        self, merchant_id: str, category: str, since: datetime, *, for_update: bool = False
    ) -> list[Complaint]:
        rows = await self.conn.fetch(
            f"""SELECT complaint FROM complaints
                WHERE merchant_id = $1 AND category = $2 AND received_at >= $3
                ORDER BY received_at{" FOR UPDATE" if for_update else ""}""",
            merchant_id, category, since,
        )  # fmt: skip
        return [_case(r) for r in rows]

    async def cases(self, query: CaseQuery) -> list[Complaint]:
        clauses: list[str] = ["true"]
        args: list[Any] = []
        for column, value in query.equal():
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if query.open_only:
            clauses.append("state IN ('received', 'accepted')")
        if query.overdue:
            clauses.append(
                "((state = 'received' AND acceptance_overdue_at IS NOT NULL) OR "
                "(state = 'accepted' AND mediation_overdue_at IS NOT NULL))"
            )
        clauses += RECEIVED.bounds(query.window, query.after, args)
        args.append(query.limit)
        rows = await self.conn.fetch(
            f"""SELECT complaint FROM complaints WHERE {" AND ".join(clauses)}
                ORDER BY {RECEIVED.newest_first} LIMIT ${len(args)}""",
            *args,
        )
        return [_case(r) for r in rows]

    async def past_deadline(self, now: datetime, limit: int) -> list[Complaint]:
        rows = await self.conn.fetch(
            """SELECT complaint FROM complaints
               WHERE (state = 'received' AND acceptance_overdue_at IS NULL
                      AND acceptance_deadline < $1)
                  OR (state = 'accepted' AND mediation_overdue_at IS NULL
                      AND mediation_deadline < $1)
               ORDER BY received_at LIMIT $2
               FOR UPDATE SKIP LOCKED""",
            now, limit,
        )  # fmt: skip
        return [_case(r) for r in rows]

    async def counts(self) -> list[tuple[str, str, int]]:
        rows = await self.conn.fetch(
            "SELECT state, category, count(*) AS n FROM complaints GROUP BY state, category"
        )
        return [(r["state"], r["category"], r["n"]) for r in rows]

    async def record_inspection(self, complaint_id: str, inspection: InspectionRecord) -> bool:
        done = await self.conn.execute(
            """INSERT INTO complaint_inspections
                   (complaint_id, task_id, outcome, findings, completed_at)
               SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM complaints WHERE id = $1)
               ON CONFLICT DO NOTHING""",
            complaint_id, inspection.task_id, inspection.outcome, inspection.findings,
            inspection.completed_at,
        )  # fmt: skip
        return bool(done == "INSERT 0 1")

    async def inspections(self, complaint_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT task_id, outcome, findings, completed_at FROM complaint_inspections
               WHERE complaint_id = $1 ORDER BY completed_at""",
            complaint_id,
        )
        return [
            {
                "task_id": r["task_id"],
                "outcome": r["outcome"],
                "findings": r["findings"],
                "completed_at": r["completed_at"].isoformat(),
            }
            for r in rows
        ]


class PostgresSuggestionStore(OnConnection):
    async def insert(self, s: Suggestion) -> None:
        await self.conn.execute(
            """INSERT INTO suggestions (id, tracking_code, about, market_id, district, state,
                                        publish_answer, received_at, answered_at, version,
                                        suggestion)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            s.suggestion_id, s.tracking_code, s.about, s.market_id, s.district, s.state,
            s.publish_answer, s.received_at, s.answered_at, s.version, serial.dump(s),
        )  # fmt: skip

    async def update(self, s: Suggestion) -> None:
        done = await self.conn.execute(
            """UPDATE suggestions SET state = $2, answered_at = $3, version = $4, suggestion = $5
               WHERE id = $1 AND version = $4 - 1""",
            s.suggestion_id, s.state, s.answered_at, s.version, serial.dump(s),
        )  # fmt: skip
        if done != "UPDATE 1":
            raise StaleWrite(f"suggestion {s.suggestion_id} changed under us (v{s.version})")

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT suggestion FROM suggestions WHERE id = $1{lock}", suggestion_id
        )
        return None if row is None else _suggestion(row)

    async def by_tracking_code(self, code: str) -> Suggestion | None:
        row = await self.conn.fetchrow(
            "SELECT suggestion FROM suggestions WHERE tracking_code = $1", code
        )
        return None if row is None else _suggestion(row)

    async def listed(
        self, *, district: str | None, state: str | None, limit: int
    ) -> list[Suggestion]:
        rows = await self.conn.fetch(
            """SELECT suggestion FROM suggestions
               WHERE ($1::text IS NULL OR district = $1 OR about = 'campaign')
                 AND ($2::text IS NULL OR state = $2)
               ORDER BY received_at DESC LIMIT $3""",
            district, state, limit,
        )  # fmt: skip
        return [_suggestion(r) for r in rows]

    async def published(
        self, *, market_id: str | None, about: str | None, limit: int
    ) -> list[Suggestion]:
        rows = await self.conn.fetch(
            """SELECT suggestion FROM suggestions
               WHERE state = 'answered' AND publish_answer
                 AND ($1::text IS NULL OR market_id = $1) AND ($2::text IS NULL OR about = $2)
               ORDER BY answered_at DESC LIMIT $3""",
            market_id, about, limit,
        )  # fmt: skip
        return [_suggestion(r) for r in rows]


class PostgresPhotoStore(OnConnection):
    _COLUMNS = "id, content_type, size, sha256, uploaded_at, complaint_id"

    async def add(self, photo: ComplaintPhoto, data: bytes) -> None:
        await self.conn.execute(
            """INSERT INTO complaint_photos
                   (id, complaint_id, content_type, size, sha256, data, uploaded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            photo.photo_id, photo.complaint_id, photo.content_type, photo.size, photo.sha256,
            data, photo.uploaded_at,
        )  # fmt: skip

    async def found(
        self, photo_ids: Sequence[str], *, for_update: bool = False
    ) -> list[ComplaintPhoto]:
        rows = await self.conn.fetch(
            f"""SELECT {self._COLUMNS} FROM complaint_photos WHERE id = ANY($1::text[])
                ORDER BY id{" FOR UPDATE" if for_update else ""}""",
            list(photo_ids),
        )
        return [_photo(r) for r in rows]

    async def attach(self, photos: Sequence[ComplaintPhoto]) -> None:
        await self.conn.executemany(
            "UPDATE complaint_photos SET complaint_id = $2 WHERE id = $1",
            [(p.photo_id, p.complaint_id) for p in photos],
        )

    async def of_complaint(self, complaint_id: str) -> list[ComplaintPhoto]:
        rows = await self.conn.fetch(
            f"""SELECT {self._COLUMNS} FROM complaint_photos WHERE complaint_id = $1
                ORDER BY uploaded_at, id""",
            complaint_id,
        )
        return [_photo(r) for r in rows]

    async def get(self, complaint_id: str, photo_id: str) -> tuple[ComplaintPhoto, bytes] | None:
        row = await self.conn.fetchrow(
            f"""SELECT {self._COLUMNS}, data FROM complaint_photos
                WHERE id = $1 AND complaint_id = $2""",
            photo_id, complaint_id,
        )  # fmt: skip
        return None if row is None else (_photo(row), bytes(row["data"]))

    async def expire(self, before: datetime, limit: int) -> int:
        done: str = await self.conn.execute(
            """DELETE FROM complaint_photos WHERE id IN (
                   SELECT id FROM complaint_photos
                   WHERE complaint_id IS NULL AND uploaded_at < $1
                   ORDER BY uploaded_at LIMIT $2 FOR UPDATE SKIP LOCKED)""",
            before, limit,
        )  # fmt: skip
        return int(done.split()[-1])

    async def unclaimed(self) -> int:
        n: int = await self.conn.fetchval(
            "SELECT count(*) FROM complaint_photos WHERE complaint_id IS NULL"
        )
        return n


def _photo(row: asyncpg.Record) -> ComplaintPhoto:
    return serial.load(ComplaintPhoto, {k: row[k] for k in PostgresPhotoStore._COLUMNS.split(", ")})
