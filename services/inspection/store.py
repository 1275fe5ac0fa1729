"""Inspection's Postgres repository: tasks, rectification orders, patrol plans. Parameterised SQL.

Each value is stored whole as jsonb (`to_dict()`), with the columns the API and the clock filter
on beside it. Reads that precede a change lock the row (`FOR UPDATE`), so two requests or a
request and the clock never both change one task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.inspection.domain import PatrolPlan, RectificationOrder, Task
from services.inspection.domain.photos import Photo

_OPEN = "('open', 'claimed')"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a merchant trades, from the registry projection: what a patrol task needs."""

    market_id: str
    district: str
    stall_no: str
    status: str


def dedupe_key(key: tuple[str, str]) -> str:
    return f"{key[0]}|{key[1]}"


class InspectionStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # -- tasks -----------------------------------------------------------------------------------
    async def open_task(self, key: tuple[str, str]) -> Task | None:
        row = await self.conn.fetchrow(
            f"SELECT task FROM tasks WHERE dedupe_key = $1 AND state IN {_OPEN} FOR UPDATE",
            dedupe_key(key),
        )
        return Task.from_dict(row["task"]) if row else None

    async def task(self, task_id: str, *, for_update: bool = False) -> Task | None:
        sql = "SELECT task FROM tasks WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        row = await self.conn.fetchrow(sql, task_id)
        return Task.from_dict(row["task"]) if row else None

    async def save_task(self, task: Task) -> None:
        await self.conn.execute(
            """INSERT INTO tasks (id, district, market_id, merchant_id, reason_kind, state,
                                  dedupe_key, due_at, overdue_at, created_at, version, task)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (id) DO UPDATE SET
                   state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                   overdue_at = EXCLUDED.overdue_at, version = EXCLUDED.version,
                   task = EXCLUDED.task, updated_at = now()
               WHERE tasks.version < EXCLUDED.version""",
            task.task_id, task.district, task.market_id, task.merchant_id, task.reason_kind,
            task.state, dedupe_key(task.dedupe_key), task.due_at, task.overdue_at,
            task.created_at, task.version, task.to_dict(),
        )  # fmt: skip

    async def tasks(
        self, *, state: str | None, market_id: str | None, district: str | None, limit: int
    ) -> list[Task]:
        rows = await self.conn.fetch(
            """SELECT task FROM tasks
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR district = $3)
               ORDER BY due_at, id LIMIT $4""",
            state, market_id, district, limit,
        )  # fmt: skip
        return [Task.from_dict(r["task"]) for r in rows]

    async def tasks_past_due(self, now: datetime, limit: int) -> list[Task]:
        """Open tasks due before `now` and not yet marked, locked; rows another transaction
        holds are skipped (the next tick sees them)."""
        rows = await self.conn.fetch(
            f"""SELECT task FROM tasks
                WHERE state IN {_OPEN} AND overdue_at IS NULL AND due_at < $1
                ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [Task.from_dict(r["task"]) for r in rows]

    # -- photos ----------------------------------------------------------------------------------
    _PHOTO = "id, task_id, district, content_type, size, sha256, uploaded_actor, uploaded_at"

    async def add_photo(self, photo: Photo, data: bytes) -> None:
        await self.conn.execute(
            """INSERT INTO task_photos (id, task_id, district, content_type, size, sha256, data,
                                        uploaded_by, uploaded_actor, uploaded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            photo.photo_id, photo.task_id, photo.district, photo.content_type, photo.size,
            photo.sha256, data, photo.uploaded_by.subject, photo.uploaded_by.to_dict(),
            photo.uploaded_at,
        )  # fmt: skip

    async def photos(self, task_id: str) -> list[Photo]:
        rows = await self.conn.fetch(
            f"SELECT {self._PHOTO} FROM task_photos WHERE task_id = $1 ORDER BY uploaded_at, id",
            task_id,
        )
        return [Photo.from_row(r) for r in rows]

    async def photo(self, task_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        row = await self.conn.fetchrow(
            f"SELECT {self._PHOTO}, data FROM task_photos WHERE task_id = $1 AND id = $2",
            task_id,
            photo_id,
        )
        return (Photo.from_row(row), bytes(row["data"])) if row else None

    # -- rectification orders --------------------------------------------------------------------
    async def order(self, order_id: str, *, for_update: bool = False) -> RectificationOrder | None:
        sql = "SELECT rectification FROM rectifications WHERE id = $1" + (
            " FOR UPDATE" if for_update else ""
        )
        row = await self.conn.fetchrow(sql, order_id)
        return RectificationOrder.from_dict(row["rectification"]) if row else None

    async def save_order(self, order: RectificationOrder) -> None:
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
            order.version, order.to_dict(),
        )  # fmt: skip

    async def orders(
        self, *, state: str | None, district: str | None, limit: int
    ) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR district = $2)
               ORDER BY ordered_at, id LIMIT $3""",
            state, district, limit,
        )  # fmt: skip
        return [RectificationOrder.from_dict(r["rectification"]) for r in rows]

    async def orders_past_deadline(self, now: datetime, limit: int) -> list[RectificationOrder]:
        rows = await self.conn.fetch(
            """SELECT rectification FROM rectifications
               WHERE state = 'open' AND overdue_at IS NULL AND deadline < $1
               ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [RectificationOrder.from_dict(r["rectification"]) for r in rows]

    # -- patrol plans ----------------------------------------------------------------------------
    async def plan(self, merchant_id: str, *, for_update: bool = False) -> PatrolPlan | None:
        sql = "SELECT plan FROM patrol_plans WHERE merchant_id = $1" + (
            " FOR UPDATE" if for_update else ""
        )
        row = await self.conn.fetchrow(sql, merchant_id)
        return PatrolPlan.from_dict(row["plan"]) if row else None

    async def insert_plan(self, plan: PatrolPlan) -> bool:
        """Store a new plan; False when the merchant already has one (a race lost)."""
        inserted = await self.conn.fetchval(
            """INSERT INTO patrol_plans (merchant_id, grade, grade_version, anchor, due_at,
                                         task_id, plan)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (merchant_id) DO NOTHING
               RETURNING true""",
            plan.merchant_id, plan.grade, plan.grade_version, plan.anchor, plan.due_at,
            plan.task_id, plan.to_dict(),
        )  # fmt: skip
        return bool(inserted)

    async def save_plan(self, plan: PatrolPlan) -> None:
        await self.conn.execute(
            """UPDATE patrol_plans SET grade = $2, grade_version = $3, anchor = $4, due_at = $5,
                                       task_id = $6, plan = $7, updated_at = now()
               WHERE merchant_id = $1""",
            plan.merchant_id, plan.grade, plan.grade_version, plan.anchor, plan.due_at,
            plan.task_id, plan.to_dict(),
        )  # fmt: skip

    async def due_plans(self, now: datetime, limit: int) -> list[tuple[PatrolPlan, Placement]]:
        """Plans due by `now` with no pending task, for merchants the registry knows and that may
        be patrolled (not `licence_expired`), locked; rows another transaction holds are
        skipped. A licence_expired merchant's plan stays due and is patrolled once renewed."""
        rows = await self.conn.fetch(
            """SELECT p.plan, m.market_id, m.district, m.stall_no, m.status
               FROM patrol_plans p JOIN merchants m ON m.id = p.merchant_id
               WHERE p.task_id IS NULL AND p.due_at <= $1 AND m.status <> 'licence_expired'
               ORDER BY p.due_at LIMIT $2 FOR UPDATE OF p SKIP LOCKED""",
            now,
            limit,
        )
        return [
            (
                PatrolPlan.from_dict(r["plan"]),
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

    async def last_inspection(self, merchant_id: str) -> datetime | None:
        """When the merchant's latest completed task was completed, if ever."""
        value: datetime | None = await self.conn.fetchval(
            """SELECT max((task ->> 'completed_at')::timestamptz) FROM tasks
               WHERE merchant_id = $1 AND state = 'completed'""",
            merchant_id,
        )
        return value
