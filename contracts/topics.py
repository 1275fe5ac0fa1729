"""The topic catalog: every topic with its key, partitions, cleanup and retention (the table in
contracts/README.md, "Topics", shows it).

`make up` provisions topics from this list, the AsyncAPI document is generated from it, and
services look their topic names up here instead of spelling them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Service = Literal["registry", "telemetry", "inspection", "complaints", "credit", "campaign"]
DAY_MS = 24 * 3600 * 1000
FOREVER = -1


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[Service, ...]
    event_types: tuple[str, ...]
    partitions: int = 3
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int = FOREVER
    extra_config: dict[str, str] = field(default_factory=dict)

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def config(self) -> dict[str, str]:
        cfg = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.cleanup_policy == "compact":
            # Snapshots must reach late joiners soon after they change; keep dirty segments small.
            cfg |= {"min.cleanable.dirty.ratio": "0.1", "segment.ms": str(DAY_MS)}
        return cfg | self.extra_config


REGISTRY_MARKETS = Topic(
    name="registry.markets.v1",
    key="market id",
    description="Compacted snapshots of markets, their opening hours, capacity and task force.",
    producers=("registry",),
    consumers=("telemetry", "complaints", "inspection", "credit", "campaign"),
    event_types=("registry.market.upserted",),
    cleanup_policy="compact",
)
REGISTRY_MERCHANTS = Topic(
    name="registry.merchants.v1",
    key="merchant id",
    description="Compacted snapshots of merchants, their licences and status.",
    producers=("registry",),
    consumers=("complaints", "inspection", "credit", "campaign"),
    event_types=("registry.merchant.upserted",),
    cleanup_policy="compact",
)
REGISTRY_TERMINALS = Topic(
    name="registry.terminals.v1",
    key="terminal id",
    description="Compacted snapshots of terminals (never their keys).",
    producers=("registry",),
    consumers=("telemetry",),
    event_types=("registry.terminal.upserted",),
    cleanup_policy="compact",
)
REGISTRY_CAMPAIGN = Topic(
    name="registry.campaign.v1",
    key="campaign id",
    description="The city's campaign: its deadlines, district and market milestones recorded or "
    "late, market renovation projects with their budgets, stages and quality and safety checks. "
    "Owned by the campaign service since it left the registry; the name stays for integrators.",
    producers=("campaign",),
    consumers=("registry", "inspection"),
    event_types=(
        "registry.campaign.upserted",
        "registry.milestone.recorded",
        "registry.milestone.late",
        "registry.renovation.upserted",
        "registry.renovation.check_failed",
    ),
)
REGISTRY_DISCLOSURES = Topic(
    name="registry.disclosures.v1",
    key="disclosure id",
    description="Compacted public disclosures: late milestones, failed renovation checks and "
    "overdue rectifications, with their deadline and state. Owned by the campaign service since "
    "it left the registry; the name stays for integrators.",
    producers=("campaign",),
    consumers=(),
    event_types=("registry.disclosure.upserted",),
    cleanup_policy="compact",
)
CAMPAIGN_REPORTS = Topic(
    name="campaign.reports.v1",
    key="market id",
    description="Task forces' progress reports (定期汇报制度): filed, or late once per period.",
    producers=("campaign",),
    consumers=(),
    event_types=("campaign.report.filed", "campaign.report.late"),
)
CAMPAIGN_SELF_INSPECTIONS = Topic(
    name="campaign.self_inspections.v1",
    key="market id",
    description="Market operators' daily self-inspections from the checklist, the follow-ups "
    "of failed items, and opening days missed.",
    producers=("campaign",),
    consumers=(),
    event_types=(
        "campaign.self_inspection.recorded",
        "campaign.follow_up.closed",
        "campaign.self_inspection.missed",
    ),
)
CAMPAIGN_TRAINING = Topic(
    name="campaign.training.v1",
    key="market id",
    description="Training of market managers: attendance at sessions and certificates issued "
    "(ids only; names stay in the campaign service).",
    producers=("campaign",),
    consumers=(),
    event_types=("campaign.training.attended", "campaign.certificate.issued"),
)
CAMPAIGN_DUTIES = Topic(
    name="campaign.duties.v1",
    key="market id",
    description="Compacted: each market's standing on its duties (self-inspection rate, late "
    "reports, certified managers), read into the market assessment.",
    producers=("campaign",),
    consumers=("credit",),
    event_types=("campaign.duties.updated",),
    cleanup_policy="compact",
)
CAMPAIGN_MEETINGS = Topic(
    name="campaign.meetings.v1",
    key="meeting id",
    description="Joint meetings (联席会议): departments present, minutes, action items done or "
    "late.",
    producers=("campaign",),
    consumers=(),
    event_types=(
        "campaign.meeting.recorded",
        "campaign.action_item.done",
        "campaign.action_item.late",
    ),
)
CAMPAIGN_ENFORCEMENT = Topic(
    name="campaign.enforcement.v1",
    key="case id",
    description="Joint enforcement cases (联合执法): opened from a critical finding or a "
    "complaint, decided (warning, fine, suspension), closed.",
    producers=("campaign",),
    consumers=("credit",),
    event_types=(
        "campaign.enforcement.opened",
        "campaign.enforcement.decided",
        "campaign.enforcement.closed",
    ),
)
TELEMETRY_READINGS = Topic(
    name="telemetry.readings.v1",
    key="terminal id",
    description="Signed compact readings from terminals (no envelope).",
    producers=("terminals", "telemetry"),
    consumers=("telemetry",),
    event_types=(),
    partitions=6,
    retention_ms=7 * DAY_MS,
)
TELEMETRY_REJECTED = Topic(
    name="telemetry.rejected.v1",
    key="terminal id",
    description="Readings that failed verification, with the raw payload and a reason code.",
    producers=("telemetry",),
    consumers=(),
    event_types=("telemetry.reading.rejected",),
    retention_ms=14 * DAY_MS,
)
TELEMETRY_RISKS = Topic(
    name="telemetry.risks.v1",
    key="terminal id",
    description="Risk lifecycle: raised, escalated, acknowledged, cleared.",
    producers=("telemetry",),
    consumers=("inspection", "credit"),
    event_types=(
        "telemetry.risk.raised",
        "telemetry.risk.escalated",
        "telemetry.risk.acknowledged",
        "telemetry.risk.cleared",
    ),
)
COMPLAINTS_INTAKE = Topic(
    name="complaints.intake.v1",
    key="any",
    description="Complaints from integrators' channels (12345 hotline, 12315 platform).",
    producers=("integrators",),
    consumers=("complaints",),
    event_types=("complaints.intake.submitted",),
)
COMPLAINTS_EVENTS = Topic(
    name="complaints.events.v1",
    key="complaint id",
    description="Complaint lifecycle: received, transferred, accepted, rejected, closed, overdue.",
    producers=("complaints",),
    consumers=("inspection", "credit", "campaign"),
    event_types=(
        "complaints.complaint.received",
        "complaints.complaint.accepted",
        "complaints.complaint.rejected",
        "complaints.complaint.transferred",
        "complaints.complaint.closed",
        "complaints.complaint.overdue",
    ),
)
COMPLAINTS_SUGGESTIONS = Topic(
    name="complaints.suggestions.v1",
    key="suggestion id",
    description="Citizens' suggestions (意见建议) about a market or the city's campaign and "
    "staff's answers; the author's name and phone masked.",
    producers=("complaints",),
    consumers=("campaign",),
    event_types=("complaints.suggestion.received", "complaints.suggestion.answered"),
)
INSPECTION_EVENTS = Topic(
    name="inspection.events.v1",
    key="task id",
    description="Inspection tasks and rectification orders, every state change.",
    producers=("inspection",),
    consumers=("complaints", "credit", "registry", "campaign"),
    event_types=(
        "inspection.task.created",
        "inspection.task.updated",
        "inspection.task.claimed",
        "inspection.task.completed",
        "inspection.task.overdue",
        "inspection.task.withdrawn",
        "inspection.rectification.ordered",
        "inspection.rectification.verified",
        "inspection.rectification.overdue",
        "inspection.rectification.lapsed",
    ),
)
CREDIT_SCORES = Topic(
    name="credit.scores.v1",
    key="merchant id",
    description="Compacted latest credit score and grade per merchant.",
    producers=("credit",),
    consumers=("inspection",),
    event_types=("credit.score.changed",),
    cleanup_policy="compact",
)
CREDIT_ASSESSMENTS = Topic(
    name="credit.assessments.v1",
    key="market id",
    description="Market and district assessments (考核), ranked per district.",
    producers=("credit",),
    consumers=(),
    event_types=("credit.assessment.published",),
)
CREDIT_HONOURS = Topic(
    name="credit.honours.v1",
    key="market or merchant id",
    description="The monthly honour and warning list (红黑榜) of markets and merchants: listed "
    "and delisted entries.",
    producers=("credit",),
    consumers=("inspection",),
    event_types=("credit.honour.listed", "credit.honour.delisted"),
)
CREDIT_OBJECTIONS = Topic(
    name="credit.objections.v1",
    key="merchant id",
    description="Objections to a merchant's credit record (信用异议): filed, and decided — "
    "corrected (credit reverses the disputed adjustment; inspection lets the orders of a finding "
    "found wrong lapse) or upheld — or withdrawn.",
    producers=("credit",),
    consumers=("credit", "inspection"),
    event_types=(
        "credit.objection.filed",
        "credit.objection.decided",
        "credit.objection.withdrawn",
    ),
)

TOPICS: tuple[Topic, ...] = (
    REGISTRY_MARKETS,
    REGISTRY_MERCHANTS,
    REGISTRY_TERMINALS,
    REGISTRY_CAMPAIGN,
    REGISTRY_DISCLOSURES,
    CAMPAIGN_REPORTS,
    CAMPAIGN_SELF_INSPECTIONS,
    CAMPAIGN_TRAINING,
    CAMPAIGN_DUTIES,
    CAMPAIGN_MEETINGS,
    CAMPAIGN_ENFORCEMENT,
    TELEMETRY_READINGS,
    TELEMETRY_REJECTED,
    TELEMETRY_RISKS,
    COMPLAINTS_INTAKE,
    COMPLAINTS_EVENTS,
    COMPLAINTS_SUGGESTIONS,
    INSPECTION_EVENTS,
    CREDIT_SCORES,
    CREDIT_ASSESSMENTS,
    CREDIT_HONOURS,
    CREDIT_OBJECTIONS,
)


def dead_letter_topics() -> tuple[Topic, ...]:
    """One `<topic>.dlq` per consumed topic: a poison message is parked there, never blocking."""
    return tuple(
        Topic(
            name=t.dlq,
            key=f"as {t.name}",
            description=f"Messages from {t.name} a consumer could not handle, with the error.",
            producers=t.consumers,
            consumers=(),
            event_types=(),
            partitions=1,
            retention_ms=30 * DAY_MS,
        )
        for t in TOPICS
        if t.consumers
    )


def all_topics() -> tuple[Topic, ...]:
    return TOPICS + dead_letter_topics()


def by_name(name: str) -> Topic:
    for topic in all_topics():
        if topic.name == name:
            return topic
    raise KeyError(name)
