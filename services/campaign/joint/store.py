"""Joint meetings with their action items, enforcement cases and their origins: what the use
cases ask of storage (a protocol per store) and the Postgres implementation (SQL only, rows in and
domain values out). Every method runs on the connection (and transaction) of the caller's unit of
work. The in-memory fakes (`fakes.py`) pass the same store suite
(tests/integration/campaign/test_joint_store_suite.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypedDict, Unpack

import asyncpg

from contracts.people import actor_dict
from services.campaign.domain.enforcement import Case, Origin
from services.campaign.domain.meetings import ActionItem, Meeting
from services.campaign.rows import Match, one_row, row_data
from services.runtime import serial
from services.runtime.db import OnConnection

MEETING_COLUMNS = "id, district, title, held_on, departments, minutes, recorded_at, recorded_actor"
ITEM_COLUMNS = (
    "i.id, i.meeting_id, i.position, i.decision, i.department, i.deadline, i.state, i.done_on,"
    " i.done_note, i.done_at, i.done_actor, i.late_flagged_at"
)


@dataclass(frozen=True)
class ItemRow:
    """An action item with what a listing shows of its meeting."""

    item: ActionItem
    district: str
    title: str
    held_on: date


@dataclass(frozen=True)
class CaseRow:
    """A case with its place in the event chain."""

    case: Case
    correlation_id: str
    last_event_id: str


class CaseTaken(Exception):
    """The origin already has a case that is not closed (another request opened it first)."""


class ItemFilters(TypedDict):
    """Which action items a listing wants (beside its districts); None matches any."""

    state: str | None
    today: date
    department: str | None
    limit: int


class CaseFilters(TypedDict):
    """Which cases a listing wants (beside its districts); None matches any."""

    state: str | None
    market_id: str | None
    limit: int


CASE_FILTERS = ("state", "market_id")


class MeetingStore(Protocol):
    async def insert(self, m: Meeting) -> None:
        """The meeting with its action items."""

    async def get(self, meeting_id: str, *, for_update: bool = False) -> Meeting | None: ...

    async def listed(self, districts: Sequence[str] | None, limit: int) -> list[Meeting]:
        """The latest held first (then the latest recorded)."""

    async def update_item(self, i: ActionItem) -> None: ...

    async def items(
        self, districts: Sequence[str] | None, **where: Unpack[ItemFilters]
    ) -> list[ItemRow]:
        """Action items by deadline; `state`: `open` (not done), `late` (open past the deadline
        day `today` is after), `done`, or None for all."""

    async def items_to_flag(self, today: date, limit: int) -> list[tuple[ActionItem, str]]:
        """Open, unflagged items whose deadline day is before `today`, by deadline, locked (a
        concurrent run skips them), with their meeting's district."""


class OriginStore(Protocol):
    async def upsert(self, o: Origin) -> None:
        """Keep what was learned of an origin; a later event of it replaces an earlier one."""

    async def get(
        self, kind: str, origin_id: str, *, for_update: bool = False
    ) -> Origin | None: ...


class CaseStore(Protocol):
    async def insert(self, c: Case, *, correlation_id: str, event_id: str) -> None:
        """CaseTaken when the origin has a case not closed yet."""

    async def update(self, c: Case, *, event_id: str) -> None: ...

    async def get(self, case_id: str, *, for_update: bool = False) -> CaseRow | None: ...

    async def active(self, kind: str, origin_id: str) -> Case | None:
        """The origin's case that is not closed, if any."""

    async def listed(
        self, districts: Sequence[str] | None, **where: Unpack[CaseFilters]
    ) -> list[Case]:
        """The latest opened first."""


@dataclass(frozen=True)
class Stores:
    meetings: MeetingStore
    origins: OriginStore
    cases: CaseStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(PostgresMeetingStore(conn), PostgresOriginStore(conn), PostgresCaseStore(conn))


def _item(r: asyncpg.Record) -> ActionItem:
    return serial.load(ActionItem, row_data(r, item_id="id"))


def _meeting(r: asyncpg.Record, items: Sequence[ActionItem]) -> Meeting:
    return serial.load(Meeting, row_data(r, meeting_id="id") | {"items": items})


def _case(r: asyncpg.Record) -> CaseRow:
    case = serial.load(Case, row_data(r, case_id="id"))
    return CaseRow(case, r["correlation_id"], r["last_event_id"])


