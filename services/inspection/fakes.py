"""In-memory stores for use-case tests: each behaves as its Postgres store does (the same suite,
tests/integration/inspection/test_store_suite.py, runs on both). Locks are not modelled: a test
runs one unit of work at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from services.inspection.domain import PatrolPlan, RectificationOrder, Task
from services.inspection.domain.patrol import patrolled
from services.inspection.domain.photos import Photo
from services.inspection.store import LedgerQuery, MarketInfo, MerchantInfo, Placement, Stores

_OPEN = ("open", "claimed")


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


def _keep_newer(rows: dict[str, V], key: str, row: V) -> None:
    """Hold `row` unless one of its version or newer is held, as the Postgres upserts do
    (`WHERE <table>.version < EXCLUDED.version`)."""
    held = rows.get(key)
    if held is None or held.version < row.version:
        rows[key] = row


class FakeTasks:
    def __init__(self) -> None:
        self.rows: dict[str, Task] = {}

    async def open_task(self, key: tuple[str, str]) -> Task | None:
        for task in self.rows.values():
            if task.dedupe_key == key and task.state in _OPEN:
                return task
        return None

    async def get(self, task_id: str, *, for_update: bool = False) -> Task | None:
        return self.rows.get(task_id)

    async def save(self, task: Task) -> None:
        _keep_newer(self.rows, task.task_id, task)

    async def listing(
        self, *, state: str | None, market_id: str | None, district: str | None, limit: int
    ) -> list[Task]:
        found = [
            t
            for t in self.rows.values()
            if (state is None or t.state == state)
            and (market_id is None or t.market_id == market_id)
            and (district is None or t.district == district)
        ]
        return sorted(found, key=lambda t: (t.due_at, t.task_id))[:limit]

    async def completed(self, query: LedgerQuery) -> list[Task]:
        found = [
            t
            for t in self.rows.values()
            if t.state == "completed"
            and t.completed_at is not None
            and query.window.holds(t.completed_at)
            and (query.after is None or _in_ledger(t) < (query.after.at, query.after.id))
            and query.market_id in (None, t.market_id)
            and query.district in (None, t.district)
        ]
        return sorted(found, key=_in_ledger, reverse=True)[: query.limit]

    async def past_due(self, now: datetime, limit: int) -> list[Task]:
        found = [
            t
            for t in self.rows.values()
            if t.state in _OPEN and t.overdue_at is None and t.due_at < now
        ]
        return sorted(found, key=lambda t: t.due_at)[:limit]

    async def last_inspections(self, merchant_ids: Sequence[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for t in self.rows.values():
            mid, at = t.merchant_id, t.completed_at
            if mid is not None and mid in merchant_ids and t.state == "completed" and at:
                found[mid] = max(found.get(mid, at), at)
        return found

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[Task]:
        found = [t for t in self.rows.values() if t.merchant_id in merchant_ids and t.is_open]
        return sorted(found, key=lambda t: t.task_id)

    async def open_of_market(self, market_id: str) -> list[Task]:
        found = [t for t in self.rows.values() if t.market_id == market_id and t.is_open]
        return sorted(found, key=lambda t: t.task_id)


def _in_ledger(task: Task) -> tuple[datetime, str]:
    """A completed task's place in the ledger's order, as the store's row comparison has it."""
    assert task.completed_at is not None
    return task.completed_at, task.task_id


def _in_order(order: RectificationOrder) -> tuple[datetime, str]:
    """An order's place in the rectification ledger, as the store's row comparison has it."""
    return order.ordered_at, order.rectification_id


