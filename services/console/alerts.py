"""Alerts for the operators: what Alertmanager posts to the console's webhook, kept for the page
告警 (views/alerts.py), and what Alertmanager itself says is firing now.

Alertmanager (deploy/alertmanager/alertmanager.yml) posts every notification, firing and
resolved, to `POST /hooks/alertmanager` with a bearer credential (SENTINEL_ALERT_WEBHOOK_TOKEN).
The recent ones are kept in this process's memory, bounded: alerts are operational state about
the system, not domain data, and a restarted console starts with an empty list (Alertmanager
still knows what fires; docs/operations.md, "Alerts").
"""

from __future__ import annotations

import hmac
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.console import clock
from services.runtime import errors
from services.runtime.failures import InvalidInput, TooLarge, Unauthorized

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/alertmanager"  # under /hooks: deploy/local/stack.py's ALERT_WEBHOOK_PATH
MAX_BODY = 1 << 20  # a notification of a few hundred alerts is far below this


# --- Alertmanager's webhook payload (version 4) ----------------------------------------------
class Labels(BaseModel):
    """An alert's labels; `service` (the scrape job, deploy/prometheus/prometheus.yml) and
    `severity` (alerts.yml) are what the page shows beside the name."""

    model_config = ConfigDict(extra="allow")
    alertname: str = Field(min_length=1)
    service: str = ""
    job: str = ""
    severity: str = ""


class PostedAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # Alertmanager's names
    endsAt: datetime | None = None
    fingerprint: str = ""


class Notification(BaseModel):
    """One POST of Alertmanager's webhook receiver; fields it may add later are ignored."""

    model_config = ConfigDict(extra="ignore")
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: list[PostedAlert] = Field(min_length=1)


# --- what the page shows -----------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    name: str
    service: str
    severity: str
    summary: str
    status: str  # firing | resolved
    starts_at: datetime
    ends_at: datetime | None
    fingerprint: str
    received_at: datetime | None = None  # when the console was told (webhook), else None
    # What to do about it (deploy/prometheus/alerts.yml's `runbook`): a section of
    # docs/operations.md, e.g. `docs/operations.md#sentinelservicedown`, or a web address.
    runbook: str = ""
    # The runbook's first steps in Chinese (alerts.yml's `runbook_zh`): readable on a phone,
    # where the on-call person has no checkout to open docs/operations.md in.
    steps: str = ""
    # The silences (acknowledgements) holding it back in Alertmanager: still firing, but no
    # notification goes out while one holds (Alertmanager's API v2 `status.silencedBy`).
    silenced_by: tuple[str, ...] = ()

    @property
    def runbook_link(self) -> str | None:
        """The runbook as a link when it is a web address; the console serves no docs/, so a
        repository path is shown as text for the operator to open in the checkout."""
        return self.runbook if self.runbook.startswith(("https://", "http://")) else None

    @classmethod
    def of(
        cls,
        posted: PostedAlert,
        received_at: datetime | None = None,
        silenced_by: tuple[str, ...] = (),
    ) -> Alert:
        labels = posted.labels
        # Alertmanager sends 0001-01-01 as the end of an alert still firing.
        ends = posted.endsAt if posted.endsAt and posted.endsAt.year > 1 else None
        return cls(
            name=labels.alertname,
            service=labels.service or labels.job,
            severity=labels.severity,
            # The operators read Chinese (alerts.yml's `summary_zh`); the English `summary` stays
            # for Alertmanager's other receivers (e-mail) and the logs.
            summary=posted.annotations.get("summary_zh") or posted.annotations.get("summary", ""),
            status=posted.status,
            starts_at=posted.startsAt,
            ends_at=ends if posted.status == "resolved" else None,
            fingerprint=posted.fingerprint,
            received_at=received_at,
            runbook=posted.annotations.get("runbook", "").strip(),
            steps=posted.annotations.get("runbook_zh", "").strip(),
            silenced_by=silenced_by,
        )


