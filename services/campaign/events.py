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
from contracts.campaign import (
    CAMPAIGN_UPSERTED,
    DISCLOSURE_UPSERTED,
    MILESTONE_LATE,
    MILESTONE_RECORDED,
    RENOVATION_CHECK_FAILED,
    RENOVATION_UPSERTED,
)
from contracts.envelope import Envelope
from contracts.people import Actor
from services.campaign.domain.campaign import Campaign
from services.campaign.domain.disclosures import Disclosure
from services.campaign.domain.milestones import Milestone
from services.campaign.domain.renovations import Check, Consultation, RenovationProject
from services.runtime import serial
from services.runtime.outbox import Item, outgoing

SERVICE = "campaign"


def campaign_data(x: Campaign, actor: Actor | None = None) -> c.CampaignUpserted:
    assert x.created_at is not None and x.updated_at is not None
    return serial.into(
        c.CampaignUpserted,
        x,
        campaign_id=x.id,
        deadlines=[
            c.MilestoneDeadline(
                kind=kind,
                scope="district" if kind in c.DISTRICT_MILESTONES else "market",
                rule=c.DeadlineRule(**x.rule(kind).to_dict()),
                deadline=deadline,
            )
            for kind, deadline in x.deadlines().items()
        ],
        actor=actor,
    )


def campaign_upserted(x: Campaign, actor: Actor | None = None) -> Item:
    """`actor`: who created or reconfigured the campaign."""
    return outgoing(SERVICE, CAMPAIGN_UPSERTED, x.id, campaign_data(x, actor))


def milestone_recorded(m: Milestone) -> Item:
    data = serial.into(
        c.MilestoneRecorded, m, milestone_id=m.id, state=_state(m), actor=m.recorded_actor
    )
    return outgoing(SERVICE, MILESTONE_RECORDED, m.id, data, key=m.campaign_id)


def milestone_late(m: Milestone, disclosure_id: str) -> Item:
    data = serial.into(
        c.MilestoneLate, m, milestone_id=m.id, state=_state(m), disclosure_id=disclosure_id
    )
    return outgoing(SERVICE, MILESTONE_LATE, m.id, data, key=m.campaign_id)


def _state(m: Milestone) -> str:
    return "recorded" if m.recorded else "missing"


def check_data(x: Check) -> c.Check:
    return serial.into(c.Check, x, check_id=x.id)


def consultation_data(x: Consultation) -> c.Consultation:
    """The consultation as the event carries it: comments by suggestion id, their answers —
    the suggestions' text is on complaints.suggestions.v1, not repeated here."""
    return serial.into(c.Consultation, x, comments=[serial.into(c.Comment, m) for m in x.comments])


def project_data(
    p: RenovationProject, change: str, actor: Actor | None = None
) -> c.RenovationUpserted:
    assert p.created_at is not None and p.updated_at is not None
    return serial.into(
        c.RenovationUpserted,
        p,
        project_id=p.id,
        scope_items=[serial.into(c.ScopeItem, i) for i in p.scope_items],
        budget=[serial.into(c.BudgetLine, b) for b in p.budget],
        stages=[serial.into(c.StageChange, s) for s in p.stages],
        checks=[check_data(x) for x in p.checks],
        consultation=consultation_data(p.consultation) if p.consultation else None,
        change=change,
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
        RENOVATION_UPSERTED,
        p.id,
        project_data(p, change, actor),
        key=p.campaign_id,
        cause=cause,
    )


def check_failed(
    p: RenovationProject, check: Check, disclosure_id: str, market_name: str | None
) -> Item:
    assert check.rectify_by is not None
    data = serial.into(
        c.RenovationCheckFailed,
        p,
        project_id=p.id,
        market_name=market_name,
        project_kind=p.kind,
        project_stage=p.stage,
        check=check_data(check),
        rectify_by=check.rectify_by,
        disclosure_id=disclosure_id,
    )
    return outgoing(SERVICE, RENOVATION_CHECK_FAILED, p.id, data, key=p.campaign_id)


def disclosure_data(d: Disclosure) -> c.DisclosureUpserted:
    assert d.updated_at is not None
    return serial.into(c.DisclosureUpserted, d, disclosure_id=d.id)


def disclosure_upserted(
    d: Disclosure, *, cause: Envelope[Any] | None = None, correlation_id: str | None = None
) -> Item:
    """The disclosure's snapshot; `cause` is the event that disclosed or resolved it."""
    return outgoing(
        SERVICE,
        DISCLOSURE_UPSERTED,
        d.id,
        disclosure_data(d),
        correlation_id=correlation_id,
        cause=cause,
    )
