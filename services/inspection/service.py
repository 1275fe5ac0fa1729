"""The inspection use cases: each one a unit of work that loads what the rules need, applies a
pure rule from `domain`, and stores the changed values with their events.

Kafka handlers (`handlers.py`), HTTP routes (`api.py`) and the periodic jobs (`app.py`) call
these; they never touch SQL or Kafka themselves. `now` is the clock every rule is given: replace
it (tests) to move time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from contracts.inspection import WithdrawalReason
from contracts.registry import MARKET_CLOSED, MERCHANT_LEFT, MarketUpserted, MerchantUpserted
from services.inspection.domain import (
    Catalogue,
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
    lapse,
    mark_rectification_overdue,
    mark_task_overdue,
    ordered_by_finding,
    task_key,
    verify,
    withdraw,
)
from services.inspection.domain.errors import InvalidCompletion, InvalidVerification
from services.inspection.domain.lifecycle import completion_problems, verification_problems
from services.inspection.domain.patrol import patrolled
from services.inspection.domain.photos import (
    DEFAULT_MAX_BYTES,
    Photo,
    accept_photo,
    awaiting_check,
)
from services.inspection.events import item
from services.inspection.projections import Directory
from services.inspection.store import LedgerQuery, MerchantInfo, Stores
from services.runtime import serial
from services.runtime.auth import Principal, actor, within_or_absent
from services.runtime.clock import Clock, utc_now
from services.runtime.failures import NotFound
from services.runtime.ids import new_id
from services.runtime.messaging import Delivery
from services.runtime.paging import Position, Window
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
Work = UnitOfWork[Stores]
HONOURS_CONSUMER = "inspection-honours"
OBJECTIONS_CONSUMER = "inspection-objections"


class Observer:
    """What the use cases report besides their result: counters and gauge pokes. The running
    service hands `metrics.InspectionObserver`; this one, for tests, notes nothing."""

    def decided(self, label: str, decision: Decision, lag_s: float | None) -> None: ...
    def created(self, task: Task) -> None: ...
    def task(self, reason_kind: str, transition: str) -> None: ...
    def completed(self, task: Task) -> None: ...
    def plan(self, change: str) -> None: ...
    def overdue(self, entity: str, count: int) -> None: ...
    def changed(self) -> None: ...


def _emit(work: Work, events: Iterable[Outgoing]) -> None:
    work.emit(*(item(e) for e in events))


def _days(span: timedelta) -> int | float:
    days = span / timedelta(days=1)
    return int(days) if days.is_integer() else round(days, 4)


class InspectionService:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: Directory,
        policy: Policy,
        now: Clock = utc_now,
        *,
        catalogue: Catalogue,
        observer: Observer | None = None,
        batch_limit: int = 500,
        photo_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.uow, self.directory, self.policy, self.now = uow, directory, policy, now
        self.catalogue = catalogue
        self.observe = observer or Observer()
        self.batch_limit = batch_limit
        self.photo_max_bytes = photo_max_bytes

    def _created(self, tasks: Iterable[Task | None]) -> None:
        for task in tasks:
            if task is not None:
                self.observe.created(task)

    # -- triggers --------------------------------------------------------------------------------
    async def trigger(
        self,
        trigger: RiskTrigger | ComplaintTrigger | RenovationTrigger,
        delivery: Delivery,
        consumer: str,
        label: str,
    ) -> None:
        """A risk, an accepted complaint or a failed renovation check opens a task or joins the
        open one, exactly once (the inbox, and task ids derived from the event)."""
        async with self.uow() as work:
            if not await work.claim(consumer, trigger.event_id, delivery):
                return
            decision = decide(
                await work.stores.tasks.open_task(task_key(trigger)),
                trigger,
                self.policy,
                self.now(),
                task_force=self.directory.task_force(trigger.market_id),
                merchant_left=self._left(trigger.merchant_id),
                market_closed=self._closed(trigger.market_id),
            )
            if decision.task is not None:
                await work.stores.tasks.save(decision.task)
            _emit(work, decision.events)
        lag = None
        if decision.action == "create" and decision.task is not None:
            lag = max(0.0, (decision.task.created_at - trigger.at).total_seconds())
        self.observe.decided(label, decision, lag)
        if decision.task is not None:
            self.observe.changed()  # a new task, or one whose due time may have moved
        if lag is not None:
            self._created([decision.task])
        log.info(
            f"{label} handled",
            extra={
                f"{label}_id": trigger.ref_id,
                "action": decision.action,
                "reason": decision.reason,
                "task_id": decision.task.task_id if decision.task else None,
            },
        )

    def _left(self, merchant_id: str | None) -> bool:
        """Whether the registry says this merchant left its stall (退出经营)."""
        merchant = self.directory.merchants.get(merchant_id or "")
        return merchant is not None and merchant.status == MERCHANT_LEFT

    def _closed(self, market_id: str) -> bool:
        """Whether the registry says this market closed for good (停业)."""
        market = self.directory.markets.get(market_id)
        return market is not None and market.status == MARKET_CLOSED

    # -- patrol plans ----------------------------------------------------------------------------
    async def _plan(self, work: Work, merchant_id: str, now: datetime) -> PatrolPlan:
        """The merchant's plan, locked; started (no grade: the default) if it has none."""
        plans = work.stores.plans
        plan = await plans.get(merchant_id, for_update=True)
        if plan is not None:
            return plan
        last = await work.stores.tasks.last_inspections([merchant_id])
        started = PatrolPlan.start(merchant_id, None, last.get(merchant_id), now, self.policy)
        if await plans.insert([started]):
            self.observe.plan("started")
            return started
        # Another transaction started it meanwhile (a score and a snapshot at once): use theirs.
        plan = await plans.get(merchant_id, for_update=True)
        assert plan is not None, "a plan that conflicted on insert exists"
        return plan

    async def start_plans(self, work: Work, merchants: Sequence[MerchantInfo]) -> None:
        """Merchants' first registry snapshots: their patrol plans start, in that unit of work
        (a whole batch of the view in two statements); a merchant that has a plan already (a
        score came first) keeps it."""
        now, ids = self.now(), [m.id for m in merchants]
        last = await work.stores.tasks.last_inspections(ids)
        started = [PatrolPlan.start(i, None, last.get(i), now, self.policy) for i in ids]
        for _ in await work.stores.plans.insert(started):
            self.observe.plan("started")

    async def merchants_seen(self, snapshots: Sequence[MerchantUpserted]) -> None:
        """Registry snapshots of merchants, a batch in one unit of work: the view takes them; a
        merchant's first snapshot starts its patrol plan, its leaving ends its open work."""
        await self.directory.on_merchants(
            snapshots, on_new=self.start_plans, on_left=self.merchants_left
        )

    async def merchants_left(self, work: Work, merchants: Sequence[MerchantInfo]) -> None:
        """Merchants who left their stalls (退出经营), in the unit of work that stores their
        snapshots: nobody is there to rectify or inspect, and an inspector sent there would find
        the next tenant. Their open orders lapse and their tasks still to do (re-inspections
        among them) are withdrawn; what was done stays as it was."""
        ids = [m.id for m in merchants]
        stores = work.stores
        orders, tasks = (
            await stores.orders.open_of_merchants(ids),
            await stores.tasks.open_of_merchants(ids),
        )
        await self._end_work(work, orders, tasks, "merchant_left", {"merchants": ids})

    async def market_seen(self, data: MarketUpserted) -> None:
        """A registry snapshot of a market: the view takes it; its closing (停业) ends what is
        still open about it."""
        await self.directory.on_market(data, on_closed=self.market_closed)

    async def market_closed(self, work: Work, market_id: str) -> None:
        """A market closed for good (停业), in the unit of work that stores its snapshot: its
        open orders lapse and its tasks still to do are withdrawn (the market's own — a
        crowding risk's, a failed renovation check's — its merchants' having ended as each
        left)."""
        stores = work.stores
        orders, tasks = (
            await stores.orders.open_of_market(market_id),
            await stores.tasks.open_of_market(market_id),
        )
        await self._end_work(work, orders, tasks, "market_closed", {"market_id": market_id})

    async def finding_corrected(
        self,
        merchant_id: str,
        *,
        chain: str,
        found_at: datetime,
        event_id: str,
        delivery: Delivery,
    ) -> int:
        """The district found an inspection's finding about the merchant wrong (信用异议 decided
        `corrected`; `chain` and `found_at` name the inspection, see `ordered_by_finding`): there
        is nothing to rectify, so the orders it made lapse (`finding_corrected`) and their
        re-inspections still to do are withdrawn. Exactly once (inbox); an order verified or
        lapsed already stays as it is. How many orders lapsed."""
        async with self.uow() as work:
            if not await work.claim(OBJECTIONS_CONSUMER, event_id, delivery):
                return 0
            stores = work.stores
            orders = ordered_by_finding(
                await stores.orders.open_of_merchants([merchant_id]),
                chain=chain,
                found_at=found_at,
            )
            tasks = [
                task
                for o in orders
                if o.reinspection_task_id is not None
                and (task := await stores.tasks.get(o.reinspection_task_id)) is not None
            ]
            await self._end_work(
                work, orders, tasks, "finding_corrected", {"merchant_id": merchant_id}
            )
        return len(orders)

    async def _end_work(
        self,
        work: Work,
        orders: Sequence[RectificationOrder],
        tasks: Sequence[Task],
        reason: WithdrawalReason,
        about: dict[str, Any],
    ) -> None:
        """Lapse the orders, then withdraw the tasks (an order's re-inspection among them)."""
        now, lapsed, withdrawn = self.now(), 0, 0
        for order in orders:
            ended = lapse(order, reason, now)
            if ended is not None:
                await work.stores.orders.save(ended.order)
                _emit(work, ended.events)
                lapsed += 1
        for task in tasks:
            change = withdraw(task, reason, now)
            if change is not None:
                await work.stores.tasks.save(change.task)
                _emit(work, change.events)
                self.observe.task(task.reason_kind, "withdrawn")
                withdrawn += 1
        if lapsed or withdrawn:
            self.observe.changed()
            log.info(
                "open work ended",
                extra={"reason": reason, "orders_lapsed": lapsed, "tasks_withdrawn": withdrawn}
                | about,
            )

    async def regrade(self, merchant_id: str, grade: str, version: int) -> None:
        """`credit.score.changed`: re-plan the merchant's patrols under its grade.

        The topic is compacted and may be read again from the start: the plan keeps the score
        version its grade came from and ignores anything not newer, so no inbox is needed.
        """
        async with self.uow() as work:
            plan = await self._plan(work, merchant_id, self.now())
            replanned = plan.regrade(grade, self.policy, version=version)
            if replanned != plan:
                await work.stores.plans.save(replanned)
        change = "stale" if replanned == plan else "regraded"
        self._replanned("score handled", change, replanned, grade=grade, score_version=version)

    async def warning_list(
        self, merchant_id: str, month: str, *, listed: bool, event_id: str, delivery: Delivery
    ) -> None:
        """A merchant on the month's warning list (黑榜) is patrolled at the warning list's
        interval (D's) until delisted from that list; then its grade's interval is back. Exactly
        once (inbox); the plan also keeps the months it was listed and delisted in and ignores
        anything not newer."""
        async with self.uow() as work:
            if not await work.claim(HONOURS_CONSUMER, event_id, delivery):
                return
            plan = await self._plan(work, merchant_id, self.now())
            changed = plan.warn(month, self.policy) if listed else plan.unwarn(month, self.policy)
            if changed != plan:
                await work.stores.plans.save(changed)
        change = "stale" if changed == plan else ("warned" if listed else "delisted")
        self._replanned("warning list handled", change, changed, month=month, listed=listed)

    def _replanned(self, message: str, change: str, plan: PatrolPlan, **facts: Any) -> None:
        self.observe.plan(change)
        log.info(
            message,
            extra={
                "merchant_id": plan.merchant_id,
                **facts,
                "change": change,
                "due_at": plan.due_at.isoformat(),
            },
        )

    async def _inspected(self, work: Work, task: Task) -> None:
        """A completed task about a merchant counts as its inspection: the plan re-anchors (and a
        completed patrol task frees it to come due again)."""
        if task.merchant_id is None or task.completed_at is None:
            return
        plan = await self._plan(work, task.merchant_id, task.completed_at)
        moved = plan.inspected(task.completed_at, self.policy, task.task_id)
        if moved != plan:
            await work.stores.plans.save(moved)
            self.observe.plan("inspected")

    async def check_patrols(self) -> int:
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
        still make tasks (evidence it trades anyway). A `left` merchant (退出经营) is patrolled
        no more.
        """
        now = self.now()
        made: list[tuple[PatrolPlan, Decision]] = []
        async with self.uow() as work:
            stores = work.stores
            # Merchants projected before plans existed, or whose plan start was lost: lazily.
            for merchant_id in await stores.plans.merchants_without_plan(self.batch_limit):
                await self._plan(work, merchant_id, now)
            for plan, place in await stores.plans.due(now, self.batch_limit):
                trigger = plan.trigger(
                    market_id=place.market_id, stall_no=place.stall_no, district=place.district
                )
                open_task = await stores.tasks.open_task(task_key(trigger))
                decision = decide(
                    open_task,
                    trigger,
                    self.policy,
                    now,
                    task_force=self.directory.task_force(place.market_id),
                )
                if decision.task is not None:
                    await stores.tasks.save(decision.task)
                    _emit(work, decision.events)
                    pending = decision.task.task_id
                else:
                    # A patrol task is already open (made before the plan knew it): wait for it.
                    assert open_task is not None
                    pending = open_task.task_id
                await stores.plans.save(plan.task_created(pending))
                made.append((plan, decision))
        created = [d.task for _, d in made if d.task is not None]
        for plan, decision in made:
            lag = None
            if decision.task is not None:
                self.observe.plan("task_created")
                lag = max(0.0, (decision.task.created_at - plan.due_at).total_seconds())
            self.observe.decided("patrol", decision, lag)
        self._created(created)
        if created:
            log.info("patrols due", extra={"count": len(created), "now": now.isoformat()})
        return len(created)

    # -- work ------------------------------------------------------------------------------------
    async def tasks(
        self, who: Principal, *, state: str | None, market_id: str | None, limit: int
    ) -> list[Task]:
        async with self.uow() as work:
            found = await work.stores.tasks.listing(
                state=state, market_id=market_id, district=who.listing_district(), limit=limit
            )
        return [self._where_now(task) for task in found]

    async def inspections(
        self,
        who: Principal,
        *,
        window: Window,
        after: Position | None,
        market_id: str | None,
        limit: int,
    ) -> list[Task]:
        """The inspection ledger (检查台账): the tasks of the caller's district completed in
        `window`, newest first, the page after `after`. Each names the stall where the
        inspection was, as it was stored (`_where_now` moves only tasks still to do)."""
        async with self.uow() as work:
            district = who.listing_district()
            query = LedgerQuery(window, after, market_id, district, limit)
            return await work.stores.tasks.completed(query)

    def _where_now(self, task: Task) -> Task:
        """A task still to do names the stall its merchant trades at now (换摊位 after the task
        was made sends the inspector there); a completed one, where the inspection was."""
        if task.state == "completed" or task.merchant_id is None:
            return task
        merchant = self.directory.merchants.get(task.merchant_id)
        if merchant is None or merchant.stall_no == task.stall_no:
            return task
        return replace(task, stall_no=merchant.stall_no)

    async def _task(self, work: Work, who: Principal, task_id: str, *, lock: bool = True) -> Task:
        task = await work.stores.tasks.get(task_id, for_update=lock)
        return within_or_absent(who, task, "task", task_id)

    async def task(self, who: Principal, task_id: str) -> Task:
        """One task, in the caller's district (404 otherwise, as for the list)."""
        async with self.uow() as work:
            return self._where_now(await self._task(work, who, task_id, lock=False))

    # -- photos ----------------------------------------------------------------------------------
    async def add_photo(self, who: Principal, task_id: str, data: bytes) -> Photo:
        """Attach a photo to an open task of the caller's district (the task row is locked, so
        two uploads at once cannot pass the limit together)."""
        async with self.uow() as work:
            task = await self._task(work, who, task_id)
            existing = len(await work.stores.photos.of_task(task_id))
            photo = await self._attach(work, who, task, existing, data)
        return _attached(photo)

    async def _attach(
        self,
        work: Work,
        who: Principal,
        holder: Task | RectificationOrder,
        existing: int,
        data: bytes,
    ) -> Photo:
        """A new photo of `holder` (a task, an order) as the domain judges it, stored."""
        photo = accept_photo(
            holder,
            data,
            photo_id=new_id("pho"),
            existing=existing,
            by=actor(who),
            now=self.now(),
            max_bytes=self.photo_max_bytes,
        )
        await work.stores.photos.add(photo, data)
        return photo

    async def photos(self, who: Principal, task_id: str) -> list[Photo]:
        async with self.uow() as work:
            await self._task(work, who, task_id, lock=False)
            return await work.stores.photos.of_task(task_id)

    async def photo(self, who: Principal, task_id: str, photo_id: str) -> tuple[Photo, bytes]:
        async with self.uow() as work:
            found = await work.stores.photos.get(task_id, photo_id)
        # Scoped by the photo's own district (its task's): another district's is absent.
        if found is None or not who.may_act_in(found[0].district):
            raise NotFound(f"no photo {photo_id!r} of task {task_id!r}")
        return found

    async def claim(self, who: Principal, task_id: str) -> Task:
        async with self.uow() as work:
            change = claim(await self._task(work, who, task_id), by=actor(who), now=self.now())
            if change.events:
                await work.stores.tasks.save(change.task)
                _emit(work, change.events)
        if change.events:
            self.observe.task(change.task.reason_kind, "claimed")
            self.observe.changed()
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
        async with self.uow() as work:
            stores = work.stores
            # Inspected where the merchant trades now (换摊位 after the task was made).
            task = self._where_now(await self._task(work, who, task_id))
            attached = await self._task_photos(work, task_id) if photos else []
            done = complete(
                task,
                by=actor(who),
                outcome=outcome,
                findings=findings,
                departments=departments,
                note=note,
                now=self.now(),
                policy=self.policy,
                catalogue=self.catalogue,
                task_force=self.directory.task_force(task.market_id),
                photos=photos,
                task_photos=attached,
            )
            await stores.tasks.save(done.task)
            if done.order is not None:
                await stores.orders.save(done.order)
            if done.reinspection is not None:
                await stores.tasks.save(done.reinspection)
            await self._inspected(work, done.task)
            _emit(work, done.events)
        self.observe.completed(done.task)
        self.observe.changed()
        self._created([done.reinspection])
        return done.task, done.order

    async def _task_photos(self, work: Work, task_id: str) -> list[str]:
        return [p.photo_id for p in await work.stores.photos.of_task(task_id)]

    async def check_completion(
        self,
        who: Principal,
        task_id: str,
        *,
        outcome: str | None = None,
        findings: Sequence[FindingReport] | None = None,
        departments: Sequence[str] | None = None,
        note: str | None = None,
        photos: Sequence[str] = (),
    ) -> None:
        """`complete`'s checks of the fields given (those of a request that did not fit its
        model): every problem at once (InvalidCompletion); stores nothing. Photos are checked
        against a task of the caller's district; another's answers 404 once the fields are
        right, as `complete` does."""
        attached: list[str] = []
        if photos:
            try:
                async with self.uow() as work:
                    await self._task(work, who, task_id, lock=False)
                    attached = await self._task_photos(work, task_id)
            except NotFound:
                photos = ()
        problems = completion_problems(
            outcome=outcome,
            findings=findings,
            departments=departments,
            note=note,
            photos=photos,
            task_photos=attached,
            policy=self.policy,
            catalogue=self.catalogue,
        )
        InvalidCompletion.raise_any(problems)

    async def patrol_plan(self, who: Principal, merchant_id: str) -> dict[str, Any]:
        """The merchant's patrol plan, in the caller's district; 404 otherwise."""
        merchant = within_or_absent(
            who, self.directory.merchants.get(merchant_id), "patrol plan for merchant", merchant_id
        )
        async with self.uow() as work:
            plan = await work.stores.plans.get(merchant_id)
        if plan is None:
            raise NotFound(f"no patrol plan for merchant {merchant_id!r}")
        interval = self.policy.patrol_every(plan.grade, warned=plan.warned)
        if plan.warned:
            reason = "warning_list"
        else:
            reason = "grade" if plan.grade is not None else "default_grade"
        return {
            **serial.dump(plan),
            # The grade whose interval applies: the warning list's (D) while on it.
            "effective_grade": self.policy.patrol_grade(plan.grade, warned=plan.warned),
            "interval_days": _days(interval),
            # Why this interval: the credit grade, the default (no grade yet), or the warning
            # list (黑榜) of `warning_list` (the month).
            "interval_reason": reason,
            "merchant_status": merchant.status,
            # licence_expired: the plan waits (see check_patrols); the patrol follows renewal.
            # left: never again.
            "patrolled": patrolled(merchant.status),
        }

    async def orders(
        self, who: Principal, *, state: str | None, limit: int
    ) -> list[RectificationOrder]:
        async with self.uow() as work:
            return await work.stores.orders.listing(
                state=state, district=who.listing_district(), limit=limit
            )

    async def orders_issued(
        self,
        who: Principal,
        *,
        window: Window,
        after: Position | None,
        market_id: str | None,
        limit: int,
    ) -> list[RectificationOrder]:
        """The rectification ledger (整改台账): the orders of the caller's district made in
        `window`, newest first, the page after `after`, whatever became of them since."""
        async with self.uow() as work:
            district = who.listing_district()
            query = LedgerQuery(window, after, market_id, district, limit)
            return await work.stores.orders.issued(query)

    async def order(self, who: Principal, order_id: str) -> RectificationOrder:
        """One order of the caller's district (another district's is absent)."""
        async with self.uow() as work:
            return await self._order(work, who, order_id, lock=False)

    async def _order(
        self, work: Work, who: Principal, order_id: str, *, lock: bool = True
    ) -> RectificationOrder:
        order = await work.stores.orders.get(order_id, for_update=lock)
        return within_or_absent(who, order, "rectification", order_id)

    # -- a re-check's photos ---------------------------------------------------------------------
    async def add_order_photo(self, who: Principal, order_id: str, data: bytes) -> Photo:
        """Attach a photo to the next check of an open order of the caller's district (the
        order row is locked, so two uploads at once cannot pass the limit together)."""
        async with self.uow() as work:
            order = await self._order(work, who, order_id)
            waiting = awaiting_check(order, await work.stores.photos.of_order(order_id))
            photo = await self._attach(work, who, order, len(waiting), data)
        return _attached(photo)

    async def order_photos(self, who: Principal, order_id: str) -> list[Photo]:
        async with self.uow() as work:
            await self._order(work, who, order_id, lock=False)
            return await work.stores.photos.of_order(order_id)

    async def order_photo(
        self, who: Principal, order_id: str, photo_id: str
    ) -> tuple[Photo, bytes]:
        async with self.uow() as work:
            found = await work.stores.photos.of_order_get(order_id, photo_id)
        # Scoped by the photo's own district (its order's): another district's is absent.
        if found is None or not who.may_act_in(found[0].district):
            raise NotFound(f"no photo {photo_id!r} of rectification {order_id!r}")
        return found

    async def _awaiting_check(self, work: Work, order: RectificationOrder) -> list[str]:
        # Only what was uploaded for this check: an earlier check's photos are its own.
        of_order = await work.stores.photos.of_order(order.rectification_id)
        return [p.photo_id for p in awaiting_check(order, of_order)]

    async def check_verification(
        self, who: Principal, order_id: str, *, note: str | None = None, photos: Sequence[str] = ()
    ) -> None:
        """`verify`'s checks of the evidence given (that of a request that did not fit its
        model): every problem at once (InvalidVerification); stores nothing. Photos are checked
        against an order of the caller's district, as `verify` does."""
        attached: list[str] = []
        if photos:
            try:
                async with self.uow() as work:
                    attached = await self._awaiting_check(
                        work, await self._order(work, who, order_id, lock=False)
                    )
            except NotFound:
                photos = ()
        problems = verification_problems(note=note, photos=photos, order_photos=attached)
        InvalidVerification.raise_any(problems)

    async def verify(
        self,
        who: Principal,
        order_id: str,
        *,
        passed: bool,
        note: str | None = None,
        photos: Sequence[str] = (),
    ) -> RectificationOrder:
        async with self.uow() as work:
            stores = work.stores
            order = await self._order(work, who, order_id)
            attached = await self._awaiting_check(work, order) if photos else []
            reinspection = None
            if order.reinspection_task_id is not None:
                reinspection = await stores.tasks.get(order.reinspection_task_id, for_update=True)
            checked = verify(
                order,
                passed=passed,
                by=actor(who),
                now=self.now(),
                policy=self.policy,
                reinspection=reinspection,
                task_force=self.directory.task_force(order.market_id),
                note=note,
                photos=photos,
                order_photos=attached,
            )
            await stores.orders.save(checked.order)
            for task in (checked.closed_task, checked.reinspection):
                if task is not None:
                    await stores.tasks.save(task)
            if checked.closed_task is not None:
                # A re-inspection closed by the check is an inspection of the merchant too.
                await self._inspected(work, checked.closed_task)
            _emit(work, checked.events)
        if checked.closed_task is not None:
            self.observe.task("reinspection", "completed")
        self.observe.changed()
        self._created([checked.reinspection])
        return checked.order

    # -- the clock -------------------------------------------------------------------------------
    async def check_clock(self) -> int:
        """Mark what is past due (tasks) or past deadline (orders) as overdue, each once.

        Returns how many were marked. Runs as a periodic job under the runtime's advisory lock;
        the row locks make a concurrent direct call harmless too.
        """
        now = self.now()
        tasks_marked = orders_marked = 0
        created: list[Task | None] = []
        async with self.uow() as work:
            stores = work.stores
            for task in await stores.tasks.past_due(now, self.batch_limit):
                change = mark_task_overdue(task, now)
                if change is not None:
                    await stores.tasks.save(change.task)
                    _emit(work, change.events)
                    tasks_marked += 1
            for order in await stores.orders.past_deadline(now, self.batch_limit):
                escalation = mark_rectification_overdue(
                    order,
                    now,
                    self.policy,
                    task_force=self.directory.task_force(order.market_id),
                )
                if escalation is not None:
                    await stores.orders.save(escalation.order)
                    if escalation.reinspection is not None:
                        await stores.tasks.save(escalation.reinspection)
                    _emit(work, escalation.events)
                    created.append(escalation.reinspection)
                    orders_marked += 1
        self.observe.overdue("task", tasks_marked)
        self.observe.overdue("rectification", orders_marked)
        self._created(created)
        marked = tasks_marked + orders_marked
        if marked:
            self.observe.changed()
            log.info("overdue marked", extra={"count": marked, "now": now.isoformat()})
        return marked


def _attached(photo: Photo) -> Photo:
    """Logged once committed."""
    log.info(
        "photo attached",
        extra={
            "task_id": photo.task_id,
            "rectification_id": photo.rectification_id,
            "photo_id": photo.photo_id,
            "size": photo.size,
        },
    )
    return photo
