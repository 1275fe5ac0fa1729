"""/staff/alerts (告警): for the admin, the system's operator — what Alertmanager holds firing now,
the alerts acknowledged (silenced in Alertmanager for a few hours while the runbook is followed),
and the recent notifications its webhook brought (services/console/alerts.py)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.console import clock
from services.console.alerts import (
    SILENCE_HOURS,
    Alert,
    AlertBook,
    AlertmanagerUnavailable,
    acknowledge,
    acknowledged,
    firing_now,
    lift,
    silences,
)
from services.console.forms import BLANK, Form
from services.console.sessions import Session
from services.console.settings import ConsoleSettings
from services.console.web import is_htmx, may_do, may_see, text

router = APIRouter()

# No role but admin (which holds every role) passes an empty list.
ONLY_ADMIN = "告警页面仅供系统管理员（admin）查看。"
Admin = Annotated[Session, may_see(message=ONLY_ADMIN)]
AdminActing = Annotated[Session, may_do(message=ONLY_ADMIN)]
DONE = {"acknowledged": "已确认告警：静默期间不再通知", "lifted": "已取消静默"}
UNREACHABLE = "Alertmanager 暂时无法连接，未做任何更改，请稍后重试"


def _newest_first(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.starts_at, reverse=True)


def ack_key(fingerprint: str, name: str = "", service: str = "") -> str:
    """The id of an alert's 确认 form, and the field its error stands beside. Keyed on the
    alert's fingerprint: several alerts of one name and service (a stalled service's six
    partitions) each have their own form, and htmx's hx-preserve keeps the one being typed in
    across the list's refresh only when its id is unique on the page."""
    return f"ack-{fingerprint}" if fingerprint else f"ack-{name}-{service}"


async def _page(request: Request, who: Session, form: Form = BLANK) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    book: AlertBook = request.app.state.alerts
    # Silenced alerts too: an acknowledged alert that fires again (or still) is notified to
    # nobody, so the page must say so under 已确认.
    held = await firing_now(settings.alertmanager_url, silenced=True)
    # Alertmanager is the source of truth for what fires; without it, the webhook's last word.
    firing = _newest_first(
        [a for a in held if not a.silenced_by] if held is not None else book.firing()
    )
    found = await silences(settings.alertmanager_url) if held is not None else None
    # Only with Alertmanager's answer: without it the console's memory of when each silenced
    # alert was last seen firing must not be forgotten.
    entries = (
        acknowledged(found, held, book, clock.now())
        if held is not None and found is not None
        else []
    )
    # A firing notification Alertmanager no longer holds is over: Alertmanager posts no
    # resolution of an alert that was silenced when it ended.
    over = (
        {a.fingerprint for a in book.firing()} - {a.fingerprint for a in held}
        if held is not None
        else set()
    )
    return form.page(
        request,
        "alerts/_lists.html" if is_htmx(request) else "alerts/page.html",
        who,
        firing=firing,
        acknowledged=entries,
        still_firing=sum(1 for e in entries if e.firing),
        over=over,
        siblings=Counter((a.name, a.service) for a in firing),
        recent=book.recent(),
        source="alertmanager" if held is not None else "webhook",
        configured=bool(settings.alertmanager_url),
        hours=SILENCE_HOURS,
        ack_key=ack_key,
        now=clock.now(),
    )


@router.get("/staff/alerts")
async def alerts_page(request: Request, who: Admin) -> Response:
    return await _page(request, who, Form.done(request, DONE))


@router.post("/staff/alerts/acknowledge")
async def acknowledge_alert(request: Request, who: AdminActing) -> Response:
    """确认: silence the alert in Alertmanager for the hours chosen, with who and why; the
    page lists it under 已确认 until the silence ends or is lifted."""
    form = await request.form()
    name, service, note = text(form, "name"), text(form, "service"), text(form, "note")
    chosen = text(form, "hours")
    key = ack_key(text(form, "fingerprint"), name, service)
    values = {f"{key}-note": note, f"{key}-hours": chosen}
    hours = int(chosen) if chosen.isdigit() else 0
    if not name or hours not in SILENCE_HOURS:
        why = "请选择静默时长" if name else "缺少告警名称"
        return await _page(request, who, Form.refused({key: why}, values))
    settings: ConsoleSettings = request.app.state.settings
    try:
        await acknowledge(
            settings.alertmanager_url,
            (name, service),
            hours,
            by=who.principal.display_name,
            note=note,
            now=clock.now(),
        )
    except AlertmanagerUnavailable:
        return await _page(request, who, Form.refused({key: UNREACHABLE}, values, 503))
    return RedirectResponse("/staff/alerts?done=acknowledged", status_code=303)


@router.post("/staff/alerts/silences/{silence_id}/lift")
async def lift_silence(request: Request, silence_id: str, who: AdminActing) -> Response:
    """取消静默: the alert shows again at once if its fault is still there."""
    settings: ConsoleSettings = request.app.state.settings
    try:
        await lift(settings.alertmanager_url, silence_id)
    except AlertmanagerUnavailable:
        return await _page(request, who, Form.refused({f"lift-{silence_id}": UNREACHABLE}, {}, 503))
    return RedirectResponse("/staff/alerts?done=lifted", status_code=303)
