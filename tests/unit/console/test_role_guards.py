"""Who may see a page or post a form is declared in the route's signature (`may_see`, `may_do`):
a person without the role never reaches the route, and the refusal carries the page's message."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse, Response

from services.console.sessions import Session
from services.console.web import NotAllowed, csrf_checked, may_do, may_see, person
from services.runtime.auth import Principal

Clerk = Annotated[Session, may_see("clerk", message="只给登记员")]
ClerkActing = Annotated[Session, may_do("clerk", message="登记员办理")]
AdminOnly = Annotated[Session, may_see()]


def session(*roles: str) -> Session:
    principal = Principal("u1", roles[0], "d1", roles=frozenset(roles))
    return Session("sid", principal, "token", "refresh", expires_at=2e9)


def client(who: Session, csrf_ok: bool = True) -> tuple[TestClient, list[str]]:
    reached: list[str] = []
    app = FastAPI()

    async def signed_in() -> Session:
        return who

    async def checked() -> Session:
        if not csrf_ok:
            raise PermissionError("csrf")
        return who

    app.dependency_overrides[person] = signed_in
    app.dependency_overrides[csrf_checked] = checked

    @app.exception_handler(NotAllowed)
    async def refused(_: Request, exc: NotAllowed) -> Response:
        return JSONResponse({"who": exc.who.sid, "message": exc.message}, status_code=403)

    @app.exception_handler(PermissionError)
    async def csrf(_: Request, exc: PermissionError) -> Response:
        return JSONResponse({"refused": str(exc)}, status_code=419)

    @app.get("/page")
    async def page(who: Clerk) -> dict[str, str]:
        reached.append("page")
        return {"who": who.principal.subject}

    @app.post("/form")
    async def form(who: ClerkActing) -> dict[str, str]:
        reached.append("form")
        return {"who": who.principal.subject}

    @app.get("/admin")
    async def admin(who: AdminOnly) -> dict[str, str]:
        reached.append("admin")
        return {"who": who.principal.subject}

    return TestClient(app), reached


@pytest.mark.parametrize("roles", [("clerk",), ("inspector", "clerk"), ("admin",)])
def test_a_holder_of_the_role_reaches_the_route(roles: tuple[str, ...]) -> None:
    http, reached = client(session(*roles))
    assert http.get("/page").json() == {"who": "u1"}
    assert http.post("/form").json() == {"who": "u1"}
    assert reached == ["page", "form"]


def test_another_role_is_refused_with_the_pages_message_and_the_route_never_runs() -> None:
    http, reached = client(session("inspector"))
    seen, posted = http.get("/page"), http.post("/form")
    assert (seen.status_code, seen.json()) == (403, {"who": "sid", "message": "只给登记员"})
    assert (posted.status_code, posted.json()["message"]) == (403, "登记员办理")
    assert reached == []


def test_a_form_checks_csrf_before_the_role() -> None:
    http, reached = client(session("inspector"), csrf_ok=False)
    assert http.post("/form").status_code == 419
    assert reached == []


def test_no_roles_named_means_the_admin_alone() -> None:
    http, reached = client(session("leader", "clerk", "inspector"))
    assert http.get("/admin").status_code == 403
    http, reached = client(session("admin"))
    assert http.get("/admin").json() == {"who": "u1"}
    assert reached == ["admin"]
