"""Every event type, its data model, its schema version and the topic it travels on."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts import (
    campaign,
    complaints,
    credit,
    duties,
    honours,
    inspection,
    joint,
    objections,
    registry,
    suggestions,
    telemetry,
    topics,
)
from contracts.envelope import Envelope, schema_id


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    data: builtins.type[BaseModel]
    topic: topics.Topic
    # The envelope class; only integrators' intake relaxes its `source`.
    envelope: Any = Envelope

    @property
    def schema_id(self) -> str:
        return schema_id(self.type, self.version)

    @property
    def schema_file(self) -> str:
        return f"{self.type}.v{self.version}.json"


@dataclass(frozen=True)
class RawSpec:
    """A message that travels without the CloudEvents envelope: its value is the model itself.

    Only terminals' readings are raw (contracts/README.md, "Readings"): a terminal sends ~200
    bytes, not an envelope. `model` is anything pydantic's TypeAdapter takes (a model or an
    annotated union).
    """

    name: str
    version: int
    model: Any
    topic: topics.Topic
    summary: str

    @property
    def schema_id(self) -> str:
        return schema_id(self.name, self.version)

    @property
    def schema_file(self) -> str:
        return f"{self.name}.v{self.version}.json"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(registry.MARKET_UPSERTED, 1, registry.MarketUpserted, topics.REGISTRY_MARKETS),
    EventSpec(registry.MERCHANT_UPSERTED, 1, registry.MerchantUpserted, topics.REGISTRY_MERCHANTS),
    EventSpec(registry.TERMINAL_UPSERTED, 1, registry.TerminalUpserted, topics.REGISTRY_TERMINALS),
    EventSpec(campaign.CAMPAIGN_UPSERTED, 1, campaign.CampaignUpserted, topics.REGISTRY_CAMPAIGN),
    EventSpec(campaign.MILESTONE_RECORDED, 1, campaign.MilestoneRecorded, topics.REGISTRY_CAMPAIGN),
    EventSpec(campaign.MILESTONE_LATE, 1, campaign.MilestoneLate, topics.REGISTRY_CAMPAIGN),
    EventSpec(
        campaign.RENOVATION_UPSERTED, 1, campaign.RenovationUpserted, topics.REGISTRY_CAMPAIGN
    ),
    EventSpec(
        campaign.RENOVATION_CHECK_FAILED,
        1,
        campaign.RenovationCheckFailed,
        topics.REGISTRY_CAMPAIGN,
    ),
    EventSpec(
        campaign.DISCLOSURE_UPSERTED,
        1,
        campaign.DisclosureUpserted,
        topics.REGISTRY_DISCLOSURES,
    ),
    EventSpec(duties.REPORT_FILED, 1, duties.ReportFiled, topics.CAMPAIGN_REPORTS),
    EventSpec(duties.REPORT_LATE, 1, duties.ReportLate, topics.CAMPAIGN_REPORTS),
    EventSpec(
        duties.SELF_INSPECTION_RECORDED,
        1,
        duties.SelfInspectionRecorded,
        topics.CAMPAIGN_SELF_INSPECTIONS,
    ),
    EventSpec(duties.FOLLOW_UP_CLOSED, 1, duties.FollowUpClosed, topics.CAMPAIGN_SELF_INSPECTIONS),
    EventSpec(
        duties.SELF_INSPECTION_MISSED,
        1,
        duties.SelfInspectionMissed,
        topics.CAMPAIGN_SELF_INSPECTIONS,
    ),
    EventSpec(duties.TRAINING_ATTENDED, 1, duties.TrainingAttended, topics.CAMPAIGN_TRAINING),
    EventSpec(duties.CERTIFICATE_ISSUED, 1, duties.CertificateIssued, topics.CAMPAIGN_TRAINING),
    EventSpec(duties.DUTIES_UPDATED, 1, duties.DutiesUpdated, topics.CAMPAIGN_DUTIES),
    EventSpec(joint.MEETING_RECORDED, 1, joint.MeetingRecorded, topics.CAMPAIGN_MEETINGS),
    EventSpec(joint.ACTION_ITEM_DONE, 1, joint.ActionItemDone, topics.CAMPAIGN_MEETINGS),
    EventSpec(joint.ACTION_ITEM_LATE, 1, joint.ActionItemLate, topics.CAMPAIGN_MEETINGS),
    EventSpec(joint.ENFORCEMENT_OPENED, 1, joint.EnforcementOpened, topics.CAMPAIGN_ENFORCEMENT),
    EventSpec(joint.ENFORCEMENT_DECIDED, 1, joint.EnforcementDecided, topics.CAMPAIGN_ENFORCEMENT),
    EventSpec(joint.ENFORCEMENT_CLOSED, 1, joint.EnforcementClosed, topics.CAMPAIGN_ENFORCEMENT),
    EventSpec(telemetry.READING_REJECTED, 1, telemetry.ReadingRejected, topics.TELEMETRY_REJECTED),
    EventSpec(telemetry.RISK_RAISED, 1, telemetry.RiskRaised, topics.TELEMETRY_RISKS),
    EventSpec(telemetry.RISK_ESCALATED, 1, telemetry.RiskEscalated, topics.TELEMETRY_RISKS),
    EventSpec(telemetry.RISK_ACKNOWLEDGED, 1, telemetry.RiskAcknowledged, topics.TELEMETRY_RISKS),
    EventSpec(telemetry.RISK_CLEARED, 1, telemetry.RiskCleared, topics.TELEMETRY_RISKS),
    EventSpec(inspection.TASK_CREATED, 1, inspection.TaskCreated, topics.INSPECTION_EVENTS),
    EventSpec(inspection.TASK_UPDATED, 1, inspection.TaskUpdated, topics.INSPECTION_EVENTS),
    EventSpec(inspection.TASK_CLAIMED, 1, inspection.TaskClaimed, topics.INSPECTION_EVENTS),
    EventSpec(inspection.TASK_COMPLETED, 1, inspection.TaskCompleted, topics.INSPECTION_EVENTS),
    EventSpec(inspection.TASK_OVERDUE, 1, inspection.TaskOverdue, topics.INSPECTION_EVENTS),
    EventSpec(inspection.TASK_WITHDRAWN, 1, inspection.TaskWithdrawn, topics.INSPECTION_EVENTS),
    EventSpec(
        inspection.RECTIFICATION_ORDERED,
        1,
        inspection.RectificationOrdered,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        inspection.RECTIFICATION_VERIFIED,
        1,
        inspection.RectificationVerified,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        inspection.RECTIFICATION_OVERDUE,
        1,
        inspection.RectificationOverdue,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        inspection.RECTIFICATION_LAPSED, 1, inspection.RectificationLapsed, topics.INSPECTION_EVENTS
    ),
    EventSpec(
        complaints.INTAKE_SUBMITTED,
        1,
        complaints.ComplaintSubmitted,
        topics.COMPLAINTS_INTAKE,
        complaints.IntakeEnvelope,
    ),
    EventSpec(
        complaints.COMPLAINT_RECEIVED, 1, complaints.ComplaintReceived, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        complaints.COMPLAINT_ACCEPTED, 1, complaints.ComplaintAccepted, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        complaints.COMPLAINT_REJECTED, 1, complaints.ComplaintRejected, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        complaints.COMPLAINT_TRANSFERRED,
        1,
        complaints.ComplaintTransferred,
        topics.COMPLAINTS_EVENTS,
    ),
    EventSpec(complaints.COMPLAINT_CLOSED, 1, complaints.ComplaintClosed, topics.COMPLAINTS_EVENTS),
    EventSpec(
        complaints.COMPLAINT_OVERDUE, 1, complaints.ComplaintOverdue, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        suggestions.SUGGESTION_RECEIVED,
        1,
        suggestions.SuggestionReceived,
        topics.COMPLAINTS_SUGGESTIONS,
    ),
    EventSpec(
        suggestions.SUGGESTION_ANSWERED,
        1,
        suggestions.SuggestionAnswered,
        topics.COMPLAINTS_SUGGESTIONS,
    ),
    EventSpec(credit.SCORE_CHANGED, 1, credit.ScoreChanged, topics.CREDIT_SCORES),
    EventSpec(
        credit.ASSESSMENT_PUBLISHED, 1, credit.AssessmentPublished, topics.CREDIT_ASSESSMENTS
    ),
    EventSpec(honours.HONOUR_LISTED, 1, honours.HonourListed, topics.CREDIT_HONOURS),
    EventSpec(honours.HONOUR_DELISTED, 1, honours.HonourDelisted, topics.CREDIT_HONOURS),
    EventSpec(objections.OBJECTION_FILED, 1, objections.ObjectionFiled, topics.CREDIT_OBJECTIONS),
    EventSpec(
        objections.OBJECTION_DECIDED, 1, objections.ObjectionDecided, topics.CREDIT_OBJECTIONS
    ),
    EventSpec(
        objections.OBJECTION_WITHDRAWN,
        1,
        objections.ObjectionWithdrawn,
        topics.CREDIT_OBJECTIONS,
    ),
)

RAW_MESSAGES: tuple[RawSpec, ...] = (
    RawSpec(
        "telemetry.reading",
        1,
        telemetry.Reading,
        topics.TELEMETRY_READINGS,
        "A compact signed reading from a terminal (no envelope), discriminated on `kind`.",
    ),
)


_BY_TYPE: dict[str, EventSpec] = {event.type: event for event in EVENTS}


def spec(event_type: str) -> EventSpec:
    """The catalog's entry of `event_type` (KeyError for a type it does not know); producers call
    it for every event they build, so it is a lookup, not a scan."""
    return _BY_TYPE[event_type]
