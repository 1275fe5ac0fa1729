"""Inspection's stores: what the use cases call (a protocol per store) and the Postgres
implementation of each (SQL only; the in-memory fakes are in `fakes.py`, and both pass
tests/integration/inspection/test_store_suite.py).

Each value is stored whole as jsonb (`serial.dump`), with the columns the API and the clock
filter on beside it. Reads that precede a change lock the row (`for_update`), so two requests or a
request and the clock never both change one task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.inspection.domain import PatrolPlan, RectificationOrder, Task, TaskForce
from services.inspection.domain.patrol import UNPATROLLED
from services.inspection.domain.photos import Photo
from services.runtime import serial
from services.runtime.db import OnConnection
from services.runtime.paging import Keyset, Position, Window

_OPEN = "('open', 'claimed')"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a merchant trades, from the registry projection: what a patrol task needs."""

    market_id: str
    district: str
    stall_no: str
    status: str


@dataclass(frozen=True, slots=True)
class MarketInfo:
    id: str
    district: str
    name: str
    task_force: TaskForce | None
    version: int
    status: str = "open"  # the registry's MarketStatus; `closed`: closed for good (停业)


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    id: str
    market_id: str
    district: str
    stall_no: str
    status: str
    version: int


def dedupe_key(key: tuple[str, str]) -> str:
    return f"{key[0]}|{key[1]}"


# The completed tasks listed newest completed first (the ledger's pages; index tasks_completed).
COMPLETED = Keyset("completed_at")
# The orders listed newest made first (the rectification ledger's pages; rectifications_ordered).
ORDERED = Keyset("ordered_at")


@dataclass(frozen=True, slots=True)
class LedgerQuery:
    """Which rows a ledger asks for — the inspection ledger's completed tasks (检查台账), the
    rectification ledger's orders (整改台账): of `window` (completed, made), past `after` in the
    listing's order (a page's start), of the market and district given (None: any); at most
    `limit`."""

    window: Window
    after: Position | None
    market_id: str | None
    district: str | None
    limit: int


# -- what the use cases call ---------------------------------------------------------------------


class TaskStore(Protocol):
    async def open_task(self, key: tuple[str, str]) -> Task | None:
        """The open (or claimed) task of a dedupe key, locked."""
        ...

    async def get(self, task_id: str, *, for_update: bool = False) -> Task | None: ...

    async def save(self, task: Task) -> None:
        """Insert, or replace a stored task of an older version (an older one changes nothing)."""
        ...

    async def listing(
        self, *, state: str | None, market_id: str | None, district: str | None, limit: int
    ) -> list[Task]:
        """By due time, then id."""
        ...

    async def completed(self, query: LedgerQuery) -> list[Task]:
        """Completed tasks as `query` asks, newest first, tasks completed at one instant by id,
        descending (ids compared as code points): a total order, so that keyset pages starting
        strictly after `query.after` (a completion time, an id) neither lose nor repeat one."""
        ...

    async def past_due(self, now: datetime, limit: int) -> list[Task]:
        """Open tasks due before `now` and not yet marked, by due time, locked."""
        ...

    async def last_inspections(self, merchant_ids: Sequence[str]) -> dict[str, datetime]:
        """When each merchant's latest completed task was completed, of those ever inspected."""
        ...

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[Task]:
        """The open (or claimed) tasks about any of these merchants, by id, locked."""
        ...

    async def open_of_market(self, market_id: str) -> list[Task]:
        """The open (or claimed) tasks of the market, its merchants' too, by id, locked."""
        ...


