"""The in-memory duties store for use-case tests: the same answers as the Postgres one (the store
suite, tests/integration/campaign/test_duties_store_suite.py, runs against both).

Locks have nothing to guard in one process, so `lock_market` only reads. The campaigns that
date a reporting schedule are the campaign's own table in Postgres; here a test lists them in
`campaigns` ((districts, mobilisation date) pairs). Every attribute is such a table of frozen
values, so that the runtime's `fake_tables.snapshot(stores)` lets a rolled-back `FakeUnitOfWork`
put the store back as Postgres would.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from services.campaign.domain.reports import Report
from services.campaign.domain.self_inspection import FollowUp, SelfInspection
from services.campaign.domain.training import (
    Attendance,
    Certificate,
    Course,
    Session,
    Trainee,
)
from services.campaign.duties.store import MarketRow, Stores


class FakeDutiesStore:
    def __init__(self) -> None:
        self.markets: dict[str, MarketRow] = {}
        self.campaigns: list[tuple[tuple[str, ...], date]] = []
        self.reports_by_period: dict[tuple[str, date], Report] = {}
        self.inspections: dict[str, SelfInspection] = {}
        self.follow_ups_by_id: dict[str, FollowUp] = {}
        self.missed: dict[tuple[str, date], str] = {}
        self.courses_by_id_: dict[str, Course] = {}
        self.sessions: dict[str, Session] = {}
        self.trainees_: dict[str, Trainee] = {}
        self.attendance: dict[tuple[str, str], Attendance] = {}
        self.certificates_: dict[str, Certificate] = {}

    # -- markets -------------------------------------------------------------------------------
    async def ensure_market(
        self, market_id: str, district: str, today: date, task_force_on: date | None = None
    ) -> None:
        held = self.markets.get(market_id)
        if held is None:
            self.markets[market_id] = MarketRow(market_id, district, today, task_force_on, None)
        else:
            self.markets[market_id] = replace(
                held, district=district, task_force_on=held.task_force_on or task_force_on
            )

    async def market_row(self, market_id: str) -> MarketRow | None:
        return self.markets.get(market_id)

    async def lock_market(self, market_id: str) -> MarketRow | None:
        return self.markets.get(market_id)

    async def save_standing(self, market_id: str, measures: dict[str, Any], at: datetime) -> None:
        held = self.markets.get(market_id)
        if held is not None:
            self.markets[market_id] = replace(held, standing=copy.deepcopy(measures))

    async def mobilisation(self, district: str, today: date) -> date | None:
        found = [d for districts, d in self.campaigns if district in districts and d <= today]
        return max(found, default=None)

    # -- reports -------------------------------------------------------------------------------
    async def reports(self, market_id: str) -> list[Report]:
        found = [r for (m, _), r in self.reports_by_period.items() if m == market_id]
        return sorted(found, key=lambda r: r.period.start)

    async def save_report(self, report: Report) -> None:
        key = (report.market_id, report.period.start)
        held = self.reports_by_period.get(key)
        if held is not None:
            # The period and its district stay as first written (as the upsert leaves them).
            report = replace(report, period=held.period, district=held.district)
        self.reports_by_period[key] = report

    async def district_reports(
        self, district: str | None, *, state: str | None, limit: int
    ) -> list[Report]:
        found = [
            r
            for r in self.reports_by_period.values()
            if (district is None or r.district == district) and _report_in(r, state)
        ]
        found.sort(key=lambda r: r.market_id)
        found.sort(key=lambda r: r.period.due_on, reverse=True)
        return found[:limit]

    # -- self-inspections ----------------------------------------------------------------------
    async def inspected_days(self, market_id: str, since: date) -> set[date]:
        return {
            i.day for i in self.inspections.values() if i.market_id == market_id and i.day >= since
        }

    async def missed_days(self, market_id: str, since: date) -> set[date]:
        return {d for (m, d) in self.missed if m == market_id and d >= since}

    async def insert_self_inspection(
        self, inspection: SelfInspection, follow_ups: Iterable[FollowUp]
    ) -> None:
        if any(
            (i.market_id, i.day) == (inspection.market_id, inspection.day)
            for i in self.inspections.values()
        ):
            raise ValueError(f"a self-inspection of {inspection.day} is already stored")
        self.inspections[inspection.self_inspection_id] = inspection
        for f in follow_ups:
            self.follow_ups_by_id[f.follow_up_id] = f

    async def self_inspections(
        self, market_id: str, first: date | None, last: date | None, limit: int
    ) -> list[tuple[SelfInspection, list[FollowUp]]]:
        found = [
            i
            for i in self.inspections.values()
            if i.market_id == market_id
            and (first is None or i.day >= first)
            and (last is None or i.day <= last)
        ]
        found = sorted(found, key=lambda i: i.day, reverse=True)[:limit]
        return [
            (
                i,
                sorted(
                    (
                        f
                        for f in self.follow_ups_by_id.values()
                        if f.self_inspection_id == i.self_inspection_id
                    ),
                    key=lambda f: (f.opened_at, f.follow_up_id),
                ),
            )
            for i in found
        ]

    async def follow_ups(self, market_id: str, state: str | None, limit: int) -> list[FollowUp]:
        found = [
            f
            for f in self.follow_ups_by_id.values()
            if f.market_id == market_id and (state is None or f.state == state)
        ]
        found.sort(key=lambda f: f.follow_up_id)
        found.sort(key=lambda f: f.opened_at, reverse=True)
        return found[:limit]

    async def follow_up(self, follow_up_id: str) -> FollowUp | None:
        return self.follow_ups_by_id.get(follow_up_id)

    async def close_follow_up(self, follow_up: FollowUp) -> None:
        held = self.follow_ups_by_id.get(follow_up.follow_up_id)
        if held is not None:
            self.follow_ups_by_id[follow_up.follow_up_id] = replace(
                held,
                state=follow_up.state,
                closed_note=follow_up.closed_note,
                closed_at=follow_up.closed_at,
                closed_by=follow_up.closed_by,
            )

    async def open_follow_ups(self, market_id: str) -> int:
        return sum(
            1
            for f in self.follow_ups_by_id.values()
            if f.market_id == market_id and f.state == "open"
        )

    async def insert_missed(
        self, market_id: str, district: str, days: Iterable[date], at: datetime
    ) -> None:
        days = list(days)
        if any((market_id, d) in self.missed for d in days):
            raise ValueError(f"a missed day of {market_id} is already stored")
        for d in days:
            self.missed[(market_id, d)] = district

    # -- training ------------------------------------------------------------------------------
    async def insert_course(self, course: Course) -> None:
        _unique(course.course_id in self.courses_by_id_, f"course {course.course_id}")
        self.courses_by_id_[course.course_id] = course

    async def course(self, course_id: str) -> Course | None:
        return self.courses_by_id_.get(course_id)

    async def courses(self) -> list[tuple[Course, list[Session]]]:
        courses = sorted(self.courses_by_id_.values(), key=lambda c: (c.created_at, c.course_id))
        sessions = sorted(self.sessions.values(), key=lambda s: (s.held_on, s.session_id))
        return [(c, [s for s in sessions if s.course_id == c.course_id]) for c in courses]

    async def insert_session(self, session: Session) -> None:
        _unique(session.session_id in self.sessions, f"session {session.session_id}")
        self.sessions[session.session_id] = session

    async def session(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    async def insert_trainee(self, trainee: Trainee) -> None:
        _unique(trainee.trainee_id in self.trainees_, f"trainee {trainee.trainee_id}")
        self.trainees_[trainee.trainee_id] = trainee

    async def trainee(self, trainee_id: str) -> Trainee | None:
        return self.trainees_.get(trainee_id)

    async def trainees(self, market_id: str) -> list[Trainee]:
        found = [t for t in self.trainees_.values() if t.market_id == market_id]
        return sorted(found, key=lambda t: (t.registered_at, t.trainee_id))

    async def attended(self, session_id: str, trainee_id: str) -> bool:
        return (session_id, trainee_id) in self.attendance

    async def insert_attendance(
        self, attendance: Attendance, certificate: Certificate | None
    ) -> None:
        key = (attendance.session_id, attendance.trainee_id)
        _unique(key in self.attendance, f"attendance of {attendance.trainee_id}")
        self.attendance[key] = attendance
        if certificate is not None:
            self.certificates_[certificate.certificate_id] = certificate

    async def certificates(self, market_id: str) -> list[Certificate]:
        found = [c for c in self.certificates_.values() if c.market_id == market_id]
        return sorted(found, key=lambda c: (c.issued_on, c.certificate_id))

    async def valid_certificates(self, district: str | None, today: date) -> list[Certificate]:
        found = [
            c
            for c in self.certificates_.values()
            if (district is None or c.district == district) and c.valid_until >= today
        ]
        return sorted(found, key=lambda c: (c.valid_until, c.certificate_id))

    async def trainees_by_id(self, ids: Iterable[str]) -> dict[str, Trainee]:
        return {i: self.trainees_[i] for i in set(ids) if i in self.trainees_}

    async def courses_by_id(self, ids: Iterable[str]) -> dict[str, Course]:
        return {i: self.courses_by_id_[i] for i in set(ids) if i in self.courses_by_id_}


def _report_in(r: Report, state: str | None) -> bool:
    if state == "late":
        return r.filed_on is None and r.late_flagged_at is not None
    if state == "filed_late":
        return r.filed_on is not None and not r.on_time
    if state == "on_time":
        return r.filed_on is not None and bool(r.on_time)
    return True


def _unique(taken: bool, what: str) -> None:
    if taken:
        raise ValueError(f"{what} is already stored")


def fake_stores() -> Stores:
    return Stores(FakeDutiesStore())
