"""Duties HTTP API: thin routes that parse, authorise and call `Duties`.

Every route needs a token. Readers are leaders, department staff, clerks and inspectors of the
market's district (admin everywhere) and a market's own operator (the token's `market_id`).
Reports are filed by the district's clerks and inspectors; self-inspections and follow-ups by the
market's operator; courses, sessions and attendance by clerks; managers by the district's clerks
or the market's operator. Errors name the field and the reason; a refused request changes
nothing and publishes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from contracts.people import actor_dict
from services.campaign import bodies
from services.campaign.domain import closed
from services.campaign.domain import training as tr
from services.campaign.domain.duties import Standing
from services.campaign.domain.reports import (
    LINE_MAX_CHARS,
    PROGRESS_MAX_CHARS,
    Report,
    Schedule,
    next_due,
)
from services.campaign.domain.self_inspection import (
    NOTE_MAX_CHARS,
    Answer,
    FollowUp,
    SelfInspection,
)
from services.campaign.duties.service import READERS, REGISTRARS, REPORTERS, Duties
from services.runtime import serial
from services.runtime.auth import Principal, require
from services.runtime.inputs import Strict, text_inputs

Reader = Annotated[Principal, Depends(require(*READERS, "operator"))]
DistrictReader = Annotated[Principal, Depends(require(*READERS))]
Reporter = Annotated[Principal, Depends(require(*REPORTERS))]
Operator = Annotated[Principal, Depends(require("operator"))]
Registrar = Annotated[Principal, Depends(require(*REGISTRARS))]
ManagerRegistrar = Annotated[Principal, Depends(require(*REGISTRARS, "operator"))]
Anyone = Annotated[
    Principal,
    Depends(require("clerk", "inspector", "handler", "leader", "department", "operator")),
]
Limit = Annotated[int, Query(ge=1, le=1000)]
LINES = f"one line each, not blank, at most {LINE_MAX_CHARS} characters"


class ReportIn(Strict):
    progress: str = bodies.text(PROGRESS_MAX_CHARS, examples=["完成摊位改造 12 个"])
    problems: list[str] = Field(default_factory=list, max_length=50, description=LINES)
    next_steps: list[str] = Field(default_factory=list, max_length=50, description=LINES)


class ItemIn(Strict):
    code: str = Field(description="an item of the checklist", examples=["cold_chain"])
    passed: bool = Field(strict=True)
    note: str | None = Field(
        default=None,
        description=f"required when failed; at most {NOTE_MAX_CHARS} characters",
        json_schema_extra={"maxLength": NOTE_MAX_CHARS},
    )


class SelfInspectionIn(Strict):
    day: date | None = Field(default=None, description="the opening day; default today (city)")
    items: list[ItemIn] = Field(max_length=100, description="every item of the checklist, once")


class CloseIn(Strict):
    note: str = Field(max_length=1000, description="what was done")


class CourseIn(Strict):
    title: str = Field(max_length=200, examples=["农贸市场管理人员食品安全培训"])
    validity_months: int = Field(strict=True, examples=[24])


class SessionIn(Strict):
    held_on: date | None = Field(description="the day it is held")
    place: str = Field(max_length=200, examples=["区市场监管局三楼会议室"])


class ManagerIn(Strict):
    name: str = Field(max_length=100)
    position: str = Field(max_length=100, examples=["市场管理员"])


class AttendanceIn(Strict):
    trainee_id: str = Field(min_length=1, max_length=64)
    passed: bool = Field(strict=True)


# -- views -----------------------------------------------------------------------------------


def report_view(r: Report, today: date) -> dict[str, Any]:
    return {
        "id": r.report_id,
        "report_id": r.report_id,
        "market_id": r.market_id,
        "district": r.district,
        "period_start": r.period.start,
        "due_on": r.period.due_on,
        "state": r.state(today),
        "filed_on": r.filed_on,
        "on_time": r.on_time,
        "progress": r.progress,
        "problems": list(r.problems),
        "next_steps": list(r.next_steps),
        "filed_at": r.filed_at,
        "actor": actor_dict(r.actor),
        "late_flagged_at": r.late_flagged_at,
    }


def schedule_view(
    schedule: Schedule | None, reports: list[Report], today: date
) -> dict[str, Any] | None:
    if schedule is None:
        return None
    running = schedule.period_of(today)
    due = next_due(schedule, {r.period.start: r for r in reports if r.filed}, today)
    return {
        "starts_on": schedule.starts_on,
        "interval_days": schedule.interval_days,
        "current_period": (
            {"start": running.start, "due_on": running.due_on} if running is not None else None
        ),
        "next_due_on": due.due_on,
        "next_period_start": due.start,
        "next_is_late": due.ended_before(today),
    }


def follow_up_view(f: FollowUp) -> dict[str, Any]:
    return {"id": f.follow_up_id, **serial.dump(f)}


def self_inspection_view(i: SelfInspection, follow_ups: list[FollowUp]) -> dict[str, Any]:
    data = serial.dump(i)
    answers = data.pop("answers")  # shown as the checklist's items
    return {
        "id": i.self_inspection_id,
        **data,
        "items": answers,
        "follow_ups": [follow_up_view(f) for f in follow_ups],
    }


def course_view(c: tr.Course, sessions: list[tr.Session] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.course_id,
        "title": c.title,
        "validity_months": c.validity_months,
        "created_at": c.created_at,
        "actor": actor_dict(c.actor),
    }
    if sessions is not None:
        view["sessions"] = [session_view(s) for s in sessions]
    return view


def session_view(s: tr.Session) -> dict[str, Any]:
    return {
        "id": s.session_id,
        "course_id": s.course_id,
        "held_on": s.held_on,
        "place": s.place,
        "created_at": s.created_at,
        "actor": actor_dict(s.actor),
    }


def certificate_view(c: tr.Certificate, today: date) -> dict[str, Any]:
    return {
        "id": c.certificate_id,
        "trainee_id": c.trainee_id,
        "market_id": c.market_id,
        "district": c.district,
        "course_id": c.course_id,
        "session_id": c.session_id,
        "issued_on": c.issued_on,
        "valid_until": c.valid_until,
        "valid": c.valid_on(today),
        "days_left": (c.valid_until - today).days,
    }


def trainee_view(t: tr.Trainee) -> dict[str, Any]:
    return {"id": t.trainee_id, **serial.dump(t)}


def standing_view(s: Standing) -> dict[str, Any]:
    view: dict[str, Any] = serial.dump(s)
    return view


# -- routes ----------------------------------------------------------------------------------


def build_router(duties: Duties) -> APIRouter:
    # Text Postgres cannot hold (NUL, lone surrogates) is refused up front, naming the field.
    router = APIRouter(dependencies=[Depends(text_inputs)], tags=["duties"])
    notice_days = duties.config.certificate_notice_days

    @router.post("/markets/{market_id}/reports", status_code=201, summary="file a report")
    async def file_report(market_id: str, body: ReportIn, who: Reporter) -> dict[str, Any]:
        """The task force's progress report (定期汇报) for the period due now, or for the oldest
        unfiled late one."""
        report = await duties.file_report(
            who,
            market_id,
            progress=body.progress,
            problems=body.problems,
            next_steps=body.next_steps,
        )
        return report_view(report, duties.today(duties.now()))

    @router.get("/markets/{market_id}/reports", summary="a market's reports and schedule")
    async def market_reports(market_id: str, who: Reader) -> dict[str, Any]:
        """`schedule` is null for a market closed for good (`closed_on`): it owes no report."""
        schedule, reports, today = await duties.reports(who, market_id)
        return {
            "market_id": market_id,
            "closed_on": closed.closed_on(duties.directory.markets.get(market_id)),
            "schedule": schedule_view(schedule, reports, today),
            "items": [report_view(r, today) for r in reports],
        }

    @router.get("/reports", summary="a district's reports")
    async def district_reports(
        who: DistrictReader,
        district: Annotated[str | None, Query(max_length=64)] = None,
        state: Annotated[Literal["late", "filed_late", "on_time"] | None, Query()] = None,
        limit: Limit = 500,
    ) -> dict[str, Any]:
        """Periods filed or flagged late; `state=late`: those late and still not filed."""
        found, today = await duties.district_reports(who, district, state, limit)
        return {"items": [report_view(r, today) for r in found]}

    @router.get("/self-inspection-checklist", summary="the self-inspection checklist")
    async def checklist(_: Anyone) -> dict[str, Any]:
        c = duties.checklist
        return {
            "version": c.version,
            "items": serial.dump_many(c.items),
        }

    @router.post(
        "/markets/{market_id}/self-inspections", status_code=201, summary="record a self-inspection"
    )
    async def record_self_inspection(
        market_id: str, body: SelfInspectionIn, who: Operator
    ) -> dict[str, Any]:
        """The operator's daily self-inspection (自查): every checklist item, once; a failed item
        needs a note and opens a follow-up (整改跟进)."""
        answers = [Answer(i.code, i.passed, i.note) for i in body.items]
        recorded = await duties.record_self_inspection(who, market_id, body.day, answers)
        return self_inspection_view(recorded.inspection, list(recorded.follow_ups))

    @router.get("/markets/{market_id}/self-inspections", summary="a market's self-inspections")
    async def self_inspections(
        market_id: str,
        who: Reader,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
        limit: Limit = 400,
    ) -> dict[str, Any]:
        found = await duties.self_inspections(who, market_id, first, last, limit)
        return {"items": [self_inspection_view(i, f) for i, f in found]}

    @router.get("/markets/{market_id}/follow-ups", summary="a market's follow-ups")
    async def follow_ups(
        market_id: str,
        who: Reader,
        state: Annotated[Literal["open", "closed"] | None, Query()] = None,
        limit: Limit = 500,
    ) -> dict[str, Any]:
        found = await duties.follow_ups(who, market_id, state, limit)
        return {"items": [follow_up_view(f) for f in found]}

    @router.post("/follow-ups/{follow_up_id}/close", summary="close a follow-up")
    async def close_follow_up(follow_up_id: str, body: CloseIn, who: Operator) -> dict[str, Any]:
        return follow_up_view(await duties.close_follow_up(who, follow_up_id, body.note))

    @router.post("/courses", status_code=201, summary="create a training course")
    async def create_course(body: CourseIn, who: Registrar) -> dict[str, Any]:
        return course_view(await duties.create_course(who, body.title, body.validity_months))

    @router.get("/courses", summary="training courses and their sessions")
    async def courses(_: Reader) -> dict[str, Any]:
        return {"items": [course_view(c, s) for c, s in await duties.courses()]}

    @router.post("/courses/{course_id}/sessions", status_code=201, summary="add a session")
    async def create_session(course_id: str, body: SessionIn, who: Registrar) -> dict[str, Any]:
        session = await duties.create_session(who, course_id, body.held_on, body.place)
        return session_view(session)

    @router.post(
        "/markets/{market_id}/managers", status_code=201, summary="register a market manager"
    )
    async def add_manager(market_id: str, body: ManagerIn, who: ManagerRegistrar) -> dict[str, Any]:
        return trainee_view(await duties.add_manager(who, market_id, body.name, body.position))

    @router.get("/markets/{market_id}/managers", summary="a market's managers and certificates")
    async def managers(market_id: str, who: Reader) -> dict[str, Any]:
        found, today = await duties.managers(who, market_id)
        items = []
        for trainee, certs in found:
            best = tr.valid_certificate(certs, today)
            items.append(
                trainee_view(trainee)
                | {
                    "certificate_status": tr.certificate_status(certs, today, notice_days),
                    "certificate": certificate_view(best, today) if best else None,
                    "certificates": [certificate_view(c, today) for c in certs],
                }
            )
        return {"items": items}

    @router.post("/sessions/{session_id}/attendance", status_code=201, summary="record attendance")
    async def attendance(session_id: str, body: AttendanceIn, who: Registrar) -> dict[str, Any]:
        """A manager at a session; `passed` issues a certificate valid for the course's months
        from the session day."""
        attended = await duties.record_attendance(who, session_id, body.trainee_id, body.passed)
        a, cert = attended.attendance, attended.certificate
        today = duties.today(duties.now())
        return {
            "session_id": a.session_id,
            "trainee_id": a.trainee_id,
            "passed": a.passed,
            "recorded_at": a.recorded_at,
            "actor": actor_dict(a.actor),
            "certificate": certificate_view(cert, today) if cert else None,
        }

    @router.get("/certificates", summary="certificates, or those expiring soon")
    async def certificates(
        who: DistrictReader,
        district: Annotated[str | None, Query(max_length=64)] = None,
        expiring_within_days: Annotated[int | None, Query(ge=0, le=366)] = None,
        limit: Limit = 500,
    ) -> dict[str, Any]:
        """Certificates valid today; with `expiring_within_days`, only those whose last day is
        within that many days and not renewed yet."""
        found, today = await duties.certificates(who, district, expiring_within_days, limit)
        return {
            "items": [
                certificate_view(c, today)
                | {"name": t.name, "position": t.position, "course_title": course.title}
                for c, t, course in found
            ]
        }

    @router.get("/markets/{market_id}/duties", summary="a market's standing on its duties")
    async def market_duties(market_id: str, who: Reader) -> dict[str, Any]:
        """Self-inspection rate, reports on time and certified managers over the window, as
        `campaign.duties.updated` carries it."""
        return standing_view(await duties.current_standing(who, market_id))

    return router
