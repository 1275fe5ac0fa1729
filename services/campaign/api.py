"""Campaign HTTP API: thin routes that parse, authorise and call `Campaigns`.

Writes need a clerk (or admin) token scoped to the district concerned — an exposure an inspector
may record and verify too; a campaign itself is the city's, configured with a city-wide token.
`GET /public/disclosures` and `GET /public/consultations` need no token.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import Field, StrictBool, StrictInt

from contracts.campaign import (
    EXPOSURE_SOURCES,
    FUNDING_SOURCES,
    RENOVATION_KINDS,
    RENOVATION_STAGES,
    SCOPE_AREAS,
    DeadlineRule,
    DisclosureKind,
    DisclosureState,
    MilestoneKind,
    RenovationStage,
)
from services.campaign import bodies, events
from services.campaign.domain import campaign, disclosures, milestones, money, renovations
from services.campaign.service import CampaignChanges, Campaigns, NewCampaign, NewProject
from services.runtime import serial
from services.runtime.app import state
from services.runtime.auth import Principal, require
from services.runtime.inputs import Strict, storable_router
from services.runtime.ratelimit import rate_limited

router = storable_router()
Clerk = Annotated[Principal, Depends(require("clerk"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("clerk", "inspector", "handler", "leader"))]
# Who records an exposed problem and re-checks it: the district's clerks and inspectors.
Recorder = Annotated[Principal, Depends(require("clerk", "inspector"))]
Camp = Annotated[Campaigns, Depends(state("campaigns"))]


def _rules(deadlines: dict[MilestoneKind, DeadlineRule]) -> dict[str, campaign.DeadlineRule]:
    return {
        kind: campaign.DeadlineRule.from_dict(rule.model_dump(), f"deadlines.{kind}")
        for kind, rule in deadlines.items()
    }


class CampaignIn(Strict):
    name: str = bodies.text(campaign.NAME_MAX, examples=["农贸市场提升改造专项行动"])
    mobilisation_date: date = Field(description="the city's mobilisation meeting (动员会)")
    year: int | None = Field(
        default=None, ge=2000, le=2100, description="for month_day rules; default: its year"
    )
    districts: list[str] = Field(
        default_factory=list, max_length=200, description="default: every registered district"
    )
    deadlines: dict[MilestoneKind, DeadlineRule] = Field(
        default_factory=dict,
        description="deadline rules replacing the defaults: work plan and leadership structure "
        "1 day after mobilisation, deployment meeting 04-30, task force 14 days, renovation "
        "plan approved 60 days",
        examples=[{"deployment_meeting_held": {"month_day": "05-15"}}],
    )


class CampaignPatch(Strict):
    name: str | None = bodies.text(campaign.NAME_MAX, default=None)
    mobilisation_date: date | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)
    districts: list[str] | None = Field(default=None, max_length=200)
    deadlines: dict[MilestoneKind, DeadlineRule] | None = None


class MilestoneIn(Strict):
    achieved_on: date = Field(description="the day it was done (submitted, held, set up)")
    attendees: int | None = Field(
        default=None, le=100_000, description="meetings", json_schema_extra={"minimum": 1}
    )
    documents: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=50,
        description="document references, none blank",
        examples=[["芝政办发〔2026〕12号"]],
    )
    note: str | None = Field(default=None, max_length=1000)

    def report(self) -> milestones.MilestoneReport:
        return milestones.MilestoneReport(
            self.achieved_on, self.attendees, tuple(self.documents), self.note
        )


class ScopeItemIn(Strict):
    area: str = bodies.choice(SCOPE_AREAS)
    description: str = bodies.text(renovations.SCOPE_TEXT_MAX)


class BudgetLineIn(Strict):
    """An amount in integer fen, or in yuan as a decimal with at most two places (one of the
    two; the rules say which is wrong, with the plan's other problems)."""

    source: str = bodies.choice(FUNDING_SOURCES)
    amount_fen: int | None = Field(
        default=None, json_schema_extra={"minimum": 0, "maximum": money.MAX_FEN}
    )
    amount_yuan: Decimal | None = Field(
        default=None, examples=["1500000.00"], json_schema_extra={"minimum": 0}
    )

    def entry(self) -> renovations.BudgetEntry:
        return renovations.BudgetEntry(self.source, self.amount_fen, self.amount_yuan)


def _scope(items: list[ScopeItemIn]) -> tuple[renovations.ScopeItem, ...]:
    return tuple(renovations.ScopeItem(i.area, i.description) for i in items)


class ProjectIn(Strict):
    campaign_id: str
    market_id: str
    kind: str = bodies.choice(RENOVATION_KINDS)
    title: str = bodies.text(renovations.TITLE_MAX)
    scope_items: list[ScopeItemIn] = Field(max_length=100, json_schema_extra={"minItems": 1})
    budget: list[BudgetLineIn] = Field(max_length=3, json_schema_extra={"minItems": 1})
    planned_on: date | None = Field(
        default=None, description="when the plan was drawn up (registering an existing one)"
    )


class ProjectPatch(Strict):
    title: str | None = bodies.text(renovations.TITLE_MAX, default=None)
    scope_items: list[ScopeItemIn] | None = Field(
        default=None, max_length=100, json_schema_extra={"minItems": 1}
    )
    budget: list[BudgetLineIn] | None = Field(
        default=None, max_length=3, json_schema_extra={"minItems": 1}
    )


class StageIn(Strict):
    stage: str = bodies.choice(RENOVATION_STAGES, description="the next stage")
    reached_on: date | None = Field(default=None, description="default: today")
    note: str | None = Field(default=None, max_length=1000)


class CheckIn(Strict):
    kind: str = bodies.choice(renovations.CHECK_LABELS)
    result: str = bodies.choice(("pass", "fail"))
    checked_on: date
    inspector: str = bodies.text(renovations.INSPECTOR_MAX)
    findings: list[str] = Field(
        default_factory=list,
        max_length=50,
        description=f"what a failed check found, each not blank, at most "
        f"{renovations.SCOPE_TEXT_MAX} characters",
    )
    note: str | None = Field(default=None, max_length=1000)
    rectify_by: date | None = Field(
        default=None, description=f"failed: default {renovations.DEFAULT_RECTIFY_DAYS} days after"
    )


class ConsultationIn(Strict):
    days: StrictInt = Field(
        ge=renovations.CONSULTATION_DAYS[0],
        le=renovations.CONSULTATION_DAYS[1],
        description="how many days comments are taken, today included (1-60)",
        examples=[15],
    )


class CommentAnswerIn(Strict):
    answer: str = Field(
        min_length=1,
        max_length=renovations.ANSWER_MAX_CHARS,
        description="how the plan answered the comment (adopted, why not, what changes)",
        examples=["已采纳：改造方案增加两处无障碍通道"],
    )


class ExposureIn(Strict):
    market_id: str = Field(max_length=64, description="the responsible market")
    source: str | None = bodies.choice(
        EXPOSURE_SOURCES,
        description="who exposed it: press (媒体), public (群众), supervision (督查)",
    )
    reference: str = bodies.text(
        disclosures.EXPOSURE_REFERENCE_MAX,
        description="the report, article or letter",
        examples=["烟台日报 2026-05-03 第 4 版"],
    )
    title: str = bodies.text(disclosures.EXPOSURE_TITLE_MAX, examples=["水产区污水横流"])
    details: list[str] = Field(
        default_factory=list,
        max_length=disclosures.EXPOSURE_DETAILS_MAX,
        description="one line each, at most "
        f"{disclosures.EXPOSURE_DETAIL_MAX} characters, none blank",
    )
    rectify_by: date | None = Field(description="the last day (city time) to rectify it by")

    def report(self) -> disclosures.ExposureReport:
        return disclosures.ExposureReport(
            source=self.source,
            reference=self.reference,
            title=self.title,
            rectify_by=self.rectify_by,
            details=tuple(self.details),
        )


class VerifyIn(Strict):
    fixed: StrictBool = Field(description="the re-check found the problem fixed")
    note: str | None = Field(
        default=None,
        max_length=disclosures.VERIFY_NOTE_MAX,
        description="what was seen; required when not fixed",
    )


# -- views -----------------------------------------------------------------------------------


def campaign_out(c: campaign.Campaign) -> dict[str, Any]:
    data = events.campaign_data(c).model_dump(mode="json", exclude={"actor"})
    return {"id": c.id, **data}


def milestone_out(m: milestones.Milestone, today: date) -> dict[str, Any]:
    data: dict[str, Any] = serial.dump(m)
    del data["updated_at"]
    return data | {"on_time": m.on_time, "status": m.status(today)}


def consultation_out(c: renovations.Consultation, today: date) -> dict[str, Any]:
    """The consultation as the event carries it, with each comment's text (what the suggestion
    said; never its author) and whether comments are taken today."""
    data = events.consultation_data(c).model_dump(mode="json")
    for comment, held in zip(data["comments"], c.comments, strict=True):
        comment["text"] = held.text
    return {
        **data,
        "open": c.is_open(today),
        "closed": c.closed(today),
        "opened_at": serial.dump(c.opened_at),
        "opened_by": serial.dump(c.opened_by),
    }


def project_out(p: renovations.RenovationProject, today: date) -> dict[str, Any]:
    data = events.project_data(p, "created").model_dump(mode="json", exclude={"change", "actor"})
    for line in data["budget"]:
        line["amount_yuan"] = money.fen_to_yuan(line["amount_fen"])
    return {
        "id": p.id,
        **data,
        "consultation": consultation_out(p.consultation, today) if p.consultation else None,
        "budget_total_yuan": money.fen_to_yuan(p.budget_total_fen),
        "budget_by_source_fen": p.budget_by_source(),
        "open_failed_checks": [c.id for c in p.open_failures()],
    }


def public_consultation_out(p: renovations.RenovationProject, camp: Campaigns) -> dict[str, Any]:
    """What citizens read of a plan open for comment: the plan and its window, whether
    comments are taken today (not once its market closed for good), how many came and how many
    were answered — no text, nobody's name."""
    market = camp.directory.markets.get(p.market_id)
    today = camp.today()
    assert p.consultation is not None
    c = p.consultation
    return {
        "project_id": p.id,
        "market_id": p.market_id,
        "market_name": market.name if market else None,
        "district": p.district,
        "kind": p.kind,
        "title": p.title,
        "stage": p.stage,
        "scope_items": serial.dump_many(p.scope_items),
        "budget_total_fen": p.budget_total_fen,
        "budget_total_yuan": money.fen_to_yuan(p.budget_total_fen),
        "opens_on": c.opens_on.isoformat(),
        "closes_on": c.closes_on.isoformat(),
        "open": camp.takes_comments(p, today),
        "comments": len(c.comments),
        "answered": len(c.comments) - c.unanswered,
    }


def disclosure_out(d: disclosures.Disclosure, camp: Campaigns) -> dict[str, Any]:
    data = events.disclosure_data(d).model_dump(mode="json")
    return {
        "id": d.id,
        **data,
        "overdue": d.overdue(camp.now()),
        "late_flagged_at": serial.dump(d.late_flagged_at),
    }


def exposure_out(d: disclosures.Disclosure, camp: Campaigns) -> dict[str, Any]:
    """An exposure as staff read it: the disclosure, who recorded it and its re-checks."""
    return disclosure_out(d, camp) | {
        "rectify_by": d.deadline_date.isoformat(),
        "recorded_by": serial.dump(d.recorded_by),
        "verifications": serial.dump_many(d.verifications),
    }


# -- campaigns -------------------------------------------------------------------------------


@router.post("/campaigns", status_code=201, tags=["campaign"])
async def create_campaign(body: CampaignIn, camp: Camp, who: Clerk) -> dict[str, Any]:
    """Create the city's campaign (a city-wide clerk or admin token); deadlines are derived."""
    cmd = NewCampaign(
        name=body.name,
        mobilisation_date=body.mobilisation_date,
        districts=tuple(body.districts),
        rules=_rules(body.deadlines),
        year=body.year,
    )
    return campaign_out(await camp.create(who, cmd))


@router.get("/campaigns", tags=["campaign"])
async def list_campaigns(camp: Camp, _: Reader) -> dict[str, Any]:
    return {"items": [campaign_out(c) for c in await camp.campaigns()]}


@router.get("/campaigns/{campaign_id}", tags=["campaign"])
async def get_campaign(campaign_id: str, camp: Camp, _: Reader) -> dict[str, Any]:
    return campaign_out(await camp.campaign(campaign_id))


@router.patch("/campaigns/{campaign_id}", tags=["campaign"])
async def reconfigure_campaign(
    campaign_id: str, body: CampaignPatch, camp: Camp, who: Clerk
) -> dict[str, Any]:
    changes = CampaignChanges(
        name=body.name,
        mobilisation_date=body.mobilisation_date,
        year=body.year,
        districts=tuple(body.districts) if body.districts is not None else None,
        rules=_rules(body.deadlines) if body.deadlines is not None else None,
    )
    return campaign_out(await camp.reconfigure(who, campaign_id, changes))


@router.get("/campaigns/{campaign_id}/progress", tags=["campaign"])
async def campaign_progress(campaign_id: str, camp: Camp, who: Reader) -> dict[str, Any]:
    """Per district: milestones on time / late / missing, markets with task forces, renovation
    projects by stage and money by funding source (budgeted; committed from approval on)."""
    return await camp.progress(who, campaign_id)


@router.get("/campaigns/{campaign_id}/milestones", tags=["campaign"])
async def list_milestones(campaign_id: str, camp: Camp, who: Reader) -> dict[str, Any]:
    """Milestones recorded or flagged late (a district token sees its own district)."""
    today = camp.today()
    return {"items": [milestone_out(m, today) for m in await camp.milestones(who, campaign_id)]}


@router.put("/campaigns/{campaign_id}/districts/{district}/milestones/{kind}", tags=["campaign"])
async def record_district_milestone(
    campaign_id: str, district: str, kind: str, body: MilestoneIn, camp: Camp, who: Clerk
) -> dict[str, Any]:
    """Record (or correct) a district milestone: `work_plan_submitted`,
    `leadership_structure_submitted`, `deployment_meeting_held` (with `attendees`)."""
    m = await camp.record_district_milestone(who, campaign_id, district, kind, body.report())
    return milestone_out(m, camp.today())


@router.put("/campaigns/{campaign_id}/markets/{market_id}/milestones/{kind}", tags=["campaign"])
async def record_market_milestone(
    campaign_id: str, market_id: str, kind: str, body: MilestoneIn, camp: Camp, who: Clerk
) -> dict[str, Any]:
    """Record (or correct) a market milestone: `task_force_set_up`, `renovation_plan_approved`."""
    m = await camp.record_market_milestone(who, campaign_id, market_id, kind, body.report())
    return milestone_out(m, camp.today())


# -- renovation projects ---------------------------------------------------------------------


@router.post("/renovations", status_code=201, tags=["renovation"])
async def add_project(body: ProjectIn, camp: Camp, who: Clerk) -> dict[str, Any]:
    cmd = NewProject(
        campaign_id=body.campaign_id,
        market_id=body.market_id,
        kind=body.kind,
        title=body.title,
        scope_items=_scope(body.scope_items),
        budget=tuple(line.entry() for line in body.budget),
        planned_on=body.planned_on,
    )
    return project_out(await camp.add_project(who, cmd), camp.today())


@router.get("/renovations", tags=["renovation"])
async def list_projects(
    camp: Camp,
    who: Reader,
    campaign_id: Annotated[str | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    stage: Annotated[RenovationStage | None, Query()] = None,
) -> dict[str, Any]:
    found = await camp.projects(who, campaign_id=campaign_id, market_id=market_id, stage=stage)
    today = camp.today()
    return {"items": [project_out(p, today) for p in found]}


@router.get("/renovations/{project_id}", tags=["renovation"])
async def get_project(project_id: str, camp: Camp, who: Reader) -> dict[str, Any]:
    return project_out(await camp.project(who, project_id), camp.today())


@router.patch("/renovations/{project_id}", tags=["renovation"])
async def amend_project(
    project_id: str, body: ProjectPatch, camp: Camp, who: Clerk
) -> dict[str, Any]:
    """Change title, scope or budget — only while the project is `planned` (else 409)."""
    amendment = renovations.Amendment(
        title=body.title,
        scope_items=_scope(body.scope_items) if body.scope_items is not None else None,
        budget=None if body.budget is None else [line.entry() for line in body.budget],
    )
    project = await camp.amend_project(who, project_id, amendment)
    return project_out(project, camp.today())


@router.post("/renovations/{project_id}/stage", tags=["renovation"])
async def advance_project(project_id: str, body: StageIn, camp: Camp, who: Clerk) -> dict[str, Any]:
    """planned → approved → under_construction → accepted; any other move is 409 with
    `current_stage`. Acceptance needs every failed check resolved. A plan opened for comment is
    approved once its consultation has closed, and built once every comment is answered too
    (else 409 naming `consultation`)."""
    project = await camp.advance(
        who, project_id, body.stage, reached_on=body.reached_on, note=body.note
    )
    return project_out(project, camp.today())


@router.post("/renovations/{project_id}/checks", status_code=201, tags=["renovation"])
async def record_check(project_id: str, body: CheckIn, camp: Camp, who: Clerk) -> dict[str, Any]:
    """A quality or safety check. A failure is published (`registry.renovation.check_failed`)
    and disclosed to the public with its rectification deadline."""
    report = renovations.CheckReport(
        kind=body.kind,
        result=body.result,
        checked_on=body.checked_on,
        inspector=body.inspector,
        findings=tuple(body.findings),
        note=body.note,
        rectify_by=body.rectify_by,
    )
    outcome = await camp.record_check(who, project_id, report)
    return {
        "check": events.check_data(outcome.check).model_dump(mode="json"),
        "resolved": [c.id for c in outcome.resolved],
        "project": project_out(outcome.project, camp.today()),
    }


@router.post("/renovations/{project_id}/consultation", tags=["renovation"])
async def open_consultation(
    project_id: str, body: ConsultationIn, camp: Camp, who: Clerk
) -> dict[str, Any]:
    """Open the plan for public comment (征求群众意见) from today for `days` days — only while
    the project is `planned` (else 409). Citizens' suggestions naming the project
    (`project_id`) during those days become its comments."""
    project = await camp.open_consultation(who, project_id, body.days)
    return project_out(project, camp.today())


@router.post("/renovations/{project_id}/comments/{suggestion_id}/answer", tags=["renovation"])
async def answer_comment(
    project_id: str, suggestion_id: str, body: CommentAnswerIn, camp: Camp, who: Clerk
) -> dict[str, Any]:
    """Record how the plan answered a comment (a later answer corrects it), until
    construction begins."""
    project = await camp.answer_comment(who, project_id, suggestion_id, body.answer)
    return project_out(project, camp.today())


# -- public exposure and deadline rectification ---------------------------------------------


@router.post("/exposures", status_code=201, tags=["exposure"])
async def record_exposure(body: ExposureIn, camp: Camp, who: Recorder) -> dict[str, Any]:
    """A problem the press, a citizen or a supervising body exposed (曝光, 舆论监督), with the
    market responsible and the day to rectify it by (限期整改): public at once on the disclosure
    feed, open until a re-check finds it fixed; flagged late once if still open after its
    deadline."""
    return exposure_out(await camp.record_exposure(who, body.market_id, body.report()), camp)


@router.get("/exposures", tags=["exposure"])
async def list_exposures(
    camp: Camp,
    who: Reader,
    state: Annotated[DisclosureState | None, Query()] = None,
    district: Annotated[str | None, Query(max_length=64)] = None,
    market_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> dict[str, Any]:
    """Exposures by deadline, nearest first (a district token reads its own district)."""
    found = await camp.exposures(
        who, state=state, district=district, market_id=market_id, limit=limit, offset=offset
    )
    return {"items": [exposure_out(d, camp) for d in found]}


@router.get("/exposures/{disclosure_id}", tags=["exposure"])
async def get_exposure(disclosure_id: str, camp: Camp, who: Reader) -> dict[str, Any]:
    return exposure_out(await camp.exposure(who, disclosure_id), camp)


@router.post("/exposures/{disclosure_id}/verify", tags=["exposure"])
async def verify_exposure(
    disclosure_id: str, body: VerifyIn, camp: Camp, who: Recorder
) -> dict[str, Any]:
    """A re-check (复查): fixed resolves the exposure; not fixed (with a note) keeps it open and
    says so publicly. A resolved exposure is 409."""
    found = await camp.verify_exposure(who, disclosure_id, fixed=body.fixed, note=body.note)
    return exposure_out(found, camp)


# -- public disclosure and jobs --------------------------------------------------------------
# Every public route is limited per client address, as the other services' (docs/open-data.md).
Public = [Depends(rate_limited("public"))]


@router.get("/public/disclosures", tags=["public"], dependencies=Public)
async def public_disclosures(
    camp: Camp,
    district: Annotated[str | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    kind: Annotated[DisclosureKind | None, Query()] = None,
    state: Annotated[DisclosureState | None, Query()] = None,
    campaign_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    # SQL OFFSET takes a bigint.
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> dict[str, Any]:
    """Public (no token): problems exposed to the public — late campaign milestones, failed
    renovation checks, overdue rectification orders — newest first, with deadline and state."""
    found = await camp.disclosures(
        district=district,
        market_id=market_id,
        kind=kind,
        state=state,
        campaign_id=campaign_id,
        limit=limit,
        offset=offset,
    )
    return {"items": [disclosure_out(d, camp) for d in found]}


@router.get("/public/disclosures/{disclosure_id}", tags=["public"], dependencies=Public)
async def public_disclosure(disclosure_id: str, camp: Camp) -> dict[str, Any]:
    return disclosure_out(await camp.disclosure(disclosure_id), camp)


@router.get("/public/consultations", tags=["public"], dependencies=Public)
async def public_consultations(
    camp: Camp,
    market_id: Annotated[str | None, Query(max_length=64)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> dict[str, Any]:
    """Public (no token): renovation plans opened for comment, the latest window first;
    `open=true`: only those taking comments today."""
    found = await camp.consultations(market_id=market_id, open_only=open_only)
    return {"items": [public_consultation_out(p, camp) for p in found]}


@router.get("/public/consultations/{project_id}", tags=["public"], dependencies=Public)
async def public_consultation(project_id: str, camp: Camp) -> dict[str, Any]:
    return public_consultation_out(await camp.public_consultation(project_id), camp)


@router.post("/jobs/check-campaigns", tags=["jobs"])
async def check_campaigns(camp: Camp, _: Admin) -> dict[str, Any]:
    """Run the campaign clock now: flag (once) and disclose milestones past their deadline,
    and flag (once) exposures still open after theirs; `flagged` counts both."""
    return {"flagged": await camp.check_clock()}
