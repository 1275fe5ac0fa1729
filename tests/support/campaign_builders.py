"""A campaign mobilised on 10 March 2026 in zhifu and laishan, and a renovation project planned
in it for market m1, as the campaign's pure rules build them on 1 June 2026 (TODAY, NOW)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from services.campaign.domain.campaign import DeadlineRule, plan_campaign
from services.campaign.domain.renovations import (
    BudgetLine,
    RenovationProject,
    ScopeItem,
    plan_project,
)

NOW = datetime(2026, 6, 1, 2, tzinfo=UTC)
TODAY = date(2026, 6, 1)
MOB = date(2026, 3, 10)


def campaign(**rules: DeadlineRule):  # type: ignore[no-untyped-def]
    return plan_campaign("cmp_1", "专项行动", MOB, ["zhifu", "laishan"], rules, NOW)


def project(**changes: object) -> RenovationProject:
    p = plan_project(
        campaign(),
        project_id="rnv_1",
        market_id="m1",
        district="zhifu",
        kind="old_market_upgrade",
        title="幸福农贸市场提升改造",
        scope_items=[ScopeItem("hygiene", "增设洗手池")],
        budget=[BudgetLine("fiscal", 120_000_000), BudgetLine("special_fund", 35_000_050)],
        by="clerk",
        today=TODAY,
        now=NOW,
        planned_on=date(2026, 4, 1),
    )
    return replace(p, **changes)  # type: ignore[arg-type]
