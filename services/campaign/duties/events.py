"""The duties' events, in the envelope: `campaign.reports.v1`, `campaign.self_inspections.v1`,
`campaign.training.v1` and `campaign.duties.v1`, each keyed (and `subject`ed) by market id.

A person's change starts its own chain; a flag the clock raised starts its own; a certificate
follows the attendance that issued it; `campaign.duties.updated` carries the chain of the change
that moved the standing (`causationid` = that event's id) or its own when the clock moved it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts import duties as c
from contracts.duties import (
    CERTIFICATE_ISSUED,
    DUTIES_UPDATED,
    FOLLOW_UP_CLOSED,
    REPORT_FILED,
    REPORT_LATE,
    SELF_INSPECTION_MISSED,
    SELF_INSPECTION_RECORDED,
    TRAINING_ATTENDED,
)
from contracts.envelope import Envelope
from services.campaign.domain.duties import Standing
from services.campaign.domain.reports import Report
from services.campaign.domain.self_inspection import FollowUp, Recorded
from services.campaign.domain.training import Attended, Course, Session
from services.runtime import serial
from services.runtime.outbox import Item, outgoing

SERVICE = "campaign"


def report_filed(report: Report) -> Item:
    assert report.report_id and report.filed_on and report.filed_at and report.progress
    data = serial.into(
        c.ReportFiled,
        report,
        period_start=report.period.start,
        due_on=report.period.due_on,
        on_time=bool(report.on_time),
    )
    return outgoing(SERVICE, REPORT_FILED, report.market_id, data, time=report.filed_at)


def report_late(report: Report, now: datetime) -> Item:
    data = serial.into(
        c.ReportLate,
        report,
        period_start=report.period.start,
        due_on=report.period.due_on,
        flagged_at=report.late_flagged_at or now,
    )
    return outgoing(SERVICE, REPORT_LATE, report.market_id, data, time=now)


def self_inspection_recorded(recorded: Recorded) -> Item:
    i = recorded.inspection
    data = serial.into(
        c.SelfInspectionRecorded,
        i,
        items=[serial.into(c.ItemResult, a) for a in i.answers],
        follow_ups=[serial.into(c.FollowUp, f) for f in recorded.follow_ups],
    )
    return outgoing(SERVICE, SELF_INSPECTION_RECORDED, i.market_id, data, time=i.recorded_at)


def follow_up_closed(f: FollowUp) -> Item:
    assert f.closed_note is not None and f.closed_at is not None
    data = serial.into(c.FollowUpClosed, f, actor=f.closed_by)
    return outgoing(SERVICE, FOLLOW_UP_CLOSED, f.market_id, data, time=f.closed_at)


def self_inspection_missed(market_id: str, district: str, day: date, now: datetime) -> Item:
    data = c.SelfInspectionMissed(market_id=market_id, district=district, day=day, flagged_at=now)
    return outgoing(SERVICE, SELF_INSPECTION_MISSED, market_id, data, time=now)


def training_attended(
    attended: Attended, course: Course, session: Session, market_id: str, district: str
) -> Item:
    a = attended.attendance
    data = serial.into(
        c.TrainingAttended,
        a,
        session_id=session.session_id,
        course_id=course.course_id,
        course_title=course.title,
        held_on=session.held_on,
        market_id=market_id,
        district=district,
    )
    return outgoing(SERVICE, TRAINING_ATTENDED, market_id, data, time=a.recorded_at)


def certificate_issued(attended: Attended, course: Course, cause: Envelope[Any]) -> Item | None:
    cert = attended.certificate
    if cert is None:
        return None
    data = serial.into(
        c.CertificateIssued, cert, course_id=course.course_id, course_title=course.title
    )
    return outgoing(
        SERVICE, CERTIFICATE_ISSUED, cert.market_id, data, time=cert.issued_at, cause=cause
    )


def duties_updated(standing: Standing, cause: Envelope[Any] | None) -> Item:
    data = serial.into(c.DutiesUpdated, standing)
    return outgoing(
        SERVICE, DUTIES_UPDATED, standing.market_id, data, time=standing.updated_at, cause=cause
    )
