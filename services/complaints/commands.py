"""The complaints use cases: each one a transaction that loads what the rules need, applies a
pure rule from `domain`, and stores the changed case with its events (outbox).

HTTP routes, the intake consumer and the clock call these; they never touch SQL or Kafka
themselves. `now` is the clock every rule is given: replace it (tests) to move time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contracts.complaints import ComplaintSubmission, ComplaintSubmitted, IntakeEnvelope
from contracts.inspection import TaskCompleted
from contracts.people import Actor
from services.complaints import events
from services.complaints.domain import (
    Complaint,
    InvalidComplaint,
    Policy,
    WorkCalendar,
    accept,
    close,
    find_duplicate,
    link,
    mark_overdue,
    nearing,
    parse_tracking_code,
    receive,
    reject,
    working_days_left,
)
from services.complaints.metrics import ComplaintsMetrics
from services.complaints.store import PostgresComplaintStore
from services.runtime.app import Service
from services.runtime.auth import ALL_DISTRICTS, Principal
from services.runtime.directory import RegistryDirectory
from services.runtime.errors import InvalidInput, NotFound
from services.runtime.messaging import Delivery, PoisonMessage

log = logging.getLogger(__name__)
INTAKE_CONSUMER = "complaints-intake"


def utc_now() -> datetime:
    return datetime.now(UTC)


def actor(who: Principal) -> Actor:
    """The handler behind a request, as the case records them and its event carries."""
    return Actor.of(who.subject, who.display_name)


def district_scope(who: Principal) -> str | None:
    """The district a listing is limited to; None for the whole city (admin, `*` tokens)."""
    return None if who.role == "admin" or who.district == ALL_DISTRICTS else who.district


class Complaints:
    def __init__(
        self,
        service: Service,
        directory: RegistryDirectory,
        policy: Policy,
        calendar: WorkCalendar,
        now: Callable[[], datetime] = utc_now,
        *,
        batch_limit: int = 500,
    ) -> None:
        self.service, self.directory = service, directory
        self.policy, self.calendar, self.now = policy, calendar, now
        self.batch_limit = batch_limit
        self.metrics = ComplaintsMetrics(service.metrics)

    # -- intake ----------------------------------------------------------------------------------
    def _place(self, sub: ComplaintSubmission) -> tuple[str, str | None, str | None]:
        """The market's district and the merchant and stall the complaint is about, from the
        registry view; a complaint naming what the registry does not know is refused."""
        market = self.directory.markets.get(sub.market_id)
        if market is None:
            raise InvalidComplaint([("market_id", f"no market {sub.market_id!r} is registered")])
        merchant_id, stall_no = sub.merchant_id, sub.stall_no
        if merchant_id is not None:
            merchant = self.directory.merchants.get(merchant_id)
            if merchant is None or merchant.market_id != market.market_id:
                raise InvalidComplaint(
                    [("merchant_id", f"no merchant {merchant_id!r} trades in this market")]
                )
            if stall_no is not None and stall_no != merchant.stall_no:
                raise InvalidComplaint(
                    [("stall_no", f"merchant {merchant_id!r} trades at {merchant.stall_no!r}")]
                )
            stall_no = merchant.stall_no
        elif stall_no is not None:
            found = self.directory.merchant_at(market.market_id, stall_no)
            if found is None:
                raise InvalidComplaint(
                    [("stall_no", f"no merchant is registered at stall {stall_no!r}")]
                )
            merchant_id = found.merchant_id
        return market.district, merchant_id, stall_no

    async def submit(
        self,
        sub: ComplaintSubmission,
        *,
        via: str,
        intake_id: str | None = None,
        causation_id: str | None = None,
    ) -> Complaint:
        """Register a complaint; the same `intake_id` again returns the first one, unchanged."""
        try:
            district, merchant_id, stall_no = self._place(sub)
            now = self.now()
            case = receive(
                name=sub.complainant.name,
                phone=sub.complainant.phone,
                market_id=sub.market_id,
                district=district,
                merchant_id=merchant_id,
                stall_no=stall_no,
                category=sub.category,
                facts=sub.facts,
                request=sub.request,
                channel=sub.channel,
                occurred_at=sub.occurred_at,
                now=now,
                policy=self.policy,
                calendar=self.calendar,
            )
        except InvalidInput as exc:
            self.metrics.intake_rejected.labels(via, exc.field).inc()
            raise
        linked: Complaint | None = None
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = PostgresComplaintStore(conn)
            if intake_id is not None:
                # Serialise resubmissions of one intake id, then answer with the first.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", intake_id)
                existing = await store.by_intake(intake_id)
                if existing is not None:
                    return existing
            if case.merchant_id is not None:
                candidates = await store.recent(
                    case.merchant_id,
                    case.category,
                    case.received_at - self.policy.duplicate_window,
                    for_update=True,
                )
                root_id = find_duplicate(case, candidates, self.policy)
                if root_id is not None:
                    root = next(c for c in candidates if c.complaint_id == root_id)
                    linked, case = link(root, case)
            await store.insert(case, intake_id=intake_id, external_ref=sub.external_ref)
            if linked is not None:
                await store.update(linked)
            await self.service.enqueue_many(
                conn, [events.received(case, now, sub.external_ref, causation_id)]
            )
        self.metrics.transitions.labels(case.category, case.channel, "received").inc()
        if linked is not None:
            self.metrics.duplicates.labels(case.category).inc()
        log.info(
            "complaint received",
            extra={
                "complaint_id": case.complaint_id,
                "via": via,
                "category": case.category,
                "duplicate_of": case.duplicate_of,
            },
        )
        return case

    async def on_intake(self, delivery: Delivery) -> None:
        """A complaint from an integrator's channel: the same rules as `POST /complaints`. One
        that breaks them is parked on the DLQ with the field and the reason; nothing is stored."""
        event = delivery.envelope(ComplaintSubmitted, IntakeEnvelope)
        async with self.service.pool.acquire() as conn:
            seen = await PostgresComplaintStore(conn).by_intake(f"topic:{event.id}")
        if seen is not None:
            return
        try:
            await self.submit(
                event.data, via="topic", intake_id=f"topic:{event.id}", causation_id=event.id
            )
        except InvalidInput as exc:
            raise PoisonMessage(exc.message) from exc

    # -- what inspection found -------------------------------------------------------------------
    async def on_inspection(self, delivery: Delivery) -> None:
        """Keep what inspections of a complaint found, for the handler who settles it."""
        if delivery.event_type() != "inspection.task.completed":
            return
        task = delivery.envelope(TaskCompleted).data
        complaint_ids = [t.id for t in task.triggers if t.kind == "complaint"]
        if not complaint_ids:
            return
        findings = [{"code": f.code, "severity": f.severity, "note": f.note} for f in task.findings]
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = PostgresComplaintStore(conn)
            for complaint_id in complaint_ids:
                await store.record_inspection(
                    complaint_id, task.task_id, task.outcome, findings, task.completed_at
                )

    # -- reading ---------------------------------------------------------------------------------
    async def by_tracking_code(self, code: str) -> Complaint:
        try:
            canonical = parse_tracking_code(code)
        except ValueError:
            canonical = None
        case = None
        if canonical is not None:
            async with self.service.pool.acquire() as conn:
                case = await PostgresComplaintStore(conn).by_tracking_code(canonical)
        if case is None:
            raise NotFound("no complaint has this tracking code")
        return case

    async def case(self, who: Principal, complaint_id: str) -> Complaint:
        async with self.service.pool.acquire() as conn:
            case = await PostgresComplaintStore(conn).get(complaint_id)
        return self._check(who, complaint_id, case)

    def _check(self, who: Principal, complaint_id: str, case: Complaint | None) -> Complaint:
        if case is None:
            raise NotFound(f"no complaint {complaint_id!r}")
        who.require_district(case.district)
        return case

    async def cases(
        self,
        who: Principal,
        *,
        state: str | None,
        market_id: str | None,
        nearing: bool,
        overdue: bool,
        limit: int,
    ) -> list[Complaint]:
        async with self.service.pool.acquire() as conn:
            found = await PostgresComplaintStore(conn).cases(
                district=district_scope(who),
                state=state,
                market_id=market_id,
                overdue=overdue,
                open_only=nearing,
                limit=limit if not nearing else 10 * limit,
            )
        if nearing:
            now = self.now()
            found = [c for c in found if self._nearing(c, now)][:limit]
        return found

    def _nearing(self, case: Complaint, now: datetime) -> bool:
        return nearing(case, now, self.policy, self.calendar)

    async def inspections(self, complaint_id: str) -> list[dict[str, Any]]:
        async with self.service.pool.acquire() as conn:
            return await PostgresComplaintStore(conn).inspections(complaint_id)

    # -- views -----------------------------------------------------------------------------------
    @staticmethod
    def receipt(case: Complaint) -> dict[str, Any]:
        return {
            "id": case.complaint_id,
            "tracking_code": case.tracking_code,
            "state": case.state,
            "received_at": case.received_at.isoformat(),
            "acceptance_deadline": case.acceptance_deadline.isoformat(),
            "duplicate_of": case.duplicate_of,
        }

    @staticmethod
    def public_view(case: Complaint) -> dict[str, Any]:
        return case.public_status()

    def case_view(self, case: Complaint, **extra: Any) -> dict[str, Any]:
        now = self.now()
        return {
            "id": case.complaint_id,
            **case.to_dict(),
            "running_clock": case.running_clock,
            "current_deadline": case.current_deadline.isoformat()
            if case.current_deadline
            else None,
            "working_days_left": working_days_left(case, now, self.policy, self.calendar),
            "nearing": self._nearing(case, now),
            **extra,
        }

    # -- decisions -------------------------------------------------------------------------------
    async def _decide(
        self,
        who: Principal,
        complaint_id: str,
        change: Callable[[Complaint, datetime], Complaint],
        publish: Callable[[Complaint, datetime, str | None], events.Item],
    ) -> Complaint:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = PostgresComplaintStore(conn)
            case = self._check(who, complaint_id, await store.get(complaint_id, for_update=True))
            now = self.now()
            changed = change(case, now)
            await store.update(changed)
            ref = await store.external_ref(complaint_id)
            await self.service.enqueue_many(conn, [publish(changed, now, ref)])
        self.metrics.transitions.labels(changed.category, changed.channel, changed.state).inc()
        log.info(
            "complaint decided",
            extra={"complaint_id": complaint_id, "state": changed.state, "by": who.subject},
        )
        return changed

    async def accept(self, who: Principal, complaint_id: str) -> Complaint:
        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: accept(
                c, by=actor(who), now=now, policy=self.policy, calendar=self.calendar
            ),
            events.accepted,
        )
        self._decided(case, "accepted")
        return case

    async def reject(self, who: Principal, complaint_id: str, *, reason: str) -> Complaint:
        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: reject(c, by=actor(who), reason=reason, now=now),
            events.rejected,
        )
        self._decided(case, "rejected")
        return case

    def _decided(self, case: Complaint, decision: str) -> None:
        if case.decided_at is not None:
            self.metrics.time_to_acceptance.labels(decision).observe(
                max(0.0, (case.decided_at - case.received_at).total_seconds())
            )

    async def close(
        self,
        who: Principal,
        complaint_id: str,
        *,
        outcome: str,
        substantiated: bool,
        satisfaction: int,
    ) -> Complaint:
        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: close(
                c,
                by=actor(who),
                outcome=outcome,
                substantiated=substantiated,
                satisfaction=satisfaction,
                now=now,
            ),
            events.closed,
        )
        self.metrics.closed.labels(str(bool(case.closed_in_time)).lower()).inc()
        self.metrics.satisfaction.labels(str(satisfaction)).inc()
        return case

    # -- the clock -------------------------------------------------------------------------------
    async def check_clock(self, _: Service | None = None) -> int:
        """Mark every case whose running clock ran out as overdue, each clock once; refresh the
        case counts. Returns how many were marked."""
        now = self.now()
        marked: list[Complaint] = []
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = PostgresComplaintStore(conn)
            for case in await store.past_deadline(now, self.batch_limit):
                late = mark_overdue(case, now)
                if late is None:
                    continue
                await store.update(late)
                ref = await store.external_ref(late.complaint_id)
                await self.service.enqueue_many(conn, [events.overdue(late, now, ref)])
                marked.append(late)
            counts = await store.counts()
        for case in marked:
            self.metrics.overdue.labels(case.running_clock or "none").inc()
        self.metrics.cases.clear()
        for state, category, n in counts:
            self.metrics.cases.labels(state, category).set(n)
        if marked:
            log.info("complaints overdue", extra={"count": len(marked), "now": now.isoformat()})
        return len(marked)
