"""Joint meetings and enforcement cases, the use cases: each one transaction that loads what the
rules need, applies a pure rule (services/campaign/domain/meetings.py, enforcement.py) and
stores the change with its events (outbox). HTTP routes call these; they never touch SQL or
Kafka themselves.

Scope: a district's people read their district's work and the city's meetings; they change
their district's. A meeting of the city (`city`) is recorded, and its items reported done, with
a city-wide token (admin, or district `*`). Another district's meeting or case is not found
(404); a city meeting a district's person may read but not change is forbidden (403).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Final, NoReturn

import asyncpg
from prometheus_client import Counter

from contracts.people import Actor
from services.campaign.domain import enforcement as cases_rules
from services.campaign.domain import meetings as meeting_rules
from services.campaign.domain.enforcement import Case
from services.campaign.domain.joint import (
    AlreadyOpen,
    Departments,
    Invalid,
    JointRuleError,
    Unknown,
    WrongState,
    city_day,
)
from services.campaign.domain.meetings import CITY, ActionItem, DecisionInput, Meeting
from services.campaign.joint import events
from services.campaign.joint.clock import LateItems
from services.campaign.joint.config import JointConfig
from services.campaign.joint.store import ItemRow, JointStore
from services.runtime.app import Service
from services.runtime.auth import ALL_DISTRICTS, Principal
from services.runtime.directory import RegistryDirectory
from services.runtime.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError

log = logging.getLogger(__name__)
ITEM_STATES: Final = ("open", "late", "done")


def actor(who: Principal) -> Actor:
    """The person behind a request, as records keep them and events carry them."""
    return Actor.of(who.subject, who.display_name)


def city_wide(who: Principal) -> bool:
    return who.role == "admin" or who.district == ALL_DISTRICTS


def may_read(who: Principal, district: str) -> bool:
    """A district's people read their district's work and the city's meetings."""
    return city_wide(who) or district in (who.district, CITY)


def may_change(who: Principal, district: str) -> bool:
    """A district's people change their district's work; the city's needs a city-wide token."""
    return city_wide(who) or (district != CITY and who.district == district)


def http_error(exc: JointRuleError) -> ServiceError:
    """What a refusal of the rules is over HTTP: 422 naming every field, 409, or 404."""
    if isinstance(exc, Invalid):
        error = InvalidInput(exc.field, exc.reason)
        error.errors = [{"field": f, "reason": r} for f, r in exc.problems]
        error.message = str(exc)
        return error
    if isinstance(exc, AlreadyOpen):
        return Conflict(str(exc), [{"field": "origin.id", "reason": str(exc)}])
    if isinstance(exc, WrongState):
        return Conflict(str(exc), [{"field": "state", "reason": str(exc)}])
    if isinstance(exc, Unknown):
        return NotFound(str(exc), [{"field": exc.field, "reason": exc.reason}])
    return ServiceError(str(exc))


@contextlib.contextmanager
def ruled() -> Iterator[None]:
    """Turn the rules' refusals into HTTP errors (the transaction around rolls back)."""
    try:
        yield
    except JointRuleError as exc:
        raise http_error(exc) from exc


class JointMetrics:
    def __init__(self, service: Service) -> None:
        r, p = service.metrics.registry, "sentinel_campaign"
        self.meetings = Counter(f"{p}_joint_meetings_total", "Joint meetings recorded", registry=r)
        self.items = Counter(
            f"{p}_action_items_total",
            "Action items of joint meetings by change (created, done_on_time, done_late, "
            "flagged_late)",
            ["change"],
            registry=r,
        )
        self.cases = Counter(
            f"{p}_enforcement_cases_total",
            "Joint enforcement cases by change (opened, decided, closed) and origin kind",
            ["change", "origin"],
            registry=r,
        )


