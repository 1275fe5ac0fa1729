"""The inspection use cases: each one a transaction that loads what the rules need, applies a
pure rule from `domain`, and stores the changed values with their events (outbox).

Kafka handlers, HTTP routes and the clock call these; they never touch SQL or Kafka themselves.
`now` is the clock every rule is given: replace it (tests) to move time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from contracts.campaign import RenovationCheckFailed
from contracts.complaints import ComplaintAccepted
from contracts.credit import ScoreChanged
from contracts.honours import HonourDelisted, HonourListed
from contracts.people import Actor
from contracts.telemetry import RiskAcknowledged, RiskCleared, RiskEscalated, RiskRaised
from services.inspection.domain import (
    ComplaintTrigger,
    Decision,
    FindingReport,
    Outgoing,
    PatrolPlan,
    Policy,
    RectificationOrder,
    RenovationTrigger,
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
from services.inspection.domain.photos import DEFAULT_MAX_BYTES, Photo, accept_photo
from services.inspection.metrics import InspectionMetrics
from services.inspection.projections import Directory, MerchantInfo
from services.inspection.store import InspectionStore
from services.runtime import inbox
from services.runtime.app import Service
from services.runtime.auth import ALL_DISTRICTS, Principal
from services.runtime.errors import NotFound
from services.runtime.gauges import CountedGauges
from services.runtime.messaging import Delivery, PoisonMessage

log = logging.getLogger(__name__)
RISKS_CONSUMER = "inspection-risks"
COMPLAINTS_CONSUMER = "inspection-complaints"
HONOURS_CONSUMER = "inspection-honours"
RENOVATIONS_CONSUMER = "inspection-renovations"
RENOVATION_CHECK_FAILED = "registry.renovation.check_failed"
HONOUR_MODELS: dict[str, type[HonourListed] | type[HonourDelisted]] = {
    "credit.honour.listed": HonourListed,
    "credit.honour.delisted": HonourDelisted,
}
COMPLAINT_ACCEPTED = "complaints.complaint.accepted"
SCORE_CHANGED = "credit.score.changed"
RiskModel = type[RiskRaised] | type[RiskEscalated] | type[RiskCleared] | type[RiskAcknowledged]
RISK_MODELS: dict[str, RiskModel] = {
    "telemetry.risk.raised": RiskRaised,
    "telemetry.risk.escalated": RiskEscalated,
    "telemetry.risk.cleared": RiskCleared,
    "telemetry.risk.acknowledged": RiskAcknowledged,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def event_type(delivery: Delivery) -> str:
    """The CloudEvents `type` of a delivery, read before choosing the model to parse it with."""
    try:
        head = orjson.loads(delivery.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    found = head.get("type") if isinstance(head, dict) else None
    if not isinstance(found, str):
        raise PoisonMessage("type: missing")
    return found


def risk_trigger(delivery: Delivery) -> RiskTrigger | None:
    """The trigger a risk event carries; None for an event type this service does not know
    (the topic may grow new types; they are not ours to act on)."""
    model = RISK_MODELS.get(event_type(delivery))
    if model is None:
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


def complaint_trigger(delivery: Delivery) -> ComplaintTrigger | None:
    """The trigger of a `complaints.complaint.accepted`; None for the other complaint events
    (received, rejected, closed, overdue: none of them asks for an inspection)."""
    if event_type(delivery) != COMPLAINT_ACCEPTED:
        return None
    event = delivery.envelope(ComplaintAccepted)
    data = event.data
    return ComplaintTrigger(
        complaint_id=data.complaint_id,
        event_id=event.id,
        category=data.category,
        merchant_id=data.merchant_id,
        market_id=data.market_id,
        stall_no=data.stall_no,
        district=data.district,
        # The SLA counts from the acceptance: the regulator is on notice from then.
        at=data.accepted_at,
    )


def renovation_trigger(delivery: Delivery) -> RenovationTrigger | None:
    """The trigger of a `registry.renovation.check_failed`; None for the other events on
    `registry.campaign.v1` (the campaign, its milestones, renovation snapshots: none of them asks
    for an inspection)."""
    if event_type(delivery) != RENOVATION_CHECK_FAILED:
        return None
    event = delivery.envelope(RenovationCheckFailed)
    data = event.data
    return RenovationTrigger(
        check_id=data.check.check_id,
        project_id=data.project_id,
        event_id=event.id,
        correlation_id=event.correlationid,
        check_kind=data.check.kind,
        market_id=data.market_id,
        district=data.district,
        rectify_by=data.rectify_by,
        at=data.check.recorded_at,
    )


def score_change(delivery: Delivery) -> ScoreChanged | None:
    """The score of a `credit.score.changed`; None for another type on the topic."""
    if event_type(delivery) != SCORE_CHANGED:
        return None
    return delivery.envelope(ScoreChanged).data


def _scope(who: Principal, district: str) -> bool:
    return who.may_act_in(district)


def actor(who: Principal) -> Actor:
    """The person behind a request, as the task or order records them and its event carries."""
    return Actor.of(who.subject, who.display_name)


class Inspection:
    def __init__(
        self,
        service: Service,
        directory: Directory,
        policy: Policy,
        now: Callable[[], datetime] = utc_now,
        *,
        batch_limit: int = 500,
        photo_max_bytes: int = DEFAULT_MAX_BYTES,
        gauge_refresh_interval_s: float = 15.0,
    ) -> None:
        self.service, self.directory, self.policy = service, directory, policy
        self.now = now
        self.batch_limit = batch_limit
        self.photo_max_bytes = photo_max_bytes
        self.metrics = InspectionMetrics(service.metrics)
        # Recounted from the database: at start, periodically, and after each committed change.
        self.gauges = CountedGauges(
            "inspection", lambda: self.metrics.count(service.pool), gauge_refresh_interval_s
        )

    def _created(self, tasks: Iterable[Task | None]) -> None:
        for task in tasks:
            if task is not None:
                self.metrics.tasks.labels(task.reason_kind, "created").inc()
                self.gauges.poke()

    async def _publish(self, conn: asyncpg.Connection, events: Iterable[Outgoing]) -> None:
        items = [e.outbox_item() for e in events]
        if items:
            await self.service.enqueue_many(conn, items)

    # -- triggers --------------------------------------------------------------------------------
    async def on_risk(self, delivery: Delivery) -> None:
        trigger = risk_trigger(delivery)
        if trigger is not None:
            await self._on_trigger(delivery, trigger, RISKS_CONSUMER, "risk")

    async def on_complaint(self, delivery: Delivery) -> None:
        trigger = complaint_trigger(delivery)
        if trigger is not None:
            await self._on_trigger(delivery, trigger, COMPLAINTS_CONSUMER, "complaint")

    async def on_campaign(self, delivery: Delivery) -> None:
        """`registry.campaign.v1`: a failed renovation check opens (or joins) the market's
        `renovation` task, exactly once (inbox, and a task id derived from the event)."""
        trigger = renovation_trigger(delivery)
        if trigger is not None:
            await self._on_trigger(delivery, trigger, RENOVATIONS_CONSUMER, "renovation")

    async def _on_trigger(
        self,
        delivery: Delivery,
        trigger: RiskTrigger | ComplaintTrigger | RenovationTrigger,
        consumer: str,
        label: str,
    ) -> None:
        async with self.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                consumer,
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
        self.metrics.decisions.labels(label, decision.action).inc()
        if decision.task is not None:
            self.gauges.poke()  # a new task, or one whose due time may have moved
        if decision.action == "create" and decision.task is not None:
            self._created([decision.task])
            self.metrics.trigger_to_task.labels(label).observe(
                max(0.0, (decision.task.created_at - trigger.at).total_seconds())
            )
        log.info(
            f"{label} handled",
            extra={
                f"{label}_id": trigger.ref_id,
                "action": decision.action,
                "reason": decision.reason,
                "task_id": decision.task.task_id if decision.task else None,
            },
        )

    # -- patrol plans ----------------------------------------------------------------------------
    async def _plan(self, store: InspectionStore, merchant_id: str, now: datetime) -> PatrolPlan:
        """The merchant's plan, locked; started (no grade: the default) if it has none."""
        plan = await store.plan(merchant_id, for_update=True)
        if plan is not None:
            return plan
        started = PatrolPlan.start(
            merchant_id, None, await store.last_inspection(merchant_id), now, self.policy
        )
        if await store.insert_plan(started):
            self.metrics.plans.labels("started").inc()
            return started
        # Another transaction started it meanwhile (a score and a snapshot at once): use theirs.
        plan = await store.plan(merchant_id, for_update=True)
        assert plan is not None, "a plan that conflicted on insert exists"
        return plan

    async def start_plan(self, conn: asyncpg.Connection, merchant: MerchantInfo) -> None:
        """A merchant's first registry snapshot: its patrol plan starts (in that transaction)."""
        await self._plan(InspectionStore(conn), merchant.id, self.now())

    async def on_score(self, delivery: Delivery) -> None:
        """`credit.score.changed`: re-plan the merchant's patrols under its grade.

        The topic is compacted and may be read again from the start: the plan keeps the score
        version its grade came from and ignores anything not newer, so no inbox is needed.
        """
        score = score_change(delivery)
        if score is None:
            return
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            plan = await self._plan(store, score.merchant_id, self.now())
            replanned = plan.regrade(score.grade, self.policy, version=score.version)
            if replanned != plan:
                await store.save_plan(replanned)
        change = "stale" if replanned == plan else "regraded"
        self.metrics.plans.labels(change).inc()
        log.info(
            "score handled",
            extra={
                "merchant_id": score.merchant_id,
                "grade": score.grade,
                "score_version": score.version,
                "change": change,
                "due_at": replanned.due_at.isoformat(),
            },
        )

    async def on_honour(self, delivery: Delivery) -> None:
        """`credit.honours.v1`: a merchant on the month's warning list (黑榜) is patrolled at the
        warning list's interval (D's) until a `credit.honour.delisted` from that list; then its
        grade's interval is back. Exactly once (inbox); the plan also keeps the months it was
        listed and delisted in and ignores anything not newer. Honours and markets: nothing."""
        model = HONOUR_MODELS.get(event_type(delivery))
        if model is None:
            return
        event = delivery.envelope(model)
        data = event.data
        if data.entity != "merchant" or data.list != "warning":
            return
        listed = isinstance(data, HonourListed)
        async with self.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                HONOURS_CONSUMER,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            store = InspectionStore(conn)
            plan = await self._plan(store, data.entity_id, self.now())
            if listed:
                changed = plan.warn(data.month, self.policy)
            else:
                changed = plan.unwarn(data.month, self.policy)
            if changed != plan:
                await store.save_plan(changed)
        change = "stale" if changed == plan else ("warned" if listed else "delisted")
        self.metrics.plans.labels(change).inc()
        log.info(
            "warning list handled",
            extra={
                "merchant_id": data.entity_id,
                "month": data.month,
                "listed": listed,
                "change": change,
                "due_at": changed.due_at.isoformat(),
            },
        )

    async def _inspected(self, store: InspectionStore, task: Task) -> None:
        """A completed task about a merchant counts as its inspection: the plan re-anchors (and a
        completed patrol task frees it to come due again)."""
        if task.merchant_id is None or task.completed_at is None:
            return
        plan = await self._plan(store, task.merchant_id, task.completed_at)
        moved = plan.inspected(task.completed_at, self.policy, task.task_id)
        if moved != plan:
            await store.save_plan(moved)
            self.metrics.plans.labels("inspected").inc()

    async def check_patrols(self, _: Service | None = None) -> int:
        """Start plans for merchants without one, then make a patrol task for each plan that
        came due. Returns how many tasks were made.

        Runs as a periodic job under the runtime's advisory lock; the row locks (and the one
        open patrol task per merchant) make a concurrent direct call harmless too.

        Merchant status: a `suspended` merchant is still patrolled — suspension is already
        followed by a re-inspection task, whose completion re-anchors the plan, so a patrol
        rarely comes due then, and if it does the visit is still worth making. A
        `licence_expired` merchant is not: it may not trade (市场准入), so a routine visit is
        the licensing desk's business, not the task force's; its plan stays due and the patrol
        is made once the registry shows the licence renewed. Risks and complaints about it
        still make tasks (evidence it trades anyway).
        """
        now = self.now()
        made: list[tuple[PatrolPlan, Decision]] = []
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            # Merchants projected before plans existed, or whose plan start was lost: lazily.
            for merchant_id in await store.merchants_without_plan(self.batch_limit):
                await self._plan(store, merchant_id, now)
            for plan, place in await store.due_plans(now, self.batch_limit):
                trigger = plan.trigger(
                    market_id=place.market_id, stall_no=place.stall_no, district=place.district
                )
                open_task = await store.open_task(task_key(trigger))
                decision = decide(
                    open_task,
                    trigger,
                    self.policy,
                    now,
                    task_force=self.directory.task_force(place.market_id),
                )
                if decision.task is not None:
                    await store.save_task(decision.task)
                    await self._publish(conn, decision.events)
                    pending = decision.task.task_id
                else:
                    # A patrol task is already open (made before the plan knew it): wait for it.
                    assert open_task is not None
                    pending = open_task.task_id
                await store.save_plan(plan.task_created(pending))
                made.append((plan, decision))
        created = [d.task for _, d in made if d.task is not None]
        for plan, decision in made:
            self.metrics.decisions.labels("patrol", decision.action).inc()
            if decision.task is not None:
                self.metrics.plans.labels("task_created").inc()
                self.metrics.trigger_to_task.labels("patrol").observe(
                    max(0.0, (decision.task.created_at - plan.due_at).total_seconds())
                )
        self._created(created)
        if created:
            log.info("patrols due", extra={"count": len(created), "now": now.isoformat()})
        return len(created)

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

    async def task(self, who: Principal, task_id: str) -> Task:
        """One task, in the caller's district (404 otherwise, as for the list)."""
        async with self.service.pool.acquire() as conn:
            task = await InspectionStore(conn).task(task_id)
        if task is None or not _scope(who, task.district):
            raise NotFound(f"no task {task_id!r}")
        return task

    # -- photos ----------------------------------------------------------------------------------
    async def add_photo(self, who: Principal, task_id: str, data: bytes) -> Photo:
        """Attach a photo to an open task of the caller's district (the task row is locked, so
        two uploads at once cannot pass the limit together)."""
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            task = await self._task(store, who, task_id)
            photo = accept_photo(
                task,
                data,
                photo_id=f"pho_{uuid.uuid4().hex[:16]}",
                existing=len(await store.photos(task_id)),
                by=actor(who),
                now=self.now(),
                max_bytes=self.photo_max_bytes,
            )
            await store.add_photo(photo, data)
        log.info(
            "photo attached",
            extra={"task_id": task_id, "photo_id": photo.photo_id, "size": photo.size},
        )
        return photo

    async def photos(self, who: Principal, task_id: str) -> list[Photo]:
        async with self.service.pool.acquire() as conn:
            store = InspectionStore(conn)
            task = await store.task(task_id)
            if task is None or not _scope(who, task.district):
                raise NotFound(f"no task {task_id!r}")
            return await store.photos(task_id)

    async def photo(self, who: Principal, task_id: str, photo_id: str) -> tuple[Photo, bytes]:
        async with self.service.pool.acquire() as conn:
            found = await InspectionStore(conn).photo(task_id, photo_id)
        # Scoped by the photo's own district (its task's): another district's is absent.
        if found is None or not _scope(who, found[0].district):
            raise NotFound(f"no photo {photo_id!r} of task {task_id!r}")
        return found

    async def claim(self, who: Principal, task_id: str) -> Task:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            change = claim(await self._task(store, who, task_id), by=actor(who), now=self.now())
            if change.events:
                await store.save_task(change.task)
                await self._publish(conn, change.events)
        if change.events:
            self.metrics.tasks.labels(change.task.reason_kind, "claimed").inc()
            self.gauges.poke()
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
        photos: Sequence[str] = (),
    ) -> tuple[Task, RectificationOrder | None]:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = InspectionStore(conn)
            task = await self._task(store, who, task_id)
            attached = [p.photo_id for p in await store.photos(task_id)] if photos else []
            done = complete(
                task,
                by=actor(who),
                outcome=outcome,
                findings=findings,
                departments=departments,
                note=note,
                now=self.now(),
                policy=self.policy,
                task_force=self.directory.task_force(task.market_id),
                photos=photos,
                task_photos=attached,
            )
            await store.save_task(done.task)
            if done.order is not None:
                await store.save_order(done.order)
            if done.reinspection is not None:
                await store.save_task(done.reinspection)
            await self._inspected(store, done.task)
            await self._publish(conn, done.events)
        self.metrics.tasks.labels(done.task.reason_kind, "completed").inc()
        self.gauges.poke()
        if done.task.completed_at is not None:
            self.metrics.completion.labels(done.task.reason_kind).observe(
                (done.task.completed_at - done.task.created_at).total_seconds()
            )
        self._created([done.reinspection])
        return done.task, done.order

    async def patrol_plan(self, who: Principal, merchant_id: str) -> dict[str, Any]:
        """The merchant's patrol plan, in the caller's district; 404 otherwise."""
        merchant = self.directory.merchants.get(merchant_id)
        if merchant is None or not _scope(who, merchant.district):
            raise NotFound(f"no patrol plan for merchant {merchant_id!r}")
        async with self.service.pool.acquire() as conn:
            plan = await InspectionStore(conn).plan(merchant_id)
        if plan is None:
            raise NotFound(f"no patrol plan for merchant {merchant_id!r}")
        interval = self.policy.patrol_every(plan.grade, warned=plan.warned)
        if plan.warned:
            reason = "warning_list"
        else:
            reason = "grade" if plan.grade is not None else "default_grade"
        return {
            **plan.to_dict(),
            # The grade whose interval applies: the warning list's (D) while on it.
            "effective_grade": self.policy.patrol_grade(plan.grade, warned=plan.warned),
            "interval_days": _days(interval),
            # Why this interval: the credit grade, the default (no grade yet), or the warning
            # list (黑榜) of `warning_list` (the month).
            "interval_reason": reason,
            "merchant_status": merchant.status,
            # licence_expired: the plan waits (see check_patrols); the patrol follows renewal.
            "patrolled": merchant.status != "licence_expired",
        }

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
                by=actor(who),
                now=self.now(),
                policy=self.policy,
                reinspection=reinspection,
                task_force=self.directory.task_force(order.market_id),
            )
            await store.save_order(checked.order)
            for task in (checked.closed_task, checked.reinspection):
                if task is not None:
                    await store.save_task(task)
            if checked.closed_task is not None:
                # A re-inspection closed by the check is an inspection of the merchant too.
                await self._inspected(store, checked.closed_task)
            await self._publish(conn, checked.events)
        if checked.closed_task is not None:
            self.metrics.tasks.labels("reinspection", "completed").inc()
        self.gauges.poke()
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
            self.gauges.poke()
            log.info("overdue marked", extra={"count": marked, "now": now.isoformat()})
        return marked


def _days(span: timedelta) -> int | float:
    days = span / timedelta(days=1)
    return int(days) if days.is_integer() else round(days, 4)


def district_scope(who: Principal) -> str | None:
    """The district a listing is limited to; None for the whole city (admin, `*` tokens)."""
    return None if who.role == "admin" or who.district == ALL_DISTRICTS else who.district


def task_out(task: Task) -> dict[str, Any]:
    return {"id": task.task_id, **task.to_dict()}


def order_out(order: RectificationOrder) -> dict[str, Any]:
    return {"id": order.rectification_id, **order.to_dict()}
