"""The inspection use cases: each one a transaction that loads what the rules need, applies a
pure rule from `domain`, and stores the changed values with their events (outbox).

Kafka handlers, HTTP routes and the clock call these; they never touch SQL or Kafka themselves.
`now` is the clock every rule is given: replace it (tests) to move time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from contracts.telemetry import RiskAcknowledged, RiskCleared, RiskEscalated, RiskRaised
from services.inspection.domain import (
    FindingReport,
    Outgoing,
    Policy,
    RectificationOrder,
    RiskTrigger,
    Task,
    claim,
    complete,
    decide,
    mark_rectification_overdue,
    mark_task_overdue,
    task_key,
    verify,
)
from services.inspection.metrics import InspectionMetrics
from services.inspection.projections import Directory
from services.inspection.store import InspectionStore
from services.runtime import inbox
from services.runtime.app import Service
from services.runtime.auth import ALL_DISTRICTS, Principal
from services.runtime.errors import NotFound
from services.runtime.messaging import Delivery, PoisonMessage

log = logging.getLogger(__name__)
RISKS_CONSUMER = "inspection-risks"
RiskModel = type[RiskRaised] | type[RiskEscalated] | type[RiskCleared] | type[RiskAcknowledged]
RISK_MODELS: dict[str, RiskModel] = {
    "telemetry.risk.raised": RiskRaised,
    "telemetry.risk.escalated": RiskEscalated,
    "telemetry.risk.cleared": RiskCleared,
    "telemetry.risk.acknowledged": RiskAcknowledged,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def risk_trigger(delivery: Delivery) -> RiskTrigger | None:
    """The trigger a risk event carries; None for an event type this service does not know
    (the topic may grow new types; they are not ours to act on)."""
    try:
        head = orjson.loads(delivery.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    event_type = head.get("type") if isinstance(head, dict) else None
    model = RISK_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        if not isinstance(event_type, str):
            raise PoisonMessage("type: missing")
        return None
    event = delivery.envelope(model)
    data = event.data
    # Due dates count from when it happened (event time), not from when we got to it.
    if isinstance(data, RiskEscalated):
        at = data.evidence.last_ts
    elif isinstance(data, RiskCleared):
        at = data.cleared_at
    elif isinstance(data, RiskAcknowledged):
        at = data.acknowledged_at
    else:
        at = data.raised_at
    return RiskTrigger(
        risk_id=data.risk_id,
        event_id=event.id,
        rule=data.rule,
        category=data.category,
        severity=data.severity,
        transition=event.type.rsplit(".", 1)[1],  # type: ignore[arg-type]
        merchant_id=data.merchant_id,
        terminal_id=data.terminal_id,
        market_id=data.market_id,
        stall_no=data.stall_no,
        district=data.district,
        at=at,
    )


def _scope(who: Principal, district: str) -> bool:
    return who.may_act_in(district)


class Inspection:
    def __init__(
        self,
        service: Service,
        directory: Directory,
        policy: Policy,
        now: Callable[[], datetime] = utc_now,
        *,
        batch_limit: int = 500,
    ) -> None:
        self.service, self.directory, self.policy = service, directory, policy
        self.now = now
        self.batch_limit = batch_limit
        self.metrics = InspectionMetrics(service.metrics)

    def _created(self, tasks: Iterable[Task | None]) -> None:
        for task in tasks:
            if task is not None:
                self.metrics.tasks.labels(task.reason_kind, "created").inc()

    async def _publish(self, conn: asyncpg.Connection, events: Iterable[Outgoing]) -> None:
        items = [e.outbox_item() for e in events]
        if items:
            await self.service.enqueue_many(conn, items)

    # -- triggers --------------------------------------------------------------------------------
    async def on_risk(self, delivery: Delivery) -> None:
        trigger = risk_trigger(delivery)
        if trigger is None:
            return
        async with self.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                RISKS_CONSUMER,
                trigger.event_id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            store = InspectionStore(conn)
            decision = decide(
                await store.open_task(task_key(trigger)),
                trigger,
                self.policy,
                self.now(),
                task_force=self.directory.task_force(trigger.market_id),
            )
            if decision.task is not None:
                await store.save_task(decision.task)
            await self._publish(conn, decision.events)
        self.metrics.decisions.labels("risk", decision.action).inc()
        if decision.action == "create" and decision.task is not None:
            self._created([decision.task])
            self.metrics.trigger_to_task.labels("risk").observe(
                max(0.0, (decision.task.created_at - trigger.at).total_seconds())
            )
        log.info(
            "risk handled",
            extra={
                "risk_id": trigger.risk_id,
                "action": decision.action,
                "reason": decision.reason,
                "task_id": decision.task.task_id if decision.task else None,
            },
        )

    # -- work ------------------------------------------------------------------------------------
    async def tasks(
        self, who: Principal, *, state: str | None, market_id: str | None, limit: int
    ) -> list[Task]:
        async with self.service.pool.acquire() as conn:
            return await InspectionStore(conn).tasks(
                state=state, market_id=market_id, district=district_scope(who), limit=limit
            )

    async def _task(self, store: InspectionStore, who: Principal, task_id: str) -> Task:
        task = await store.task(task_id, for_update=True)
        # Another district's task answers as absent: its existence is not the caller's business.
        if task is None or not _scope(who, task.district):
            raise NotFound(f"no task {task_id!r}")
        return task

    async def claim(self, who: Principal, task_id: str) -> Task:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            change = claim(await self._task(store, who, task_id), by=who.subject, now=self.now())
            if change.events:
                await store.save_task(change.task)
                await self._publish(conn, change.events)
        if change.events:
            self.metrics.tasks.labels(change.task.reason_kind, "claimed").inc()
        return change.task

    async def complete(
        self,
        who: Principal,
        task_id: str,
        *,
        outcome: str,
        findings: Sequence[FindingReport],
        departments: Sequence[str],
        note: str | None,
    ) -> tuple[Task, RectificationOrder | None]:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            task = await self._task(store, who, task_id)
            done = complete(
                task,
                by=who.subject,
                outcome=outcome,
                findings=findings,
                departments=departments,
                note=note,
                now=self.now(),
                policy=self.policy,
                task_force=self.directory.task_force(task.market_id),
            )
            await store.save_task(done.task)
            if done.order is not None:
                await store.save_order(done.order)
            if done.reinspection is not None:
                await store.save_task(done.reinspection)
            await self._publish(conn, done.events)
        self.metrics.tasks.labels(done.task.reason_kind, "completed").inc()
        if done.task.completed_at is not None:
            self.metrics.completion.labels(done.task.reason_kind).observe(
                (done.task.completed_at - done.task.created_at).total_seconds()
            )
        self._created([done.reinspection])
        return done.task, done.order

    async def orders(
        self, who: Principal, *, state: str | None, limit: int
    ) -> list[RectificationOrder]:
        async with self.service.pool.acquire() as conn:
            return await InspectionStore(conn).orders(
                state=state, district=district_scope(who), limit=limit
            )

    async def verify(self, who: Principal, order_id: str, *, passed: bool) -> RectificationOrder:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            order = await store.order(order_id, for_update=True)
            if order is None or not _scope(who, order.district):
                raise NotFound(f"no rectification {order_id!r}")
            reinspection = None
            if order.reinspection_task_id is not None:
                reinspection = await store.task(order.reinspection_task_id, for_update=True)
            checked = verify(
                order,
                passed=passed,
                by=who.subject,
                now=self.now(),
                policy=self.policy,
                reinspection=reinspection,
                task_force=self.directory.task_force(order.market_id),
            )
            await store.save_order(checked.order)
            for task in (checked.closed_task, checked.reinspection):
                if task is not None:
                    await store.save_task(task)
            await self._publish(conn, checked.events)
        if checked.closed_task is not None:
            self.metrics.tasks.labels("reinspection", "completed").inc()
        self._created([checked.reinspection])
        return checked.order

    # -- the clock -------------------------------------------------------------------------------
    async def check_clock(self, _: Service | None = None) -> int:
        """Mark what is past due (tasks) or past deadline (orders) as overdue, each once.

        Returns how many were marked. Runs as a periodic job under the runtime's advisory lock;
        the row locks make a concurrent direct call harmless too.
        """
        now = self.now()
        marked = 0
        tasks_marked = 0
        created: list[Task | None] = []
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            for task in await store.tasks_past_due(now, self.batch_limit):
                change = mark_task_overdue(task, now)
                if change is not None:
                    await store.save_task(change.task)
                    await self._publish(conn, change.events)
                    marked += 1
                    tasks_marked += 1
            for order in await store.orders_past_deadline(now, self.batch_limit):
                escalation = mark_rectification_overdue(
                    order, now, self.policy, task_force=self.directory.task_force(order.market_id)
                )
                if escalation is not None:
                    await store.save_order(escalation.order)
                    if escalation.reinspection is not None:
                        await store.save_task(escalation.reinspection)
                    await self._publish(conn, escalation.events)
                    created.append(escalation.reinspection)
                    marked += 1
        self.metrics.overdue.labels("task").inc(tasks_marked)
        self.metrics.overdue.labels("rectification").inc(marked - tasks_marked)
        self._created(created)
        if marked:
            log.info("overdue marked", extra={"count": marked, "now": now.isoformat()})
        return marked


def district_scope(who: Principal) -> str | None:
    """The district a listing is limited to; None for the whole city (admin, `*` tokens)."""
    return None if who.role == "admin" or who.district == ALL_DISTRICTS else who.district


def task_out(task: Task) -> dict[str, Any]:
    return {"id": task.task_id, **task.to_dict()}


def order_out(order: RectificationOrder) -> dict[str, Any]:
    return {"id": order.rectification_id, **order.to_dict()}