class Joint:
    def __init__(
        self,
        service: Service,
        directory: RegistryDirectory,
        config: JointConfig,
        departments: Departments,
        now: Callable[[], datetime],
    ) -> None:
        self.service, self.directory, self.config = service, directory, config
        self.departments, self.now = departments, now
        self.tz = config.tz
        self.metrics = JointMetrics(service)
        # The clock that flags late action items (run periodically by `attach`).
        self.clock = LateItems(self)

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
        return None if city_wide(who) else [who.district, CITY]

    @staticmethod
    def _not_found(what: str, ident: str) -> NoReturn:
        raise NotFound(f"no {what} {ident!r}")

    def _known_districts(self) -> set[str] | None:
        """The districts the registry view knows, once it has read the registry's topics (until
        then a district cannot be refused as unknown)."""
        return self.directory.districts() if self.directory.caught_up.is_set() else None

    # -- meetings ----------------------------------------------------------------------------
    async def record_meeting(
        self,
        who: Principal,
        *,
        district: str,
        title: str,
        held_on: date,
        departments: Sequence[str],
        minutes: str,
        decisions: Sequence[DecisionInput],
    ) -> Meeting:
        district = district.strip()
        if district and not may_change(who, district):
            raise Forbidden(
                f"token is scoped to district {who.district!r}, not {district!r}"
                + (" (a city meeting needs a city-wide token)" if district == CITY else "")
            )
        now = self.now()
        with ruled():
            meeting = meeting_rules.record_meeting(
                district=district,
                title=title,
                held_on=held_on,
                departments=departments,
                minutes=minutes,
                decisions=decisions,
                catalogue=self.departments,
                known_districts=self._known_districts(),
                now=now,
                tz=self.tz,
                actor=actor(who),
            )
        async with self.service.pool.acquire() as conn, conn.transaction():
            await JointStore(conn).insert_meeting(meeting)
            await self.service.enqueue_many(conn, [events.meeting_recorded(meeting, now)])
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
        async with self.service.pool.acquire() as conn:
            found = await JointStore(conn).meeting(meeting_id)
        if found is None or not may_read(who, found.district):
            self._not_found("meeting", meeting_id)
        return found

    async def meetings(self, who: Principal, *, district: str | None, limit: int) -> list[Meeting]:
        scope = self.listing_scope(who, district)
        async with self.service.pool.acquire() as conn:
            return await JointStore(conn).meetings(scope, limit)

    async def mark_done(
        self, who: Principal, meeting_id: str, item_id: str, *, note: str
    ) -> tuple[Meeting, ActionItem]:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = JointStore(conn)
            meeting = await store.meeting(meeting_id, for_update=True)
            if meeting is None or not may_read(who, meeting.district):
                self._not_found("meeting", meeting_id)
            if not may_change(who, meeting.district):
                raise Forbidden(
                    f"the items of a {meeting.district!r} meeting are reported done with a "
                    "city-wide token"
                )
            now = self.now()
            with ruled():
                changed, item = meeting_rules.mark_done(
                    meeting, item_id, note=note, now=now, tz=self.tz, actor=actor(who)
                )
            await store.update_item(item)
            await self.service.enqueue_many(conn, [events.item_done(changed, item, now)])
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
        async with self.service.pool.acquire() as conn:
            return await JointStore(conn).items(
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
            async with self.service.pool.acquire() as conn, conn.transaction():
                store = JointStore(conn)
                # The origin's row serialises two requests opening a case for it.
                origin = await store.origin(kind, origin_id.strip(), for_update=True)
                if origin is not None and not may_change(who, origin.district):
                    raise Forbidden(
                        f"token is scoped to district {who.district!r}; the {kind} "
                        f"{origin_id!r} is in {origin.district!r}"
                    )
                active = await store.active_case(kind, origin_id.strip())
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
                await store.insert_case(
                    case, correlation_id=origin.correlation_id, event_id=item[1].id
                )
                await self.service.enqueue_many(conn, [item])
        except asyncpg.UniqueViolationError as exc:
            # Another request opened one between our check and insert.
            raise Conflict(
                f"a case for {kind} {origin_id} is not closed yet",
                [{"field": "origin.id", "reason": "a case for it is not closed yet"}],
            ) from exc
        self.metrics.cases.labels("opened", case.origin_kind).inc()
        log.info(
            "enforcement case opened",
            extra={"case_id": case.case_id, "origin": f"{kind}:{case.origin_id}"},
        )
        return case

    async def case(self, who: Principal, case_id: str) -> Case:
        async with self.service.pool.acquire() as conn:
            row = await JointStore(conn).case(case_id)
        if row is None or not may_read(who, row.case.district):
            self._not_found("enforcement case", case_id)
        return row.case

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
        async with self.service.pool.acquire() as conn:
            return await JointStore(conn).cases(
                scope, state=state, market_id=market_id, limit=limit
            )

    async def _change(
        self, who: Principal, case_id: str, change: Callable[[Case, datetime], Case]
    ) -> Case:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = JointStore(conn)
            row = await store.case(case_id, for_update=True)
            if row is None or not may_read(who, row.case.district):
                self._not_found("enforcement case", case_id)
            now = self.now()
            with ruled():
                changed = change(row.case, now)
            item = events.case_event(
                changed, now, correlation_id=row.correlation_id, causation_id=row.last_event_id
            )
            await store.update_case(changed, event_id=item[1].id)
            await self.service.enqueue_many(conn, [item])
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
            lambda case, now: cases_rules.close(case, note=note, now=now, actor=actor(who)),
        )
