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
    EventSpec("registry.market.upserted", 1, registry.MarketUpserted, topics.REGISTRY_MARKETS),
    EventSpec(
        "registry.merchant.upserted", 1, registry.MerchantUpserted, topics.REGISTRY_MERCHANTS
    ),
    EventSpec(
        "registry.terminal.upserted", 1, registry.TerminalUpserted, topics.REGISTRY_TERMINALS
    ),
    EventSpec("registry.campaign.upserted", 1, campaign.CampaignUpserted, topics.REGISTRY_CAMPAIGN),
    EventSpec(
        "registry.milestone.recorded", 1, campaign.MilestoneRecorded, topics.REGISTRY_CAMPAIGN
    ),
    EventSpec("registry.milestone.late", 1, campaign.MilestoneLate, topics.REGISTRY_CAMPAIGN),
    EventSpec(
        "registry.renovation.upserted", 1, campaign.RenovationUpserted, topics.REGISTRY_CAMPAIGN
    ),
    EventSpec(
        "registry.renovation.check_failed",
        1,
        campaign.RenovationCheckFailed,
        topics.REGISTRY_CAMPAIGN,
    ),
    EventSpec(
        "registry.disclosure.upserted",
        1,
        campaign.DisclosureUpserted,
        topics.REGISTRY_DISCLOSURES,
    ),
    EventSpec("campaign.report.filed", 1, duties.ReportFiled, topics.CAMPAIGN_REPORTS),
    EventSpec("campaign.report.late", 1, duties.ReportLate, topics.CAMPAIGN_REPORTS),
    EventSpec(
        "campaign.self_inspection.recorded",
        1,
        duties.SelfInspectionRecorded,
        topics.CAMPAIGN_SELF_INSPECTIONS,
    ),
    EventSpec(
        "campaign.follow_up.closed", 1, duties.FollowUpClosed, topics.CAMPAIGN_SELF_INSPECTIONS
    ),
    EventSpec(
        "campaign.self_inspection.missed",
        1,
        duties.SelfInspectionMissed,
        topics.CAMPAIGN_SELF_INSPECTIONS,
    ),
    EventSpec("campaign.training.attended", 1, duties.TrainingAttended, topics.CAMPAIGN_TRAINING),
    EventSpec("campaign.certificate.issued", 1, duties.CertificateIssued, topics.CAMPAIGN_TRAINING),
    EventSpec("campaign.duties.updated", 1, duties.DutiesUpdated, topics.CAMPAIGN_DUTIES),
    EventSpec("campaign.meeting.recorded", 1, joint.MeetingRecorded, topics.CAMPAIGN_MEETINGS),
    EventSpec("campaign.action_item.done", 1, joint.ActionItemDone, topics.CAMPAIGN_MEETINGS),
    EventSpec("campaign.action_item.late", 1, joint.ActionItemLate, topics.CAMPAIGN_MEETINGS),
    EventSpec(
        "campaign.enforcement.opened", 1, joint.EnforcementOpened, topics.CAMPAIGN_ENFORCEMENT
    ),
    EventSpec(
        "campaign.enforcement.decided", 1, joint.EnforcementDecided, topics.CAMPAIGN_ENFORCEMENT
    ),
    EventSpec(
        "campaign.enforcement.closed", 1, joint.EnforcementClosed, topics.CAMPAIGN_ENFORCEMENT
    ),
    EventSpec(
        "telemetry.reading.rejected", 1, telemetry.ReadingRejected, topics.TELEMETRY_REJECTED
    ),
    EventSpec("telemetry.risk.raised", 1, telemetry.RiskRaised, topics.TELEMETRY_RISKS),
    EventSpec("telemetry.risk.escalated", 1, telemetry.RiskEscalated, topics.TELEMETRY_RISKS),
    EventSpec("telemetry.risk.acknowledged", 1, telemetry.RiskAcknowledged, topics.TELEMETRY_RISKS),
    EventSpec("telemetry.risk.cleared", 1, telemetry.RiskCleared, topics.TELEMETRY_RISKS),
    EventSpec("inspection.task.created", 1, inspection.TaskCreated, topics.INSPECTION_EVENTS),
    EventSpec("inspection.task.updated", 1, inspection.TaskUpdated, topics.INSPECTION_EVENTS),
    EventSpec("inspection.task.claimed", 1, inspection.TaskClaimed, topics.INSPECTION_EVENTS),
    EventSpec("inspection.task.completed", 1, inspection.TaskCompleted, topics.INSPECTION_EVENTS),
    EventSpec("inspection.task.overdue", 1, inspection.TaskOverdue, topics.INSPECTION_EVENTS),
    EventSpec(
        "inspection.rectification.ordered",
        1,
        inspection.RectificationOrdered,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        "inspection.rectification.verified",
        1,
        inspection.RectificationVerified,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        "inspection.rectification.overdue",
        1,
        inspection.RectificationOverdue,
        topics.INSPECTION_EVENTS,
    ),
    EventSpec(
        "complaints.intake.submitted",
        1,
        complaints.ComplaintSubmitted,
        topics.COMPLAINTS_INTAKE,
        complaints.IntakeEnvelope,
    ),
    EventSpec(
        "complaints.complaint.received", 1, complaints.ComplaintReceived, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        "complaints.complaint.accepted", 1, complaints.ComplaintAccepted, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        "complaints.complaint.rejected", 1, complaints.ComplaintRejected, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        "complaints.complaint.closed", 1, complaints.ComplaintClosed, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        "complaints.complaint.overdue", 1, complaints.ComplaintOverdue, topics.COMPLAINTS_EVENTS
    ),
    EventSpec(
        "complaints.suggestion.received",
        1,
        suggestions.SuggestionReceived,
        topics.COMPLAINTS_SUGGESTIONS,
    ),
    EventSpec(
        "complaints.suggestion.answered",
        1,
        suggestions.SuggestionAnswered,
        topics.COMPLAINTS_SUGGESTIONS,
    ),
    EventSpec("credit.score.changed", 1, credit.ScoreChanged, topics.CREDIT_SCORES),
    EventSpec(
        "credit.assessment.published", 1, credit.AssessmentPublished, topics.CREDIT_ASSESSMENTS
    ),
    EventSpec("credit.honour.listed", 1, honours.HonourListed, topics.CREDIT_HONOURS),
    EventSpec("credit.honour.delisted", 1, honours.HonourDelisted, topics.CREDIT_HONOURS),
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
