"""The console's pages, one module per kind of work; `ROUTERS` is what app.py includes."""

from __future__ import annotations

from fastapi import APIRouter

from services.console.views import (
    complaints,
    home,
    merchants,
    overview,
    public,
    registry,
    risks,
    tasks,
)

ROUTERS: list[APIRouter] = [home.router, tasks.router, complaints.router, merchants.router]
ROUTERS += [registry.router, risks.router, overview.router]  # clerk, risk board, leader
ROUTERS += [public.router]  # the citizens' portal (issue 16): no sign-in, rate limited
