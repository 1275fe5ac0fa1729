"""The console's pages, one module per kind of work; `ROUTERS` is what app.py includes."""

from __future__ import annotations

from fastapi import APIRouter

from services.console.views import (
    complaints,
    home,
    merchants,
    overview,
    registry,
    risks,
    tasks,
)

ROUTERS: list[APIRouter] = [home.router, tasks.router, complaints.router, merchants.router]
ROUTERS += [registry.router, risks.router, overview.router]  # clerk, risk board, leader
