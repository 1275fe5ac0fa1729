"""The campaign's progress view: milestones, renovation money and open disclosures, by district
and by market."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.campaign import FUNDING_SOURCES, RENOVATION_STAGES
from services.campaign.domain.campaign import Campaign
from services.campaign.domain.milestones import (
    Milestone,
    MilestoneStatus,
    expected_milestones,
    milestone_status,
)
from services.campaign.domain.money import fen_to_yuan
from services.campaign.domain.renovations import RenovationProject


@dataclass(frozen=True)
class MarketFacts:
    id: str
    name: str
    district: str
    has_task_force: bool


def _money(by_source: Mapping[str, int]) -> dict[str, Any]:
    return {
        "fen": dict(by_source),
        "yuan": {k: fen_to_yuan(v) for k, v in by_source.items()},
        "total_fen": sum(by_source.values()),
    }


def _summary(
    statuses: Sequence[MilestoneStatus],
    markets: Sequence[MarketFacts],
    projects: Sequence[RenovationProject],
    stopped: int,
) -> dict[str, Any]:
    budget: dict[str, int] = dict.fromkeys(FUNDING_SOURCES, 0)
    committed: dict[str, int] = dict.fromkeys(FUNDING_SOURCES, 0)
    for p in projects:
        for source, fen in p.budget_by_source().items():
            budget[source] += fen
            if p.committed:
                committed[source] += fen
    overdue = statuses.count("overdue")
    pending = statuses.count("pending")
    return {
        "milestones": {
            "expected": len(statuses),
            "on_time": statuses.count("on_time"),
            "late": statuses.count("late"),
            "missing": overdue + pending,
            "overdue": overdue,
            "pending": pending,
            "missed_deadline": statuses.count("late") + overdue,
        },
        "markets": {
            "total": len(markets),
            "with_task_force": sum(1 for m in markets if m.has_task_force),
        },
        "renovations": {
            "total": len(projects),
            "by_stage": {s: sum(1 for p in projects if p.stage == s) for s in RENOVATION_STAGES},
            "stopped": stopped,
            "budget": _money(budget),
            "committed": _money(committed),
        },
    }


def progress(
    campaign: Campaign,
    *,
    district_names: Mapping[str, str],
    markets: Sequence[MarketFacts],
    milestones: Iterable[Milestone],
    projects: Iterable[RenovationProject],
    today: date,
    only_district: str | None = None,
    closed_markets: Collection[str] = (),
) -> dict[str, Any]:
    """Per district: milestones on time / late / missing, markets with task forces, renovation
    projects by stage and money by source (budgeted, and committed from approval on).

    Milestone counts partition the expected ones: `on_time` (done by the deadline), `late` (done
    after it) and `missing` (not done: `overdue` past the deadline, `pending` not due yet);
    `missed_deadline` = `late` + `overdue`, the ones flagged late.

    A project of a market in `closed_markets` (停业) that was not yet accepted goes no further:
    it is counted `stopped`, apart from the projects by stage and their money."""
    taking_part = [m for m in markets if m.district in campaign.districts]
    expected = expected_milestones(campaign, [(m.id, m.district) for m in taking_part])
    known = {(m.scope_id, m.kind): m for m in milestones}
    all_projects: list[RenovationProject] = []
    stopped: list[RenovationProject] = []
    for p in projects:
        ended = p.market_id in closed_markets and p.stage != "accepted"
        (stopped if ended else all_projects).append(p)
    names = {m.id: m.name for m in taking_part}
    districts = [d for d in campaign.districts if only_district is None or d == only_district]
    rows: list[dict[str, Any]] = []
    all_statuses: list[MilestoneStatus] = []
    for code in districts:
        items: list[dict[str, Any]] = []
        statuses: list[MilestoneStatus] = []
        for e in expected:
            if e.district != code:
                continue
            row = known.get((e.scope_id, e.kind))
            deadline = row.deadline if row else e.deadline
            status = milestone_status(deadline, row.achieved_on if row else None, today)
            statuses.append(status)
            items.append(
                {
                    "kind": e.kind,
                    "scope": e.scope,
                    "market_id": e.market_id,
                    "market_name": names.get(e.market_id or ""),
                    "deadline": deadline.isoformat(),
                    "achieved_on": row.achieved_on.isoformat() if row and row.achieved_on else None,
                    "status": status,
                    "milestone_id": row.id if row else None,
                }
            )
        all_statuses += statuses
        in_district = [m for m in taking_part if m.district == code]
        district_projects = [p for p in all_projects if p.district == code]
        rows.append(
            {
                "district": code,
                "name": district_names.get(code),
                **_summary(
                    statuses,
                    in_district,
                    district_projects,
                    sum(1 for p in stopped if p.district == code),
                ),
                "markets_without_task_force": [m.id for m in in_district if not m.has_task_force],
                "milestone_items": items,
            }
        )
    scoped_markets = [m for m in taking_part if m.district in districts]
    scoped_projects = [p for p in all_projects if p.district in districts]
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "mobilisation_date": campaign.mobilisation_date.isoformat(),
        "as_of": today.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in campaign.deadlines().items()},
        "districts": rows,
        "totals": _summary(
            all_statuses,
            scoped_markets,
            scoped_projects,
            sum(1 for p in stopped if p.district in districts),
        ),
    }
