"""The campaign's stores: what the use cases ask of storage (a protocol per store) and the
Postgres implementation (SQL only, rows in and domain values out; the rules are in `domain`).

Every method runs on the connection (and transaction) of the caller's unit of work, so a change
and its outbox events commit together. The in-memory fakes (`fakes.py`) pass the same store
suite (tests/integration/campaign/test_store_suite.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

import asyncpg

from contracts.people import actor_dict
from services.campaign.domain.campaign import MILESTONE_KINDS, Campaign, DeadlineRule
from services.campaign.domain.disclosures import Disclosure
from services.campaign.domain.milestones import Milestone
from services.campaign.domain.renovations import RenovationProject
from services.campaign.rows import Match, one_row, row_data
from services.runtime import serial
from services.runtime.db import OnConnection

T = TypeVar("T")


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


# A project's and a disclosure's fields beyond their columns are kept in `body` (jsonb), in
# serial's form; a row loads from its columns and its body together.
_PROJECT_BODY = ("title", "scope_items", "budget", "stages", "checks", "consultation")
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
    "details",
    "deadline_date",
    "resolved_at",
    "lapsed_at",
    "recorded_by",
    "verifications",
)


def _body(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    data = serial.dump(value)
    return {k: data[k] for k in keys}


def _with_body(cls: type[T], r: asyncpg.Record) -> T:
    return serial.load(cls, r["body"] | row_data(r))


class ProjectFilters(TypedDict, total=False):
    """A listing's filters, each the value of the field of that name; None matches any."""

    campaign_id: str | None
    market_id: str | None
    district: str | None
    stage: str | None


class ExposureFilters(TypedDict, total=False):
    district: str | None
    market_id: str | None
    state: str | None
    limit: int
    offset: int


class DisclosureFilters(ExposureFilters, total=False):
    kind: str | None
    campaign_id: str | None


PROJECT_FILTERS = ("campaign_id", "market_id", "district", "stage")
EXPOSURE_FILTERS = ("district", "market_id", "state")
DISCLOSURE_FILTERS = (*EXPOSURE_FILTERS, "kind", "campaign_id")
CONSULTATION_FILTERS = ("market_id", "district")
# The page a listing of exposures, or of disclosures, gives when it names none.
EXPOSURES_PAGE = 200
DISCLOSURES_PAGE = 100


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

    async def listed(self, **where: Unpack[ProjectFilters]) -> list[RenovationProject]:
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

    async def exposures(self, **where: Unpack[ExposureFilters]) -> list[Disclosure]:
        """Exposed problems by deadline, the nearest first."""

    async def exposures_to_flag(self, now: datetime, limit: int) -> list[Disclosure]:
        """Open exposures past their deadline and not flagged yet, by deadline; locked for this
        transaction (another run skips them)."""

    async def listed(self, **where: Unpack[DisclosureFilters]) -> list[Disclosure]:
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


class PostgresCampaignStore(OnConnection):
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
        sql = "SELECT * FROM campaigns WHERE id = $1"
        r = await one_row(self.conn, sql, campaign_id, for_update=for_update)
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


