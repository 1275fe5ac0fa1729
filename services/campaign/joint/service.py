"""Joint meetings and enforcement cases, the use cases: each one unit of work that loads what the
rules need, applies a pure rule (services/campaign/domain/meetings.py, enforcement.py) and
stores the change with its events (written to the outbox with the commit). HTTP routes, the
Kafka handlers (handlers.py) and the late-item clock call these; they never touch SQL or Kafka
themselves.

Scope: a district's people read their district's work and the city's meetings; they change
their district's. A meeting of the city (`city`) is recorded, and its items reported done, with
a city-wide token (admin, or district `*`). Another district's meeting or case is not found
(404); a city meeting a district's person may read but not change is forbidden (403).

Department: a person acting as a department member only (`department` among their roles, and
none of the roles whose right to the action is not tied to a department) reports done only their
own department's items and decides or closes only the cases their department is involved in
(services/campaign/domain/ownership.py); anything else is forbidden (403), naming both sides.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import NoReturn, Unpack

from services.campaign.domain import enforcement as cases_rules
from services.campaign.domain import meetings as meeting_rules
from services.campaign.domain import ownership
from services.campaign.domain.enforcement import Case, Origin
from services.campaign.domain.joint import (
    AlreadyOpen,
    Departments,
    Invalid,
    JointRuleError,
    Unknown,
    WrongState,
    city_day,
)
from services.campaign.domain.meetings import CITY, ActionItem, Meeting, Minuted, flag_late
from services.campaign.joint import events
from services.campaign.joint.config import JointConfig
from services.campaign.joint.metrics import JointMetrics
from services.campaign.joint.store import CaseRow, CaseTaken, ItemRow, Stores
from services.runtime.auth import Principal, actor
from services.runtime.clock import Clock
from services.runtime.directory import RegistryView
from services.runtime.failures import Conflict, Forbidden, InvalidInputs, NotFound, ServiceError
from services.runtime.messaging import Delivery
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
Work = UnitOfWork[Stores]


def may_read(who: Principal, district: str) -> bool:
    """A district's people read their district's work and the city's meetings."""
    return who.city_wide or district in (who.district, CITY)


def may_change(who: Principal, district: str) -> bool:
    """A district's people change their district's work; the city's needs a city-wide token."""
    return who.city_wide or (district != CITY and who.district == district)


def http_error(exc: JointRuleError) -> ServiceError:
    """What a refusal of the rules is over HTTP: 422 naming every field, 409, 404, or 403."""
    if isinstance(exc, ownership.NotTheirs | ownership.NoDepartment):
        return Forbidden(str(exc))
    if isinstance(exc, Invalid):
        return InvalidInputs(exc.problems)
    if isinstance(exc, AlreadyOpen):
        return Conflict(str(exc), field="origin.id")
    if isinstance(exc, WrongState):
        return Conflict(str(exc), field="state")
    if isinstance(exc, Unknown):
        return NotFound(str(exc), field=exc.field, reason=exc.reason)
    return ServiceError(str(exc))


@contextlib.contextmanager
def ruled() -> Iterator[None]:
    """Turn the rules' refusals into HTTP errors (the transaction around rolls back)."""
    try:
        yield
    except JointRuleError as exc:
        raise http_error(exc) from exc


