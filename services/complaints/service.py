"""The complaints use cases: each one a unit of work that loads what the rules need, applies a
pure rule from `domain`, and stores the changed case with its events (written to the outbox with
the commit).

HTTP routes (api.py), the Kafka handlers (handlers.py) and the clock job call these; they never
touch SQL or Kafka themselves. `now` is the clock every rule is given: replace it (tests) to
move time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from contracts.complaints import (
    COMPLAINT_ACCEPTED,
    COMPLAINT_CLOSED,
    COMPLAINT_OVERDUE,
    COMPLAINT_RECEIVED,
    COMPLAINT_REJECTED,
    COMPLAINT_TRANSFERRED,
    ComplaintSubmission,
)
from contracts.inspection import TaskCompleted
from contracts.registry import MARKET_CLOSED
from contracts.suggestions import SUGGESTION_ANSWERED, SUGGESTION_RECEIVED, SuggestionSubmission
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
    transfer,
    working_days_left,
)
from services.complaints.domain.lifecycle import Problem, closing_problems, occurred_at_problem
from services.complaints.domain.photos import (
    UPLOAD_TTL,
    ComplaintPhoto,
    accept_upload,
    claim_problems,
    claimed,
)
from services.complaints.domain.suggestions import (
    Suggestion,
    about_problems,
    answer_suggestion,
    receive_suggestion,
)
from services.complaints.metrics import UNREACHED, ComplaintsMetrics
from services.complaints.store import CaseQuery, ComplaintStore, InspectionRecord, Stores
from services.runtime import serial
from services.runtime.auth import Principal, actor, within
from services.runtime.clock import Clock
from services.runtime.directory import RegistryView
from services.runtime.failures import Forbidden, InvalidInput, NotFound
from services.runtime.ids import new_id
from services.runtime.paging import ANY_TIME, Position, Window
from services.runtime.photos import DEFAULT_MAX_BYTES
from services.runtime.ratelimit import TooManyRequests
from services.runtime.unit_of_work import UowFactory

log = logging.getLogger(__name__)


T = TypeVar("T")
Found = TypeVar("Found", covariant=True)


class ByCode(Protocol[Found]):
    async def by_tracking_code(self, code: str) -> Found | None: ...


async def tracked(
    uow: UowFactory[Stores], code: str, store: Callable[[Stores], ByCode[T]], what: str
) -> T:
    """The complaint or suggestion a tracking code names, as typed (any case, spaces or dashes);
    InvalidInput naming `tracking_code` when it is malformed, NotFound when it names none."""
    canonical = parse_tracking_code(code)
    async with uow() as work:
        found = await store(work.stores).by_tracking_code(canonical)
    if found is None:
        raise NotFound(f"no {what} has this tracking code")
    return found


class Complaints:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: RegistryView,
        policy: Policy,
        calendar: WorkCalendar,
        now: Clock,
        metrics: ComplaintsMetrics,
        *,
        batch_limit: int = 500,
        photo_max_bytes: int = DEFAULT_MAX_BYTES,
        photo_ttl: timedelta = UPLOAD_TTL,
        photo_max_unclaimed: int = 500,
    ) -> None:
        self.uow, self.directory = uow, directory
        self.policy, self.calendar, self.now = policy, calendar, now
        self.metrics, self.batch_limit = metrics, batch_limit
        self.photo_max_bytes, self.photo_ttl = photo_max_bytes, photo_ttl
        self.photo_max_unclaimed = photo_max_unclaimed

    # -- intake ----------------------------------------------------------------------------------
    def _place(
        self,
        market_id: str,
        merchant_id: str | None,
        stall_no: str | None,
        problems: list[Problem],
    ) -> tuple[str, str | None, str | None]:
        """The market's district and the merchant and stall the complaint is about, from the
        registry view; what the registry does not know is a problem added to `problems` (a
        merchant and a stall are looked for only in a market it knows; the district is then
        blank)."""
        market = self.directory.markets.get(market_id)
        if market is None:
            problems.append(("market_id", f"no market {market_id!r} is registered"))
            return "", merchant_id, stall_no
        if market.status == MARKET_CLOSED:
            # 停业: nobody is there to mediate with or to inspect.
            problems.append(("market_id", f"market {market_id!r} closed on {market.closed_on}"))
        if merchant_id is not None:
            merchant = self.directory.merchants.get(merchant_id)
            if merchant is None or merchant.market_id != market.market_id:
                problems.append(
                    ("merchant_id", f"no merchant {merchant_id!r} trades in this market")
                )
            elif stall_no is not None and stall_no != merchant.stall_no:
                problems.append(
                    ("stall_no", f"merchant {merchant_id!r} trades at {merchant.stall_no!r}")
                )
            else:
                stall_no = merchant.stall_no
        elif stall_no is not None:
            found = self.directory.merchant_at(market.market_id, stall_no)
            if found is None:
                problems.append(("stall_no", f"no merchant is registered at stall {stall_no!r}"))
            else:
                merchant_id = found.merchant_id
        return market.district, merchant_id, stall_no

    async def _root_of(self, store: ComplaintStore, case: Complaint) -> Complaint | None:
        """The earlier complaint `case` duplicates (same merchant and category within the
        window, similar facts), locked; None when it duplicates none."""
        if case.merchant_id is None:
            return None
        candidates = await store.recent(
            case.merchant_id,
            case.category,
            case.received_at - self.policy.duplicate_window,
            for_update=True,
        )
        root_id = find_duplicate(case, candidates, self.policy)
        if root_id is None:
            return None
        # The earliest match may itself be a duplicate of one older than the window.
        root = next((c for c in candidates if c.complaint_id == root_id), None)
        return root or await store.get(root_id, for_update=True)

    async def check_submission(self, fields: Mapping[str, Any]) -> None:
        """`submit`'s checks that a body's model cannot make, on the fields given (those of a
        request that fitted its model): the market, merchant and stall against the registry,
        and when it happened. Every problem at once (InvalidComplaint); stores nothing."""
        problems: list[Problem] = []
        market_id = fields.get("market_id")
        if market_id is not None:
            self._place(market_id, fields.get("merchant_id"), fields.get("stall_no"), problems)
        occurred_at = fields.get("occurred_at")
        late = None if occurred_at is None else occurred_at_problem(occurred_at, self.now())
        if late is not None:
            problems.append(("occurred_at", late))
        photos = fields.get("photos")
        if photos:
            problems += await self._photo_problems(photos, None)
        InvalidComplaint.raise_any(problems)

    async def submit(
        self,
        sub: ComplaintSubmission,
        *,
        via: str,
        intake_id: str | None = None,
        causation_id: str | None = None,
        photos: Sequence[str] = (),
    ) -> Complaint:
        """Register a complaint with the `photos` uploaded for it (their ids); the same
        `intake_id` again returns the first one, unchanged."""
        placed: list[Problem] = []
        district, merchant_id, stall_no = self._place(
            sub.market_id, sub.merchant_id, sub.stall_no, placed
        )
        if photos:
            placed += await self._photo_problems(photos, intake_id)
        try:
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
                found=placed,
            )
        except InvalidInput as exc:
            self.metrics.intake_rejected.labels(via, exc.field).inc()
            raise
        linked: Complaint | None = None
        async with self.uow() as work:
            store = work.stores.complaints
            if intake_id is not None:
                # Serialise resubmissions of one intake id, then answer with the first.
                await store.lock_intake(intake_id)
                existing = await store.by_intake(intake_id)
                if existing is not None:
                    return existing
            attached: list[ComplaintPhoto] = []
            if photos:
                # Locked, and judged again: two filings naming one upload cannot both claim it.
                found = await work.stores.photos.found(photos, for_update=True)
                InvalidComplaint.raise_any(
                    claim_problems(photos, _by_id(found), now, ttl=self.photo_ttl)
                )
                attached = claimed([_by_id(found)[p] for p in photos], case.complaint_id)
            root = await self._root_of(store, case)
            if root is not None:
                linked, case = link(root, case)
            await store.insert(case, intake_id=intake_id, external_ref=sub.external_ref)
            if attached:
                await work.stores.photos.attach(attached)
            if linked is not None:
                await store.update(linked)
            work.emit(
                events.item(
                    COMPLAINT_RECEIVED,
                    case.complaint_id,
                    events.received(case, sub.external_ref),
                    now,
                    causation_id=causation_id,
                )
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
                "photos": len(photos),
            },
        )
        return case

    # -- citizens' photos ------------------------------------------------------------------------
    async def upload_photo(self, data: bytes) -> ComplaintPhoto:
        """Keep a citizen's photo, cleaned of its metadata and unclaimed, for a complaint to name
        within `photo_ttl`; an error naming `file` when it is not an image or is too large, and
        429 while `photo_max_unclaimed` uploads wait for a complaint (with the rate limit per
        client and the expiry, what bounds the disk an anonymous endpoint can take)."""
        photo, clean = accept_upload(
            data,
            photo_id=new_id("cph"),
            now=self.now(),
            max_bytes=self.photo_max_bytes,
        )
        async with self.uow() as work:
            if await work.stores.photos.unclaimed() >= self.photo_max_unclaimed:
                raise TooManyRequests(self.photo_ttl.total_seconds() / 4)
            await work.stores.photos.add(photo, clean)
        log.info("complaint photo uploaded", extra={"photo_id": photo.photo_id, "size": photo.size})
        return photo

    async def _photo_problems(self, photos: Sequence[str], intake_id: str | None) -> list[Problem]:
        """What stops a filing naming `photos`; a retry of a filing (`intake_id`) may name again
        the photos its first try attached."""
        async with self.uow() as work:
            found = await work.stores.photos.found(photos)
            first = None if intake_id is None else await work.stores.complaints.by_intake(intake_id)
        mine = first.complaint_id if first is not None else None
        return claim_problems(photos, _by_id(found), self.now(), ttl=self.photo_ttl, mine=mine)

    async def photos(self, complaint_id: str) -> list[ComplaintPhoto]:
        """The complaint's photos (their facts, no bytes), by upload time."""
        async with self.uow() as work:
            return await work.stores.photos.of_complaint(complaint_id)

    async def photo(
        self, who: Principal, complaint_id: str, photo_id: str
    ) -> tuple[ComplaintPhoto, bytes]:
        """A photo of a complaint the caller may read (the complaint's own rule: 404 unknown,
        403 another district's), with its bytes; 404 when the complaint has no such photo."""
        await self.case(who, complaint_id)
        async with self.uow() as work:
            found = await work.stores.photos.get(complaint_id, photo_id)
        if found is None:
            raise NotFound(f"no photo {photo_id!r} of complaint {complaint_id!r}")
        return found

    async def expire_photos(self, _: object = None) -> int:
        """Delete the uploads no complaint named within `photo_ttl` (a batch at a time); returns
        how many went."""
        async with self.uow() as work:
            gone = await work.stores.photos.expire(self.now() - self.photo_ttl, self.batch_limit)
        if gone:
            log.info("complaint photos expired", extra={"count": gone})
        return gone

    async def intake(self, sub: ComplaintSubmission, event_id: str) -> Complaint:
        """A complaint from an integrator's channel: the same rules as `POST /complaints`, once
        per intake event; a redelivered one returns the first without judging it again."""
        intake_id = f"topic:{event_id}"
        async with self.uow() as work:
            seen = await work.stores.complaints.by_intake(intake_id)
        if seen is not None:
            return seen
        return await self.submit(sub, via="topic", intake_id=intake_id, causation_id=event_id)

    # -- what inspection found -------------------------------------------------------------------
    async def inspected(self, task: TaskCompleted) -> int:
        """Keep what an inspection of complaints found, for the handler who settles them;
        returns how many complaints it was new to."""
        complaint_ids = [t.id for t in task.triggers if t.kind == "complaint"]
        if not complaint_ids:
            return 0
        findings = [{"code": f.code, "severity": f.severity, "note": f.note} for f in task.findings]
        found = InspectionRecord(task.task_id, task.outcome, findings, task.completed_at)
        kept = 0
        async with self.uow() as work:
            for complaint_id in complaint_ids:
                kept += await work.stores.complaints.record_inspection(complaint_id, found)
        return kept

    # -- reading ---------------------------------------------------------------------------------
    async def by_tracking_code(self, code: str) -> Complaint:
        return await tracked(self.uow, code, lambda stores: stores.complaints, "complaint")

    async def case(self, who: Principal, complaint_id: str) -> Complaint:
        async with self.uow() as work:
            case = await work.stores.complaints.get(complaint_id)
        return within(who, case, "complaint", complaint_id)

    async def cases(
        self,
        who: Principal,
        *,
        state: str | None,
        market_id: str | None,
        nearing: bool,
        overdue: bool,
        limit: int,
        window: Window = ANY_TIME,
        after: Position | None = None,
    ) -> list[Complaint]:
        """Newest first (then by id), those received in `window`, starting after the position
        `after` (a page of a ledger's export)."""
        async with self.uow() as work:
            found = await work.stores.complaints.cases(
                CaseQuery(
                    district=who.listing_district(),
                    state=state,
                    market_id=market_id,
                    overdue=overdue,
                    open_only=nearing,
                    limit=limit if not nearing else 10 * limit,
                    window=window,
                    after=after,
                )
            )
        if nearing:
            now = self.now()
            found = [c for c in found if self._nearing(c, now)][:limit]
        return found

    def _nearing(self, case: Complaint, now: datetime) -> bool:
        return nearing(case, now, self.policy, self.calendar)

    async def inspections(self, complaint_id: str) -> list[dict[str, Any]]:
        async with self.uow() as work:
            return await work.stores.complaints.inspections(complaint_id)

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
            **serial.dump(case),
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
        event_type: str,
        data: Callable[[Complaint, str | None], Any],
        settle: Callable[[ComplaintStore, Complaint], Awaitable[Complaint]] | None = None,
    ) -> Complaint:
        """Change the case in one transaction and announce it. `settle`: what else the change
        does there once the changed case is stored (a transfer's duplicate link), returning the
        case to announce."""
        async with self.uow() as work:
            store = work.stores.complaints
            case = within(
                who, await store.get(complaint_id, for_update=True), "complaint", complaint_id
            )
            now = self.now()
            changed = change(case, now)
            await store.update(changed)
            if settle is not None:
                changed = await settle(store, changed)
            ref = await store.external_ref(complaint_id)
            work.emit(events.item(event_type, complaint_id, data(changed, ref), now))
        if changed.state != case.state:  # a transfer enters no state
            self.metrics.transitions.labels(changed.category, changed.channel, changed.state).inc()
        log.info(
            "complaint decided",
            extra={
                "complaint_id": complaint_id,
                "state": changed.state,
                "by": who.subject,
                "duplicate_of": changed.duplicate_of,
            },
        )
        return changed

    async def accept(self, who: Principal, complaint_id: str) -> Complaint:
        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: accept(
                c, by=actor(who), now=now, policy=self.policy, calendar=self.calendar
            ),
            COMPLAINT_ACCEPTED,
            events.accepted,
        )
        self._decided(case, "accepted")
        return case

    async def reject(self, who: Principal, complaint_id: str, *, reason: str) -> Complaint:
        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: reject(c, by=actor(who), reason=reason, now=now),
            COMPLAINT_REJECTED,
            events.rejected,
        )
        self._decided(case, "rejected")
        return case

    async def check_transfer(self, fields: Mapping[str, Any]) -> None:
        """`transfer`'s checks of the new market and stall against the registry, on the fields
        given (a request's that fitted its model): every problem at once; stores nothing."""
        problems: list[Problem] = []
        market_id = fields.get("market_id")
        if isinstance(market_id, str) and market_id.strip():
            self._place(market_id.strip(), None, fields.get("stall_no") or None, problems)
        InvalidComplaint.raise_any(problems)

    async def transfer(
        self,
        who: Principal,
        complaint_id: str,
        *,
        market_id: str,
        reason: str,
        stall_no: str | None = None,
    ) -> Complaint:
        """移送: a received complaint to the market it is really about, in this district or
        another (whose handlers then hold it, with a fresh acceptance clock)."""
        problems: list[Problem] = []
        market_id, stall_no = market_id.strip(), (stall_no or "").strip() or None
        district, merchant_id = "", None
        if market_id:
            district, merchant_id, stall_no = self._place(market_id, None, stall_no, problems)
        linked: list[Complaint] = []

        async def link_duplicate(store: ComplaintStore, moved: Complaint) -> Complaint:
            # Moved to a merchant who already has the same complaint: counted once, as at intake.
            root = await self._root_of(store, moved)
            if root is None:
                return moved
            root, moved = link(root, moved)
            await store.update(root)
            await store.update(moved)
            linked.append(root)
            return moved

        case = await self._decide(
            who,
            complaint_id,
            lambda c, now: transfer(
                c,
                by=actor(who),
                market_id=market_id,
                district=district,
                reason=reason,
                now=now,
                policy=self.policy,
                calendar=self.calendar,
                merchant_id=merchant_id,
                stall_no=stall_no,
                found=problems,
            ),
            COMPLAINT_TRANSFERRED,
            events.transferred,
            settle=link_duplicate,
        )
        if linked:
            self.metrics.duplicates.labels(case.category).inc()
        moved = case.transfers[-1]
        across = str(moved.from_district != moved.to_district).lower()
        self.metrics.transferred.labels(case.category, across).inc()
        return case

    def _decided(self, case: Complaint, decision: str) -> None:
        if case.decided_at is not None:
            self.metrics.time_to_acceptance.labels(decision).observe(
                max(0.0, (case.decided_at - case.received_at).total_seconds())
            )

    @staticmethod
    async def check_closing(fields: Mapping[str, Any]) -> None:
        """`close`'s checks of its fields, on those given (a request's that fitted its model):
        every problem at once (InvalidComplaint); reads and stores nothing."""
        problems = closing_problems(fields)
        InvalidComplaint.raise_any(problems)

    async def close(
        self,
        who: Principal,
        complaint_id: str,
        *,
        outcome: str,
        substantiated: bool,
        satisfaction: int | None,
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
            COMPLAINT_CLOSED,
            events.closed,
        )
        self.metrics.closed.labels(str(bool(case.closed_in_time)).lower()).inc()
        self.metrics.satisfaction.labels(
            UNREACHED if satisfaction is None else str(satisfaction)
        ).inc()
        return case

    # -- the clock -------------------------------------------------------------------------------
    async def check_clock(self, _: object = None) -> int:
        """Mark every case whose running clock ran out as overdue, each clock once; refresh the
        case counts. Returns how many were marked."""
        now = self.now()
        marked: list[Complaint] = []
        async with self.uow() as work:
            store = work.stores.complaints
            for case in await store.past_deadline(now, self.batch_limit):
                late = mark_overdue(case, now)
                if late is None:
                    continue
                await store.update(late)
                ref = await store.external_ref(late.complaint_id)
                work.emit(
                    events.item(
                        COMPLAINT_OVERDUE, late.complaint_id, events.overdue(late, ref), now
                    )
                )
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


