"""Duties contracts: what a market's task force and operator owe the city's plan, and how each
market stands on them.

- `campaign.reports.v1`, key = subject = **market id**: a task force's progress reports
  (定期汇报制度). `campaign.report.filed` when it files one, `campaign.report.late` once for a
  reporting period that ended without one.
- `campaign.self_inspections.v1`, key = subject = **market id**: the operator's daily
  self-inspection (主办方主体责任, 巡查制度). `campaign.self_inspection.recorded` with each
  checklist item passed or failed (a failed item opens a follow-up),
  `campaign.follow_up.closed` when the operator closes one with a note, and
  `campaign.self_inspection.missed` once for an opening day without one.
- `campaign.training.v1`, key = subject = **market id** of the person trained: training of market
  managers (培训). `campaign.training.attended` for a person at a session, and
  `campaign.certificate.issued` when the session passed them, with the certificate's validity.
- `campaign.duties.v1` (compacted), key = subject = **market id**: `campaign.duties.updated`, the
  market's standing on all three — self-inspection rate, late reports, certified managers — as
  the credit service reads it into the market assessment (考核).

Envelope: a person's change starts its own chain (`correlationid` = its own id); a flag the clock
raised starts its own chain too; `campaign.duties.updated` carries the chain of the change that
moved it (`causationid` = that event's id) or its own when the clock moved it.
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.campaign import Instant
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
REPORT_FILED: Final = "campaign.report.filed"
REPORT_LATE: Final = "campaign.report.late"
SELF_INSPECTION_RECORDED: Final = "campaign.self_inspection.recorded"
FOLLOW_UP_CLOSED: Final = "campaign.follow_up.closed"
SELF_INSPECTION_MISSED: Final = "campaign.self_inspection.missed"
TRAINING_ATTENDED: Final = "campaign.training.attended"
CERTIFICATE_ISSUED: Final = "campaign.certificate.issued"
DUTIES_UPDATED: Final = "campaign.duties.updated"

ChecklistItemCode = str
FollowUpState = Literal["open", "closed"]
FOLLOW_UP_STATES: Final[tuple[FollowUpState, ...]] = ("open", "closed")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- task-force reports ----------------------------------------------------------------------


class ReportFiled(_Frozen):
    """`campaign.report.filed` on `campaign.reports.v1`, key = subject = market_id.

    The market's task force filed its progress report for the period `period_start` ..
    `due_on`; `on_time` is false when filed after `due_on` (it was flagged late first)."""

    report_id: str = Field(min_length=1)
    market_id: str
    district: str
    period_start: date
    due_on: date = Field(description="the last day of the period, by which it is due")
    filed_on: date = Field(description="the day (city time) it was filed")
    on_time: bool
    progress: str = Field(min_length=1, description="what was done in the period")
    problems: list[str] = Field(description="problems met, one per item")
    next_steps: list[str] = Field(description="what the task force will do next")
    filed_at: Instant
    actor: Actor | None = Field(default=None, description="who filed it")


class ReportLate(_Frozen):
    """`campaign.report.late` on `campaign.reports.v1`, key = subject = market_id.

    A reporting period ended (`due_on` passed, city time) with no report: flagged once per
    period; it counts against the market's assessment until filed."""

    market_id: str
    district: str
    period_start: date
    due_on: date
    flagged_at: Instant


# -- operators' self-inspections -------------------------------------------------------------


class ItemResult(_Frozen):
    code: ChecklistItemCode = Field(
        min_length=1, description="the checklist item, e.g. cold_chain (the checklist data file)"
    )
    passed: bool
    note: str | None = Field(default=None, description="what was seen; required when failed")


class FollowUp(_Frozen):
    follow_up_id: str = Field(min_length=1)
    item: ChecklistItemCode
    state: FollowUpState
    opened_note: str = Field(description="the failed item's note")
    closed_note: str | None = None
    closed_at: Instant | None = None


class SelfInspectionRecorded(_Frozen):
    """`campaign.self_inspection.recorded` on `campaign.self_inspections.v1`, key = subject =
    market_id.

    The operator's staff walked the market on `day` and checked every item of the checklist;
    each failed item opened a follow-up (`follow_ups`)."""

    self_inspection_id: str = Field(min_length=1)
    market_id: str
    district: str
    day: date = Field(description="the opening day (city time) it covers")
    checklist_version: str
    items: list[ItemResult] = Field(min_length=1)
    follow_ups: list[FollowUp]
    recorded_at: Instant
    actor: Actor | None = Field(default=None, description="the operator's staff who recorded it")


class FollowUpClosed(_Frozen):
    """`campaign.follow_up.closed` on `campaign.self_inspections.v1`, key = subject = market_id.

    The operator closed a follow-up of a failed item with a note on what was done."""

    follow_up_id: str
    self_inspection_id: str
    market_id: str
    district: str
    item: ChecklistItemCode
    opened_note: str
    closed_note: str = Field(min_length=1)
    closed_at: Instant
    actor: Actor | None = None


class SelfInspectionMissed(_Frozen):
    """`campaign.self_inspection.missed` on `campaign.self_inspections.v1`, key = subject =
    market_id.

    An opening day ended (city time) with no self-inspection: flagged once per day."""

    market_id: str
    district: str
    day: date
    flagged_at: Instant


# -- training --------------------------------------------------------------------------------


class TrainingAttended(_Frozen):
    """`campaign.training.attended` on `campaign.training.v1`, key = subject = market_id.

    A market manager attended a session of a course; `passed` says whether the session's
    assessment passed them (a certificate follows when it did)."""

    session_id: str
    course_id: str
    course_title: str
    held_on: date
    trainee_id: str = Field(description="the manager's id within the campaign service")
    market_id: str
    district: str
    passed: bool
    recorded_at: Instant
    actor: Actor | None = None


class CertificateIssued(_Frozen):
    """`campaign.certificate.issued` on `campaign.training.v1`, key = subject = market_id.

    A certificate for a manager of the market, valid until `valid_until` (inclusive). The
    trainee's name stays in the campaign service: this topic carries only ids."""

    certificate_id: str
    course_id: str
    course_title: str
    session_id: str
    trainee_id: str
    market_id: str
    district: str
    issued_on: date
    valid_until: date
    issued_at: Instant


# -- the market's standing -------------------------------------------------------------------


class DutiesUpdated(_Frozen):
    """`campaign.duties.updated` on `campaign.duties.v1` (compacted), key = subject = market_id.

    The market's standing on its duties on `as_of` (city time), over the last `window_days`
    days. Rates are between 0 and 1, or null when there was nothing to rate."""

    market_id: str
    district: str
    as_of: date
    window_days: int = Field(ge=1)
    opening_days: int = Field(ge=0, description="opening days in the window up to yesterday")
    self_inspected_days: int = Field(ge=0)
    self_inspection_rate: float | None = Field(ge=0, le=1)
    open_follow_ups: int = Field(ge=0)
    reports_due: int = Field(ge=0, description="reporting periods that ended in the window")
    reports_late: int = Field(ge=0, description="of those, flagged late and not filed on time")
    report_on_time_rate: float | None = Field(ge=0, le=1)
    managers: int = Field(ge=0, description="the market's managers registered for training")
    managers_certified: int = Field(ge=0, description="of those, with a certificate valid today")
    certified_share: float | None = Field(ge=0, le=1)
    updated_at: Instant
