"""The campaign use cases: each a unit of work that loads what a pure rule needs, applies it, and
stores the changed values with their events (written to the outbox with the commit). HTTP routes
(api.py), the Kafka handlers (handlers.py), the campaign clock and the registry view call these
and never touch SQL or Kafka themselves.

Districts, markets and merchants are the registry's: the campaign knows them through its
registry directory (services/runtime/directory.py), fed by the compacted registry topics. A
district is known once it has a market.

`now` is the clock every rule is given: replace it (tests) to move time. Dates are the city's
(`CampaignSettings.timezone`, the runtime's `ServiceSettings.timezone`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Unpack
from zoneinfo import ZoneInfo

from contracts.campaign import DISTRICT_MILESTONES, MARKET_MILESTONES
from contracts.envelope import Envelope
from contracts.inspection import RectificationLapsed, RectificationOverdue, RectificationVerified
from contracts.people import Actor
from contracts.registry import MARKET_CLOSED, MarketUpserted
from contracts.suggestions import SuggestionReceived
from services.campaign import events
from services.campaign.domain import closed
from services.campaign.domain.campaign import Campaign, DeadlineRule, plan_campaign
from services.campaign.domain.disclosures import (
    Disclosure,
    ExposureReport,
    OverdueOrder,
    PlaceNames,
    disclose_exposure,
    disclose_failed_check,
    disclose_late_milestone,
    disclose_overdue_rectification,
    flag_late_exposure,
    still_overdue,
    verify_exposure,
)
from services.campaign.domain.milestones import (
    Expected,
    Milestone,
    MilestoneChange,
    MilestoneReport,
    due_late_flags,
    expected_milestones,
    flag_missing,
    record_milestone,
)
from services.campaign.domain.progress import MarketFacts, progress
from services.campaign.domain.renovations import (
    Amendment,
    BudgetEntry,
    BudgetLine,
    CheckOutcome,
    CheckReport,
    RenovationProject,
    ScopeItem,
    advance_project,
    amend_project,
    answer_comment,
    open_consultation,
    plan_project,
    receive_comment,
    record_check,
)
from services.campaign.metrics import CampaignMetrics
from services.campaign.store import DisclosureFilters, Stores
from services.runtime.auth import Principal, actor, within
from services.runtime.clock import Clock, utc_now
from services.runtime.directory import RegistryView
from services.runtime.failures import Forbidden, InvalidInput, NotFound
from services.runtime.ids import new_id
from services.runtime.messaging import Delivery
from services.runtime.outbox import Item
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
# Late exposures flagged per transaction by the clock.
EXPOSURE_BATCH = 200
# A market's open disclosures read at once when it closes (a market has a handful).
DISCLOSURES_ALL = 10_000
# The inbox names of the campaign's consumers (each event is handled once per consumer).
INSPECTION_CONSUMER = "campaign-inspection"
SUGGESTIONS_CONSUMER = "campaign-suggestions"

# Who recorded a milestone the registry's change implied, when its snapshot names nobody.
REGISTRY = Actor.of("registry")

Work = UnitOfWork[Stores]


def require_city(who: Principal) -> None:
    """A campaign is the city's: only city-wide staff (admin, `*` tokens) configure it."""
    if not who.city_wide:
        raise Forbidden(f"token is scoped to district {who.district!r}; campaigns are city-wide")


@dataclass(frozen=True)
class NewCampaign:
    name: str
    mobilisation_date: date
    districts: tuple[str, ...] = ()  # empty: every registered district
    rules: dict[str, DeadlineRule] = field(default_factory=dict)
    year: int | None = None


@dataclass(frozen=True)
class CampaignChanges:
    name: str | None = None
    mobilisation_date: date | None = None
    year: int | None = None
    districts: tuple[str, ...] | None = None
    rules: dict[str, DeadlineRule] | None = None


@dataclass(frozen=True)
class NewProject:
    campaign_id: str
    market_id: str
    kind: str
    title: str
    scope_items: tuple[ScopeItem, ...]
    budget: tuple[BudgetLine | BudgetEntry, ...]
    planned_on: date | None = None  # default: today