class AlertBook:
    """The recent notifications, newest first, at most `size` alerts."""

    def __init__(self, size: int = 200) -> None:
        self._recent: deque[Alert] = deque(maxlen=size)
        # When this console last saw each silence still holding back a firing alert: Alertmanager
        # keeps no resolution of a silenced alert (it neither lists nor posts it once over), so
        # this is the closest the page can say to when an acknowledged alert recovered.
        self._silenced_seen: dict[str, datetime] = {}

    def saw_silenced(self, held: list[Alert], active: set[str], now: datetime) -> None:
        """Remember `now` for each silence holding back one of `held`; forget silences no
        longer `active` (ended or lifted), so the memory stays bounded."""
        for alert in held:
            for silence_id in alert.silenced_by:
                self._silenced_seen[silence_id] = now
        for gone in set(self._silenced_seen) - active:
            del self._silenced_seen[gone]

    def last_seen_silenced(self, silence_id: str) -> datetime | None:
        return self._silenced_seen.get(silence_id)

    def record(self, notification: Notification, now: datetime | None = None) -> int:
        at = now or clock.now()
        for posted in notification.alerts:
            self._recent.appendleft(Alert.of(posted, at))
        return len(notification.alerts)

    def recent(self) -> list[Alert]:
        return list(self._recent)

    def firing(self) -> list[Alert]:
        """Firing by the last word the webhook had on each alert: what the page shows when
        Alertmanager itself does not answer."""
        latest: dict[tuple[str, str, datetime], Alert] = {}
        for alert in self._recent:  # newest first: the first seen is the latest
            latest.setdefault((alert.fingerprint, alert.name, alert.starts_at), alert)
        return [a for a in latest.values() if a.status == "firing"]


def parse(body: bytes) -> Notification:
    """The webhook's payload, or InvalidInput naming the first field at fault and why."""
    try:
        return Notification.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from exc


