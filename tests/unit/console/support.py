"""The console as its page tests drive it: built in-process in front of stubbed services (an
httpx MockTransport answering every service's host, http://<service>), signed in as a given
person — the session and the CSRF check stood in for — or as nobody (the public portal)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request

from services.console import web
from services.console.app import build
from services.console.sessions import Session
from services.console.settings import ConsoleSettings
from services.runtime.auth import Principal

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")
Answer = Callable[[httpx.Request], httpx.Response]
ACCESS_TOKEN = "token"  # what a signed-in person's calls carry: Bearer token


def _nothing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"error": "not_found", "message": "no such stub"})


def app_of(
    answer: Answer | None = None,
    who: Principal | None = None,
    token: str = ACCESS_TOKEN,
    **settings: Any,
) -> FastAPI:
    """The console app; the services answer with `answer` (404 to everything when None: a unit
    test never reaches the network); `who` signed in with the access token `token`; `settings`
    over the test defaults."""
    app = build(
        ConsoleSettings(
            **{
                "oidc_issuer": "http://idp.invalid/realms/x",
                "session_secret": "s" * 32,
                **{f"{name}_url": f"http://{name}" for name in SERVICES},
                **settings,
            }
        ),
        httpx.MockTransport(answer or _nothing),
    )
    if who is not None:
        signed_in = Session("sid-1", who, token, "refresh", time.time() + 3600)
        app.dependency_overrides[web.person] = lambda: signed_in
        app.dependency_overrides[web.csrf_checked] = lambda: signed_in
    return app


def client_of(app: FastAPI, base_url: str = "http://console") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def console(
    answer: Answer | None = None,
    who: Principal | None = None,
    token: str = ACCESS_TOKEN,
    **settings: Any,
) -> httpx.AsyncClient:
    """A client of `app_of(answer, who, token, **settings)`."""
    return client_of(app_of(answer, who, token, **settings))


class SignedIn:
    """A sign-in that says who is signed in (`app.state.sign_in`), unlike `app_of`'s overrides:
    the pages' own role and scope checks run on `who`."""

    def __init__(self, who: Session) -> None:
        self.who = who

    async def current(self, request: Request) -> Session:
        return self.who


def card(page: str, title: str) -> str:
    """The words of the staff home's card titled `title` (its count, its note)."""
    for found in re.findall(r'<li class="card">(.*?)</li>', page, re.S):
        if f"<strong>{title}</strong>" in found:
            return " ".join(re.sub(r"<[^>]+>", " ", found).split())
    raise AssertionError(f"no {title} card")


# The registry's answer for the market of the clerk's pages (GET /markets/mkt_1).
REGISTRY_MARKET = {
    "id": "mkt_1", "name": "幸福农贸市场", "district": "zhifu", "kind": "farmers",
    "operator": "幸福市场公司", "address": "幸福路1号", "capacity": 500,
    "opening_hours": {"open": "06:00", "close": "19:00"}, "renovation_status": None,
    "task_force": None,
}  # fmt: skip


def words(html: str) -> str:
    """A page's text as a person reads it: the tags gone, the white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