class PhotoStore(Protocol):
    """A task's photos (`rectification_id` None) and the photos of its order's re-checks, kept
    apart: neither is listed or found as the other's."""

    async def add(self, photo: Photo, data: bytes) -> None: ...

    async def of_task(self, task_id: str) -> list[Photo]:
        """The task's own photos (none of an order's), by upload time, then id."""
        ...

    async def get(self, task_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        """A photo of the task itself (not of an order)."""
        ...

    async def of_order(self, order_id: str) -> list[Photo]:
        """The photos attached to the order's re-checks, by upload time, then id."""
        ...

    async def of_order_get(self, order_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        """A photo attached to the order."""
        ...


class OrderStore(Protocol):
    async def get(
        self, order_id: str, *, for_update: bool = False
    ) -> RectificationOrder | None: ...

    async def save(self, order: RectificationOrder) -> None:
        """Insert, or replace a stored order of an older version."""
        ...

    async def listing(
        self, *, state: str | None, district: str | None, limit: int
    ) -> list[RectificationOrder]:
        """By the time ordered, then id."""
        ...

    async def issued(self, query: LedgerQuery) -> list[RectificationOrder]:
        """Orders made in `query.window` as `query` asks, newest first, orders of one instant
        by id, descending (ids compared as code points): a total order for keyset pages."""
        ...

    async def past_deadline(self, now: datetime, limit: int) -> list[RectificationOrder]:
        """Open orders past their deadline and not yet marked, by deadline, locked."""
        ...

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[RectificationOrder]:
        """The open orders to any of these merchants, by id, locked."""
        ...

    async def open_of_market(self, market_id: str) -> list[RectificationOrder]:
        """The open orders of the market, its merchants' too, by id, locked."""
        ...


class PlanStore(Protocol):
    async def get(self, merchant_id: str, *, for_update: bool = False) -> PatrolPlan | None: ...

    async def insert(self, plans: Sequence[PatrolPlan]) -> list[str]:
        """Store new plans (one per merchant); the merchants whose plan was stored (the others
        already had one: a race lost)."""
        ...

    async def save(self, plan: PatrolPlan) -> None:
        """Replace the merchant's plan (a merchant without one: nothing)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[tuple[PatrolPlan, Placement]]:
        """Plans due by `now` with no pending task, of merchants the registry view knows and that
        may be patrolled (`patrol.UNPATROLLED`), by due time, locked. A licence_expired
        merchant's plan stays due and is patrolled once renewed."""
        ...

    async def merchants_without_plan(self, limit: int) -> list[str]:
        """Merchants of the registry view without a plan, by id."""
        ...


class RegistryStore(Protocol):
    """The durable copy of the registry view (services/inspection/projections.py)."""

    async def markets(self) -> list[MarketInfo]: ...

    async def merchants(self) -> list[MerchantInfo]: ...

    async def put_market(self, market: MarketInfo) -> None:
        """Hold the snapshot unless one of its version or newer is held."""
        ...

    async def put_merchants(self, merchants: Sequence[MerchantInfo]) -> list[MerchantInfo]:
        """Hold each snapshot (one per merchant) unless one of its version or newer is held; the
        snapshots of the merchants the view did not know before."""
        ...


@dataclass(frozen=True, slots=True)
class Stores:
    """The stores of one unit of work (services/runtime/unit_of_work.py)."""

    tasks: TaskStore
    photos: PhotoStore
    orders: OrderStore
    plans: PlanStore
    registry: RegistryStore

    @classmethod
    def postgres(cls, conn: asyncpg.Connection) -> Stores:
        return cls(
            PostgresTasks(conn),
            PostgresPhotos(conn),
            PostgresOrders(conn),
            PostgresPlans(conn),
            PostgresRegistry(conn),
        )


# -- Postgres ------------------------------------------------------------------------------------


def _lock(for_update: bool) -> str:
    return " FOR UPDATE" if for_update else ""


class PostgresTasks(OnConnection):
    async def open_task(self, key: tuple[str, str]) -> Task | None:
        row = await self.conn.fetchrow(
            f"SELECT task FROM tasks WHERE dedupe_key = $1 AND state IN {_OPEN} FOR UPDATE",
            dedupe_key(key),
        )
        return serial.load(Task, row["task"]) if row else None

    async def get(self, task_id: str, *, for_update: bool = False) -> Task | None:
        row = await self.conn.fetchrow(
            "SELECT task FROM tasks WHERE id = $1" + _lock(for_update), task_id
        )
        return serial.load(Task, row["task"]) if row else None

    async def save(self, task: Task) -> None:
        await self.conn.execute(
            """INSERT INTO tasks (id, district, market_id, merchant_id, reason_kind, state,
                                  dedupe_key, due_at, overdue_at, created_at, completed_at,
                                  version, task)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (id) DO UPDATE SET
                   state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                   overdue_at = EXCLUDED.overdue_at, completed_at = EXCLUDED.completed_at,
                   version = EXCLUDED.version, task = EXCLUDED.task, updated_at = now()
               WHERE tasks.version < EXCLUDED.version""",
            task.task_id, task.district, task.market_id, task.merchant_id, task.reason_kind,
            task.state, dedupe_key(task.dedupe_key), task.due_at, task.overdue_at,
            task.created_at, task.completed_at, task.version, serial.dump(task),
        )  # fmt: skip

    async def listing(
        self, *, state: str | None, market_id: str | None, district: str | None, limit: int
    ) -> list[Task]:
        rows = await self.conn.fetch(
            """SELECT task FROM tasks
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR district = $3)
               ORDER BY due_at, id LIMIT $4""",
            state, market_id, district, limit,
        )  # fmt: skip
        return [serial.load(Task, r["task"]) for r in rows]

    async def completed(self, query: LedgerQuery) -> list[Task]:
        found = await _ledger(self.conn, "tasks", "task", COMPLETED, query, "state = 'completed'")
        return [serial.load(Task, value) for value in found]

    async def past_due(self, now: datetime, limit: int) -> list[Task]:
        # Rows another transaction holds are skipped: the next tick sees them.
        rows = await self.conn.fetch(
            f"""SELECT task FROM tasks
                WHERE state IN {_OPEN} AND overdue_at IS NULL AND due_at < $1
                ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [serial.load(Task, r["task"]) for r in rows]

    async def last_inspections(self, merchant_ids: Sequence[str]) -> dict[str, datetime]:
        rows = await self.conn.fetch(
            """SELECT merchant_id, max((task ->> 'completed_at')::timestamptz) AS at FROM tasks
               WHERE merchant_id = ANY($1::text[]) AND state = 'completed'
               GROUP BY merchant_id""",
            list(merchant_ids),
        )
        return {r["merchant_id"]: r["at"] for r in rows if r["at"] is not None}

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[Task]:
        rows = await self.conn.fetch(
            f"""SELECT task FROM tasks WHERE merchant_id = ANY($1::text[]) AND state IN {_OPEN}
                ORDER BY id FOR UPDATE""",
            list(merchant_ids),
        )
        return [serial.load(Task, r["task"]) for r in rows]

    async def open_of_market(self, market_id: str) -> list[Task]:
        rows = await self.conn.fetch(
            f"""SELECT task FROM tasks WHERE market_id = $1 AND state IN {_OPEN}
                ORDER BY id FOR UPDATE""",
            market_id,
        )
        return [serial.load(Task, r["task"]) for r in rows]


def _photo(row: Any) -> Photo:
    # The columns are the photo's fields, but for who uploaded it (the subject and the actor
    # are both kept, for queries by subject).
    return serial.load(Photo, {**dict(row), "uploaded_by": row["uploaded_actor"]})


class PostgresPhotos(OnConnection):
    _COLUMNS = (
        "id, task_id, district, content_type, size, sha256, uploaded_actor, uploaded_at, "
        "rectification_id"
    )

    async def add(self, photo: Photo, data: bytes) -> None:
        await self.conn.execute(
            """INSERT INTO task_photos (id, task_id, district, content_type, size, sha256, data,
                                        uploaded_by, uploaded_actor, uploaded_at,
                                        rectification_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            photo.photo_id, photo.task_id, photo.district, photo.content_type, photo.size,
            photo.sha256, data, photo.uploaded_by.subject, photo.uploaded_by.to_dict(),
            photo.uploaded_at, photo.rectification_id,
        )  # fmt: skip

    async def of_task(self, task_id: str) -> list[Photo]:
        rows = await self.conn.fetch(
            f"""SELECT {self._COLUMNS} FROM task_photos
                WHERE task_id = $1 AND rectification_id IS NULL ORDER BY uploaded_at, id""",
            task_id,
        )
        return [_photo(r) for r in rows]

    async def get(self, task_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        row = await self.conn.fetchrow(
            f"""SELECT {self._COLUMNS}, data FROM task_photos
                WHERE task_id = $1 AND id = $2 AND rectification_id IS NULL""",
            task_id,
            photo_id,
        )
        return (_photo(row), bytes(row["data"])) if row else None

    async def of_order(self, order_id: str) -> list[Photo]:
        rows = await self.conn.fetch(
            f"""SELECT {self._COLUMNS} FROM task_photos
                WHERE rectification_id = $1 ORDER BY uploaded_at, id""",
            order_id,
        )
        return [_photo(r) for r in rows]

    async def of_order_get(self, order_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        row = await self.conn.fetchrow(
            f"""SELECT {self._COLUMNS}, data FROM task_photos
                WHERE rectification_id = $1 AND id = $2""",
            order_id,
            photo_id,
        )
        return (_photo(row), bytes(row["data"])) if row else None


class PostgresOrders(OnConnection):
    async def get(self, order_id: str, *, for_update: bool = False) -> RectificationOrder | None:
        row = await self.conn.fetchrow(
            "SELECT rectification FROM rectifications WHERE id = $1" + _lock(for_update), order_id
        )
        return serial.load(RectificationOrder, row["rectification"]) if row else None

    async def save(self, order: RectificationOrder) -> None:
        await self.conn.execute(
            """INSERT INTO rectifications (id, task_id, district, market_id, merchant_id, state,
                                           deadline, overdue_at, ordered_at, version,
                                           rectification)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (id) DO UPDATE SET
                   state = EXCLUDED.state, deadline = EXCLUDED.deadline,
                   overdue_at = EXCLUDED.overdue_at, version = EXCLUDED.version,
                   rectification = EXCLUDED.rectification, updated_at = now()
               WHERE rectifications.version < EXCLUDED.version""",
            order.rectification_id, order.task_id, order.district, order.market_id,
            order.merchant_id, order.state, order.deadline, order.overdue_at, order.ordered_at,
            order.version, serial.dump(order),
        )  # fmt: skip

    async def listing(
        self, *, state: str | None, district: str | None, limit: int
    ) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR district = $2)
               ORDER BY ordered_at, id LIMIT $3""",
            state, district, limit,
        )  # fmt: skip
        return [serial.load(RectificationOrder, r["rectification"]) for r in rows]

    async def issued(self, query: LedgerQuery) -> list[RectificationOrder]:
        found = await _ledger(self.conn, "rectifications", "rectification", ORDERED, query)
        return [serial.load(RectificationOrder, value) for value in found]

    async def past_deadline(self, now: datetime, limit: int) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE state = 'open' AND overdue_at IS NULL AND deadline < $1
               ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [serial.load(RectificationOrder, r["rectification"]) for r in rows]

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE merchant_id = ANY($1::text[]) AND state = 'open' ORDER BY id FOR UPDATE""",
            list(merchant_ids),
        )
        return [serial.load(RectificationOrder, r["rectification"]) for r in rows]

    async def open_of_market(self, market_id: str) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE market_id = $1 AND state = 'open' ORDER BY id FOR UPDATE""",
            market_id,
        )
        return [serial.load(RectificationOrder, r["rectification"]) for r in rows]


class PostgresPlans(OnConnection):
    async def get(self, merchant_id: str, *, for_update: bool = False) -> PatrolPlan | None:
        row = await self.conn.fetchrow(
            "SELECT plan FROM patrol_plans WHERE merchant_id = $1" + _lock(for_update),
            merchant_id,
        )
        return serial.load(PatrolPlan, row["plan"]) if row else None

    async def insert(self, plans: Sequence[PatrolPlan]) -> list[str]:
        rows = await self.conn.fetch(
            """INSERT INTO patrol_plans (merchant_id, grade, grade_version, anchor, due_at,
                                         task_id, plan)
               SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[],
                                    $5::timestamptz[], $6::text[], $7::jsonb[])
               ON CONFLICT (merchant_id) DO NOTHING
               RETURNING merchant_id""",
            [p.merchant_id for p in plans], [p.grade for p in plans],
            [p.grade_version for p in plans], [p.anchor for p in plans],
            [p.due_at for p in plans], [p.task_id for p in plans], serial.dump_many(plans),
        )  # fmt: skip
        return [r["merchant_id"] for r in rows]

    async def save(self, plan: PatrolPlan) -> None:
        await self.conn.execute(
            """UPDATE patrol_plans SET grade = $2, grade_version = $3, anchor = $4, due_at = $5,
                                       task_id = $6, plan = $7, updated_at = now()
               WHERE merchant_id = $1""",
            plan.merchant_id, plan.grade, plan.grade_version, plan.anchor, plan.due_at,
            plan.task_id, serial.dump(plan),
        )  # fmt: skip

    async def due(self, now: datetime, limit: int) -> list[tuple[PatrolPlan, Placement]]:
        rows = await self.conn.fetch(
            """SELECT p.plan, m.market_id, m.district, m.stall_no, m.status
               FROM patrol_plans p JOIN merchants m ON m.id = p.merchant_id
               WHERE p.task_id IS NULL AND p.due_at <= $1 AND m.status <> ALL($3::text[])
               ORDER BY p.due_at LIMIT $2 FOR UPDATE OF p SKIP LOCKED""",
            now,
            limit,
            list(UNPATROLLED),
        )
        return [
            (
                serial.load(PatrolPlan, r["plan"]),
                Placement(r["market_id"], r["district"], r["stall_no"], r["status"]),
            )
            for r in rows
        ]

    async def merchants_without_plan(self, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT m.id FROM merchants m
               WHERE NOT EXISTS (SELECT 1 FROM patrol_plans p WHERE p.merchant_id = m.id)
               ORDER BY m.id LIMIT $1""",
            limit,
        )
        return [r["id"] for r in rows]


def _task_force(data: Any) -> TaskForce | None:
    return None if data is None else serial.load(TaskForce, data)


class PostgresRegistry(OnConnection):
    async def markets(self) -> list[MarketInfo]:
        return [
            MarketInfo(
                r["id"],
                r["district"],
                r["name"],
                _task_force(r["task_force"]),
                r["version"],
                r["status"],
            )
            for r in await self.conn.fetch("SELECT * FROM markets")
        ]

    async def merchants(self) -> list[MerchantInfo]:
        return [MerchantInfo(**dict(r)) for r in await self.conn.fetch("SELECT * FROM merchants")]

    async def put_market(self, market: MarketInfo) -> None:
        tf = market.task_force
        stored = None if tf is None else {"leader": tf.leader, "members": list(tf.members)}
        await self.conn.execute(
            """INSERT INTO markets (id, district, name, task_force, version, status)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (id) DO UPDATE SET
                   district = EXCLUDED.district, name = EXCLUDED.name,
                   task_force = EXCLUDED.task_force, version = EXCLUDED.version,
                   status = EXCLUDED.status
               WHERE markets.version < EXCLUDED.version""",
            market.id, market.district, market.name, stored, market.version, market.status,
        )  # fmt: skip

    async def put_merchants(self, merchants: Sequence[MerchantInfo]) -> list[MerchantInfo]:
        # One statement for the batch (a new replica reads a city's merchants before it is
        # ready); xmax = 0: the row was inserted by this statement, not updated.
        inserted = await self.conn.fetch(
            """INSERT INTO merchants (id, market_id, district, stall_no, status, version)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::integer[])
               ON CONFLICT (id) DO UPDATE SET
                   market_id = EXCLUDED.market_id, district = EXCLUDED.district,
                   stall_no = EXCLUDED.stall_no, status = EXCLUDED.status,
                   version = EXCLUDED.version
               WHERE merchants.version < EXCLUDED.version
               RETURNING id, xmax = 0 AS new""",
            [m.id for m in merchants], [m.market_id for m in merchants],
            [m.district for m in merchants], [m.stall_no for m in merchants],
            [m.status for m in merchants], [m.version for m in merchants],
        )  # fmt: skip
        new = {r["id"] for r in inserted if r["new"]}
        return [m for m in merchants if m.id in new]


@dataclass(frozen=True, slots=True)
class OpenWork:
    """What the gauges show (services/inspection/metrics.py), counted in the database."""

    tasks: list[tuple[tuple[str, str], float]]  # ((district, state), n); state may be overdue
    rectifications_overdue: list[tuple[str, float]]  # (district, n)
    districts: list[str]  # of the known markets


TASKS_BY_STATE = """
SELECT district,
       CASE WHEN overdue_at IS NOT NULL THEN 'overdue' ELSE state END AS state,
       count(*) AS n
  FROM tasks
 WHERE state IN ('open', 'claimed')
 GROUP BY 1, 2
"""
RECTIFICATIONS_OVERDUE = """
SELECT district, count(*) AS n
  FROM rectifications
 WHERE state = 'open' AND overdue_at IS NOT NULL
 GROUP BY 1
"""
DISTRICTS = "SELECT DISTINCT district FROM markets"


async def count_open_work(pool: asyncpg.Pool) -> OpenWork:
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        tasks = await conn.fetch(TASKS_BY_STATE)
        orders = await conn.fetch(RECTIFICATIONS_OVERDUE)
        districts = await conn.fetch(DISTRICTS)
    return OpenWork(
        [((r["district"], r["state"]), r["n"]) for r in tasks],
        [(r["district"], r["n"]) for r in orders],
        [r["district"] for r in districts],
    )


async def _ledger(
    conn: asyncpg.Connection,
    table: str,
    column: str,
    keyset: Keyset,
    query: LedgerQuery,
    *where: str,
) -> list[Any]:
    """A ledger's page of `table`: its `column` of the rows `query` asks for, in `keyset`'s
    order (newest first), `where` holding too."""
    equal = {"market_id": query.market_id, "district": query.district}
    sql, args = keyset.page(table, column, query.window, query.after, query.limit, equal, where)
    return [r[column] for r in await conn.fetch(sql, *args)]