def _by_id(photos: Sequence[ComplaintPhoto]) -> dict[str, ComplaintPhoto]:
    return {p.photo_id: p for p in photos}


class Suggestions:
    """The suggestions use cases (意见建议): receive one from a citizen, answer it, list them.
    The rules and who may see what are in `domain.suggestions`."""

    def __init__(self, uow: UowFactory[Stores], directory: RegistryView, now: Clock) -> None:
        self.uow, self.directory, self.now = uow, directory, now

    async def check(self, fields: Mapping[str, Any]) -> None:
        """`submit`'s checks of what a suggestion is about, on the fields given (a request's
        that fitted its model): every problem at once (InvalidComplaint); stores nothing."""
        market_id = fields.get("market_id")
        market = self.directory.markets.get(market_id) if market_id else None
        district = market.district if market else None
        problems = about_problems(fields.get("about"), market_id, district)
        InvalidComplaint.raise_any(problems)

    async def submit(self, body: SuggestionSubmission) -> Suggestion:
        market = self.directory.markets.get(body.market_id) if body.market_id else None
        now = self.now()
        s = receive_suggestion(
            about=body.about,
            market_id=body.market_id,
            district=market.district if market else None,
            text=body.text,
            name=body.name,
            phone=body.phone,
            publish_answer=body.publish_answer,
            now=now,
            project_id=body.project_id,
        )
        async with self.uow() as work:
            await work.stores.suggestions.insert(s)
            work.emit(
                events.item(
                    SUGGESTION_RECEIVED, s.suggestion_id, events.suggestion_received(s), now
                )
            )
        log.info("suggestion received", extra={"suggestion_id": s.suggestion_id, "about": s.about})
        return s

    async def by_tracking_code(self, code: str) -> Suggestion:
        return await tracked(self.uow, code, lambda stores: stores.suggestions, "suggestion")

    async def listed(self, who: Principal, *, state: str | None, limit: int) -> list[Suggestion]:
        async with self.uow() as work:
            found = await work.stores.suggestions.listed(
                district=who.listing_district(), state=state, limit=limit
            )
        return [s for s in found if s.may_read(who.roles, who.district)]

    async def published(
        self, *, market_id: str | None, about: str | None, limit: int
    ) -> list[Suggestion]:
        async with self.uow() as work:
            return await work.stores.suggestions.published(
                market_id=market_id, about=about, limit=limit
            )

    async def answer(self, who: Principal, suggestion_id: str, text: str) -> Suggestion:
        async with self.uow() as work:
            store = work.stores.suggestions
            s = await store.get(suggestion_id, for_update=True)
            if s is None or not s.may_read(who.roles, who.district):
                raise NotFound(f"no suggestion {suggestion_id!r}")
            if not s.may_answer(who.roles, who.district):
                raise Forbidden(f"suggestion {suggestion_id} is not yours to answer")
            now = self.now()
            answered = answer_suggestion(s, answer=text, by=actor(who), now=now)
            await store.update(answered)
            work.emit(
                events.item(
                    SUGGESTION_ANSWERED,
                    suggestion_id,
                    events.suggestion_answered(answered),
                    now,
                )
            )
        log.info("suggestion answered", extra={"suggestion_id": suggestion_id, "by": who.subject})
        return answered
