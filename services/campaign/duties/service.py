"""The duties' use cases: each one a unit of work that locks the market's row, loads what the
rules need, applies a pure rule from `services.campaign.domain`, and stores the change with its
events (written to the outbox with the commit) — the market's refreshed standing
(`campaign.duties.updated`) among them when it moved.

HTTP routes and the clock call these; they never touch SQL or Kafka themselves. `now` is the clock
every rule is given: replace it (tests) to move time. Dates are the city's (`config.timezone`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from contracts.envelope import Envelope
from contracts.registry import MarketUpserted
from services.campaign.domain import closed
from services.campaign.domain import training as tr
from services.campaign.domain.duties import Standing, changed, standing, window
from services.campaign.domain.reports import (
    Report,
    Schedule,
    by_period,
    file_report,
    flag_late,
    schedule_for,
)
from services.campaign.domain.self_inspection import (
    Answer,
    Checklist,
    FollowUp,
    OpeningDays,
    Recorded,
    SelfInspection,
    close_follow_up,
    days_to_flag,
    record,
)
from services.campaign.duties import events
from services.campaign.duties.config import DutiesConfig
from services.campaign.duties.metrics import DutiesMetrics
from services.campaign.duties.store import DutiesStore, MarketRow, Stores
from services.runtime.auth import Principal, actor
from services.runtime.clock import Clock
from services.runtime.directory import RegistryView
from services.runtime.failures import Forbidden, InvalidInput, NotFound
from services.runtime.ids import new_id
from services.runtime.outbox import Item
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
Work = UnitOfWork[Stores]


# Who may act on a market's duties, besides admin (always) and the market's own operator where
# a use case admits operators.
READERS = ("leader", "department", "clerk", "inspector")
REPORTERS = ("clerk", "inspector")
REGISTRARS = ("clerk",)


def missing(what: str, field: str, ident: str) -> NotFound:
    """An id that names nothing: `no <what> '<ident>'`, the field named."""
    return NotFound(f"no {what} {ident!r}", field=field, reason=f"no such {what}")


def task_force_day(market: MarketUpserted, tz: Any) -> date | None:
    """The day the registry's snapshot dates the market's task force: when a snapshot first
    shows one, its `updated_at` (city time)."""
    return market.updated_at.astimezone(tz).date() if market.task_force is not None else None


@dataclass(frozen=True)
class ClockRun:
    markets: int = 0
    reports_late: int = 0
    days_missed: int = 0
    standings: int = 0


class Duties:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: RegistryView,
        config: DutiesConfig,
        checklist: Checklist,
        now: Clock,
        metrics: DutiesMetrics,
    ) -> None:
        self.uow, self.directory, self.config = uow, directory, config
        self.checklist, self.now = checklist, now
        self.tz = config.tz
        self.opening = OpeningDays(frozenset(config.closed_weekdays))
        self.metrics = metrics

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    # -- who may act on a market -----------------------------------------------------------------
    def market(
        self, who: Principal, market_id: str, *, staff: Sequence[str], operator: bool
    ) -> MarketUpserted:
        """The market, once the caller may act on it: admin; one of `staff` scoped to its
        district; or, where `operator` admits them, the operator of this very market."""
        market = self.directory.markets.get(market_id)
        if market is None:
            raise NotFound(
                f"no market {market_id!r}", field="market_id", reason="no such market is registered"
            )
        if "admin" in who.roles:
            return market
        if any(r in who.roles for r in staff) and who.may_act_in(market.district):
            return market
        if operator and "operator" in who.roles and who.market_id == market_id:
            return market
        if operator and "operator" in who.roles:
            raise Forbidden(
                f"an operator acts for its own market only; this token is for market "
                f"{who.market_id!r}, not {market_id!r}"
            )
        if any(r in who.roles for r in staff):
            raise Forbidden(
                f"token is scoped to district {who.district!r}, not {market.district!r}"
            )
        raise Forbidden(f"role {who.role!r} may not do this for market {market_id!r}")

    def open_market(
        self, who: Principal, market_id: str, *, staff: Sequence[str], operator: bool
    ) -> MarketUpserted:
        """`market`, refused (409 naming `market_id`) once it closed for good (停业): a report,
        a self-inspection or a manager is taken only of a market still open."""
        market = self.market(who, market_id, staff=staff, operator=operator)
        closed.owes_duties(market_id, closed.closed_on(market))
        return market

    # -- shared steps ----------------------------------------------------------------------------
    async def _lock(self, store: DutiesStore, market: MarketUpserted, today: date) -> MarketRow:
        await store.ensure_market(
            market.market_id, market.district, today, task_force_day(market, self.tz)
        )
        row = await store.lock_market(market.market_id)
        assert row is not None
        return row

    async def _row(self, store: DutiesStore, market: MarketUpserted, today: date) -> MarketRow:
        """The market's row for reading (not locked); as it would start when not there yet."""
        row = await store.market_row(market.market_id)
        if row is not None:
            return row
        return MarketRow(
            market.market_id, market.district, today, task_force_day(market, self.tz), None
        )

    async def schedule(self, store: DutiesStore, row: MarketRow, today: date) -> Schedule | None:
        market = self.directory.markets.get(row.market_id)
        return schedule_for(
            has_task_force=market is not None and market.task_force is not None,
            mobilisation=await store.mobilisation(row.district, today),
            task_force_on=row.task_force_on,
            tracked_since=row.known_since,
            interval_days=self.config.report_interval_days,
        )

    def duties_since(self, row: MarketRow) -> date:
        """Self-inspections are due from the day after the market became known here."""
        return row.known_since + timedelta(days=1)

    async def standing(
        self, store: DutiesStore, row: MarketRow, today: date, now: datetime
    ) -> Standing:
        first, _ = window(today, self.config.window_days)
        schedule = await self.schedule(store, row, today)
        return standing(
            market_id=row.market_id,
            district=row.district,
            today=today,
            now=now,
            window_days=self.config.window_days,
            opening=self.opening,
            duties_since=self.duties_since(row),
            self_inspected=await store.inspected_days(row.market_id, first),
            open_follow_ups=await store.open_follow_ups(row.market_id),
            schedule=schedule,
            reports=by_period(await store.reports(row.market_id)),
            trainees=await store.trainees(row.market_id),
            certificates=await store.certificates(row.market_id),
        )

    async def refresh(
        self,
        store: DutiesStore,
        row: MarketRow,
        today: date,
        now: datetime,
        cause: Envelope[Any] | None,
    ) -> list[Item]:
        """`campaign.duties.updated` when the market's standing moved since it was last
        published (stored with it), else nothing."""
        current = await self.standing(store, row, today, now)
        if not changed(row.standing, current):
            return []
        await store.save_standing(row.market_id, current.measures(), now)
        return [events.duties_updated(current, cause)]

    async def _emit(
        self, work: Work, row: MarketRow, today: date, now: datetime, items: list[Item]
    ) -> list[Item]:
        """`items` emitted, then `campaign.duties.updated` when they moved the market's
        standing (caused by the last of them); returns all that was emitted."""
        cause = items[-1][1] if items else None
        emitted = items + await self.refresh(work.stores.duties, row, today, now, cause)
        work.emit(*emitted)
        return emitted

    def _count(self, items: Iterable[Item]) -> None:
        for _, event, _ in items:
            self.metrics.events.labels(event.type).inc()

    # -- task-force reports ----------------------------------------------------------------------
    async def file_report(
        self,
        who: Principal,
        market_id: str,
        *,
        progress: str,
        problems: Sequence[str],
        next_steps: Sequence[str],
    ) -> Report:
        market = self.open_market(who, market_id, staff=REPORTERS, operator=False)
        now = self.now()
        today = self.today(now)
        async with self.uow() as work:
            store = work.stores.duties
            row = await self._lock(store, market, today)
            filing = file_report(
                await self.schedule(store, row, today),
                by_period(await store.reports(market_id)),
                market_id=market_id,
                district=market.district,
                report_id=new_id("rpt"),
                progress=progress,
                problems=problems,
                next_steps=next_steps,
                actor=actor(who),
                today=today,
                now=now,
            )
            await store.save_report(filing.report)
            items: list[Item] = []
            if filing.flagged_late:
                items.append(events.report_late(filing.report, now))
            items.append(events.report_filed(filing.report))
            items = await self._emit(work, row, today, now, items)
        self._count(items)
        return filing.report

    async def reports(
        self, who: Principal, market_id: str
    ) -> tuple[Schedule | None, list[Report], date]:
        """The market's schedule and its periods (every period since the schedule started, with
        its report when filed), newest first, and today. A market closed for good has no
        schedule: the periods it owed are those due before it closed."""
        market = self.market(who, market_id, staff=READERS, operator=True)
        today = self.today(self.now())
        closed_on = closed.closed_on(market)
        async with self.uow() as work:
            store = work.stores.duties
            row = await self._row(store, market, today)
            schedule = await self.schedule(store, row, today)
            held = by_period(await store.reports(market_id))
        periods = list(held.values())
        if schedule is not None:
            running = schedule.period_of(today) if closed_on is None else None
            owed_until = today if closed_on is None else min(today, closed_on)
            every = schedule.ended(owed_until) + ([running] if running else [])
            for period in every:
                if period.start not in held:
                    periods.append(Report(market_id, market.district, period))
        periods.sort(key=lambda r: r.period.start, reverse=True)
        return (schedule if closed_on is None else None), periods, today

    async def district_reports(
        self, who: Principal, district: str | None, state: str | None, limit: int
    ) -> tuple[list[Report], date]:
        scope = who.listing_district(district)
        today = self.today(self.now())
        async with self.uow() as work:
            found = await work.stores.duties.district_reports(scope, state=state, limit=limit)
        return found, today

    # -- self-inspections ------------------------------------------------------------------------
    async def record_self_inspection(
        self, who: Principal, market_id: str, day: date | None, answers: Sequence[Answer]
    ) -> Recorded:
        market = self.open_market(who, market_id, staff=(), operator=True)
        now = self.now()
        today = self.today(now)
        day = day or today
        async with self.uow() as work:
            store = work.stores.duties
            row = await self._lock(store, market, today)
            recorded = record(
                self.checklist,
                answers,
                self_inspection_id=new_id("sin"),
                new_follow_up_id=lambda: new_id("fup"),
                market_id=market_id,
                district=market.district,
                day=day,
                recorded_days=await store.inspected_days(market_id, day),
                missed_days=await store.missed_days(market_id, day),
                opening=self.opening,
                backfill_days=self.config.self_inspection_backfill_days,
                actor=actor(who),
                today=today,
                now=now,
            )
            await store.insert_self_inspection(recorded.inspection, recorded.follow_ups)
            items = await self._emit(
                work, row, today, now, [events.self_inspection_recorded(recorded)]
            )
        self._count(items)
        return recorded

    async def self_inspections(
        self, who: Principal, market_id: str, first: date | None, last: date | None, limit: int
    ) -> list[tuple[SelfInspection, list[FollowUp]]]:
        self.market(who, market_id, staff=READERS, operator=True)
        if first is not None and last is not None and first > last:
            raise InvalidInput("from", f"must not be after to ({last.isoformat()})")
        async with self.uow() as work:
            return await work.stores.duties.self_inspections(market_id, first, last, limit)

    async def follow_ups(
        self, who: Principal, market_id: str, state: str | None, limit: int
    ) -> list[FollowUp]:
        self.market(who, market_id, staff=READERS, operator=True)
        async with self.uow() as work:
            return await work.stores.duties.follow_ups(market_id, state, limit)

    async def close_follow_up(self, who: Principal, follow_up_id: str, note: str) -> FollowUp:
        now = self.now()
        today = self.today(now)
        async with self.uow() as work:
            store = work.stores.duties
            found = await store.follow_up(follow_up_id)
            if found is None:
                raise missing("follow-up", "follow_up_id", follow_up_id)
            market = self.market(who, found.market_id, staff=(), operator=True)
            row = await self._lock(store, market, today)
            current = await store.follow_up(follow_up_id)  # as it is under the lock
            assert current is not None
            done = close_follow_up(current, note, actor=actor(who), now=now)
            await store.close_follow_up(done)
            items = await self._emit(work, row, today, now, [events.follow_up_closed(done)])
        self._count(items)
        return done

    # -- training --------------------------------------------------------------------------------
    async def create_course(self, who: Principal, title: str, validity_months: int) -> tr.Course:
        course = tr.new_course(
            course_id=new_id("crs"),
            title=title,
            validity_months=validity_months,
            actor=actor(who),
            now=self.now(),
        )
        async with self.uow() as work:
            await work.stores.duties.insert_course(course)
        return course

    async def courses(self) -> list[tuple[tr.Course, list[tr.Session]]]:
        async with self.uow() as work:
            return await work.stores.duties.courses()

    async def create_session(
        self, who: Principal, course_id: str, held_on: date | None, place: str
    ) -> tr.Session:
        async with self.uow() as work:
            store = work.stores.duties
            course = await store.course(course_id)
            if course is None:
                raise missing("course", "course_id", course_id)
            session = tr.new_session(
                course,
                session_id=new_id("ses"),
                held_on=held_on,
                place=place,
                actor=actor(who),
                now=self.now(),
            )
            await store.insert_session(session)
        return session

    async def add_manager(
        self, who: Principal, market_id: str, name: str, position: str
    ) -> tr.Trainee:
        market = self.open_market(who, market_id, staff=REGISTRARS, operator=True)
        now = self.now()
        today = self.today(now)
        trainee = tr.new_trainee(
            trainee_id=new_id("trn"),
            market_id=market_id,
            district=market.district,
            name=name,
            position=position,
            actor=actor(who),
            now=now,
        )
        async with self.uow() as work:
            store = work.stores.duties
            row = await self._lock(store, market, today)
            await store.insert_trainee(trainee)
            items = await self._emit(work, row, today, now, [])
        self._count(items)
        return trainee

    async def managers(
        self, who: Principal, market_id: str
    ) -> tuple[list[tuple[tr.Trainee, list[tr.Certificate]]], date]:
        self.market(who, market_id, staff=READERS, operator=True)
        today = self.today(self.now())
        async with self.uow() as work:
            store = work.stores.duties
            trainees = await store.trainees(market_id)
            certs = await store.certificates(market_id)
        return [(t, [c for c in certs if c.trainee_id == t.trainee_id]) for t in trainees], today

    async def record_attendance(
        self, who: Principal, session_id: str, trainee_id: str, passed: bool
    ) -> tr.Attended:
        now = self.now()
        today = self.today(now)
        async with self.uow() as work:
            store = work.stores.duties
            session = await store.session(session_id)
            if session is None:
                raise missing("session", "session_id", session_id)
            trainee = await store.trainee(trainee_id)
            if trainee is None:
                raise InvalidInput("trainee_id", f"no manager {trainee_id!r} is registered")
            market = self.market(who, trainee.market_id, staff=REGISTRARS, operator=False)
            course = await store.course(session.course_id)
            assert course is not None
            row = await self._lock(store, market, today)
            attended = tr.attend(
                course,
                session,
                trainee,
                passed=passed,
                already_recorded=await store.attended(session_id, trainee_id),
                certificate_id=new_id("crt"),
                actor=actor(who),
                today=today,
                now=now,
            )
            await store.insert_attendance(attended.attendance, attended.certificate)
            first = events.training_attended(
                attended, course, session, trainee.market_id, trainee.district
            )
            items = [first]
            issued = events.certificate_issued(attended, course, first[1])
            if issued is not None:
                items.append(issued)
            items = await self._emit(work, row, today, now, items)
        self._count(items)
        return attended

    async def certificates(
        self, who: Principal, district: str | None, expiring_within_days: int | None, limit: int
    ) -> tuple[list[tuple[tr.Certificate, tr.Trainee, tr.Course]], date]:
        """Certificates valid today (of the district), or only those expiring within the days
        given (not renewed yet), soonest first, with their holder and course."""
        scope = who.listing_district(district)
        today = self.today(self.now())
        async with self.uow() as work:
            store = work.stores.duties
            valid = await store.valid_certificates(scope, today)
            if expiring_within_days is None:
                found = [c for c in valid if c.valid_on(today)]
            else:
                found = tr.expiring(valid, today, expiring_within_days)
            found = found[:limit]
            trainees = await store.trainees_by_id(c.trainee_id for c in found)
            courses = await store.courses_by_id(c.course_id for c in found)
        return [(c, trainees[c.trainee_id], courses[c.course_id]) for c in found], today

    # -- the standing ----------------------------------------------------------------------------
    async def current_standing(self, who: Principal, market_id: str) -> Standing:
        market = self.market(who, market_id, staff=READERS, operator=True)
        now = self.now()
        today = self.today(now)
        async with self.uow() as work:
            store = work.stores.duties
            return await self.standing(store, await self._row(store, market, today), today, now)

    # -- the registry view -----------------------------------------------------------------------
    async def on_market_change(
        self,
        previous: MarketUpserted | None,
        market: MarketUpserted,
        uow: UowFactory[Stores] | None = None,
    ) -> None:
        """Know a market from the day it comes into the view, and date its task force when a
        snapshot first shows one (`uow`: in the view's own transaction)."""
        newly = market.task_force is not None and (previous is None or previous.task_force is None)
        async with (uow or self.uow)() as work:
            await work.stores.duties.ensure_market(
                market.market_id,
                market.district,
                self.today(self.now()),
                task_force_day(market, self.tz) if newly else None,
            )

    # -- the clock -------------------------------------------------------------------------------
    async def check(self, only: Iterable[str] | None = None) -> ClockRun:
        """Flag every ended reporting period without a report and every opening day without a
        self-inspection, each once; republish each market whose standing moved. `only` limits
        the run to those markets."""
        now = self.now()
        today = self.today(now)
        wanted = None if only is None else set(only)
        # A market closed for good (停业) owes no report nor self-inspection any more.
        markets = [
            m
            for m in self.directory.markets_in(closed=False)
            if wanted is None or m.market_id in wanted
        ]
        late = missed = published = 0
        for market in markets:
            async with self.uow() as work:
                store = work.stores.duties
                row = await self._lock(store, market, today)
                items: list[Item] = []
                schedule = await self.schedule(store, row, today)
                if schedule is not None:
                    flagged = flag_late(
                        schedule,
                        by_period(await store.reports(market.market_id)),
                        market_id=market.market_id,
                        district=market.district,
                        today=today,
                        now=now,
                    )
                    for report in flagged:
                        await store.save_report(report)
                        items.append(events.report_late(report, now))
                    late += len(flagged)
                first, _ = window(today, self.config.window_days)
                days = days_to_flag(
                    self.opening,
                    since=self.duties_since(row),
                    today=today,
                    recorded_days=await store.inspected_days(market.market_id, first),
                    missed_days=await store.missed_days(market.market_id, first),
                    lookback_days=self.config.window_days,
                )
                await store.insert_missed(market.market_id, market.district, days, now)
                items += [
                    events.self_inspection_missed(market.market_id, market.district, d, now)
                    for d in days
                ]
                missed += len(days)
                emitted = await self._emit(work, row, today, now, items)
                published += len(emitted) - len(items)
            self._count(emitted)
        run = ClockRun(len(markets), late, missed, published)
        if late or missed:
            log.info(
                "duties flagged",
                extra={"reports_late": late, "days_missed": missed, "standings": published},
            )
        return run
