"""In-memory stores for use-case tests: the same answers as the Postgres ones (the store suite,
tests/integration/campaign/test_store_suite.py, runs against both).

Locks have nothing to guard in one process, so `for_update` and the skipping of locked rows are
no-ops here. Their rows are frozen values kept in tables, so that the runtime's
`fake_tables.snapshot(stores)` lets a rolled-back `FakeUnitOfWork` put them back as Postgres would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Generic, TypeVar, Unpack

from services.campaign.domain.campaign import Campaign
from services.campaign.domain.disclosures import Disclosure
from services.campaign.domain.milestones import Milestone
from services.campaign.domain.renovations import RenovationProject
from services.campaign.rows import Match
from services.campaign.store import (
    CONSULTATION_FILTERS,
    DISCLOSURE_FILTERS,
    DISCLOSURES_PAGE,
    EXPOSURE_FILTERS,
    EXPOSURES_PAGE,
    PROJECT_FILTERS,
    DisclosureFilters,
    ExposureFilters,
    ProjectFilters,
    Stores,
)

Row = TypeVar("Row", Campaign, RenovationProject)


class _CreatedOnce(Generic[Row]):
    """Values by id, each keeping the creation time of its first save (as the upsert does)."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def save(self, value: Row) -> None:
        held = self.rows.get(value.id)
        if held is not None:
            value = replace(value, created_at=held.created_at)
        self.rows[value.id] = value

    async def get(self, ident: str, *, for_update: bool = False) -> Row | None:
        return self.rows.get(ident)


class FakeCampaignStore(_CreatedOnce[Campaign]):
    async def listed(self) -> list[Campaign]:
        return sorted(self.rows.values(), key=lambda c: (c.mobilisation_date, c.id))

    async def covering(self, district: str, on: date) -> list[Campaign]:
        return [
            c for c in self.rows.values() if district in c.districts and c.mobilisation_date <= on
        ]


class FakeMilestoneStore:
    def __init__(self) -> None:
        self.rows: dict[str, Milestone] = {}

    def _same_slot(self, m: Milestone) -> Milestone | None:
        return self._at(m.campaign_id, m.scope_id, m.kind)

    def _at(self, campaign_id: str, scope_id: str, kind: str) -> Milestone | None:
        slot = (campaign_id, scope_id, kind)
        found = (m for m in self.rows.values() if (m.campaign_id, m.scope_id, m.kind) == slot)
        return next(found, None)

    async def save(self, m: Milestone) -> None:
        other = self._same_slot(m)
        if other is not None and other.id != m.id:
            raise ValueError(f"milestone {m.kind} of {m.scope_id} is already stored")
        self.rows[m.id] = m

    async def insert(self, m: Milestone) -> bool:
        if self._same_slot(m) is not None:
            return False
        if m.id in self.rows:
            raise ValueError(f"milestone {m.id} is already stored")
        self.rows[m.id] = m
        return True

    async def get(
        self, campaign_id: str, scope_id: str, kind: str, *, for_update: bool = False
    ) -> Milestone | None:
        return self._at(campaign_id, scope_id, kind)

    async def listed(self, campaign_id: str, district: str | None = None) -> list[Milestone]:
        found = [
            m
            for m in self.rows.values()
            if m.campaign_id == campaign_id and (district is None or m.district == district)
        ]
        return sorted(found, key=lambda m: (m.district, m.scope, m.scope_id, m.kind))


class FakeProjectStore(_CreatedOnce[RenovationProject]):
    async def listed(self, **where: Unpack[ProjectFilters]) -> list[RenovationProject]:
        found = filter(Match.of(PROJECT_FILTERS, where), self.rows.values())
        return sorted(found, key=lambda p: (p.district, p.market_id, _created(p), p.id))

    async def consultations(
        self, *, market_id: str | None = None, district: str | None = None
    ) -> list[RenovationProject]:
        match = Match.of(CONSULTATION_FILTERS, {"market_id": market_id, "district": district})
        found = [p for p in self.rows.values() if p.consultation is not None and match(p)]
        # Latest window first, then by id: two sorts, the second one stable.
        found.sort(key=lambda p: p.id)
        return sorted(
            found,
            key=lambda p: p.consultation.closes_on if p.consultation else date.min,
            reverse=True,
        )


class FakeDisclosureStore:
    def __init__(self) -> None:
        self.rows: dict[str, Disclosure] = {}

    async def save(self, d: Disclosure) -> None:
        other = await self.of(d.kind, d.source_id)
        if other is not None and other.id != d.id:
            raise ValueError(f"a {d.kind} disclosure of {d.source_id} is already stored")
        self.rows[d.id] = d

    async def get(self, disclosure_id: str, *, for_update: bool = False) -> Disclosure | None:
        return self.rows.get(disclosure_id)

    async def of(self, kind: str, source_id: str, *, for_update: bool = False) -> Disclosure | None:
        return next(
            (d for d in self.rows.values() if (d.kind, d.source_id) == (kind, source_id)), None
        )

    async def exposures(self, **where: Unpack[ExposureFilters]) -> list[Disclosure]:
        match = Match.of(EXPOSURE_FILTERS, where)
        found = [d for d in self.rows.values() if d.kind == "exposure" and match(d)]
        found.sort(key=lambda d: (d.deadline, d.opened_at, d.id))
        return _page(found, where.get("limit", EXPOSURES_PAGE), where.get("offset", 0))

    async def exposures_to_flag(self, now: datetime, limit: int) -> list[Disclosure]:
        found = [
            d
            for d in self.rows.values()
            if d.kind == "exposure"
            and d.state == "open"
            and d.late_flagged_at is None
            and d.deadline <= now
        ]
        return sorted(found, key=lambda d: (d.deadline, d.id))[:limit]

    async def listed(self, **where: Unpack[DisclosureFilters]) -> list[Disclosure]:
        found = list(filter(Match.of(DISCLOSURE_FILTERS, where), self.rows.values()))
        found.sort(key=lambda d: d.id)
        found.sort(key=lambda d: d.opened_at, reverse=True)
        return _page(found, where.get("limit", DISCLOSURES_PAGE), where.get("offset", 0))


def _page(found: list[Disclosure], limit: int, offset: int) -> list[Disclosure]:
    return found[offset : offset + limit]


def _created(p: RenovationProject) -> datetime:
    assert p.created_at is not None, "a stored project has its creation time"
    return p.created_at


def fake_stores() -> Stores:
    return Stores(
        FakeCampaignStore(), FakeMilestoneStore(), FakeProjectStore(), FakeDisclosureStore()
    )