class FakePhotos:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[Photo, bytes]] = {}

    async def add(self, photo: Photo, data: bytes) -> None:
        if photo.photo_id in self.rows:
            raise ValueError(f"photo {photo.photo_id} exists")
        self.rows[photo.photo_id] = (photo, data)

    def _by_upload(self, found: list[Photo]) -> list[Photo]:
        return sorted(found, key=lambda p: (p.uploaded_at, p.photo_id))

    async def of_task(self, task_id: str) -> list[Photo]:
        return self._by_upload(
            [
                p
                for p, _ in self.rows.values()
                if p.task_id == task_id and p.rectification_id is None
            ]
        )

    async def get(self, task_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        found = self.rows.get(photo_id)
        if found is None or found[0].task_id != task_id or found[0].rectification_id is not None:
            return None
        return found

    async def of_order(self, order_id: str) -> list[Photo]:
        return self._by_upload([p for p, _ in self.rows.values() if p.rectification_id == order_id])

    async def of_order_get(self, order_id: str, photo_id: str) -> tuple[Photo, bytes] | None:
        found = self.rows.get(photo_id)
        return found if found is not None and found[0].rectification_id == order_id else None


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[str, RectificationOrder] = {}

    async def get(self, order_id: str, *, for_update: bool = False) -> RectificationOrder | None:
        return self.rows.get(order_id)

    async def save(self, order: RectificationOrder) -> None:
        _keep_newer(self.rows, order.rectification_id, order)

    async def listing(
        self, *, state: str | None, district: str | None, limit: int
    ) -> list[RectificationOrder]:
        found = [
            o
            for o in self.rows.values()
            if (state is None or o.state == state) and (district is None or o.district == district)
        ]
        return sorted(found, key=lambda o: (o.ordered_at, o.rectification_id))[:limit]

    async def issued(self, query: LedgerQuery) -> list[RectificationOrder]:
        found = [
            o
            for o in self.rows.values()
            if query.window.holds(o.ordered_at)
            and (query.after is None or _in_order(o) < (query.after.at, query.after.id))
            and query.market_id in (None, o.market_id)
            and query.district in (None, o.district)
        ]
        return sorted(found, key=_in_order, reverse=True)[: query.limit]

    async def past_deadline(self, now: datetime, limit: int) -> list[RectificationOrder]:
        found = [
            o
            for o in self.rows.values()
            if o.state == "open" and o.overdue_at is None and o.deadline and o.deadline < now
        ]
        return sorted(found, key=lambda o: o.deadline or now)[:limit]

    async def open_of_merchants(self, merchant_ids: Sequence[str]) -> list[RectificationOrder]:
        found = [o for o in self.rows.values() if o.merchant_id in merchant_ids]
        return sorted((o for o in found if o.state == "open"), key=lambda o: o.rectification_id)

    async def open_of_market(self, market_id: str) -> list[RectificationOrder]:
        found = [o for o in self.rows.values() if o.market_id == market_id]
        return sorted((o for o in found if o.state == "open"), key=lambda o: o.rectification_id)


class FakeRegistry:
    def __init__(self) -> None:
        self.market_rows: dict[str, MarketInfo] = {}
        self.merchant_rows: dict[str, MerchantInfo] = {}

    async def markets(self) -> list[MarketInfo]:
        return list(self.market_rows.values())

    async def merchants(self) -> list[MerchantInfo]:
        return list(self.merchant_rows.values())

    async def put_market(self, market: MarketInfo) -> None:
        _keep_newer(self.market_rows, market.id, market)

    async def put_merchants(self, merchants: Sequence[MerchantInfo]) -> list[MerchantInfo]:
        assert len({m.id for m in merchants}) == len(merchants), "one snapshot per merchant"
        new = [m for m in merchants if m.id not in self.merchant_rows]
        for merchant in merchants:
            _keep_newer(self.merchant_rows, merchant.id, merchant)
        return new


class FakePlans:
    """Plans, joined to the registry view's merchants as the Postgres store joins its table."""

    def __init__(self, registry: FakeRegistry) -> None:
        self.rows: dict[str, PatrolPlan] = {}
        self.registry = registry

    async def get(self, merchant_id: str, *, for_update: bool = False) -> PatrolPlan | None:
        return self.rows.get(merchant_id)

    async def insert(self, plans: Sequence[PatrolPlan]) -> list[str]:
        stored = [p for p in plans if p.merchant_id not in self.rows]
        self.rows.update((p.merchant_id, p) for p in stored)
        return [p.merchant_id for p in stored]

    async def save(self, plan: PatrolPlan) -> None:
        if plan.merchant_id in self.rows:
            self.rows[plan.merchant_id] = plan

    async def due(self, now: datetime, limit: int) -> list[tuple[PatrolPlan, Placement]]:
        found = []
        for plan in sorted(self.rows.values(), key=lambda p: p.due_at):
            m = self.registry.merchant_rows.get(plan.merchant_id)
            if m is None or not patrolled(m.status):
                continue
            if plan.task_id is None and plan.due_at <= now:
                found.append((plan, Placement(m.market_id, m.district, m.stall_no, m.status)))
        return found[:limit]

    async def merchants_without_plan(self, limit: int) -> list[str]:
        return sorted(m for m in self.registry.merchant_rows if m not in self.rows)[:limit]


def fake_stores() -> Stores:
    registry = FakeRegistry()
    return Stores(FakeTasks(), FakePhotos(), FakeOrders(), FakePlans(registry), registry)
