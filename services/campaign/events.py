"""Campaign domain values to contract events (contracts/campaign.py), each built with
`outbox.outgoing` (version and topic from the catalog).

Campaign events are keyed by the campaign id (one campaign's story in order), disclosures by their
own id (a compacted topic). The topics and event types keep the `registry.` names they had when
the campaign lived in the registry (integrators subscribe to them); the envelope's source is
`/sentinel/campaign`.
"""

from __future__ import annotations

from typing import Any

from contracts import campaign as c
from contracts.envelope import Envelope
from contracts.people import Actor
from services.campaign.domain.campaign import (
    Campaign,
    Check,
    Consultation,
    Disclosure,
    Milestone,
    RenovationProject,
)
from services.runtime.outbox import Item, outgoing

SERVICE = "campaign"


def campaign_data(x: Campaign, actor: Actor | None = None) -> c.CampaignUpserted:
    assert x.created_at is not None and x.updated_at is not None
    deadlines = x.deadlines()
    return c.CampaignUpserted(
        campaign_id=x.id,
        version=x.version,
        name=x.name,
        year=x.year,
        mobilisation_date=x.mobilisation_date,
        districts=list(x.districts),
        deadlines=[
            c.MilestoneDeadline(
                kind=kind,
                scope="district" if kind in c.DISTRICT_MILESTONES else "market",
                rule=c.DeadlineRule(**x.rule(kind).to_dict()),
                deadline=deadline,
            )
            for kind, deadline in deadlines.items()
        ],
        created_at=x.created_at,
        updated_at=x.updated_at,
        actor=actor,
    )


def campaign_upserted(x: Campaign, actor: Actor | None = None) -> Item:
    """`actor`: who created or reconfigured the campaign."""
    return outgoing(SERVICE, "registry.campaign.upserted", x.id, campaign_data(x, actor))


def _milestone_fields(m: Milestone) -> dict[str, Any]:
    return {
        "milestone_id": m.id,
        "version": m.version,
        "campaign_id": m.campaign_id,
        "scope": m.scope,
        "district": m.district,
        "market_id": m.market_id,
        "kind": m.kind,
        "deadline": m.deadline,
        "state": "recorded" if m.recorded else "missing",
        "achieved_on": m.achieved_on,
        "on_time": m.on_time,
        "attendees": m.attendees,
        "documents": list(m.documents),
        "note": m.note,
        "recorded_by": m.recorded_by,
        "recorded_at": m.recorded_at,
        "late_flagged_at": m.late_flagged_at,
    }


def milestone_recorded(m: Milestone) -> Item:
    data = c.MilestoneRecorded(**_milestone_fields(m), actor=m.recorded_actor)
    return outgoing(SERVICE, "registry.milestone.recorded", m.id, data, key=m.campaign_id)


def milestone_late(m: Milestone, disclosure_id: str) -> Item:
    data = c.MilestoneLate(**_milestone_fields(m), disclosure_id=disclosure_id)
    return outgoing(SERVICE, "registry.milestone.late", m.id, data, key=m.campaign_id)


def check_data(x: Check) -> c.Check:
    return c.Check(
        check_id=x.id,
        kind=x.kind,
        result=x.result,
        checked_on=x.checked_on,
        inspector=x.inspector,
        findings=list(x.findings),
        note=x.note,
        rectify_by=x.rectify_by,
        recorded_by=x.recorded_by,
        recorded_at=x.recorded_at,
        resolved_by=x.resolved_by,
    )


def consultation_data(x: Consultation) -> c.Consultation:
    """The consultation as the event carries it: comments by suggestion id, their answers —
    the suggestions' text is on complaints.suggestions.v1, not repeated here."""
    return c.Consultation(
        opens_on=x.opens_on,
        closes_on=x.closes_on,
        comments=[
            c.Comment(
                suggestion_id=m.suggestion_id,
                received_at=m.received_at,
                answer=m.answer,
                answered_at=m.answered_at,
                answered_by=m.answered_by,
            )
            for m in x.comments
        ],
        unanswered=x.unanswered,
    )


