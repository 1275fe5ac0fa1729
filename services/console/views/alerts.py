"""/staff/alerts (告警): for the admin, the system's operator — what Alertmanager holds firing now,
and the recent notifications its webhook brought (services/console/alerts.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console.alerts import Alert, AlertBook, firing_now
from services.console.sessions import Session
from services.console.settings import ConsoleSettings
from services.console.web import is_htmx, may_see, render

router = APIRouter()

# No role but admin (which holds every role) passes an empty list.
Admin = Annotated[Session, may_see(message="告警页面仅供系统管理员（admin）查看。")]


def _newest_first(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.starts_at, reverse=True)


@router.get("/staff/alerts")
async def alerts_page(request: Request, who: Admin) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    book: AlertBook = request.app.state.alerts
    held = await firing_now(settings.alertmanager_url)
    # Alertmanager is the source of truth for what fires; without it, the webhook's last word.
    firing = _newest_first(held if held is not None else book.firing())
    return render(
        request,
        "alerts/_lists.html" if is_htmx(request) else "alerts/page.html",
        who,
        firing=firing,
        recent=book.recent(),
        source="alertmanager" if held is not None else "webhook",
        configured=bool(settings.alertmanager_url),
        now=datetime.now(UTC),
    )