class PostgresMilestoneStore(OnConnection):
    # A milestone's row, the columns in the order of `_milestone_args`.
    _INSERT = """INSERT INTO milestones (id, campaign_id, scope, scope_id, district, market_id,
                                        kind, deadline, achieved_on, attendees, documents, note,
                                        recorded_by, recorded_at, late_flagged_at, version,
                                        updated_at, recorded_actor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                         $17, $18)"""

    async def save(self, m: Milestone) -> None:
        await self.conn.execute(
            f"""{self._INSERT}
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
            f"{self._INSERT} ON CONFLICT (campaign_id, scope_id, kind) DO NOTHING RETURNING true",
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
        sql = "SELECT * FROM milestones WHERE campaign_id = $1 AND scope_id = $2 AND kind = $3"
        r = await one_row(self.conn, sql, campaign_id, scope_id, kind, for_update=for_update)
        return serial.load(Milestone, row_data(r)) if r else None

    async def listed(self, campaign_id: str, district: str | None = None) -> list[Milestone]:
        rows = await self.conn.fetch(
            """SELECT * FROM milestones WHERE campaign_id = $1
                 AND ($2::text IS NULL OR district = $2)
               ORDER BY district, scope, scope_id, kind""",
            campaign_id,
            district,
        )
        return [serial.load(Milestone, row_data(r)) for r in rows]


class PostgresProjectStore(OnConnection):
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
            _body(p, _PROJECT_BODY),
            p.version,
            p.created_at,
            p.updated_at,
        )

    async def get(self, project_id: str, *, for_update: bool = False) -> RenovationProject | None:
        sql = "SELECT * FROM renovation_projects WHERE id = $1"
        r = await one_row(self.conn, sql, project_id, for_update=for_update)
        return _with_body(RenovationProject, r) if r else None

    async def listed(self, **where: Unpack[ProjectFilters]) -> list[RenovationProject]:
        match = Match.of(PROJECT_FILTERS, where)
        rows = await self.conn.fetch(
            f"""SELECT * FROM renovation_projects WHERE {match.sql()}
                ORDER BY district, market_id, created_at, id""",
            *match.args,
        )
        return [_with_body(RenovationProject, r) for r in rows]

    async def consultations(
        self, *, market_id: str | None = None, district: str | None = None
    ) -> list[RenovationProject]:
        match = Match.of(CONSULTATION_FILTERS, {"market_id": market_id, "district": district})
        rows = await self.conn.fetch(
            f"""SELECT * FROM renovation_projects
                WHERE jsonb_typeof(body -> 'consultation') = 'object' AND {match.sql()}
                ORDER BY body -> 'consultation' ->> 'closes_on' DESC, id""",
            *match.args,
        )
        return [_with_body(RenovationProject, r) for r in rows]


class PostgresDisclosureStore(OnConnection):
    async def save(self, d: Disclosure) -> None:
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
            _body(d, _DISCLOSURE_BODY),
            d.version,
            d.updated_at,
            d.late_flagged_at,
        )

    async def get(self, disclosure_id: str, *, for_update: bool = False) -> Disclosure | None:
        sql = "SELECT * FROM disclosures WHERE id = $1"
        r = await one_row(self.conn, sql, disclosure_id, for_update=for_update)
        return _with_body(Disclosure, r) if r else None

    async def exposures(self, **where: Unpack[ExposureFilters]) -> list[Disclosure]:
        match = Match.of(EXPOSURE_FILTERS, where)
        return await self._page(
            f"""SELECT * FROM disclosures WHERE kind = 'exposure' AND {match.sql()}
                ORDER BY deadline, opened_at, id""",
            match,
            where.get("limit", EXPOSURES_PAGE),
            where.get("offset", 0),
        )

    async def exposures_to_flag(self, now: datetime, limit: int) -> list[Disclosure]:
        rows = await self.conn.fetch(
            """SELECT * FROM disclosures
               WHERE kind = 'exposure' AND state = 'open' AND late_flagged_at IS NULL
                 AND deadline <= $1
               ORDER BY deadline, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [_with_body(Disclosure, r) for r in rows]

    async def of(self, kind: str, source_id: str, *, for_update: bool = False) -> Disclosure | None:
        sql = "SELECT * FROM disclosures WHERE kind = $1 AND source_id = $2"
        r = await one_row(self.conn, sql, kind, source_id, for_update=for_update)
        return _with_body(Disclosure, r) if r else None

    async def listed(self, **where: Unpack[DisclosureFilters]) -> list[Disclosure]:
        match = Match.of(DISCLOSURE_FILTERS, where)
        return await self._page(
            f"SELECT * FROM disclosures WHERE {match.sql()} ORDER BY opened_at DESC, id",
            match,
            where.get("limit", DISCLOSURES_PAGE),
            where.get("offset", 0),
        )

    async def _page(self, sql: str, match: Match, limit: int, offset: int) -> list[Disclosure]:
        n = len(match.args)
        rows = await self.conn.fetch(
            f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}", *match.args, limit, offset
        )
        return [_with_body(Disclosure, r) for r in rows]
