"""The console's pages, one module per kind of work; `ROUTERS` is what app.py includes."""

from __future__ import annotations

from fastapi import APIRouter

from services.console.views import (
    alerts,
    complaints,
    duties,
    exposures,
    home,
    honours,
    joint,
    ledgers,
    markets,
    merchants,
    objections,
    overview,
    public,
    registry,
    renovations,
    risks,
    self_inspection,
    suggestions,
    tasks,
    training,
)

ROUTERS: list[APIRouter] = [home.router, tasks.router, complaints.router, merchants.router]
ROUTERS += [suggestions.router]  # 意见建议: citizens' suggestions answered by the handlers
ROUTERS += [registry.router, risks.router, overview.router]  # clerk, risk board, leader
ROUTERS += [markets.router]  # a market for staff: where 总览's ranking drills into
ROUTERS += [public.router]  # the citizens' portal (issue 16): no sign-in, rate limited
ROUTERS += [joint.router, honours.router]  # joint meetings and enforcement, 红黑榜 (issue 17)
ROUTERS += [honours.public_router]  # 红黑榜 for citizens: no sign-in, rate limited
ROUTERS += [self_inspection.router, duties.router, training.router]  # 自查, 专班汇报, 培训
ROUTERS += [exposures.router, renovations.router]  # 曝光整改, 改造项目 and 征求意见 (issue 17)
ROUTERS += [ledgers.router]  # 台账导出: a month, quarter or year of the district's work as Excel
ROUTERS += [objections.router]  # 信用异议: a merchant disputes an entry of its credit record
ROUTERS += [alerts.router]  # 告警, for the admin: Alertmanager's alerts (issue 21)
