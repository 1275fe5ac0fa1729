"""The campaign's stores: what the use cases ask of storage (a protocol per store) and the
Postgres implementation (SQL only, rows in and domain values out; the rules are in `domain`).

Every method runs on the connection (and transaction) of the caller's unit of work, so a change
and its outbox events commit together. The in-memory fakes (`fakes.py`) pass the same store
suite (tests/integration/campaign/test_store_suite.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from contracts.people import actor_dict, actor_from
from services.campaign.domain.campaign import (
    MILESTONE_KINDS,
    BudgetLine,
    Campaign,
    Check,
    Comment,
    Consultation,
    DeadlineRule,
    Disclosure,
    Milestone,
    RenovationProject,
    ScopeItem,
    StageChange,
    Verification,
)


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _campaign(r: asyncpg.Record) -> Campaign:
    rules = r["deadline_rules"]
    return Campaign(
        id=r["id"],
        name=r["name"],
        mobilisation_date=r["mobilisation_date"],
        year=r["year"],
        districts=tuple(r["districts"]),
        rules={k: DeadlineRule.from_dict(rules[k], k) for k in MILESTONE_KINDS if k in rules},
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _milestone(r: asyncpg.Record) -> Milestone:
    return Milestone(
        id=r["id"],
        campaign_id=r["campaign_id"],
        scope=r["scope"],
        district=r["district"],
        market_id=r["market_id"],
        kind=r["kind"],
        deadline=r["deadline"],
        achieved_on=r["achieved_on"],
        attendees=r["attendees"],
        documents=tuple(r["documents"]),
        note=r["note"],
        recorded_by=r["recorded_by"],
        recorded_at=r["recorded_at"],
        late_flagged_at=r["late_flagged_at"],
        version=r["version"],
        updated_at=r["updated_at"],
        recorded_actor=actor_from(r["recorded_actor"]),
    )


def _check_body(c: Check) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "result": c.result,
        "checked_on": c.checked_on.isoformat(),
        "inspector": c.inspector,
        "findings": list(c.findings),
        "recorded_by": c.recorded_by,
        "recorded_at": c.recorded_at.isoformat(),
        "note": c.note,
        "rectify_by": c.rectify_by.isoformat() if c.rectify_by else None,
        "resolved_by": c.resolved_by,
    }


def _check(b: dict[str, Any]) -> Check:
    checked_on, recorded_at = _d(b["checked_on"]), _t(b["recorded_at"])
    assert checked_on is not None and recorded_at is not None
    return Check(
        id=b["id"],
        kind=b["kind"],
        result=b["result"],
        checked_on=checked_on,
        inspector=b["inspector"],
        findings=tuple(b["findings"]),
        recorded_by=b["recorded_by"],
        recorded_at=recorded_at,
        note=b.get("note"),
        rectify_by=_d(b.get("rectify_by")),
        resolved_by=b.get("resolved_by"),
    )


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _consultation_body(c: Consultation | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "opens_on": c.opens_on.isoformat(),
        "closes_on": c.closes_on.isoformat(),
        "opened_at": _iso(c.opened_at),
        "opened_by": actor_dict(c.opened_by),
        "comments": [
            {
                "suggestion_id": m.suggestion_id,
                "received_at": m.received_at.isoformat(),
                "text": m.text,
                "answer": m.answer,
                "answered_at": _iso(m.answered_at),
                "answered_by": actor_dict(m.answered_by),
            }
            for m in c.comments
        ],
    }


def _consultation(b: dict[str, Any] | None) -> Consultation | None:
    if not b:
        return None
    opens_on, closes_on = _d(b["opens_on"]), _d(b["closes_on"])
    assert opens_on is not None and closes_on is not None
    comments = []
    for m in b["comments"]:
        received_at = _t(m["received_at"])
        assert received_at is not None
        comments.append(
            Comment(
                suggestion_id=m["suggestion_id"],
                received_at=received_at,
                text=m["text"],
                answer=m.get("answer"),
                answered_at=_t(m.get("answered_at")),
                answered_by=actor_from(m.get("answered_by")),
            )
        )
    return Consultation(
        opens_on=opens_on,
        closes_on=closes_on,
        comments=tuple(comments),
        opened_at=_t(b.get("opened_at")),
        opened_by=actor_from(b.get("opened_by")),
    )


def _project_body(p: RenovationProject) -> dict[str, Any]:
    return {
        "title": p.title,
        "scope_items": [{"area": i.area, "description": i.description} for i in p.scope_items],
        "budget": [{"source": b.source, "amount_fen": b.amount_fen} for b in p.budget],
        "stages": [
            {
                "stage": s.stage,
                "reached_on": s.reached_on.isoformat(),
                "by": s.by,
                "at": s.at.isoformat(),
                "note": s.note,
            }
            for s in p.stages
        ],
        "checks": [_check_body(c) for c in p.checks],
        "consultation": _consultation_body(p.consultation),
    }


def _stage(s: dict[str, Any]) -> StageChange:
    reached_on, at = _d(s["reached_on"]), _t(s["at"])
    assert reached_on is not None and at is not None
    return StageChange(s["stage"], reached_on, s["by"], at, s.get("note"))


def _project(r: asyncpg.Record) -> RenovationProject:
    b = r["body"]
    return RenovationProject(
        id=r["id"],
        campaign_id=r["campaign_id"],
        market_id=r["market_id"],
        district=r["district"],
        kind=r["kind"],
        title=b["title"],
        scope_items=tuple(ScopeItem(i["area"], i["description"]) for i in b["scope_items"]),
        budget=tuple(BudgetLine(x["source"], int(x["amount_fen"])) for x in b["budget"]),
        stage=r["stage"],
        stages=tuple(_stage(s) for s in b["stages"]),
        checks=tuple(_check(c) for c in b["checks"]),
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        consultation=_consultation(b.get("consultation")),
    )


_DISCLOSURE_BODY = (
    "title",
    "title_en",
    "district_name",
    "market_name",
    "merchant_id",
    "merchant_name",
    "stall_no",
    "exposure_source",
    "exposure_reference",
)


def _verification_body(v: Verification) -> dict[str, Any]:
    return {
        "on": v.on.isoformat(),
        "at": v.at.isoformat(),
        "fixed": v.fixed,
        "note": v.note,
        "by": actor_dict(v.by),
    }


def _verification(b: dict[str, Any]) -> Verification:
    on, at, by = _d(b["on"]), _t(b["at"]), actor_from(b["by"])
    assert on is not None and at is not None and by is not None
    return Verification(on, at, bool(b["fixed"]), b.get("note"), by)


def _disclosure(r: asyncpg.Record) -> Disclosure:
    b = r["body"]
    deadline_date = _d(b["deadline_date"])
    assert deadline_date is not None
    return Disclosure(
        id=r["id"],
        kind=r["kind"],
        source_id=r["source_id"],
        state=r["state"],
        district=r["district"],
        market_id=r["market_id"],
        campaign_id=r["campaign_id"],
        deadline=r["deadline"],
        deadline_date=deadline_date,
        opened_at=r["opened_at"],
        details=tuple(b["details"]),
        resolved_at=_t(b.get("resolved_at")),
        version=r["version"],
        updated_at=r["updated_at"],
        recorded_by=actor_from(b.get("recorded_by")),
        late_flagged_at=r["late_flagged_at"],
        verifications=tuple(_verification(v) for v in b.get("verifications") or ()),
        **{k: b.get(k) for k in _DISCLOSURE_BODY},
    )


class CampaignStore(Protocol):
    async def save(self, c: Campaign) -> None:
        """Insert or replace the campaign (its creation time stays the first one's)."""

    async def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None: ...

    async def listed(self) -> list[Campaign]:
        """By mobilisation date, then id."""

    async def covering(self, district: str, on: date) -> list[Campaign]:
        """Campaigns the district takes part in that were mobilised by `on`."""


class MilestoneStore(Protocol):
    async def save(self, m: Milestone) -> None:
        """Insert or replace the milestone of its id."""

    async def insert(self, m: Milestone) -> bool:
        """Insert a milestone nobody has written yet; False when another transaction did (one
        per campaign, scope and kind)."""

    async def get(
        self, campaign_id: str, scope_id: str, kind: str, *, for_update: bool = False
    ) -> Milestone | None: ...

    async def listed(self, campaign_id: str, district: str | None = None) -> list[Milestone]:
        """By district, scope, scope id and kind."""


class ProjectStore(Protocol):
    async def save(self, p: RenovationProject) -> None: ...

    async def get(
        self, project_id: str, *, for_update: bool = False
    ) -> RenovationProject | None: ...

    async def listed(
        self,
        *,
        campaign_id: str | None = None,
        market_id: str | None = None,
        district: str | None = None,
        stage: str | None = None,
    ) -> list[RenovationProject]:
        """By district, market, creation time and id."""

    async def consultations(
        self, *, market_id: str | None = None, district: str | None = None
    ) -> list[RenovationProject]:
        """Projects that were ever opened for comment, the latest window first."""


class DisclosureStore(Protocol):
    async def save(self, d: Disclosure) -> None:
        """Insert or replace the disclosure of its id (one per kind and source)."""

    async def get(self, disclosure_id: str, *, for_update: bool = False) -> Disclosure | None: ...

    async def of(
        self, kind: str, source_id: str, *, for_update: bool = False
    ) -> Disclosure | None: ...

    async def exposures(
        self,
        *,
        district: str | None = None,
        market_id: str | None = None,
        state: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Disclosure]:
        """Exposed problems by deadline, the nearest first."""

    async def exposures_to_flag(self, now: datetime, limit: int) -> list[Disclosure]:
        """Open exposures past their deadline and not flagged yet, by deadline; locked for this
        transaction (another run skips them)."""

    async def listed(
        self,
        *,
        district: str | None = None,
        market_id: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        campaign_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Disclosure]:
        """The newest opened first."""


@dataclass(frozen=True)
class Stores:
    campaigns: CampaignStore
    milestones: MilestoneStore
    projects: ProjectStore
    disclosures: DisclosureStore


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(
        PostgresCampaignStore(conn),
        PostgresMilestoneStore(conn),
        PostgresProjectStore(conn),
        PostgresDisclosureStore(conn),
    )


class PostgresCampaignStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, c: Campaign) -> None:
        await self.conn.execute(
            """INSERT INTO campaigns (id, name, mobilisation_date, year, districts,
                                     deadline_rules, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, mobilisation_date = EXCLUDED.mobilisation_date,
                   year = EXCLUDED.year, districts = EXCLUDED.districts,
                   deadline_rules = EXCLUDED.deadline_rules, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at""",
            c.id,
            c.name,
            c.mobilisation_date,
            c.year,
            list(c.districts),
            {k: r.to_dict() for k, r in c.rules.items()},
            c.version,
            c.created_at,
            c.updated_at,
        )

    async def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        sql = "SELECT * FROM campaigns WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, campaign_id)
        return _campaign(r) if r else None

    async def listed(self) -> list[Campaign]:
        rows = await self.conn.fetch("SELECT * FROM campaigns ORDER BY mobilisation_date, id")
        return [_campaign(r) for r in rows]

    async def covering(self, district: str, on: date) -> list[Campaign]:
        rows = await self.conn.fetch(
            "SELECT * FROM campaigns WHERE $1 = ANY(districts) AND mobilisation_date <= $2",
            district,
            on,
        )
        return [_campaign(r) for r in rows]


class PostgresMilestoneStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, m: Milestone) -> None:
        await self.conn.execute(
            """INSERT INTO milestones (id, campaign_id, scope, scope_id, district, market_id, kind,
                                      deadline, achieved_on, attendees, documents, note,
                                      recorded_by, recorded_at, late_flagged_at, version,
                                      updated_at, recorded_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                       $18)
               ON CONFLICT (id) DO UPDATE SET
                   achieved_on = EXCLUDED.achieved_on, attendees = EXCLUDED.attendees,
                   documents = EXCLUDED.documents, note = EXCLUDED.note,
                   recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at,
                   late_flagged_at = EXCLUDED.late_flagged_at, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at, recorded_actor = EXCLUDED.recorded_actor""",
            *self._milestone_args(m),
        )

    async def insert(self, m: Milestone) -> bool:
        inserted = await self.conn.fetchval(
            """INSERT INTO milestones (id, campaign_id, scope, scope_id, district, market_id, kind,
                                      deadline, achieved_on, attendees, documents, note,
                                      recorded_by, recorded_at, late_flagged_at, version,
                                      updated_at, recorded_actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                       $18)
               ON CONFLICT (campaign_id, scope_id, kind) DO NOTHING RETURNING true""",
            *self._milestone_args(m),
        )
        return bool(inserted)

    @staticmethod
    def _milestone_args(m: Milestone) -> tuple[Any, ...]:
        return (
            m.id,
            m.campaign_id,
            m.scope,
            m.scope_id,
            m.district,
            m.market_id,
            m.kind,
            m.deadline,
            m.achieved_on,
            m.attendees,
            list(m.documents),
            m.note,
            m.recorded_by,
            m.recorded_at,
            m.late_flagged_at,
            m.version,
            m.updated_at,
            actor_dict(m.recorded_actor),
        )

    async def get(
        self, campaign_id: str, scope_id: str, kind: str, *, for_update: bool = False
    ) -> Milestone | None:
        sql = (
            "SELECT * FROM milestones WHERE campaign_id = $1 AND scope_id = $2 AND kind = $3"
        ) + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, campaign_id, scope_id, kind)
        return _milestone(r) if r else None

    async def listed(self, campaign_id: str, district: str | None = None) -> list[Milestone]:
        rows = await self.conn.fetch(
            """SELECT * FROM milestones WHERE campaign_id = $1
                 AND ($2::text IS NULL OR district = $2)
               ORDER BY district, scope, scope_id, kind""",
            campaign_id,
            district,
        )
        return [_milestone(r) for r in rows]


class PostgresProjectStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, p: RenovationProject) -> None:
        await self.conn.execute(
            """INSERT INTO renovation_projects (id, campaign_id, market_id, district, kind, stage,
                                               body, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (id) DO UPDATE SET
                   stage = EXCLUDED.stage, body = EXCLUDED.body, version = EXCLUDED.version,
                   updated_at = EXCLUDED.updated_at""",
            p.id,
            p.campaign_id,
            p.market_id,
            p.district,
            p.kind,
            p.stage,
            _project_body(p),
            p.version,
            p.created_at,
            p.updated_at,
        )

    async def get(self, project_id: str, *, for_update: bool = False) -> RenovationProject | None:
        sql = "SELECT * FROM renovation_projects WHERE id = $1" + (
            " FOR UPDATE" if for_update else ""
        )
        r = await self.conn.fetchrow(sql, project_id)
        return _project(r) if r else None

    async def listed(
        self,
        *,
        campaign_id: str | None = None,
        market_id: str | None = None,
        district: str | None = None,
        stage: str | None = None,
    ) -> list[RenovationProject]:
        rows = await self.conn.fetch(
            """SELECT * FROM renovation_projects
               WHERE ($1::text IS NULL OR campaign_id = $1)
                 AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR district = $3)
                 AND ($4::text IS NULL OR stage = $4)
               ORDER BY district, market_id, created_at, id""",
            campaign_id,
            market_id,
            district,
            stage,
        )
        return [_project(r) for r in rows]

    async def consultations(
        self, *, market_id: str | None = None, district: str | None = None
    ) -> list[RenovationProject]:
        rows = await self.conn.fetch(
            """SELECT * FROM renovation_projects
               WHERE jsonb_typeof(body -> 'consultation') = 'object'
                 AND ($1::text IS NULL OR market_id = $1)
                 AND ($2::text IS NULL OR district = $2)
               ORDER BY body -> 'consultation' ->> 'closes_on' DESC, id""",
            market_id,
            district,
        )
        return [_project(r) for r in rows]


class PostgresDisclosureStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, d: Disclosure) -> None:
        body = {k: getattr(d, k) for k in _DISCLOSURE_BODY} | {
            "details": list(d.details),
            "deadline_date": d.deadline_date.isoformat(),
            "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
            "recorded_by": actor_dict(d.recorded_by),
            "verifications": [_verification_body(v) for v in d.verifications],
        }
        await self.conn.execute(
            """INSERT INTO disclosures (id, kind, source_id, state, district, market_id,
                                       campaign_id, deadline, opened_at, body, version, updated_at,
                                       late_flagged_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (id) DO UPDATE SET
                   state = EXCLUDED.state, deadline = EXCLUDED.deadline, body = EXCLUDED.body,
                   version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
                   late_flagged_at = EXCLUDED.late_flagged_at""",
            d.id,
            d.kind,
            d.source_id,
            d.state,
            d.district,
            d.market_id,
            d.campaign_id,
            d.deadline,
            d.opened_at,
            body,
            d.version,
            d.updated_at,
            d.late_flagged_at,
        )

    async def get(self, disclosure_id: str, *, for_update: bool = False) -> Disclosure | None:
        sql = "SELECT * FROM disclosures WHERE id = $1" + (" FOR UPDATE" if for_update else "")
        r = await self.conn.fetchrow(sql, disclosure_id)
        return _disclosure(r) if r else None

    async def exposures(
        self,
        *,
        district: str | None = None,
        market_id: str | None = None,
        state: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Disclosure]:
        rows = await self.conn.fetch(
            """SELECT * FROM disclosures
               WHERE kind = 'exposure'
                 AND ($1::text IS NULL OR district = $1)
                 AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR state = $3)
               ORDER BY deadline, opened_at, id LIMIT $4 OFFSET $5""",
            district,
            market_id,
            state,
            limit,
            offset,
        )
        return [_disclosure(r) for r in rows]

    async def exposures_to_flag(self, now: datetime, limit: int) -> list[Disclosure]:
        rows = await self.conn.fetch(
            """SELECT * FROM disclosures
               WHERE kind = 'exposure' AND state = 'open' AND late_flagged_at IS NULL
                 AND deadline <= $1
               ORDER BY deadline, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [_disclosure(r) for r in rows]

    async def of(self, kind: str, source_id: str, *, for_update: bool = False) -> Disclosure | None:
        sql = "SELECT * FROM disclosures WHERE kind = $1 AND source_id = $2" + (
            " FOR UPDATE" if for_update else ""
        )
        r = await self.conn.fetchrow(sql, kind, source_id)
        return _disclosure(r) if r else None

    async def listed(
        self,
        *,
        district: str | None = None,
        market_id: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        campaign_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Disclosure]:
        rows = await self.conn.fetch(
            """SELECT * FROM disclosures
               WHERE ($1::text IS NULL OR district = $1)
                 AND ($2::text IS NULL OR market_id = $2)
                 AND ($3::text IS NULL OR kind = $3)
                 AND ($4::text IS NULL OR state = $4)
                 AND ($5::text IS NULL OR campaign_id = $5)
               ORDER BY opened_at DESC, id LIMIT $6 OFFSET $7""",
            district,
            market_id,
            kind,
            state,
            campaign_id,
            limit,
            offset,
        )
        return [_disclosure(r) for r in rows]