class Joint:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: RegistryView,
        config: JointConfig,
        departments: Departments,
        now: Clock,
        metrics: JointMetrics,
    ) -> None:
        self.uow, self.directory, self.config = uow, directory, config
        self.departments, self.now = departments, now
        self.tz = config.tz
        self.metrics = metrics

    def today(self) -> date:
        return city_day(self.now(), self.tz)

    # -- scope -------------------------------------------------------------------------------
    @staticmethod
    def listing_scope(who: Principal, district: str | None) -> list[str] | None:
        """The districts a listing covers (None: all); 403 for a district not the caller's."""
        if district is not None:
            if not may_read(who, district):
                raise Forbidden(f"token is scoped to district {who.district!r}, not {district!r}")
            return [district]
        return None if who.city_wide else [who.district, CITY]

    @staticmethod
    def _not_found(what: str, ident: str) -> NoReturn:
        raise NotFound(f"no {what} {ident!r}")

    def _known_districts(self) -> set[str] | None:
        """The districts the registry view knows, once it has read the registry's topics (until
        then a district cannot be refused as unknown)."""
        return self.directory.districts() if self.directory.caught_up.is_set() else None

    # -- meetings ----------------------------------------------------------------------------
    async def record_meeting(self, who: Principal, **minuted: Unpack[Minuted]) -> Meeting:
        district = minuted["district"].strip()
        if district and not may_change(who, district):
            raise Forbidden(
                f"token is scoped to district {who.district!r}, not {district!r}"
                + (" (a city meeting needs a city-wide token)" if district == CITY else "")
            )
        now = self.now()
        with ruled():
            meeting = meeting_rules.record_meeting(
                catalogue=self.departments,
                known_districts=self._known_districts(),
                now=now,
                tz=self.tz,
                actor=actor(who),
                **minuted,
            )
        async with self.uow() as work:
            await work.stores.meetings.insert(meeting)
            work.emit(events.meeting_recorded(meeting, now))
        self.metrics.meetings.inc()
        self.metrics.items.labels("created").inc(len(meeting.items))
        log.info(
            "joint meeting recorded",
            extra={
                "meeting_id": meeting.meeting_id,
                "district": meeting.district,
                "items": len(meeting.items),
            },
        )
        return meeting

    async def meeting(self, who: Principal, meeting_id: str) -> Meeting:
        async with self.uow() as work:
            return await self._meeting(work, who, meeting_id)

    async def _meeting(
        self, work: Work, who: Principal, meeting_id: str, *, for_update: bool = False
    ) -> Meeting:
        """The meeting, if `who` may read it (404 otherwise)."""
        found = await work.stores.meetings.get(meeting_id, for_update=for_update)
        if found is None or not may_read(who, found.district):
            self._not_found("meeting", meeting_id)
        return found

    async def meetings(self, who: Principal, *, district: str | None, limit: int) -> list[Meeting]:
        scope = self.listing_scope(who, district)
        async with self.uow() as work:
            return await work.stores.meetings.listed(scope, limit)

    async def mark_done(
        self, who: Principal, meeting_id: str, item_id: str, *, note: str
    ) -> tuple[Meeting, ActionItem]:
        async with self.uow() as work:
            meeting = await self._meeting(work, who, meeting_id, for_update=True)
            if not may_change(who, meeting.district):
                raise Forbidden(
                    f"the items of a {meeting.district!r} meeting are reported done with a "
                    "city-wide token"
                )
            now = self.now()
            with ruled():
                owned = meeting.item(item_id)
                # Clerks record the meetings and may report any item done for the district;
                # a department member only their own department's.
                if owned is not None and who.department_only("clerk"):
                    ownership.may_report_done(who.department, owned)
                changed, item = meeting_rules.mark_done(
                    meeting, item_id, note=note, now=now, tz=self.tz, actor=actor(who)
                )
            await work.stores.meetings.update_item(item)
            work.emit(events.item_done(changed, item, now))
        self.metrics.items.labels("done_on_time" if item.on_time else "done_late").inc()
        log.info(
            "action item done",
            extra={"meeting_id": meeting_id, "item_id": item_id, "on_time": item.on_time},
        )
        return changed, item

    async def action_items(
        self,
        who: Principal,
        *,
        state: str | None,
        district: str | None,
        department: str | None,
        limit: int,
    ) -> list[ItemRow]:
        scope = self.listing_scope(who, district)
        async with self.uow() as work:
            return await work.stores.meetings.items(
                scope, state=state, today=self.today(), department=department, limit=limit
            )

    # -- enforcement cases -------------------------------------------------------------------
    async def open_case(
        self,
        who: Principal,
        *,
        kind: str,
        origin_id: str,
        departments: Sequence[str],
        facts: str,
    ) -> Case:
        try:
            async with self.uow() as work:
                # The origin's row serialises two requests opening a case for it.
                origin = await work.stores.origins.get(kind, origin_id.strip(), for_update=True)
                if origin is not None and not may_change(who, origin.district):
                    raise Forbidden(
                        f"token is scoped to district {who.district!r}; the {kind} "
                        f"{origin_id!r} is in {origin.district!r}"
                    )
                active = await work.stores.cases.active(kind, origin_id.strip())
                now = self.now()
                with ruled():
                    case = cases_rules.open_case(
                        kind=kind,
                        origin_id=origin_id,
                        origin=origin,
                        departments=departments,
                        facts=facts,
                        active=active,
                        catalogue=self.departments,
                        now=now,
                        actor=actor(who),
                    )
                assert origin is not None
                item = events.case_event(
                    case, now, correlation_id=origin.correlation_id, causation_id=origin.event_id
                )
                await work.stores.cases.insert(
                    case, correlation_id=origin.correlation_id, event_id=item[1].id
                )
                work.emit(item)
        except CaseTaken as exc:
            # Another request opened one between our check and insert.
            raise Conflict(
                f"a case for {kind} {origin_id} is not closed yet",
                field="origin.id",
                reason="a case for it is not closed yet",
            ) from exc
        self.metrics.cases.labels("opened", case.origin_kind).inc()
        log.info(
            "enforcement case opened",
            extra={"case_id": case.case_id, "origin": f"{kind}:{case.origin_id}"},
        )
        return case

    async def case(self, who: Principal, case_id: str) -> Case:
        async with self.uow() as work:
            return (await self._case_row(work, who, case_id)).case

    async def _case_row(
        self, work: Work, who: Principal, case_id: str, *, for_update: bool = False
    ) -> CaseRow:
        """The case with its place in the chain, if `who` may read it (404 otherwise)."""
        row = await work.stores.cases.get(case_id, for_update=for_update)
        if row is None or not may_read(who, row.case.district):
            self._not_found("enforcement case", case_id)
        return row

    async def cases(
        self,
        who: Principal,
        *,
        state: str | None,
        district: str | None,
        market_id: str | None,
        limit: int,
    ) -> list[Case]:
        scope = self.listing_scope(who, district)
        async with self.uow() as work:
            return await work.stores.cases.listed(
                scope, state=state, market_id=market_id, limit=limit
            )

    async def _change(
        self,
        who: Principal,
        case_id: str,
        action: str,
        change: Callable[[Case, datetime], Case],
    ) -> Case:
        async with self.uow() as work:
            row = await self._case_row(work, who, case_id, for_update=True)
            now = self.now()
            with ruled():
                # Inspectors work every case of their district; a department member only the
                # cases their department is involved in.
                if who.department_only("inspector"):
                    ownership.may_act_on_case(who.department, row.case, action)
                changed = change(row.case, now)
            item = events.case_event(
                changed, now, correlation_id=row.correlation_id, causation_id=row.last_event_id
            )
            await work.stores.cases.update(changed, event_id=item[1].id)
            work.emit(item)
        self.metrics.cases.labels(changed.state, changed.origin_kind).inc()
        log.info("enforcement case changed", extra={"case_id": case_id, "state": changed.state})
        return changed

    async def decide(
        self,
        who: Principal,
        case_id: str,
        *,
        sanction: str,
        fine_yuan: object,
        suspension_days: object,
        reasoning: str,
        decided_on: date | None,
    ) -> Case:
        return await self._change(
            who,
            case_id,
            "decide",
            lambda case, now: cases_rules.decide(
                case,
                sanction=sanction,
                fine_yuan=fine_yuan,
                suspension_days=suspension_days,
                reasoning=reasoning,
                decided_on=decided_on,
                now=now,
                tz=self.tz,
                actor=actor(who),
            ),
        )

    async def close(self, who: Principal, case_id: str, *, note: str) -> Case:
        return await self._change(
            who,
            case_id,
            "close",
            lambda case, now: cases_rules.close(case, note=note, now=now, actor=actor(who)),
        )

    # -- the clock ---------------------------------------------------------------------------
    async def flag_late_items(self, _: object = None) -> int:
        """An action item still open after its deadline day (city time) is flagged late once:
        its `late_flagged_at` set and `campaign.action_item.late` published in the same unit of
        work. Runs periodically (`JointConfig.check_interval_s`), one replica at a time; a run
        flags at most `batch_limit` items and the next takes the rest. Returns how many were
        flagged."""
        now = self.now()
        async with self.uow() as work:
            found = await work.stores.meetings.items_to_flag(
                city_day(now, self.tz), self.config.batch_limit
            )
            flagged = 0
            for item, district in found:
                late = flag_late(item, now, self.tz)
                if late is None:
                    continue
                await work.stores.meetings.update_item(late)
                work.emit(events.item_late(district, late, now))
                flagged += 1
        if flagged:
            self.metrics.items.labels("flagged_late").inc(flagged)
            log.info("action items flagged late", extra={"count": flagged})
        return flagged

    # -- origins of cases --------------------------------------------------------------------
    async def finding_found_wrong(
        self, consumer: str, event_id: str, delivery: Delivery, task_id: str, at: datetime
    ) -> None:
        """An inspection's finding found wrong on the merchant's objection (its order lapsed,
        `finding_corrected`): it grounds no case any more (once per consumer and event). A case
        opened from it already stays for its departments to decide."""
        async with self.uow() as work:
            if not await work.claim(consumer, event_id, delivery):
                return
            origin = await work.stores.origins.get("finding", task_id, for_update=True)
            if origin is not None:
                await work.stores.origins.upsert(cases_rules.found_wrong(origin, at))

    async def keep_origin(
        self, consumer: str, event_id: str, delivery: Delivery, origin: Origin
    ) -> None:
        """What an enforcement case may be opened from, learned from another service's event
        (once per consumer and event)."""
        async with self.uow() as work:
            if not await work.claim(consumer, event_id, delivery):
                return
            await work.stores.origins.upsert(origin)
        log.debug(
            "enforcement origin kept",
            extra={"origin": f"{origin.kind}:{origin.origin_id}", "status": origin.status},
        )