class PostgresMeetingStore(OnConnection):
    async def insert(self, m: Meeting) -> None:
        await self.conn.execute(
            f"INSERT INTO joint_meetings ({MEETING_COLUMNS})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            m.meeting_id, m.district, m.title, m.held_on, list(m.departments), m.minutes,
            m.recorded_at, actor_dict(m.recorded_actor),
        )  # fmt: skip
        await self.conn.executemany(
            """INSERT INTO joint_action_items
                   (id, meeting_id, position, district, decision, department, deadline, state)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [
                (i.item_id, m.meeting_id, i.position, m.district, i.decision, i.department,
                 i.deadline, i.state)
                for i in m.items
            ],
        )  # fmt: skip

    async def get(self, meeting_id: str, *, for_update: bool = False) -> Meeting | None:
        lock = " FOR UPDATE" if for_update else ""
        found = await self.conn.fetchrow(
            f"SELECT {MEETING_COLUMNS} FROM joint_meetings WHERE id = $1{lock}", meeting_id
        )
        if found is None:
            return None
        items = await self.conn.fetch(
            f"SELECT {ITEM_COLUMNS} FROM joint_action_items i"
            f" WHERE i.meeting_id = $1 ORDER BY i.position{lock}",
            meeting_id,
        )
        return _meeting(found, [_item(r) for r in items])

    async def listed(self, districts: Sequence[str] | None, limit: int) -> list[Meeting]:
        rows = await self.conn.fetch(
            f"SELECT {MEETING_COLUMNS} FROM joint_meetings"
            " WHERE ($1::text[] IS NULL OR district = ANY($1::text[]))"
            " ORDER BY held_on DESC, recorded_at DESC LIMIT $2",
            None if districts is None else list(districts),
            limit,
        )
        if not rows:
            return []
        items = await self.conn.fetch(
            f"SELECT {ITEM_COLUMNS} FROM joint_action_items i"
            " WHERE i.meeting_id = ANY($1::text[]) ORDER BY i.meeting_id, i.position",
            [r["id"] for r in rows],
        )
        by_meeting: dict[str, list[ActionItem]] = {}
        for r in items:
            by_meeting.setdefault(r["meeting_id"], []).append(_item(r))
        return [_meeting(r, by_meeting.get(r["id"], [])) for r in rows]

    async def update_item(self, i: ActionItem) -> None:
        await self.conn.execute(
            """UPDATE joint_action_items SET state = $2, done_on = $3, done_note = $4,
                   done_at = $5, done_actor = $6, late_flagged_at = $7
               WHERE id = $1""",
            i.item_id, i.state, i.done_on, i.done_note, i.done_at, actor_dict(i.done_actor),
            i.late_flagged_at,
        )  # fmt: skip

    async def items(
        self, districts: Sequence[str] | None, **where: Unpack[ItemFilters]
    ) -> list[ItemRow]:
        rows = await self.conn.fetch(
            f"""SELECT {ITEM_COLUMNS}, m.district, m.title, m.held_on
                FROM joint_action_items i JOIN joint_meetings m ON m.id = i.meeting_id
                WHERE ($1::text[] IS NULL OR i.district = ANY($1::text[]))
                  AND ($2::text IS NULL
                       OR ($2 = 'open' AND i.state = 'open')
                       OR ($2 = 'done' AND i.state = 'done')
                       OR ($2 = 'late' AND i.state = 'open' AND i.deadline < $3))
                  AND ($4::text IS NULL OR i.department = $4)
                ORDER BY i.deadline, i.meeting_id, i.position LIMIT $5""",
            None if districts is None else list(districts), where["state"], where["today"],
            where["department"], where["limit"],
        )  # fmt: skip
        return [ItemRow(_item(r), r["district"], r["title"], r["held_on"]) for r in rows]

    async def items_to_flag(self, today: date, limit: int) -> list[tuple[ActionItem, str]]:
        rows = await self.conn.fetch(
            f"""SELECT {ITEM_COLUMNS}, i.district FROM joint_action_items i
                WHERE i.state = 'open' AND i.late_flagged_at IS NULL AND i.deadline < $1
                ORDER BY i.deadline, i.id LIMIT $2
                FOR UPDATE SKIP LOCKED""",
            today,
            limit,
        )
        return [(_item(r), r["district"]) for r in rows]


class PostgresOriginStore(OnConnection):
    async def upsert(self, o: Origin) -> None:
        await self.conn.execute(
            """INSERT INTO joint_origins (kind, id, district, market_id, merchant_id, status,
                   event_id, correlation_id, occurred_at, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (kind, id) DO UPDATE SET
                   district = EXCLUDED.district, market_id = EXCLUDED.market_id,
                   merchant_id = EXCLUDED.merchant_id, status = EXCLUDED.status,
                   event_id = EXCLUDED.event_id, correlation_id = EXCLUDED.correlation_id,
                   occurred_at = EXCLUDED.occurred_at, detail = EXCLUDED.detail
               WHERE joint_origins.occurred_at <= EXCLUDED.occurred_at""",
            o.kind, o.origin_id, o.district, o.market_id, o.merchant_id, o.status, o.event_id,
            o.correlation_id, o.occurred_at, dict(o.detail),
        )  # fmt: skip

    async def get(self, kind: str, origin_id: str, *, for_update: bool = False) -> Origin | None:
        found = await one_row(
            self.conn,
            "SELECT kind, id, district, market_id, merchant_id, status, event_id,"
            " correlation_id, occurred_at, detail FROM joint_origins"
            " WHERE kind = $1 AND id = $2",
            kind,
            origin_id,
            for_update=for_update,
        )
        return None if found is None else serial.load(Origin, row_data(found, origin_id="id"))


class PostgresCaseStore(OnConnection):
    async def insert(self, c: Case, *, correlation_id: str, event_id: str) -> None:
        try:
            await self._insert(c, correlation_id, event_id)
        except asyncpg.UniqueViolationError as exc:
            raise CaseTaken(f"a case for {c.origin_kind} {c.origin_id} is not closed yet") from exc

    async def _insert(self, c: Case, correlation_id: str, event_id: str) -> None:
        await self.conn.execute(
            """INSERT INTO joint_cases (id, version, state, district, market_id, merchant_id,
                   origin_kind, origin_id, departments, facts, decision, closing_note, opened_at,
                   decided_at, closed_at, opened_actor, decided_actor, closed_actor,
                   correlation_id, last_event_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17, $18, $19, $20)""",
            c.case_id, c.version, c.state, c.district, c.market_id, c.merchant_id, c.origin_kind,
            c.origin_id, list(c.departments), c.facts, serial.dump(c.decision),
            c.closing_note, c.opened_at, c.decided_at, c.closed_at, actor_dict(c.opened_actor),
            actor_dict(c.decided_actor), actor_dict(c.closed_actor), correlation_id, event_id,
        )  # fmt: skip

    async def update(self, c: Case, *, event_id: str) -> None:
        await self.conn.execute(
            """UPDATE joint_cases SET version = $2, state = $3, decision = $4,
                   closing_note = $5, decided_at = $6, closed_at = $7, decided_actor = $8,
                   closed_actor = $9, last_event_id = $10
               WHERE id = $1""",
            c.case_id, c.version, c.state, serial.dump(c.decision), c.closing_note,
            c.decided_at, c.closed_at, actor_dict(c.decided_actor), actor_dict(c.closed_actor),
            event_id,
        )  # fmt: skip

    async def get(self, case_id: str, *, for_update: bool = False) -> CaseRow | None:
        sql = "SELECT * FROM joint_cases WHERE id = $1"
        found = await one_row(self.conn, sql, case_id, for_update=for_update)
        return None if found is None else _case(found)

    async def active(self, kind: str, origin_id: str) -> Case | None:
        found = await self.conn.fetchrow(
            "SELECT * FROM joint_cases WHERE origin_kind = $1 AND origin_id = $2"
            " AND state <> 'closed'",
            kind,
            origin_id,
        )
        return None if found is None else _case(found).case

    async def listed(
        self, districts: Sequence[str] | None, **where: Unpack[CaseFilters]
    ) -> list[Case]:
        match = Match.of(CASE_FILTERS, where)
        rows = await self.conn.fetch(
            f"""SELECT * FROM joint_cases
                WHERE ($1::text[] IS NULL OR district = ANY($1::text[])) AND {match.sql(2)}
                ORDER BY opened_at DESC, id LIMIT ${len(match.args) + 2}""",
            None if districts is None else list(districts), *match.args, where["limit"],
        )  # fmt: skip
        return [_case(r).case for r in rows]