# --- the webhook -------------------------------------------------------------------------------
def hooks(book: AlertBook, token: str) -> FastAPI:
    """The JSON endpoints mounted at /hooks: errors as every service's API gives them."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app)

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if not token:
            raise Unauthorized("this console accepts no alerts: SENTINEL_ALERT_WEBHOOK_TOKEN unset")
        sent = (authorization or "").removeprefix("Bearer ")
        if not authorization or not hmac.compare_digest(sent.encode(), token.encode()):
            raise Unauthorized("a bearer credential (SENTINEL_ALERT_WEBHOOK_TOKEN) is required")

    @app.post(WEBHOOK_PATH, dependencies=[Depends(authorised)])
    async def notified(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise TooLarge(f"a notification is at most {MAX_BODY} bytes")
        notification = parse(body)
        count = book.record(notification)
        log.info(
            "alert notification",
            extra={"status": notification.status, "alerts": count},
        )
        return JSONResponse({"recorded": count})

    return app


# --- Alertmanager's own view -------------------------------------------------------------------
async def firing_now(
    alertmanager_url: str,
    timeout_s: float = 3.0,
    transport: httpx.AsyncBaseTransport | None = None,
    silenced: bool = False,
) -> list[Alert] | None:
    """The alerts Alertmanager holds active (not inhibited; silenced ones too when `silenced`,
    each naming its silences in `silenced_by`), from its API v2; None when none is configured
    or it does not answer."""
    if not alertmanager_url:
        return None
    params = {"active": "true", "silenced": str(silenced).lower(), "inhibited": "false"}
    try:
        r = await _call("GET", alertmanager_url, "alerts", timeout_s, transport, params=params)
        listed: list[dict[str, Any]] = r.json()
        return [
            Alert.of(
                PostedAlert.model_validate(a | {"status": "firing"}),
                silenced_by=tuple(str(i) for i in (a.get("status") or {}).get("silencedBy", [])),
            )
            for a in listed
        ]
    except (AlertmanagerUnavailable, ValueError):
        return None


# --- acknowledging: a silence in Alertmanager --------------------------------------------------
# How long an acknowledgement silences its alert (hours), the first the default: long enough to
# follow the runbook, short enough that a fault still there fires again the same shift.
SILENCE_HOURS: tuple[int, ...] = (2, 1, 4, 8)


class AlertmanagerUnavailable(Exception):
    """Alertmanager did not take the call (unreachable, or it refused it): nothing changed."""


@dataclass(frozen=True)
class Silence:
    """An acknowledgement: Alertmanager holds the alert `name` of `service` silent until
    `ends_at`; `created_by` acknowledged it, `comment` says what they do about it."""

    id: str
    name: str
    service: str
    created_by: str
    comment: str
    ends_at: datetime


@dataclass(frozen=True)
class Acknowledged:
    """A silence as the on-call person needs it: is its alert still firing (since when), or
    has it recovered (last seen firing when)? A recurrence while the silence holds is notified
    to nobody, so the page is where it shows."""

    silence: Silence
    firing: list[Alert]  # the alerts it holds back now, earliest first
    last_seen: datetime | None = None  # when this console last saw one of them firing

    @property
    def since(self) -> datetime | None:
        return self.firing[0].starts_at if self.firing else None


def acknowledged(
    found: list[Silence], held: list[Alert], book: AlertBook, now: datetime
) -> list[Acknowledged]:
    """Each silence with the alerts it holds back; those still firing first."""
    silenced = [a for a in held if a.silenced_by]
    book.saw_silenced(silenced, {s.id for s in found}, now)
    entries = [
        Acknowledged(
            s,
            sorted((a for a in silenced if s.id in a.silenced_by), key=lambda a: a.starts_at),
            book.last_seen_silenced(s.id),
        )
        for s in found
    ]
    return sorted(entries, key=lambda e: not e.firing)  # stable: latest ending first within


def _equal(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "isRegex": False, "isEqual": True}


async def _call(
    method: str,
    alertmanager_url: str,
    path: str,
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None,
    **kwargs: Any,
) -> httpx.Response:
    """`path` of Alertmanager's API v2; AlertmanagerUnavailable when it does not answer or
    refuses (logged)."""
    url = f"{alertmanager_url.rstrip('/')}/api/v2/{path}"
    try:
        async with httpx.AsyncClient(
            timeout=timeout_s, trust_env=False, transport=transport
        ) as http:
            r = await http.request(method, url, **kwargs)
            r.raise_for_status()
            return r
    except httpx.HTTPError as exc:
        log.warning("alertmanager call failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        raise AlertmanagerUnavailable(str(exc)) from exc


async def acknowledge(
    alertmanager_url: str,
    alert: tuple[str, str],
    hours: int,
    by: str,
    note: str,
    now: datetime,
    timeout_s: float = 3.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Silence the alert (name, service) for `hours` from `now`, as `by` with `note`; the
    silence's id. The firing list then leaves it out until the silence ends."""
    name, service = alert
    matchers = [_equal("alertname", name)] + ([_equal("service", service)] if service else [])
    body = {
        "matchers": matchers,
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=hours)).isoformat(),
        "createdBy": by,
        "comment": note or "已确认（控制台）",
    }
    r = await _call("POST", alertmanager_url, "silences", timeout_s, transport, json=body)
    return str(r.json().get("silenceID", ""))


async def silences(
    alertmanager_url: str,
    timeout_s: float = 3.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Silence] | None:
    """The active silences on one alert name (and service), latest ending first; None when no
    Alertmanager is configured or it does not answer."""
    if not alertmanager_url:
        return None
    try:
        r = await _call("GET", alertmanager_url, "silences", timeout_s, transport)
        listed: list[dict[str, Any]] = r.json()
    except (AlertmanagerUnavailable, ValueError):
        return None
    found = []
    for s in listed:
        if (s.get("status") or {}).get("state") != "active":
            continue
        equal = {
            m["name"]: m["value"]
            for m in s.get("matchers", [])
            if not m.get("isRegex") and m.get("isEqual", True)
        }
        if "alertname" not in equal:
            continue
        found.append(
            Silence(
                id=str(s["id"]),
                name=equal["alertname"],
                service=equal.get("service", ""),
                created_by=str(s.get("createdBy", "")),
                comment=str(s.get("comment", "")),
                ends_at=datetime.fromisoformat(str(s["endsAt"]).replace("Z", "+00:00")),
            )
        )
    return sorted(found, key=lambda s: s.ends_at, reverse=True)


async def lift(
    alertmanager_url: str,
    silence_id: str,
    timeout_s: float = 3.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """End an acknowledgement now: the alert fires again on the page if its fault is there."""
    await _call("DELETE", alertmanager_url, f"silence/{silence_id}", timeout_s, transport)
