"""The duties component's store: what the use cases ask of storage (the protocol) and its
Postgres implementation (SQL only, rows in and domain values out). Every method runs on the
connection (and transaction) of the caller's unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from contracts.people import actor_dict
from services.campaign.domain.reports import Report
from services.campaign.domain.self_inspection import FollowUp, SelfInspection
from services.campaign.domain.training import (
    Attendance,
    Certificate,
    Course,
    Session,
    Trainee,
)
from services.campaign.rows import one_row, row_data
from services.runtime import serial
from services.runtime.db import OnConnection


@dataclass(frozen=True, slots=True)
class MarketRow:
    market_id: str
    district: str
    known_since: date
    task_force_on: date | None
    standing: dict[str, Any] | None


class DutiesStore(Protocol):
    """What the use cases ask of the duties' storage; every method runs in the caller's unit
    of work."""

    async def ensure_market(
        self, market_id: str, district: str, today: date, task_force_on: date | None = None
    ) -> None:
        """Know the market from `today` on (a market already known keeps its first day); a task
        force day is kept once set."""

    async def market_row(self, market_id: str) -> MarketRow | None: ...

    async def lock_market(self, market_id: str) -> MarketRow | None:
        """The market's row, locked until the transaction ends: a market's duties change one
        change at a time (a filing and the clock never both flag a period)."""

    async def save_standing(
        self, market_id: str, measures: dict[str, Any], at: datetime
    ) -> None: ...

    async def mobilisation(self, district: str, today: date) -> date | None:
        """The mobilisation date of the latest campaign the district takes part in that has
        begun (the campaign's own table in this service's schema); None without one."""

    async def reports(self, market_id: str) -> list[Report]: ...

    async def save_report(self, report: Report) -> None: ...

    async def district_reports(
        self, district: str | None, *, state: str | None, limit: int
    ) -> list[Report]:
        """Filed or flagged periods (of `district`, or the city's), newest due day first; with
        `state`: `late` (flagged, still not filed), `filed_late` or `on_time`."""

    async def inspected_days(self, market_id: str, since: date) -> set[date]: ...

    async def missed_days(self, market_id: str, since: date) -> set[date]: ...

    async def insert_self_inspection(
        self, inspection: SelfInspection, follow_ups: Iterable[FollowUp]
    ) -> None: ...

    async def self_inspections(
        self, market_id: str, first: date | None, last: date | None, limit: int
    ) -> list[tuple[SelfInspection, list[FollowUp]]]: ...

    async def follow_ups(self, market_id: str, state: str | None, limit: int) -> list[FollowUp]: ...

    async def follow_up(self, follow_up_id: str) -> FollowUp | None: ...

    async def close_follow_up(self, follow_up: FollowUp) -> None: ...

    async def open_follow_ups(self, market_id: str) -> int: ...

    async def insert_missed(
        self, market_id: str, district: str, days: Iterable[date], at: datetime
    ) -> None: ...

    async def insert_course(self, course: Course) -> None: ...

    async def course(self, course_id: str) -> Course | None: ...

    async def courses(self) -> list[tuple[Course, list[Session]]]: ...

    async def insert_session(self, session: Session) -> None: ...

    async def session(self, session_id: str) -> Session | None: ...

    async def insert_trainee(self, trainee: Trainee) -> None: ...

    async def trainee(self, trainee_id: str) -> Trainee | None: ...

    async def trainees(self, market_id: str) -> list[Trainee]: ...

    async def attended(self, session_id: str, trainee_id: str) -> bool: ...

    async def insert_attendance(
        self, attendance: Attendance, certificate: Certificate | None
    ) -> None: ...

    async def certificates(self, market_id: str) -> list[Certificate]: ...

    async def valid_certificates(self, district: str | None, today: date) -> list[Certificate]:
        """Certificates still valid on `today` or later (of `district`, or the city's)."""

    async def trainees_by_id(self, ids: Iterable[str]) -> dict[str, Trainee]: ...

    async def courses_by_id(self, ids: Iterable[str]) -> dict[str, Course]: ...


@dataclass(frozen=True)
class Stores:
    duties: DutiesStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(PostgresDutiesStore(conn))


def _market(r: asyncpg.Record) -> MarketRow:
    return MarketRow(
        r["market_id"], r["district"], r["known_since"], r["task_force_on"], r["standing"]
    )


def _report(r: asyncpg.Record) -> Report:
    period = {"start": r["period_start"], "due_on": r["due_on"]}
    return serial.load(Report, row_data(r) | {"period": period})


def _inspection(r: asyncpg.Record) -> SelfInspection:
    return serial.load(SelfInspection, row_data(r, self_inspection_id="id", answers="items"))


def _follow_up(r: asyncpg.Record) -> FollowUp:
    return serial.load(FollowUp, row_data(r, follow_up_id="id", closed_by="closed_actor"))


def _course(r: asyncpg.Record) -> Course:
    return serial.load(Course, row_data(r, course_id="id"))


def _session(r: asyncpg.Record) -> Session:
    return serial.load(Session, row_data(r, session_id="id"))


def _trainee(r: asyncpg.Record) -> Trainee:
    return serial.load(Trainee, row_data(r, trainee_id="id"))


def _certificate(r: asyncpg.Record) -> Certificate:
    return serial.load(Certificate, row_data(r, certificate_id="id"))


class PostgresDutiesStore(OnConnection):
    # -- markets ---------------------------------------------------------------------------------
    async def ensure_market(
        self, market_id: str, district: str, today: date, task_force_on: date | None = None
    ) -> None:
        await self.conn.execute(
            """INSERT INTO duty_markets (market_id, district, known_since, task_force_on)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (market_id) DO UPDATE SET
                   district = EXCLUDED.district,
                   task_force_on = COALESCE(duty_markets.task_force_on, EXCLUDED.task_force_on)
               WHERE duty_markets.district IS DISTINCT FROM EXCLUDED.district
                  OR (duty_markets.task_force_on IS NULL AND EXCLUDED.task_force_on IS NOT NULL)""",
            market_id, district, today, task_force_on,
        )  # fmt: skip

    async def market_row(self, market_id: str) -> MarketRow | None:
        return await self._market_row(market_id)

    async def lock_market(self, market_id: str) -> MarketRow | None:
        return await self._market_row(market_id, for_update=True)

    async def _market_row(self, market_id: str, *, for_update: bool = False) -> MarketRow | None:
        sql = "SELECT * FROM duty_markets WHERE market_id = $1"
        row = await one_row(self.conn, sql, market_id, for_update=for_update)
        return _market(row) if row else None

    async def save_standing(self, market_id: str, measures: dict[str, Any], at: datetime) -> None:
        await self.conn.execute(
            "UPDATE duty_markets SET standing = $2, standing_at = $3 WHERE market_id = $1",
            market_id,
            measures,
            at,
        )

    async def mobilisation(self, district: str, today: date) -> date | None:
        if not await self.conn.fetchval("SELECT to_regclass('campaigns') IS NOT NULL"):
            return None
        found: date | None = await self.conn.fetchval(
            """SELECT max(mobilisation_date) FROM campaigns
               WHERE $1 = ANY(districts) AND mobilisation_date <= $2""",
            district,
            today,
        )
        return found

    # -- reports ---------------------------------------------------------------------------------
    async def reports(self, market_id: str) -> list[Report]:
        rows = await self.conn.fetch(
            "SELECT * FROM duty_reports WHERE market_id = $1 ORDER BY period_start", market_id
        )
        return [_report(r) for r in rows]

    async def save_report(self, report: Report) -> None:
        await self.conn.execute(
            """INSERT INTO duty_reports (market_id, period_start, due_on, district, report_id,
                   filed_on, filed_at, on_time, progress, problems, next_steps, actor,
                   late_flagged_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (market_id, period_start) DO UPDATE SET
                   report_id = EXCLUDED.report_id, filed_on = EXCLUDED.filed_on,
                   filed_at = EXCLUDED.filed_at, on_time = EXCLUDED.on_time,
                   progress = EXCLUDED.progress, problems = EXCLUDED.problems,
                   next_steps = EXCLUDED.next_steps, actor = EXCLUDED.actor,
                   late_flagged_at = EXCLUDED.late_flagged_at""",
            report.market_id, report.period.start, report.period.due_on, report.district,
            report.report_id, report.filed_on, report.filed_at, report.on_time, report.progress,
            list(report.problems), list(report.next_steps), actor_dict(report.actor),
            report.late_flagged_at,
        )  # fmt: skip

    async def district_reports(
        self, district: str | None, *, state: str | None, limit: int
    ) -> list[Report]:
        rows = await self.conn.fetch(
            """SELECT * FROM duty_reports
               WHERE ($1::text IS NULL OR district = $1)
                 AND CASE $2::text
                     WHEN 'late' THEN filed_on IS NULL AND late_flagged_at IS NOT NULL
                     WHEN 'filed_late' THEN filed_on IS NOT NULL AND NOT on_time
                     WHEN 'on_time' THEN filed_on IS NOT NULL AND on_time
                     ELSE true END
               ORDER BY due_on DESC, market_id LIMIT $3""",
            district,
            state,
            limit,
        )
        return [_report(r) for r in rows]

    # -- self-inspections ------------------------------------------------------------------------
    async def inspected_days(self, market_id: str, since: date) -> set[date]:
        return await self._days("duty_self_inspections", market_id, since)

    async def missed_days(self, market_id: str, since: date) -> set[date]:
        return await self._days("duty_missed_days", market_id, since)

    async def _days(self, table: str, market_id: str, since: date) -> set[date]:
        """The market's days from `since` on in `table` (a self-inspection's, or a missed one's)."""
        rows = await self.conn.fetch(
            f"SELECT day FROM {table} WHERE market_id = $1 AND day >= $2", market_id, since
        )
        return {r["day"] for r in rows}

    async def insert_self_inspection(
        self, inspection: SelfInspection, follow_ups: Iterable[FollowUp]
    ) -> None:
        await self.conn.execute(
            """INSERT INTO duty_self_inspections
                   (id, market_id, district, day, checklist_version, items, recorded_at, actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            inspection.self_inspection_id, inspection.market_id, inspection.district,
            inspection.day, inspection.checklist_version,
            serial.dump_many(inspection.answers),
            inspection.recorded_at, actor_dict(inspection.actor),
        )  # fmt: skip
        await self.conn.executemany(
            """INSERT INTO duty_follow_ups (id, self_inspection_id, market_id, district, item,
                   opened_note, opened_at, state)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [
                (f.follow_up_id, f.self_inspection_id, f.market_id, f.district, f.item,
                 f.opened_note, f.opened_at, f.state)
                for f in follow_ups
            ],
        )  # fmt: skip

    async def self_inspections(
        self, market_id: str, first: date | None, last: date | None, limit: int
    ) -> list[tuple[SelfInspection, list[FollowUp]]]:
        rows = await self.conn.fetch(
            """SELECT * FROM duty_self_inspections
               WHERE market_id = $1 AND ($2::date IS NULL OR day >= $2)
                 AND ($3::date IS NULL OR day <= $3)
               ORDER BY day DESC LIMIT $4""",
            market_id,
            first,
            last,
            limit,
        )
        found = [_inspection(r) for r in rows]
        follow = await self.conn.fetch(
            """SELECT * FROM duty_follow_ups WHERE self_inspection_id = ANY($1::text[])
               ORDER BY opened_at, id""",
            [i.self_inspection_id for i in found],
        )
        by_inspection: dict[str, list[FollowUp]] = {}
        for r in follow:
            by_inspection.setdefault(r["self_inspection_id"], []).append(_follow_up(r))
        return [(i, by_inspection.get(i.self_inspection_id, [])) for i in found]

    async def follow_ups(self, market_id: str, state: str | None, limit: int) -> list[FollowUp]:
        rows = await self.conn.fetch(
            """SELECT * FROM duty_follow_ups
               WHERE market_id = $1 AND ($2::text IS NULL OR state = $2)
               ORDER BY opened_at DESC, id LIMIT $3""",
            market_id,
            state,
            limit,
        )
        return [_follow_up(r) for r in rows]

    async def follow_up(self, follow_up_id: str) -> FollowUp | None:
        row = await self.conn.fetchrow("SELECT * FROM duty_follow_ups WHERE id = $1", follow_up_id)
        return _follow_up(row) if row else None

    async def close_follow_up(self, follow_up: FollowUp) -> None:
        await self.conn.execute(
            """UPDATE duty_follow_ups SET state = $2, closed_note = $3, closed_at = $4,
                   closed_actor = $5
               WHERE id = $1""",
            follow_up.follow_up_id, follow_up.state, follow_up.closed_note,
            follow_up.closed_at, actor_dict(follow_up.closed_by),
        )  # fmt: skip

    async def open_follow_ups(self, market_id: str) -> int:
        found: int = await self.conn.fetchval(
            "SELECT count(*) FROM duty_follow_ups WHERE market_id = $1 AND state = 'open'",
            market_id,
        )
        return found

    async def insert_missed(
        self, market_id: str, district: str, days: Iterable[date], at: datetime
    ) -> None:
        await self.conn.executemany(
            """INSERT INTO duty_missed_days (market_id, day, district, flagged_at)
               VALUES ($1, $2, $3, $4)""",
            [(market_id, d, district, at) for d in days],
        )

    # -- training --------------------------------------------------------------------------------
    async def insert_course(self, course: Course) -> None:
        await self.conn.execute(
            """INSERT INTO duty_courses (id, title, validity_months, created_at, actor)
               VALUES ($1, $2, $3, $4, $5)""",
            course.course_id,
            course.title,
            course.validity_months,
            course.created_at,
            actor_dict(course.actor),
        )

    async def course(self, course_id: str) -> Course | None:
        row = await self.conn.fetchrow("SELECT * FROM duty_courses WHERE id = $1", course_id)
        return _course(row) if row else None

    async def courses(self) -> list[tuple[Course, list[Session]]]:
        courses = [
            _course(r)
            for r in await self.conn.fetch("SELECT * FROM duty_courses ORDER BY created_at, id")
        ]
        sessions: dict[str, list[Session]] = {}
        for r in await self.conn.fetch("SELECT * FROM duty_sessions ORDER BY held_on, id"):
            sessions.setdefault(r["course_id"], []).append(_session(r))
        return [(c, sessions.get(c.course_id, [])) for c in courses]

    async def insert_session(self, session: Session) -> None:
        await self.conn.execute(
            """INSERT INTO duty_sessions (id, course_id, held_on, place, created_at, actor)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            session.session_id,
            session.course_id,
            session.held_on,
            session.place,
            session.created_at,
            actor_dict(session.actor),
        )

    async def session(self, session_id: str) -> Session | None:
        row = await self.conn.fetchrow("SELECT * FROM duty_sessions WHERE id = $1", session_id)
        return _session(row) if row else None

    async def insert_trainee(self, trainee: Trainee) -> None:
        await self.conn.execute(
            """INSERT INTO duty_trainees
                   (id, market_id, district, name, position, registered_at, actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            trainee.trainee_id, trainee.market_id, trainee.district, trainee.name,
            trainee.position, trainee.registered_at, actor_dict(trainee.actor),
        )  # fmt: skip

    async def trainee(self, trainee_id: str) -> Trainee | None:
        row = await self.conn.fetchrow("SELECT * FROM duty_trainees WHERE id = $1", trainee_id)
        return _trainee(row) if row else None

    async def trainees(self, market_id: str) -> list[Trainee]:
        rows = await self.conn.fetch(
            "SELECT * FROM duty_trainees WHERE market_id = $1 ORDER BY registered_at, id",
            market_id,
        )
        return [_trainee(r) for r in rows]

    async def attended(self, session_id: str, trainee_id: str) -> bool:
        found = await self.conn.fetchval(
            "SELECT true FROM duty_attendance WHERE session_id = $1 AND trainee_id = $2",
            session_id,
            trainee_id,
        )
        return bool(found)

    async def insert_attendance(
        self, attendance: Attendance, certificate: Certificate | None
    ) -> None:
        await self.conn.execute(
            """INSERT INTO duty_attendance (session_id, trainee_id, passed, recorded_at, actor)
               VALUES ($1, $2, $3, $4, $5)""",
            attendance.session_id, attendance.trainee_id, attendance.passed,
            attendance.recorded_at, actor_dict(attendance.actor),
        )  # fmt: skip
        if certificate is not None:
            await self.conn.execute(
                """INSERT INTO duty_certificates (id, trainee_id, market_id, district,
                       course_id, session_id, issued_on, valid_until, issued_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                certificate.certificate_id, certificate.trainee_id, certificate.market_id,
                certificate.district, certificate.course_id, certificate.session_id,
                certificate.issued_on, certificate.valid_until, certificate.issued_at,
            )  # fmt: skip

    async def certificates(self, market_id: str) -> list[Certificate]:
        rows = await self.conn.fetch(
            "SELECT * FROM duty_certificates WHERE market_id = $1 ORDER BY issued_on, id",
            market_id,
        )
        return [_certificate(r) for r in rows]

    async def valid_certificates(self, district: str | None, today: date) -> list[Certificate]:
        rows = await self.conn.fetch(
            """SELECT * FROM duty_certificates
               WHERE ($1::text IS NULL OR district = $1) AND valid_until >= $2
               ORDER BY valid_until, id""",
            district,
            today,
        )
        return [_certificate(r) for r in rows]

    async def trainees_by_id(self, ids: Iterable[str]) -> dict[str, Trainee]:
        rows = await self.conn.fetch(
            "SELECT * FROM duty_trainees WHERE id = ANY($1::text[])", list(set(ids))
        )
        return {r["id"]: _trainee(r) for r in rows}

    async def courses_by_id(self, ids: Iterable[str]) -> dict[str, Course]:
        rows = await self.conn.fetch(
            "SELECT * FROM duty_courses WHERE id = ANY($1::text[])", list(set(ids))
        )
        return {r["id"]: _course(r) for r in rows}