class Campaigns:
    def __init__(
        self,
        uow: UowFactory[Stores],
        directory: RegistryView,
        metrics: CampaignMetrics,
        *,
        timezone: str,
        now: Clock = utc_now,
    ) -> None:
        self.uow, self.directory, self.metrics = uow, directory, metrics
        self.tz = ZoneInfo(timezone)
        self.now = now

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    # -- campaigns -------------------------------------------------------------------------------
    async def create(self, who: Principal, cmd: NewCampaign) -> Campaign:
        require_city(who)
        async with self.uow() as work:
            known = self.directory.districts()
            districts = list(cmd.districts) or sorted(known)
            campaign = plan_campaign(
                new_id("cmp"),
                cmd.name,
                cmd.mobilisation_date,
                districts,
                cmd.rules,
                self.now(),
                year=cmd.year,
                known_districts=known,
            )
            await work.stores.campaigns.save(campaign)
            work.emit(events.campaign_upserted(campaign, actor(who)))
        log.info("campaign created", extra={"campaign_id": campaign.id})
        return campaign

    async def reconfigure(
        self, who: Principal, campaign_id: str, changes: CampaignChanges
    ) -> Campaign:
        """Change the campaign's name, dates, deadline rules or districts. Milestones already
        recorded or flagged keep the deadline they were judged against."""
        require_city(who)
        async with self.uow() as work:
            campaign = await self._campaign(work, campaign_id, for_update=True)
            changed = campaign.reconfigure(
                self.now(),
                name=changes.name,
                mobilisation_date=changes.mobilisation_date,
                year=changes.year,
                rules=changes.rules,
                districts=changes.districts,
                known_districts=self.directory.districts(),
            )
            await work.stores.campaigns.save(changed)
            work.emit(events.campaign_upserted(changed, actor(who)))
        return changed

    async def campaign(self, campaign_id: str) -> Campaign:
        async with self.uow() as work:
            return await self._campaign(work, campaign_id)

    async def campaigns(self) -> list[Campaign]:
        async with self.uow() as work:
            return await work.stores.campaigns.listed()

    async def _campaign(
        self, work: Work, campaign_id: str, *, for_update: bool = False
    ) -> Campaign:
        campaign = await work.stores.campaigns.get(campaign_id, for_update=for_update)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id!r}")
        return campaign

    # -- milestones ------------------------------------------------------------------------------
    async def record_district_milestone(
        self, who: Principal, campaign_id: str, district: str, kind: str, report: MilestoneReport
    ) -> Milestone:
        if kind not in DISTRICT_MILESTONES:
            raise InvalidInput(
                "kind", f"district milestones are {', '.join(DISTRICT_MILESTONES)}, not {kind}"
            )
        who.require_district(district)
        async with self.uow() as work:
            campaign = await self._campaign(work, campaign_id)
            if district not in campaign.districts:
                raise InvalidInput("district", f"{district!r} does not take part in the campaign")
            expected = Expected(
                campaign.id, "district", district, None, kind, campaign.deadline(kind)
            )
            return await self._record(work, expected, report, actor(who))

    async def record_market_milestone(
        self, who: Principal, campaign_id: str, market_id: str, kind: str, report: MilestoneReport
    ) -> Milestone:
        if kind not in MARKET_MILESTONES:
            raise InvalidInput(
                "kind", f"market milestones are {', '.join(MARKET_MILESTONES)}, not {kind}"
            )
        market = within(who, self.directory.markets.get(market_id), "market", market_id)
        if (closed_on := closed.closed_on(market)) is not None:
            raise InvalidInput(closed.FIELD, closed.closed_reason(market_id, closed_on))
        async with self.uow() as work:
            campaign = await self._campaign(work, campaign_id)
            if market.district not in campaign.districts:
                raise InvalidInput(
                    "market_id",
                    f"the market's district {market.district!r} does not take part in the campaign",
                )
            if kind == "task_force_set_up" and market.task_force is None:
                raise InvalidInput(
                    "kind",
                    "the market has no task force registered (PUT /markets/{id}/task-force)",
                )
            expected = Expected(
                campaign.id,
                "market",
                market.district,
                market.market_id,
                kind,
                campaign.deadline(kind),
            )
            return await self._record(work, expected, report, actor(who))

    async def _record(
        self, work: Work, expected: Expected, report: MilestoneReport, by: Actor
    ) -> Milestone:
        async def apply() -> tuple[Milestone | None, MilestoneChange]:
            """The report applied to the milestone as stored (locked), or to none."""
            existing = await work.stores.milestones.get(
                expected.campaign_id, expected.scope_id, expected.kind, for_update=True
            )
            change = record_milestone(
                expected, existing, report, by=by, today=self.today(), now=self.now()
            )
            return existing, change

        existing, change = await apply()
        if existing is None and not await work.stores.milestones.insert(change.milestone):
            # Recorded or flagged by another transaction meanwhile: apply the report to that.
            existing, change = await apply()
            assert existing is not None
        milestone = change.milestone
        if existing is not None:
            await work.stores.milestones.save(milestone)
        work.emit(events.milestone_recorded(milestone))
        self.metrics.milestones.labels(milestone.scope, "recorded").inc()
        if change.flagged_late:
            await self._disclose_late(work, milestone)
        elif existing is not None and existing.late_flagged_at is not None:
            # Flagged while missing: now it is done, the public sees it resolved.
            await self._resolve(work, "late_milestone", milestone.id)
        return milestone

    def _names(self, district: str, market_id: str | None) -> PlaceNames:
        """What the registry view calls the district and the market, for the public's texts."""
        market = self.directory.markets.get(market_id) if market_id else None
        district_name = self.directory.district_names.get(district)
        return PlaceNames(district_name, market.name if market else None)

    async def _disclose_late(self, work: Work, milestone: Milestone) -> None:
        disclosure = disclose_late_milestone(
            milestone,
            disclosure_id=new_id("dsc"),
            tz=self.tz,
            now=self.now(),
            names=self._names(milestone.district, milestone.market_id),
        )
        late = events.milestone_late(milestone, disclosure.id)
        await self._save_disclosure(work, disclosure, late, cause=late[1])
        self.metrics.milestones.labels(milestone.scope, "flagged_late").inc()
        self.metrics.disclosures.labels("late_milestone", "opened").inc()

    async def _save_disclosure(
        self,
        work: Work,
        disclosure: Disclosure,
        *first: Item,
        cause: Envelope[Any] | None = None,
    ) -> None:
        """The disclosure stored and its upsert emitted, after `first` (the events that made
        it, announced in the same transaction)."""
        await work.stores.disclosures.save(disclosure)
        work.emit(*first, events.disclosure_upserted(disclosure, cause=cause))

    async def _resolve(
        self,
        work: Work,
        kind: str,
        source_id: str,
        cause: Envelope[Any] | None = None,
        *,
        lapsed: bool = False,
    ) -> Disclosure | None:
        """The disclosure of `source_id` resolved (or lapsed), if there is one and it was
        open."""
        existing = await work.stores.disclosures.of(kind, source_id, for_update=True)
        if existing is None:
            return None
        return await self._end(work, existing, lapsed=lapsed, cause=cause)

    async def _end(
        self,
        work: Work,
        disclosure: Disclosure,
        *,
        lapsed: bool,
        cause: Envelope[Any] | None = None,
    ) -> Disclosure | None:
        """`disclosure` resolved, or lapsed (never rectified), stored and announced; None when it
        was not open."""
        now = self.now()
        ended = disclosure.lapse(now) if lapsed else disclosure.resolve(now)
        if ended is not None:
            await self._save_disclosure(work, ended, cause=cause)
            self.metrics.disclosures.labels(disclosure.kind, ended.state).inc()
        return ended

    async def milestones(self, who: Principal, campaign_id: str) -> list[Milestone]:
        district = who.listing_district()
        async with self.uow() as work:
            await self._campaign(work, campaign_id)
            return await work.stores.milestones.listed(campaign_id, district)

    async def on_market(
        self,
        previous: MarketUpserted | None,
        market: MarketUpserted,
        uow: UowFactory[Stores] | None = None,
    ) -> None:
        """A newer snapshot of a market entered the registry view (`uow`: in the view's own
        transaction). When it shows a task force the market did not have, the campaigns its
        district takes part in — those that existed when the registry registered the task force
        — record `task_force_set_up` today, unless already recorded. When it says the market
        closed for good (停业), what is still disclosed open about it lapses. The view takes each
        snapshot once, so this happens once."""
        if market.status == MARKET_CLOSED:
            if previous is None or previous.status != MARKET_CLOSED:
                await self._market_closed(market.market_id, uow)
            return
        if market.task_force is None or (previous is not None and previous.task_force):
            return
        async with (uow or self.uow)() as work:
            for campaign in await work.stores.campaigns.covering(market.district, self.today()):
                if campaign.created_at is not None and campaign.created_at > market.updated_at:
                    continue  # the task force was there before the campaign
                await self._auto_record(
                    work,
                    campaign,
                    market.district,
                    market.market_id,
                    "task_force_set_up",
                    self.today(),
                    market.actor or REGISTRY,
                )

    async def _market_closed(self, market_id: str, uow: UowFactory[Stores] | None) -> None:
        """Every open disclosure of a closed market — a late milestone, a failed check, an
        overdue order, an exposure — lapses: nobody is left to put it right."""
        async with (uow or self.uow)() as work:
            found = await work.stores.disclosures.listed(
                market_id=market_id, state="open", limit=DISCLOSURES_ALL
            )
            for disclosure in found:
                await self._end(work, disclosure, lapsed=True)

    async def _auto_record(
        self,
        work: Work,
        campaign: Campaign,
        district: str,
        market_id: str,
        kind: str,
        achieved_on: date,
        by: Actor,
    ) -> None:
        known = await work.stores.milestones.get(campaign.id, market_id, kind)
        if known is not None and known.recorded:
            return
        expected = Expected(
            campaign.id, "market", district, market_id, kind, campaign.deadline(kind)
        )
        await self._record(work, expected, MilestoneReport(achieved_on), by)

    # -- the clock -------------------------------------------------------------------------------
    async def check_clock(self, _: object = None) -> int:
        """Flag every milestone whose deadline passed undone, and every exposure still open
        after its deadline, once each. Returns how many were flagged (both kinds)."""
        milestones = await self.flag_late_milestones()
        return milestones + await self.flag_late_exposures()

    async def flag_late_exposures(self) -> int:
        """Flag (once) every exposure still open after its rectification deadline: its
        `late_flagged_at` set and its disclosure republished saying it is late, in one
        transaction per batch. The rows are locked as they are read (SKIP LOCKED), so a
        concurrent run flags none twice."""
        flagged = 0
        while True:
            async with self.uow() as work:
                now = self.now()
                due = await work.stores.disclosures.exposures_to_flag(now, EXPOSURE_BATCH)
                late = [x for x in (flag_late_exposure(d, now) for d in due) if x is not None]
                for disclosure in late:
                    await self._save_disclosure(work, disclosure)
            if late:
                self.metrics.disclosures.labels("exposure", "flagged_late").inc(len(late))
                flagged += len(late)
            if len(due) < EXPOSURE_BATCH or not late:
                break
        if flagged:
            log.info("exposures flagged late", extra={"count": flagged})
        return flagged

    async def flag_late_milestones(self) -> int:
        """Flag every milestone whose deadline passed undone, once, and disclose it.

        Returns how many were flagged. Runs as a periodic job under the runtime's advisory
        lock; the unique (campaign, scope, kind) row makes a concurrent run or a concurrent
        recording harmless: whoever writes the row first decides."""
        today, flagged = self.today(), 0
        # A market closed for good (停业) is expected to do nothing more.
        markets = [(m.market_id, m.district) for m in self.directory.markets_in(closed=False)]
        for campaign in await self.campaigns():
            async with self.uow() as work:
                known = {
                    (m.scope_id, m.kind): m
                    for m in await work.stores.milestones.listed(campaign.id)
                }
                due = due_late_flags(expected_milestones(campaign, markets), known, today)
                for expected in due:
                    milestone = flag_missing(expected, self.now())
                    if await work.stores.milestones.insert(milestone):
                        await self._disclose_late(work, milestone)
                        flagged += 1
        if flagged:
            log.info("milestones flagged late", extra={"count": flagged, "today": str(today)})
        return flagged

    # -- progress --------------------------------------------------------------------------------
    async def progress(self, who: Principal, campaign_id: str) -> dict[str, Any]:
        only = who.listing_district()
        names = dict(self.directory.district_names)
        markets = [
            MarketFacts(m.market_id, m.name, m.district, m.task_force is not None)
            for m in self.directory.markets_in(closed=False)
        ]
        async with self.uow() as work:
            campaign = await self._campaign(work, campaign_id)
            milestones = await work.stores.milestones.listed(campaign.id)
            projects = await work.stores.projects.listed(campaign_id=campaign.id)
        return progress(
            campaign,
            district_names=names,
            markets=markets,
            milestones=milestones,
            projects=projects,
            today=self.today(),
            only_district=only,
            closed_markets={
                m.market_id for m in self.directory.markets.values() if closed.closed_on(m)
            },
        )

    # -- renovation projects ---------------------------------------------------------------------
    def _district_of(self, who: Principal, market_id: str) -> str | None:
        """The market's district, which `who` must reach; None for a market the registry view
        does not know (the rule refuses it, naming the field)."""
        market = self.directory.markets.get(market_id)
        if market is None:
            return None
        who.require_district(market.district)
        return market.district

    def _closed_on(self, market_id: str) -> date | None:
        """The day the market closed for good (停业), None while it is open or unknown."""
        return closed.closed_on(self.directory.markets.get(market_id))

    async def add_project(self, who: Principal, cmd: NewProject) -> RenovationProject:
        district = self._district_of(who, cmd.market_id)
        async with self.uow() as work:
            project = plan_project(
                await work.stores.campaigns.get(cmd.campaign_id),
                project_id=new_id("rnv"),
                campaign_id=cmd.campaign_id,
                market_id=cmd.market_id,
                district=district,
                kind=cmd.kind,
                title=cmd.title,
                scope_items=cmd.scope_items,
                budget=cmd.budget,
                by=who.subject,
                today=self.today(),
                now=self.now(),
                planned_on=cmd.planned_on,
                closed_on=self._closed_on(cmd.market_id),
            )
            await self._save_project(work, project, "created", actor(who))
        self.metrics.renovations.labels("created").inc()
        return project

    async def amend_project(
        self, who: Principal, project_id: str, amendment: Amendment
    ) -> RenovationProject:
        return await self._change_project(
            who,
            project_id,
            "amended",
            lambda project: amend_project(project, amendment, self.now()),
        )

    async def advance(
        self,
        who: Principal,
        project_id: str,
        stage: str,
        *,
        reached_on: date | None = None,
        note: str | None = None,
    ) -> RenovationProject:
        """Move the project one stage on; reaching `approved` records the market's
        `renovation_plan_approved` milestone (if not recorded). (The registry follows the stages
        of a market's projects into its `renovation_status`.)"""
        today = self.today()
        async with self.uow() as work:
            project = await self._changing(work, who, project_id)
            changed = advance_project(
                project,
                stage,
                reached_on=reached_on or today,
                by=who.subject,
                today=today,
                now=self.now(),
                note=note,
            )
            await self._save_project(work, changed, "stage_changed", actor(who))
            if stage == "approved":
                campaign = await self._campaign(work, changed.campaign_id)
                await self._auto_record(
                    work,
                    campaign,
                    changed.district,
                    changed.market_id,
                    "renovation_plan_approved",
                    changed.stages[-1].reached_on,
                    actor(who),
                )
        self.metrics.renovations.labels("stage_changed").inc()
        return changed

    async def record_check(
        self, who: Principal, project_id: str, report: CheckReport
    ) -> CheckOutcome:
        """A quality or safety check. A failure is published for inspection
        (`registry.renovation.check_failed`) and disclosed with its rectification deadline; a
        pass resolves the open failures of its kind and their disclosures."""
        async with self.uow() as work:
            project = await self._changing(work, who, project_id)
            outcome = record_check(
                project,
                report,
                check_id=new_id("chk"),
                by=who.subject,
                today=self.today(),
                now=self.now(),
            )
            changed, check = outcome.project, outcome.check
            upserted = await self._save_project(work, changed, "check_recorded", actor(who))
            if check.result == "fail":
                names = self._names(changed.district, changed.market_id)
                disclosure = disclose_failed_check(
                    changed,
                    check,
                    disclosure_id=new_id("dsc"),
                    tz=self.tz,
                    now=self.now(),
                    names=names,
                )
                failed = events.check_failed(changed, check, disclosure.id, names.market)
                await self._save_disclosure(work, disclosure, failed, cause=failed[1])
                self.metrics.disclosures.labels("failed_check", "opened").inc()
            for resolved in outcome.resolved:
                await self._resolve(work, "failed_check", resolved.id, cause=upserted[1])
        self.metrics.renovations.labels("check_recorded").inc()
        return outcome

    async def project(self, who: Principal, project_id: str) -> RenovationProject:
        async with self.uow() as work:
            return await self._project(work, who, project_id)

    async def projects(
        self,
        who: Principal,
        *,
        campaign_id: str | None = None,
        market_id: str | None = None,
        stage: str | None = None,
    ) -> list[RenovationProject]:
        district = who.listing_district()
        async with self.uow() as work:
            return await work.stores.projects.listed(
                campaign_id=campaign_id, market_id=market_id, district=district, stage=stage
            )

    async def _project(
        self, work: Work, who: Principal, project_id: str, *, for_update: bool = False
    ) -> RenovationProject:
        found = await work.stores.projects.get(project_id, for_update=for_update)
        return within(who, found, "renovation project", project_id)

    async def _changing(
        self, work: Work, who: Principal, project_id: str, *, closed_too: bool = False
    ) -> RenovationProject:
        """The project, locked to change; a closed market's goes no further unless
        `closed_too` (an answer to a comment made before)."""
        project = await self._project(work, who, project_id, for_update=True)
        if not closed_too:
            closed.project_goes_on(project.market_id, self._closed_on(project.market_id))
        return project

    async def _change_project(
        self,
        who: Principal,
        project_id: str,
        change: str,
        decide: Callable[[RenovationProject], RenovationProject],
        *,
        closed_too: bool = False,
    ) -> RenovationProject:
        """The use case of a change `who` makes to one project: `decide` is the rule."""
        async with self.uow() as work:
            project = await self._changing(work, who, project_id, closed_too=closed_too)
            changed = decide(project)
            await self._save_project(work, changed, change, actor(who))
        self.metrics.renovations.labels(change).inc()
        return changed

    async def _save_project(
        self,
        work: Work,
        project: RenovationProject,
        change: str,
        by: Actor | None = None,
        *,
        cause: Envelope[Any] | None = None,
    ) -> Item:
        """The project stored and its upsert emitted (returned, for the events it causes)."""
        await work.stores.projects.save(project)
        upserted = events.renovation_upserted(project, change, by, cause=cause)
        work.emit(upserted)
        return upserted

    # -- public consultation on a renovation plan (征求群众意见) ----------------------------------
    async def open_consultation(
        self, who: Principal, project_id: str, days: int
    ) -> RenovationProject:
        """Open a planned project's plan for comment from today for `days` days."""
        return await self._change_project(
            who,
            project_id,
            "consultation_opened",
            lambda project: open_consultation(
                project, days=days, today=self.today(), now=self.now(), by=actor(who)
            ),
        )

    async def take_comment(
        self, event: Envelope[SuggestionReceived], delivery: Delivery
    ) -> RenovationProject | None:
        """A citizen's suggestion naming a project, once: a comment on the project when its
        consultation was open on the day the suggestion was received; None — nothing changed —
        otherwise."""
        s = event.data
        if not s.project_id:
            return None  # about a market or the campaign, not a plan
        async with self.uow() as work:
            if not await work.claim(SUGGESTIONS_CONSUMER, event.id, delivery):
                return None
            project = await work.stores.projects.get(s.project_id, for_update=True)
            if project is None:
                return None
            changed = receive_comment(
                project,
                suggestion_id=s.suggestion_id,
                text=s.text,
                received_at=s.received_at,
                market_id=s.market_id,
                tz=self.tz,
                now=self.now(),
            )
            if changed is None:
                return None
            await self._save_project(work, changed, "comment_received", cause=event)
        self.metrics.renovations.labels("comment_received").inc()
        return changed

    async def answer_comment(
        self, who: Principal, project_id: str, suggestion_id: str, answer: str
    ) -> RenovationProject:
        return await self._change_project(
            who,
            project_id,
            "comment_answered",
            lambda project: answer_comment(
                project, suggestion_id, answer=answer, by=actor(who), now=self.now()
            ),
            closed_too=True,
        )

    async def consultations(
        self, *, market_id: str | None = None, open_only: bool = False
    ) -> list[RenovationProject]:
        """Projects opened for comment (public): the open ones only, if asked."""
        today = self.today()
        async with self.uow() as work:
            found = await work.stores.projects.consultations(market_id=market_id)
        return [
            p
            for p in found
            if p.consultation is not None and (not open_only or self.takes_comments(p, today))
        ]

    def takes_comments(self, project: RenovationProject, today: date) -> bool:
        """Whether citizens are asked for comments on the plan today: its consultation is open
        and its market has not closed for good (a comment sent still reaches the plan, to be
        answered)."""
        consultation = project.consultation
        return (
            consultation is not None
            and consultation.is_open(today)
            and self._closed_on(project.market_id) is None
        )

    async def public_consultation(self, project_id: str) -> RenovationProject:
        async with self.uow() as work:
            found = await work.stores.projects.get(project_id)
        if found is None or found.consultation is None:
            raise NotFound(f"no consultation on renovation project {project_id!r}")
        return found

    # -- public exposure and deadline rectification (曝光, 限期整改) -----------------------------
    async def record_exposure(
        self, who: Principal, market_id: str, report: ExposureReport
    ) -> Disclosure:
        """A problem the press, a citizen or a supervising body exposed: disclosed to the public
        at once, open until a re-check finds it fixed."""
        district = self._district_of(who, market_id)
        async with self.uow() as work:
            disclosure = disclose_exposure(
                report,
                disclosure_id=new_id("dsc"),
                district=district,
                market_id=market_id,
                tz=self.tz,
                today=self.today(),
                now=self.now(),
                by=actor(who),
                names=self._names(district, market_id) if district else PlaceNames(),
                closed_on=self._closed_on(market_id),
            )
            await self._save_disclosure(work, disclosure)
        self.metrics.disclosures.labels("exposure", "opened").inc()
        log.info("exposure recorded", extra={"disclosure_id": disclosure.id})
        return disclosure

    async def verify_exposure(
        self, who: Principal, disclosure_id: str, *, fixed: bool, note: str | None
    ) -> Disclosure:
        async with self.uow() as work:
            found = await self._exposure(work, who, disclosure_id, for_update=True)
            changed = verify_exposure(
                found, fixed=fixed, note=note, by=actor(who), today=self.today(), now=self.now()
            )
            await self._save_disclosure(work, changed)
        self.metrics.disclosures.labels("exposure", "resolved" if fixed else "not_fixed").inc()
        return changed

    async def exposures(
        self,
        who: Principal,
        *,
        state: str | None = None,
        district: str | None = None,
        market_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Disclosure]:
        """Exposures by deadline; a district token reads its own district."""
        district = who.listing_district(district)
        async with self.uow() as work:
            return await work.stores.disclosures.exposures(
                district=district, market_id=market_id, state=state, limit=limit, offset=offset
            )

    async def exposure(self, who: Principal, disclosure_id: str) -> Disclosure:
        async with self.uow() as work:
            return await self._exposure(work, who, disclosure_id)

    async def _exposure(
        self, work: Work, who: Principal, disclosure_id: str, *, for_update: bool = False
    ) -> Disclosure:
        """The exposure, once `who` may reach its district (404 for any other disclosure)."""
        found = await work.stores.disclosures.get(disclosure_id, for_update=for_update)
        if found is None or found.kind != "exposure":
            raise NotFound(f"no exposure {disclosure_id!r}")
        who.require_district(found.district)
        return found

    # -- public disclosure -----------------------------------------------------------------------
    async def disclosures(self, **filters: Unpack[DisclosureFilters]) -> list[Disclosure]:
        async with self.uow() as work:
            return await work.stores.disclosures.listed(**filters)

    async def disclosure(self, disclosure_id: str) -> Disclosure:
        async with self.uow() as work:
            found = await work.stores.disclosures.get(disclosure_id)
        if found is None:
            raise NotFound(f"no disclosure {disclosure_id!r}")
        return found

    async def disclose_overdue(
        self, event: Envelope[RectificationOverdue], delivery: Delivery
    ) -> Disclosure | None:
        """Inspection marked a rectification order overdue (once per event): it is disclosed, or
        its disclosure reopened with the deadline that passed."""
        o = event.data
        assert o.deadline is not None, "an overdue order has a deadline"
        order = OverdueOrder(
            rectification_id=o.rectification_id,
            district=o.district,
            market_id=o.market_id,
            merchant_id=o.merchant_id,
            stall_no=o.stall_no,
            deadline=o.deadline,
            findings=tuple(
                f"{f.code} {f.title_zh}" + (f"：{f.note}" if f.note else "") for f in o.findings
            ),
        )
        async with self.uow() as work:
            if not await work.claim(INSPECTION_CONSUMER, event.id, delivery):
                return None
            existing = await work.stores.disclosures.of(
                "overdue_rectification", o.rectification_id, for_update=True
            )
            if existing is not None:
                changed = still_overdue(existing, order, tz=self.tz, now=self.now())
                change = "reopened"
            else:
                merchant = self.directory.merchants.get(o.merchant_id) if o.merchant_id else None
                changed = disclose_overdue_rectification(
                    order,
                    disclosure_id=new_id("dsc"),
                    tz=self.tz,
                    now=self.now(),
                    names=self._names(o.district, o.market_id),
                    merchant_name=merchant.name if merchant else None,
                )
                change = "opened"
            if changed is not None:
                await self._save_disclosure(work, changed, cause=event)
                self.metrics.disclosures.labels("overdue_rectification", change).inc()
        return changed

    async def rectification_lapsed(
        self, event: Envelope[RectificationLapsed], delivery: Delivery
    ) -> Disclosure | None:
        """An order that lapsed (its merchant left, its market closed) ends its disclosure
        unrectified (once per event), if it was disclosed."""
        async with self.uow() as work:
            if not await work.claim(INSPECTION_CONSUMER, event.id, delivery):
                return None
            return await self._resolve(
                work,
                "overdue_rectification",
                event.data.rectification_id,
                cause=event,
                lapsed=True,
            )

    async def rectification_verified(
        self, event: Envelope[RectificationVerified], delivery: Delivery
    ) -> Disclosure | None:
        """A passed re-inspection resolves the order's disclosure (once per event), if it was
        disclosed."""
        if not event.data.passed:
            return None  # a failed re-inspection resolves nothing
        async with self.uow() as work:
            if not await work.claim(INSPECTION_CONSUMER, event.id, delivery):
                return None
            return await self._resolve(
                work, "overdue_rectification", event.data.rectification_id, cause=event
            )
