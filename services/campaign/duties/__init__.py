"""Markets' duties in the campaign service: task-force reports (定期汇报), operators' daily
self-inspections (自查) with their follow-ups, training of market managers (培训, 合格证), and
each market's standing on them (`campaign.duties.v1`, read into the market assessment).

    plan = duties.install(service, directory, config=DutiesConfig(), now=utc_now)
    app = create_app(service, [..., plan.router], ...)

`install` (app.py) registers the component's migrations and its clock with the service, hooks into
the registry view (a market's task force dates its reporting schedule) and returns its use
cases and its HTTP routes.
"""

from __future__ import annotations

from services.campaign.duties.app import MIGRATIONS, Component, install
from services.campaign.duties.config import DutiesConfig
from services.campaign.duties.service import Duties

__all__ = ["MIGRATIONS", "Component", "Duties", "DutiesConfig", "install"]