def project_data(
    p: RenovationProject, change: str, actor: Actor | None = None
) -> c.RenovationUpserted:
    assert p.created_at is not None and p.updated_at is not None
    return c.RenovationUpserted(
        project_id=p.id,
        version=p.version,
        campaign_id=p.campaign_id,
        market_id=p.market_id,
        district=p.district,
        kind=p.kind,
        title=p.title,
        scope_items=[c.ScopeItem(area=i.area, description=i.description) for i in p.scope_items],
        budget=[c.BudgetLine(source=b.source, amount_fen=b.amount_fen) for b in p.budget],
        budget_total_fen=p.budget_total_fen,
        stage=p.stage,
        stages=[
            c.StageChange(
                stage=s.stage,
                reached_on=s.reached_on,
                by=s.by,
                at=s.at,
                note=s.note,
            )
            for s in p.stages
        ],
        checks=[check_data(x) for x in p.checks],
        consultation=consultation_data(p.consultation) if p.consultation else None,
        change=change,
        created_at=p.created_at,
        updated_at=p.updated_at,
        actor=actor,
    )


def renovation_upserted(
    p: RenovationProject,
    change: str,
    actor: Actor | None = None,
    *,
    cause: Envelope[Any] | None = None,
) -> Item:
    """`actor`: who made the change (created, amended, moved the stage, recorded the check,
    opened the consultation, answered a comment); none for a comment received. `cause`: the
    event that made the change (a citizen's suggestion), whose chain it joins."""
    return outgoing(
        SERVICE,
        "registry.renovation.upserted",
        p.id,
        project_data(p, change, actor),
        key=p.campaign_id,
        correlation_id=cause.correlationid if cause else None,
        causation_id=cause.id if cause else None,
    )


def check_failed(
    p: RenovationProject, check: Check, disclosure_id: str, market_name: str | None
) -> Item:
    assert check.rectify_by is not None
    data = c.RenovationCheckFailed(
        project_id=p.id,
        campaign_id=p.campaign_id,
        market_id=p.market_id,
        market_name=market_name,
        district=p.district,
        project_kind=p.kind,
        project_stage=p.stage,
        check=check_data(check),
        rectify_by=check.rectify_by,
        disclosure_id=disclosure_id,
    )
    return outgoing(SERVICE, "registry.renovation.check_failed", p.id, data, key=p.campaign_id)


def disclosure_data(d: Disclosure) -> c.DisclosureUpserted:
    assert d.updated_at is not None
    return c.DisclosureUpserted(
        disclosure_id=d.id,
        version=d.version,
        kind=d.kind,
        state=d.state,
        source_id=d.source_id,
        campaign_id=d.campaign_id,
        district=d.district,
        district_name=d.district_name,
        market_id=d.market_id,
        market_name=d.market_name,
        merchant_id=d.merchant_id,
        merchant_name=d.merchant_name,
        stall_no=d.stall_no,
        title=d.title,
        title_en=d.title_en,
        details=list(d.details),
        exposure_source=d.exposure_source,
        exposure_reference=d.exposure_reference,
        deadline=d.deadline,
        deadline_date=d.deadline_date,
        opened_at=d.opened_at,
        resolved_at=d.resolved_at,
        updated_at=d.updated_at,
        late_flagged_at=d.late_flagged_at,
    )


def disclosure_upserted(
    d: Disclosure, *, cause: Envelope[Any] | None = None, correlation_id: str | None = None
) -> Item:
    """The disclosure's snapshot; `cause` is the event that disclosed or resolved it."""
    return outgoing(
        SERVICE,
        "registry.disclosure.upserted",
        d.id,
        disclosure_data(d),
        correlation_id=correlation_id or (cause.correlationid if cause else None),
        causation_id=cause.id if cause else None,
    )
