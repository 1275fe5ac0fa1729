"""The credit use cases: consumed events become facts, facts become ledger adjustments, the
adjustments a score and a grade; every change is published with its cause.

Each consumed event is one unit of work (services/runtime/unit_of_work.py), the registry's
merchant snapshots a batch of them in one: the inbox claim, the adjustments, the merchant's new
score and the `credit.score.changed` event commit together, so whatever Kafka redelivers, an
event counts once. `now` is the clock every rule is given (tests
move it). The Kafka routes (handlers.py) and the HTTP routes (api.py) call these.

Issue 17 adds the campaign's events: a decided joint enforcement case adjusts its merchant (once
per case), the operators' duties feed the market assessment, and the monthly honour and warning
list (红黑榜) is drawn from the ledger and the assessment (`draw_honours`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from contracts.complaints import ComplaintClosed, ComplaintOverdue
from contracts.duties import DutiesUpdated
from contracts.inspection import (
    RectificationLapsed,
    RectificationOrdered,
    RectificationOverdue,
    RectificationVerified,
    TaskCompleted,
)
from contracts.joint import EnforcementDecided
from contracts.objections import ObjectionDecided
from contracts.registry import MARKET_CLOSED, MERCHANT_LEFT, MerchantUpserted
from contracts.telemetry import RiskCleared
from services.credit import events
from services.credit.domain import (
    Assessment,
    Entry,
    EventMeta,
    Fact,
    MarketFigures,
    MarketRecord,
    MerchantCredit,
    MerchantRecord,
    Month,
    Period,
    Place,
    PolicyBook,
    adjust,
    apply,
    assess,
    delisted,
    draw,
    due_month,
    facts_from_complaint,
    facts_from_enforcement,
    facts_from_inspection,
    facts_from_merchant,
    facts_from_objection,
    follow_ons,
    rank_districts,
    rank_within_district,
    rebuild_all,
    refade,
    regrade,
    roll_up,
    score_parts,
)
from services.credit.domain import objections as objection_rules
from services.credit.domain.honours import FINDINGS, LEDGER_KINDS, HonourRules, span
from services.credit.domain.ledger import Adjustment
from services.credit.domain.public import MerchantGrade, grade_shares, public_rank
from services.credit.metrics import CreditMetrics
from services.credit.store import (
    CaseDecided,
    ComplaintSeen,
    Drawing,
    FiledQuery,
    GradeQuery,
    ObjectionQuery,
    Observation,
    OrderSeen,
    RiskSeen,
    StatusSeen,
    StoredCredit,
    Stores,
)
from services.runtime import serial
from services.runtime.auth import Principal, actor, within
from services.runtime.clock import Clock
from services.runtime.data_files import default_calendar
from services.runtime.directory import RegistryView
from services.runtime.failures import Conflict, Forbidden, InvalidInput, NotFound
from services.runtime.ids import new_id
from services.runtime.messaging import Delivery
from services.runtime.outbox import Item
from services.runtime.paging import Position, Window
from services.runtime.projection import keep_newer
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
LEDGER = "credit-ledger"


# What a ledger event's use case does in its unit of work once the event is claimed: keep what
# the event says besides its facts, and return the facts to adjust by; None when the event
# changes nothing (an older snapshot, a case decided again), counted as ignored.
Decide = Callable[[Stores], Awaitable[Sequence[Fact] | None]]


@dataclass(frozen=True, slots=True)
class Stood:
    """A market's merchants as they stood at a moment (market → how many traded there) and
    their grades then (market → grade → how many)."""

    merchants: dict[str, int] = field(default_factory=dict)
    grades: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MerchantSnapshot:
    """A registry snapshot of a merchant as consumed: its data, its cause, its delivery."""

    data: MerchantUpserted
    meta: EventMeta
    delivery: Delivery


def _observed(meta: EventMeta, kind: str, data: Any, at: datetime, good: bool) -> Observation:
    """What the assessment counts of an event about a place (`data` names market, district and
    merchant)."""
    return Observation(
        meta.event_id, kind, data.market_id, data.district, data.merchant_id, at, good
    )


class Credit:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: RegistryView,
        book: PolicyBook,
        now: Clock,
        metrics: CreditMetrics,
        *,
        publish: bool = True,
        batch_limit: int = 500,
        tz: tzinfo | str = "Asia/Shanghai",
        deadline: objection_rules.DecisionDeadline | None = None,
        objections_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.uow, self.directory, self.book, self.now = uow, directory, book, now
        # A rebuild replays the topics into fresh tables and must not announce anything.
        self.publish = publish
        self.batch_limit = batch_limit
        # The city's time: the months of the honour and warning list, the campaign's days.
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.metrics = metrics
        # 异议处理期限: the wiring (app.py) hands over the configured calendar and days.
        self.deadline = deadline or objection_rules.DecisionDeadline(
            objection_rules.DECISION_WORKING_DAYS, default_calendar(), str(self.tz)
        )
        # Told once a filing or a decision is committed (the wiring recounts the gauge soon,
        # in the background: a failed count must not fail the request).
        self.objections_changed = objections_changed
        # Set once the ledger's topics were read to the end they had at start (the periodic
        # drawing waits for it: a list drawn from half a ledger would be wrong for a month).
        self.ledger_caught_up = asyncio.Event()

    # -- consuming -------------------------------------------------------------------------------
    async def inspected(
        self, event_type: str, data: Any, meta: EventMeta, delivery: Delivery
    ) -> None:
        """An inspection's outcome or a rectification order's: its facts, what the assessment
        counts of it, what the public page shows."""

        facts = facts_from_inspection(event_type, data, meta)

        async def decide(store: Stores) -> Sequence[Fact]:
            await self._keep_public(store, data)
            if isinstance(data, TaskCompleted) and data.reason_kind != "reinspection":
                good, at = data.outcome == "pass", data.completed_at
            elif isinstance(data, RectificationVerified) and data.passed and data.on_time:
                good, at = True, data.verified_at
            elif isinstance(data, RectificationOverdue):
                good, at = False, data.overdue_at
            else:
                return facts
            kind = "inspection" if isinstance(data, TaskCompleted) else "rectification"
            await store.context.observe(_observed(meta, kind, data, at, good))
            return facts

        await self._ledger(delivery, meta, decide)

    @staticmethod
    async def _keep_public(store: Stores, data: Any) -> None:
        """What the public merchant page shows: the last inspection, the open orders (an order
        that lapsed when its merchant left is open no more)."""
        if isinstance(data, TaskCompleted) and data.merchant_id is not None:
            await store.context.inspected(
                data.merchant_id, data.task_id, data.outcome, data.completed_at
            )
        elif isinstance(
            data,
            RectificationOrdered
            | RectificationVerified
            | RectificationOverdue
            | RectificationLapsed,
        ):
            await store.context.rectification(serial.load(OrderSeen, data.model_dump()))

    async def complained(
        self, event_type: str, data: Any, meta: EventMeta, delivery: Delivery
    ) -> None:
        """A complaint's lifecycle: the root of a chain for the explain endpoint, a limit kept
        or missed for the assessment, a substantiated complaint's fact."""

        facts = facts_from_complaint(event_type, data, meta)

        async def decide(store: Stores) -> Sequence[Fact]:
            await store.context.complaint_seen(serial.load(ComplaintSeen, data.model_dump()))
            # Each limit counts once: a case closed late was already counted when it ran out.
            if isinstance(data, ComplaintClosed) and data.within_limit:
                await store.context.observe(
                    _observed(meta, "complaint", data, data.closed_at, True)
                )
            elif isinstance(data, ComplaintOverdue):
                await store.context.observe(
                    _observed(meta, "complaint", data, data.overdue_at, False)
                )
            return facts

        await self._ledger(delivery, meta, decide)

    async def merchants_changed(self, snapshots: Sequence[MerchantSnapshot]) -> None:
        """Registry snapshots, a batch of them in one unit of work: a new merchant starts at the
        policy's start; entering `licence_expired` or `suspended` costs credit. The status last
        seen is kept with the ledger, so a replayed or older snapshot is no change.

        Each snapshot counts as it would alone, in the order consumed: it is claimed, and taken
        only when newer than the status last seen, stored or taken earlier in the batch
        (`keep_newer`), its facts judged against that status. So two snapshots of a merchant in
        one batch give the facts of each change in turn, an older one after a newer none, and
        the merchant's newest status is stored once, every merchant's in one statement."""
        if not snapshots:
            return
        now = self.now()
        topic = snapshots[0].delivery.topic
        async with self.uow() as work:
            store = work.stores
            merchant_ids = sorted({s.data.merchant_id for s in snapshots})
            # Locked in one order whatever the batch holds — the credit subjects (codes old and
            # new), then the merchants — so that two units locking some of the same never wait
            # on each other in a cycle.
            known = await store.context.statuses(merchant_ids)
            codes = {s.data.credit_code for s in snapshots}
            codes |= {seen.credit_code for seen in known.values() if seen.credit_code}
            await store.ledger.lock_codes(sorted(codes))
            for merchant_id in merchant_ids:
                await store.ledger.lock(merchant_id)
            seen = await store.context.statuses(merchant_ids)
            taken: dict[str, StatusSeen] = {}
            facts: list[Fact] = []
            # A merchant whose code was corrected leaves its old subject: those left regrade.
            left: set[str] = set()
            applied = 0
            for s in snapshots:
                data = s.data
                if not await self._claim(work, s.delivery, s.meta.event_id):
                    continue
                previous = seen.get(data.merchant_id)
                status = StatusSeen(data.status, data.version, data.credit_code)
                if not keep_newer(seen, data.merchant_id, status):
                    self.metrics.events.labels(topic, "ignored").inc()
                    continue
                taken[data.merchant_id] = status
                was, code = (previous.status, previous.credit_code) if previous else (None, None)
                if code is not None and code != data.credit_code:
                    left |= set(await store.ledger.subject(data.merchant_id))
                facts += facts_from_merchant(data, s.meta, was, code)
                applied += 1
            await store.context.set_statuses(taken)
            kinds = await self._record(work, facts, now, left)
        self._applied(topic, kinds, applied)

    async def risk_seen(self, data: Any) -> None:
        """Risks are context only (a risk alone costs nothing): open food-safety risks for the
        assessment, and the root of a chain for the explain endpoint."""
        async with self.uow() as work:
            context = work.stores.context
            if isinstance(data, RiskCleared):
                await context.risk_cleared(data.risk_id, data.cleared_at)
            else:
                await context.risk_open(serial.load(RiskSeen, data.model_dump()))

    async def enforcement_decided(
        self, event_type: str, data: EnforcementDecided, meta: EventMeta, delivery: Delivery
    ) -> None:
        """`campaign.enforcement.decided`: the sanction of a joint enforcement case adjusts its
        merchant through the policy (`enforcement.<sanction>`), once per case — inbox for the
        event, the case table for a case decided again — with the case event as the cause."""
        facts = facts_from_enforcement(event_type, data, meta)

        async def decide(store: Stores) -> Sequence[Fact] | None:
            first = await store.context.case_decided(
                CaseDecided(
                    data.case_id,
                    merchant_id=data.merchant_id,
                    market_id=data.market_id,
                    sanction=data.decision.sanction,
                    decided_at=data.decided_at,
                    event_id=meta.event_id,
                )
            )
            if not first:
                log.info("enforcement case decided again", extra={"case_id": data.case_id})
                return None
            return facts

        await self._ledger(delivery, meta, decide)

    async def duties_updated(self, data: DutiesUpdated, topic: str) -> None:
        """`campaign.duties.updated`: a market's standing on its duties, for the assessment. The
        latest update of each day is kept; a replay or an older update changes nothing."""
        async with self.uow() as work:
            kept = await work.stores.context.keep_duties(data)
        self.metrics.events.labels(topic, "applied" if kept else "ignored").inc()

    async def _claim(self, work: UnitOfWork[Stores], delivery: Delivery, event_id: str) -> bool:
        claimed = await work.claim(LEDGER, event_id, delivery)
        if not claimed:
            self.metrics.events.labels(delivery.topic, "duplicate").inc()
        return claimed

    async def _ledger(self, delivery: Delivery, meta: EventMeta, decide: Decide) -> None:
        """A ledger event in one unit of work: claimed once, then `decide`, then each of its
        facts adjusts its merchant."""
        now = self.now()
        async with self.uow() as work:
            if not await self._claim(work, delivery, meta.event_id):
                return
            facts = await decide(work.stores)
            if facts is None:
                self.metrics.events.labels(delivery.topic, "ignored").inc()
                return
            kinds = await self._record(work, facts, now)
        self._applied(delivery.topic, kinds)

    def _applied(self, topic: str, kinds: list[str], events: int = 1) -> None:
        self.metrics.events.labels(topic, "applied").inc(events)
        for kind in kinds:
            self.metrics.adjustments.labels(kind).inc()

    async def _record(
        self,
        work: UnitOfWork[Stores],
        facts: Sequence[Fact],
        now: datetime,
        left: Collection[str] = (),
    ) -> list[str]:
        """Adjust each fact's merchant — and every other registration of its credit subject —
        and publish every change of score or grade; those `left` (registrations a corrected
        code took a merchant away from) are regraded by the entry that says so. An entry that
        follows from a finding found wrong already is undone at once (`follow_ons`)."""
        store = work.stores
        kinds: list[str] = []
        items: list[Item] = []
        pending = list(facts)
        while pending:
            fact = pending.pop(0)
            entry = adjust(fact, self.book)
            if entry is None:
                continue
            await store.ledger.lock(entry.merchant_id)
            subject = await store.ledger.subject(entry.merchant_id)
            if len(subject) > 1 or (fact.kind == "merchant.credit_code" and left):
                if not await store.ledger.add(entry):
                    continue
                kinds.append(entry.kind)
                others = (
                    sorted(set(left) - set(subject)) if entry.kind == "merchant.credit_code" else []
                )
                await self._regrade(store, subject, others, entry, fact, now, items)
                pending.extend(await self._follow_ons(store, entry))
                continue
            stored = await store.ledger.credit(entry.merchant_id)
            credit = stored.credit if stored else None
            version = stored.version if stored else 0
            if credit is not None and credit.due(now, self.book):
                # Fade first, against the ledger without the new entry: it counts once, below.
                credit, faded = refade(
                    credit, await store.ledger.ledger(entry.merchant_id), now, self.book
                )
                if faded is not None:
                    version += 1
                    items.append(events.score_changed(faded, fact, version, now))
            if not await store.ledger.add(entry):
                continue
            kinds.append(entry.kind)
            credit, change = apply(credit, entry, now, self.book)
            if change is not None:
                version += 1
                items.append(events.score_changed(change, fact, version, now))
            await store.ledger.save(StoredCredit(credit, fact.market_id, fact.district, version))
            pending.extend(await self._follow_ons(store, entry))
        self._emit(work, items)
        for _, event, _key in items:
            self._count(event.data)
        return kinds

    async def _follow_ons(self, store: Stores, entry: Adjustment) -> list[Fact]:
        if entry.kind not in follow_ons.FOLLOWING_KINDS:
            return []
        found = await store.ledger.corrected_findings(entry.merchant_id, entry.correlation_id)
        return follow_ons.reversals(found, [entry])

    async def _regrade(
        self,
        store: Stores,
        subject: Sequence[str],
        others: Sequence[str],
        entry: Adjustment,
        fact: Fact,
        now: datetime,
        items: list[Item],
    ) -> None:
        """Each registration of the entry's `subject` — and the `others` a corrected code took
        the merchant away from — recomputed from its credit subject's ledger, `entry` (recorded)
        what moved it; the subjects' locks are held already. A registration credit has not scored
        yet is scored when its own first entry comes; the entry's own merchant is scored now, in
        the fact's market. One read of each subject's ledger and of the stored credits, and a
        write only where something moved: a business at many stalls costs little more."""
        merchant_ids = [*subject, *others]
        stored = await store.ledger.credits(merchant_ids)
        ledgers = {subject[0]: await store.ledger.ledger(entry.merchant_id)}
        subject_of = dict.fromkeys(subject, subject[0])
        for merchant_id in merchant_ids:
            held = stored.get(merchant_id)
            if held is None and merchant_id != entry.merchant_id:
                continue
            if merchant_id not in subject_of:
                members = await store.ledger.subject(merchant_id)
                subject_of |= dict.fromkeys(members, members[0])
                ledgers[members[0]] = await store.ledger.ledger(merchant_id)
            ledger = ledgers[subject_of[merchant_id]]
            place: Place = fact if held is None or merchant_id == entry.merchant_id else held
            before = held.credit if held else None
            credit, change = regrade(before, merchant_id, ledger, entry, now, self.book)
            version = held.version if held else 0
            if change is not None:
                version += 1
                items.append(events.score_changed(change, place, version, now))
            elif before is not None and _same(before, credit) and place is held:
                continue
            await store.ledger.save(StoredCredit(credit, place.market_id, place.district, version))

    def _count(self, change: Any) -> None:
        # Kept current per change (the fade clock recounts from the table as well).
        self.metrics.changes.labels(change.reason).inc()
        if change.previous_grade is not None:
            self.metrics.grades.labels(change.previous_grade).dec()
        self.metrics.grades.labels(change.grade).inc()

    def _emit(self, work: UnitOfWork[Stores], items: list[Item]) -> None:
        if items and self.publish:
            work.emit(*items)

    # -- the fade clock --------------------------------------------------------------------------
    async def check_fades(self, _: Any = None) -> int:
        """Take faded adjustments (and a policy version that came into force) out of scores;
        publish each score that moved. Returns how many scores moved."""
        now = self.now()
        moved: list[Any] = []
        async with self.uow() as work:
            due = await work.stores.ledger.due_for_refade(
                now, self.book.in_force(now).version, self.batch_limit
            )
        for merchant_id in due:
            async with self.uow() as work:
                store = work.stores
                await store.ledger.lock(merchant_id)
                stored = await store.ledger.credit(merchant_id)
                if stored is None or not stored.credit.due(now, self.book):
                    continue
                credit, change = refade(
                    stored.credit, await store.ledger.ledger(merchant_id), now, self.book
                )
                version = stored.version
                if change is not None:
                    version += 1
                    item = events.score_changed(change, stored, version, now)
                    self._emit(work, [item])
                    moved.append(item[1].data)
                await store.ledger.save(
                    StoredCredit(credit, stored.market_id, stored.district, version)
                )
        for change in moved:
            self.metrics.changes.labels(change.reason).inc()
        await self.refresh_grades()
        return len(moved)

    async def refresh_grades(self) -> None:
        async with self.uow() as work:
            counts = await work.stores.ledger.grade_counts()
        for grade in ("A", "B", "C", "D"):
            self.metrics.grades.labels(grade).set(counts.get(grade, 0))

    # -- explaining ------------------------------------------------------------------------------
    async def explain(self, who: Principal, merchant_id: str) -> dict[str, Any]:
        """The score and every adjustment behind it: the causing event (id, type, topic,
        partition, offset) and the risk or complaint at the root of its chain."""
        async with self.uow() as work:
            store = work.stores
            found = await store.ledger.credit(merchant_id)
            stored = within(who, found, "credit record for merchant", merchant_id)
            ledger = await store.ledger.ledger(merchant_id)
            roots = await store.context.roots(sorted({a.correlation_id for a in ledger}))
            disputes = await self._subject_objections(store, ledger)
            orders, _ = await store.context.open_rectifications(merchant_id)
        now = self.now()
        # An entry shows its newest objection not withdrawn (an error upheld, then a repair: the
        # repair); else the newest withdrawn one (a tie in filing time cannot put a withdrawn
        # one first). Every one not withdrawn decides a filing.
        current: dict[tuple[str, str], list[objection_rules.Objection]] = {}
        for o in disputes:
            if o.state != "withdrawn":
                current.setdefault(o.key, []).append(o)
        latest = {o.key: o for o in disputes} | {key: os[-1] for key, os in current.items()}
        disputed = {key: self._objection_shown(o, now) for key, o in latest.items()}
        followed = follow_ons.reversed_keys(ledger)
        undone = objection_rules.reversed_keys(disputes) | followed

        def may_file(a: Adjustment) -> dict[str, Any]:
            # The rules that refuse a filing, so that pages offer only what they take.
            earlier = current.get(a.key, [])
            repair = objection_rules.repair_refusal(a, ledger, undone, orders, now)
            opens = objection_rules.repair_opens_at(a, earlier, ledger, undone, now)
            elsewhere = a.merchant_id != merchant_id
            if a.key in followed or elsewhere:
                # Undone with the finding it followed from: nothing left to dispute or repair.
                # Recorded at another registration of the business: disputed on its page.
                return {
                    "disputable": False,
                    "repairable": False,
                    "repairable_from": None,
                    "repair_opens_at": None,
                    "undone_with_finding": a.key in followed,
                    "another_registration": elsewhere,
                }
            return {
                "disputable": objection_rules.refusal(a, earlier, now) is None,
                "repairable": objection_rules.filing_refusal(a, earlier, now, "repaired", repair)
                is None,
                "repairable_from": serial.dump(objection_rules.repairable_from(a)),
                "repair_opens_at": serial.dump(opens),
                "undone_with_finding": False,
                "another_registration": False,
            }

        credit = stored.credit
        return {
            "merchant_id": merchant_id,
            "market_id": stored.market_id,
            "district": stored.district,
            "score": credit.score,
            "grade": credit.grade,
            "policy_version": credit.policy_version,
            "as_of": credit.as_of.isoformat(),
            "next_fade_at": credit.next_fade_at.isoformat() if credit.next_fade_at else None,
            "ledger": [
                serial.dump(a)
                | {
                    "counting": a.counts_at(now),
                    "root": roots.get(a.correlation_id),
                    "objection": disputed.get(a.key),
                }
                | may_file(a)
                for a in ledger
            ],
        }

    # -- objections to a record (信用异议) ---------------------------------------------------------
    async def file_objection(
        self,
        who: Principal,
        merchant_id: str,
        event_id: str,
        kind: str,
        statement: str,
        *,
        ground: str = "error",
        commitment: bool = False,
    ) -> dict[str, Any]:
        """Record a merchant's objection to one entry of its ledger (its `event_id` and `kind`),
        on its `ground` (a repair with the merchant's `commitment`), for a clerk of the
        merchant's district; announced as `credit.objection.filed`."""
        async with self.uow() as work:
            store = work.stores
            found = await store.ledger.credit(merchant_id)
            within(who, found, "credit record for merchant", merchant_id)
            ledger = await store.ledger.ledger(merchant_id)
            entry = next((a for a in ledger if a.key == (event_id, kind)), None)
            if entry is None:
                raise NotFound(
                    f"merchant {merchant_id} has no ledger entry {kind} of event {event_id}",
                    field="event_id",
                )
            if entry.merchant_id != merchant_id:
                raise Conflict(
                    f"entry {event_id} ({kind}) was recorded at another registration of the "
                    f"same business, merchant {entry.merchant_id}: it is disputed there",
                    field="event_id",
                )
            earlier = await store.objections.objections_of(event_id, kind)
            now = self.now()
            if entry.key in follow_ons.reversed_keys(ledger):
                raise Conflict(
                    f"entry {event_id} ({kind}) was reversed with the finding found wrong it "
                    "followed from: there is nothing to dispute",
                    field="event_id",
                )
            repair_refused = (
                await self._repair_refusal(store, entry, ledger, now)
                if ground == "repaired"
                else None
            )
            objection = objection_rules.file(
                entry,
                earlier,
                statement,
                actor(who),
                now,
                new_id("obj"),
                self.deadline,
                ground=ground,
                commitment=commitment,
                repair_refused=repair_refused,
            )
            if not await store.objections.add_objection(objection):
                # Filed by someone else between the read and the write.
                raise Conflict(f"entry {event_id} ({kind}) is already disputed", field="event_id")
            self._emit(work, [events.objection_filed(objection)])
        self.objections_changed()
        return self._objection_shown(objection, now)

    async def decide_objection(
        self, who: Principal, objection_id: str, decision: str, reasoning: str
    ) -> dict[str, Any]:
        """Another clerk of the district decides an objection: `corrected` or `upheld`, with the
        reasoning; announced as `credit.objection.decided`, which reaches the ledger back from
        the topic (`objection_decided`)."""
        async with self.uow() as work:
            store = work.stores
            held = await store.objections.objection(objection_id, lock=True)
            objection = within(who, held, "objection", objection_id)
            now = self.now()
            repair_refused = None
            if objection.ground == "repaired" and decision == "repaired":
                # The ledger as it stands now: the merchant may have offended again since.
                ledger = await store.ledger.ledger(objection.merchant_id)
                entry = next((a for a in ledger if a.key == objection.key), None)
                if entry is not None:
                    repair_refused = await self._repair_refusal(store, entry, ledger, now)
            decided = objection_rules.decide(
                objection, decision, reasoning, actor(who), now, repair_refused
            )
            await store.objections.save_objection(decided)
            self._emit(work, [events.objection_decided(decided)])
        self.objections_changed()
        return self._objection_shown(decided, now)

    async def withdraw_objection(
        self, who: Principal, objection_id: str, reason: str
    ) -> dict[str, Any]:
        """A clerk of the district closes an open objection without a decision — the merchant
        withdrew it, or it was recorded in error; announced as `credit.objection.withdrawn`."""
        async with self.uow() as work:
            store = work.stores
            held = await store.objections.objection(objection_id, lock=True)
            objection = within(who, held, "objection", objection_id)
            now = self.now()
            withdrawn = objection_rules.withdraw(objection, reason, actor(who), now)
            await store.objections.save_objection(withdrawn)
            self._emit(work, [events.objection_withdrawn(withdrawn)])
        self.objections_changed()
        return self._objection_shown(withdrawn, now)

    async def objections(
        self,
        who: Principal,
        *,
        district: str | None = None,
        merchant_id: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        closed_within: timedelta | None = None,
    ) -> list[dict[str, Any]]:
        """The objections of the caller's district (or the one asked for), oldest first, each
        with its deadline's standing (`DecisionDeadline.clock`); `overdue`: only those still
        open past their deadline; `closed_within`: none closed longer ago than that."""
        if state is not None and state not in objection_rules.STATES:
            raise InvalidInput("state", f"must be one of {', '.join(objection_rules.STATES)}")
        now = self.now()
        query = ObjectionQuery(
            who.listing_district(district),
            merchant_id,
            state,
            now if overdue else None,
            None if closed_within is None else now - closed_within,
        )
        async with self.uow() as work:
            found = await work.stores.objections.objections(query)
        return [self._objection_shown(o, now) for o in found]

    async def objections_filed(
        self,
        who: Principal,
        *,
        window: Window,
        after: Position | None,
        district: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The objection ledger (信用异议台账): those filed in `window` of the caller's district
        (or the one asked for), newest first, each as the list shows it."""
        query = FiledQuery(window, after, who.listing_district(district), limit)
        now = self.now()
        async with self.uow() as work:
            found = await work.stores.objections.filed(query)
        return [self._objection_shown(o, now) for o in found]

    async def _subject_objections(
        self, store: Stores, ledger: Sequence[Adjustment]
    ) -> list[objection_rules.Objection]:
        """The objections filed at every registration whose entries `ledger` holds (a credit
        subject's), oldest first."""
        found: list[objection_rules.Objection] = []
        for merchant_id in sorted({a.merchant_id for a in ledger}):
            found += await store.objections.objections(ObjectionQuery(merchant_id=merchant_id))
        return sorted(found, key=lambda o: (o.filed_at, o.objection_id))

    async def _repair_refusal(
        self, store: Stores, entry: Adjustment, ledger: Sequence[Adjustment], now: datetime
    ) -> Conflict | None:
        disputes = await self._subject_objections(store, ledger)
        orders, _ = await store.context.open_rectifications(entry.merchant_id)
        undone = objection_rules.reversed_keys(disputes) | follow_ons.reversed_keys(ledger)
        return objection_rules.repair_refusal(entry, ledger, undone, orders, now)

    async def _found_wrong(self, store: Stores, before: datetime) -> frozenset[tuple[str, str]]:
        """The ledger entries found wrong (信用异议 corrected) before `before`."""
        corrected = await store.objections.objections(ObjectionQuery(state="corrected"))
        return objection_rules.corrected_before(corrected, before)

    def _objection_shown(
        self, objection: objection_rules.Objection, now: datetime
    ) -> dict[str, Any]:
        shown: dict[str, Any] = serial.dump(objection)
        return shown | self.deadline.clock(objection, now)

    async def refresh_objection_counts(self) -> None:
        """The open objections gauge, by district and overdue, from the database."""
        now = self.now()
        async with self.uow() as work:
            counts = await work.stores.objections.open_counts(now)
        districts = {district for district, _ in counts}
        self.metrics.objections_open.set(
            {(district, str(late).lower()): n for (district, late), n in counts.items()},
            also=[(d, late) for d in districts for late in ("true", "false")],
        )

    async def objection_decided(
        self, event_type: str, data: Any, meta: EventMeta, delivery: Delivery
    ) -> None:
        """`credit.objections.v1`, read back: a correction reverses the disputed entry, and a
        finding found wrong what followed from it (`follow_ons`)."""
        facts = facts_from_objection(event_type, data, meta)
        found = (
            follow_ons.corrected_finding(data, meta.correlation_id)
            if isinstance(data, ObjectionDecided)
            else None
        )

        async def decide(store: Stores) -> Sequence[Fact] | None:
            if found is None:
                return facts or None
            # What followed from the finding so far is undone now; what follows later, as it
            # comes (`_record`, under the same merchant's lock: one of the two sees the other).
            await store.ledger.lock(found.merchant_id)
            await store.ledger.corrected_finding(found)
            ledger = await store.ledger.ledger(found.merchant_id)
            return [*facts, *follow_ons.reversals([found], ledger)]

        await self._ledger(delivery, meta, decide)

    async def public(self, merchant_id: str) -> dict[str, Any]:
        """What anyone may see: name, market, stall, grade and when it was given, the last
        inspection (date and outcome), open rectification orders (count, earliest deadline), and
        how many of its records the merchant disputes, not yet decided (信用异议: the grade may
        change once they are)."""
        merchant = self.directory.merchants.get(merchant_id)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id!r}")
        market = self.directory.markets.get(merchant.market_id)
        async with self.uow() as work:
            store = work.stores
            graded = await store.ledger.graded(merchant_id)
            inspected = await store.context.last_inspection_of(merchant_id)
            orders, earliest = await store.context.open_rectifications(merchant_id)
            pending = await store.objections.objections(
                ObjectionQuery(merchant_id=merchant_id, state="open")
            )
            corrected = await store.objections.objections(
                ObjectionQuery(merchant_id=merchant_id, state="corrected")
            )
        # A repair asked for says nothing is wrong with the record: only errors are disputes.
        disputed = [o for o in pending if o.ground == "error"]
        # The latest inspection's finding found wrong: the public is told its outcome was not.
        found_wrong = inspected is not None and any(
            o.kind in FINDINGS and o.occurred_at == inspected[0] for o in corrected
        )
        return {
            "id": merchant_id,
            "merchant_id": merchant_id,
            "name": merchant.name,
            "market_id": merchant.market_id,
            "market_name": market.name if market else None,
            "market": market.name if market else None,
            "district": merchant.district,
            "stall_no": merchant.stall_no,
            "grade": graded[0] if graded else None,
            "graded_at": graded[1].isoformat() if graded and graded[1] else None,
            # A date, as this field always was, the city's day; the outcome beside it (an
            # added field).
            "last_inspection": inspected[0].astimezone(self.tz).date().isoformat()
            if inspected
            else None,
            "last_inspection_outcome": inspected[1] if inspected else None,
            "last_inspection_corrected": found_wrong,
            "open_rectifications": {
                "count": orders,
                "earliest_deadline": earliest.isoformat() if earliest else None,
            },
            "left_on": merchant.left_on.isoformat() if merchant.left_on else None,
            # A count only: what is disputed, and by whom, is the district's to read.
            "objections_open": len(disputed),
        }

    async def merchant_grades(self, query: GradeQuery) -> tuple[list[MerchantGrade], int]:
        async with self.uow() as work:
            return await work.stores.grades.merchant_grades(query)

    async def market_grades(self, market_id: str) -> dict[str, Any]:
        """The shares of the market's merchants at each grade now, and its rank in its district
        from its latest assessment (none before the first). The shares are the current grades,
        not the assessment's: the public page lists each merchant's grade now beside them."""
        if market_id not in self.directory.markets:
            raise NotFound(f"no market {market_id!r}")
        async with self.uow() as work:
            store = work.stores
            latest = await store.assessments.latest_assessment(market_id)
            counts = await store.ledger.market_grade_counts(market_id)
        return {
            "shares": grade_shares(counts),
            "merchants": sum(counts.values()),
            "rank": public_rank(latest),
        }

    # -- assessing -------------------------------------------------------------------------------
    async def assess(
        self, period: Period, stood: Stood | None = None
    ) -> tuple[list[Assessment], list[Assessment]]:
        """Every known market's assessment for `period`, ranked per district, and the district
        roll-ups; a market closed for good (停业) is assessed and ranked no more. `stood`: the
        merchants and their grades to assess (as they stood at the period's end), the current
        ones when None. The operators' duties are the campaign's latest figures of a day not
        after the period's end (city time)."""
        async with self.uow() as work:
            store = work.stores
            if stood is None:
                stood = Stood(self._trading_now(), await store.ledger.grades_by_market())
            # An inspection whose finding was found wrong before the period's end found
            # nothing: it counts as passed; and a deadline its order missed, not at all.
            wrong = await self._found_wrong(store, period.end)
            passed = {event_id for event_id, kind in wrong if kind in FINDINGS}
            voided = await store.ledger.undone_events(period.end)
            seen = await store.context.observed(period.start, period.end, passed, voided)
            risks = await store.context.open_food_safety_risks(period.end)
            duties = await store.context.duties(self._last_day(period.end))
        merchants, grades = stood.merchants, stood.grades
        policy = self.book.in_force(period.end)
        results = []
        for market in self.directory.markets.values():
            if market.status == MARKET_CLOSED:
                continue
            mid = market.market_id
            inspections = seen.get((mid, "inspection"), (0, 0))
            orders = seen.get((mid, "rectification"), (0, 0))
            complaints = seen.get((mid, "complaint"), (0, 0))
            market_grades = grades.get(mid, {})
            own = duties.get(mid, (None, None, None))
            figures = MarketFigures(
                market_id=mid,
                market_name=market.name,
                district=market.district,
                merchants=max(merchants.get(mid, 0), sum(market_grades.values())),
                grades=market_grades,
                inspections_completed=inspections[0],
                inspections_passed=inspections[1],
                rectifications_due=orders[0],
                rectifications_on_time=orders[1],
                rectifications_overdue=orders[0] - orders[1],
                complaints_within_limit=complaints[1],
                complaints_overdue=complaints[0] - complaints[1],
                open_risks=risks.get(mid, 0),
                self_inspection_rate=own[0],
                report_on_time_rate=own[1],
                certified_share=own[2],
            )
            results.append(assess(figures, period, policy))
        ranked = rank_within_district(results)
        return ranked, rank_districts(roll_up(ranked))

    def period(self, days: int, end: datetime | None = None) -> Period:
        end = end or self.now()
        return Period(end - timedelta(days=days), end)

    async def publish_assessments(self, period: Period, who: Principal | None = None) -> int:
        """Compute, store and publish every market's and district's assessment for `period`;
        `who` had it done (None: the schedule), named in the record and the events."""
        markets, districts = await self.assess(period)
        now = self.now()
        by = None if who is None else actor(who)
        async with self.uow() as work:
            store = work.stores
            items = []
            for a in (*markets, *districts):
                data = events.assessment_data(a, now, by)
                await store.assessments.save_assessment(
                    data.assessment_id, data.model_dump(mode="json"), now
                )
                items.append(events.assessment_published(a, now, by))
            self._emit(work, items)
        for a in (*markets, *districts):
            self.metrics.assessments.labels(a.scope).inc()
        log.info(
            "assessments published",
            extra={"markets": len(markets), "districts": len(districts)},
        )
        return len(items)

    async def assessment_due(self, interval_s: float) -> bool:
        async with self.uow() as work:
            last = await work.stores.assessments.last_published()
        return last is None or (self.now() - last).total_seconds() >= interval_s

    async def market_assessment(
        self, who: Principal, market_id: str, period: Period
    ) -> dict[str, Any]:
        market = within(who, self.directory.markets.get(market_id), "market", market_id)
        # An operator sees its own market's assessment (docs/console.md, 市场主办方), no other.
        operator_only = who.roles <= {"operator"}
        if operator_only and who.market_id != market_id:
            raise Forbidden(
                f"an operator reads its own market's assessment only; this token is for market "
                f"{who.market_id!r}, not {market_id!r}"
            )
        if market.status == MARKET_CLOSED:
            raise Conflict(
                f"market {market_id} closed on {market.closed_on}: it is assessed no more"
            )
        markets, districts = await self.assess(period)
        now = self.now()
        mine = next(a for a in markets if a.market_id == market_id)
        district = next(a for a in districts if a.district == market.district)
        return self._shown(mine, now) | {"district_assessment": self._shown(district, now)}

    async def ranking(
        self, who: Principal, period: Period, district: str | None = None, *, current: bool = False
    ) -> dict[str, Any]:
        """考核排名: every market of the reader's district (the city's for a city-wide reader
        asking for none) with its assessment for `period` and what its score is made of, best
        first in each district, and the districts' roll-ups with their standing in the city.

        The merchants' grades are those at the period's end, rebuilt from the ledger, so that
        a month reads as it stood at its end whenever it is asked for (as the honour list reads
        it, docs/honours.md); `current`: the period runs to now, and the grades are those held
        now (nothing to rebuild)."""
        scope = who.listing_district(district)
        stood: Stood | None = None
        if not current:
            async with self.uow() as work:
                ledger = await work.stores.ledger.ledger_before(period.end)
                subjects = await work.stores.ledger.subjects()
            credits = rebuild_all(ledger, period.end, self.book, subjects)
            stood = self._stood(credits, period.end)
        markets, districts = await self.assess(period, stood)
        now = self.now()

        def mine(a: Assessment) -> bool:
            return scope is None or a.district == scope

        in_scope = [a for a in markets if mine(a)]
        in_scope.sort(key=lambda a: (a.district, a.rank or 10**6, a.market_id or ""))
        return {
            "district": scope,
            "period_from": period.start.isoformat(),
            "period_to": period.end.isoformat(),
            "markets": [self._shown(a, now) for a in in_scope],
            "districts": [self._shown(d, now) for d in districts if mine(d)],
        }

    def _shown(self, a: Assessment, now: datetime) -> dict[str, Any]:
        """An assessment as the API answers it; a market's with the `parts` its score is made
        of, under the policy version it was assessed by."""
        view: dict[str, Any] = events.assessment_data(a, now).model_dump(mode="json")
        if a.scope == "market":
            policy = self.book.get(a.policy_version).assessment
            view["parts"] = serial.dump_many(score_parts(a, policy))
        return view

    def _last_day(self, end: datetime) -> date:
        """The last day (city time) a period ending at `end` (excluded) covers."""
        return (end - timedelta(microseconds=1)).astimezone(self.tz).date()

    def _trading_now(self) -> dict[str, int]:
        """market → how many of its merchants trade there now (not left)."""
        merchants: dict[str, int] = {}
        for m in self.directory.merchants.values():
            if m.status != MERCHANT_LEFT:
                merchants[m.market_id] = merchants.get(m.market_id, 0) + 1
        return merchants

    def _stood(self, credits: dict[str, MerchantCredit], end: datetime) -> Stood:
        """The merchants trading at `end` and their grades by market, from `credits` (merchant
        id → credit, rebuilt at `end`): a merchant counts once it has a line in the ledger (its
        registration is the first) and until the day it left (city time)."""
        last_day = self._last_day(end)
        stood = Stood()
        for m in self.directory.merchants.values():
            credit = credits.get(m.merchant_id)
            gone = m.status == MERCHANT_LEFT and m.left_on is not None and m.left_on <= last_day
            if credit is None or gone:
                continue
            stood.merchants[m.market_id] = stood.merchants.get(m.market_id, 0) + 1
            if credit.grade is not None:
                counts = stood.grades.setdefault(m.market_id, {})
                counts[credit.grade] = counts.get(credit.grade, 0) + 1
        return stood

    # -- the honour and warning list (红黑榜) ----------------------------------------------------
    def month(self, text: str, field: str = "month") -> Month:
        """A month `YYYY-MM`, or a 422 naming `field`."""
        try:
            return Month.parse(text)
        except ValueError as exc:
            raise InvalidInput(field, str(exc)) from None

    async def _honour_records(
        self, month: Month, rules: HonourRules, until: datetime | None = None
    ) -> tuple[list[MerchantRecord], list[MarketRecord]]:
        """What the rules read for `month`: each merchant's grade at the month's end (rebuilt from
        the ledger, so a late drawing sees what an early one would) with its ledger facts of the
        months looked back over, and each market's assessment for the month under those grades
        with its rectifications overdue in the month. `until`: read the month so far, to then
        (a preview), instead of to its end."""
        start, end = month.start(self.tz), until or month.end(self.tz)
        first, _ = span(month, rules.lookback)
        async with self.uow() as work:
            store = work.stores
            ledger = await store.ledger.ledger_before(end)
            # A record found wrong before the month's end did not happen, nor what followed
            # from a finding found wrong.
            wrong = await self._found_wrong(store, end) | follow_ons.reversed_keys(ledger, end)
            facts = await store.ledger.ledger_facts(
                LEDGER_KINDS, first.start(self.tz), end, excluding=wrong
            )
            seen = await store.context.observed(start, end)
            subjects = await store.ledger.subjects()
        credits = rebuild_all(ledger, end, self.book, subjects)
        stood = self._stood(credits, end)
        merchants: list[MerchantRecord] = []
        for m in self.directory.merchants.values():
            credit = credits.get(m.merchant_id)
            grade = credit.grade if credit is not None else None
            merchants.append(
                MerchantRecord(
                    merchant_id=m.merchant_id,
                    name=m.name,
                    market_id=m.market_id,
                    district=m.district,
                    grade=grade,
                    facts=tuple(facts.get(m.merchant_id, ())),
                )
            )
        ranked, _ = await self.assess(Period(start, end), stood)
        markets = []
        for a in ranked:
            assert a.market_id is not None
            due, on_time = seen.get((a.market_id, "rectification"), (0, 0))
            markets.append(
                MarketRecord(
                    market_id=a.market_id,
                    name=a.market_name or a.market_id,
                    district=a.district,
                    graded=sum(stood.grades.get(a.market_id, {}).values()),
                    score=a.score,
                    rank=a.rank,
                    ranked=a.ranked,
                    overdue_rectifications=due - on_time,
                )
            )
        return merchants, markets

    async def draw_honours(
        self, month: Month, *, who: Principal | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Draw `month`'s honour and warning list, store it and publish `credit.honour.listed`
        per entry and `credit.honour.delisted` per entry of the last list drawn before that is
        not on this one — all in one transaction. A month is drawn once: drawing it again
        returns the stored list and publishes nothing (the second value is False).

        The month must have ended (city time), must not come before the latest month drawn
        (the lists follow each other: each delists from the one before), and the policy version
        in force at its end must have honour rules.
        """
        now = self.now()
        key = str(month)
        async with self.uow() as work:
            held = await work.stores.honours.drawing(key)
        if held is not None:
            return await self.honours(key), False
        end = month.end(self.tz)
        if end > now:
            raise InvalidInput("month", f"{key} has not ended yet (city time)")
        policy = self.book.in_force(end)
        if policy.honours is None:
            raise Conflict(
                f"policy {policy.version}, in force at the end of {key}, has no honour rules",
                field="month",
                reason=f"no honour rules in force for {key}",
            )
        merchants, markets = await self._honour_records(month, policy.honours)
        entries = draw(month, policy.honours, merchants, markets, self.tz)
        gone: list[Entry] = []
        async with self.uow() as work:
            store = work.stores
            await store.honours.lock_honours()
            drawn = await store.honours.drawing(key) is None
            if drawn:
                latest = await store.honours.drawing()
                if latest is not None and latest["month"] > key:
                    reason = f"{latest['month']} is drawn already: {key} cannot be drawn after it"
                    raise Conflict(reason, field="month")
                previous = (
                    await store.honours.honour_entries(latest["month"], "listed") if latest else []
                )
                gone = delisted(previous, entries)
                did = str(uuid.uuid4())  # the chain the month's events share
                drawing = Drawing(
                    month=key,
                    drawing_id=did,
                    policy_version=policy.version,
                    period=(month.start(self.tz), end),
                    drawn_at=now,
                    drawn_by=None if who is None else actor(who).to_dict(),
                )
                await store.honours.save_drawing(drawing)
                await store.honours.save_honour_entries(key, "listed", entries)
                await store.honours.save_honour_entries(key, "delisted", gone)
                # Delistings first: a consumer keeping an entity's current list ends on the new.
                items = [events.honour_delisted(e, drawing) for e in gone]
                items += [events.honour_listed(e, drawing) for e in entries]
                self._emit(work, items)
        if drawn:
            for change, found in (("listed", entries), ("delisted", gone)):
                for e in found:
                    self.metrics.honours.labels(e.kind, e.entity, change).inc()
            log.info(
                "honours drawn",
                extra={
                    "month": key,
                    "policy_version": policy.version,
                    "listed": len(entries),
                    "delisted": len(gone),
                },
            )
        return await self.honours(key), drawn

    async def preview_honours(self, who: Principal, district: str | None) -> dict[str, Any]:
        """本月预览: the lists this month so far would give if it ended now (city time), drawn
        by the rules in force now and the same records a drawing reads, of the caller's district
        (the city's for city-wide readers, or the district asked for). Stored and published
        nowhere, and for staff only: the list a drawing publishes is the official one, and a
        market or merchant is told where it stands before the month ends, while it can still
        act."""
        district = who.listing_district(district)
        now = self.now()
        month = Month.of(now, self.tz)
        policy = self.book.in_force(now)
        if policy.honours is None:
            raise Conflict(
                f"policy {policy.version}, in force now, has no honour rules",
                field="month",
                reason=f"no honour rules in force for {month}",
            )
        merchants, markets = await self._honour_records(month, policy.honours, until=now)
        entries = [
            e
            for e in draw(month, policy.honours, merchants, markets, self.tz)
            if district is None or e.district == district
        ]
        return {
            "month": str(month),
            "district": district,
            "policy_version": policy.version,
            "period": {"from": month.start(self.tz).isoformat(), "to": now.isoformat()},
            "as_of": now.isoformat(),
            **self._lists(entries),
        }

    async def draw_due_honours(self, _: Any = None) -> Month | None:
        """The schedule: once a month has ended (city time), draw it — on the 1st, or at the
        first check after a restart. Waits until the registry view and the ledger have caught up
        with their topics. Returns the month drawn, if any."""
        if not (self.directory.caught_up.is_set() and self.ledger_caught_up.is_set()):
            return None
        async with self.uow() as work:
            latest = await work.stores.honours.drawing()
        month = due_month(self.now(), self.tz, Month.parse(latest["month"]) if latest else None)
        if month is None or self.book.in_force(month.end(self.tz)).honours is None:
            return None
        await self.draw_honours(month)
        return month

    def _entry_out(self, entry: Entry) -> dict[str, Any]:
        market = self.directory.markets.get(entry.market_id)
        out: dict[str, Any] = serial.dump(entry)
        return out | {"market_name": market.name if market else None}

    def _lists(self, entries: Iterable[Entry]) -> dict[str, list[dict[str, Any]]]:
        """The entries as a drawing's or a preview's body lists them: honour, then warning."""
        out: dict[str, list[dict[str, Any]]] = {"honour": [], "warning": []}
        for e in entries:
            out[e.kind].append(self._entry_out(e))
        return out

    async def honours(
        self, month: str | None = None, district: str | None = None, *, public: bool = False
    ) -> dict[str, Any]:
        """A month's lists (the latest drawn when `month` is None), of one district or all:
        honour and warning entries with the rules each met, and (staff) the entries delisted."""
        async with self.uow() as work:
            store = work.stores
            drawing = await store.honours.drawing(month)
            if drawing is None:
                what = f"for {month}" if month else "yet"
                raise NotFound(f"no honour and warning list drawn {what}")
            listed = await store.honours.honour_entries(drawing["month"], "listed", district)
            gone = await store.honours.honour_entries(drawing["month"], "delisted", district)
        body: dict[str, Any] = {
            "month": drawing["month"],
            "district": district,
            "drawing_id": drawing["drawing_id"],
            "policy_version": drawing["policy_version"],
            "period": {
                "from": drawing["period_from"].isoformat(),
                "to": drawing["period_to"].isoformat(),
            },
            "drawn_at": drawing["drawn_at"].isoformat(),
            **self._lists(listed),
        }
        if not public:
            body["delisted"] = [self._entry_out(e) for e in gone]
            body["drawn_by"] = drawing["drawn_by"]
        return body

    async def staff_honours(
        self, who: Principal, month: str | None, district: str | None
    ) -> dict[str, Any]:
        """The lists as a district's staff see them: their district's (the city's for admins
        and city-wide readers), or the district asked for if they may read it."""
        if month is not None:
            month = str(self.month(month))
        return await self.honours(month, who.listing_district(district))


def _same(before: MerchantCredit, after: MerchantCredit) -> bool:
    """Nothing to write: the same score, balance, next fade and policy (only `as_of` moved)."""
    keep = ("score", "grade", "balance", "next_fade_at", "policy_version")
    return all(getattr(before, k) == getattr(after, k) for k in keep)
