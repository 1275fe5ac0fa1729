from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.runtime import errors
from services.runtime.auth import Principal, issue_token, main, require, verify_token
from services.runtime.errors import Forbidden, Unauthorized

SECRET = "s" * 32


def test_token_round_trip_carries_role_and_district() -> None:
    token = issue_token(secret=SECRET, role="clerk", district="zhifu", subject="c1")
    assert verify_token(token, SECRET) == Principal("c1", "clerk", "zhifu")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (
            issue_token(secret=SECRET, role="clerk", district="zhifu", subject="c", ttl_s=-5),
            "expired",
        ),
        (issue_token(secret="other" * 8, role="clerk", district="zhifu", subject="c"), "invalid"),
        ("not.a.token", "invalid"),
    ],
)
def test_bad_tokens_are_unauthorized(token: str, reason: str) -> None:
    with pytest.raises(Unauthorized) as err:
        verify_token(token, SECRET)
    assert reason in err.value.message


def test_unknown_role_cannot_be_issued() -> None:
    with pytest.raises(ValueError, match="role"):
        issue_token(secret=SECRET, role="mayor", district="*", subject="x")


def test_district_scope() -> None:
    clerk = Principal("c", "clerk", "zhifu")
    assert clerk.may_act_in("zhifu") and not clerk.may_act_in("laishan")
    with pytest.raises(Forbidden):
        clerk.require_district("laishan")
    assert Principal("a", "admin", "zhifu").may_act_in("laishan")
    assert Principal("c", "inspector", "*").may_act_in("laishan")


def _app() -> TestClient:
    app = FastAPI()
    app.state.auth_secret = SECRET
    errors.install(app)

    @app.get("/clerks-only")
    def clerks_only(who: Principal = Depends(require("clerk"))) -> dict[str, str]:  # noqa: B008
        return {"sub": who.subject}

    return TestClient(app)


def test_http_401_without_token_403_with_wrong_role_200_for_clerk_and_admin() -> None:
    client = _app()
    missing = client.get("/clerks-only")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    token = issue_token(secret=SECRET, role="inspector", district="zhifu", subject="i")
    assert (
        client.get("/clerks-only", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    )
    for role in ("clerk", "admin"):
        token = issue_token(secret=SECRET, role=role, district="zhifu", subject=role)
        ok = client.get("/clerks-only", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json() == {"sub": role}


def test_cli_issues_a_verifiable_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_AUTH_SECRET", SECRET)
    assert main(["issue", "--role", "handler", "--district", "laishan"]) == 0
    principal = verify_token(capsys.readouterr().out.strip(), SECRET)
    assert (principal.role, principal.district) == ("handler", "laishan")
    monkeypatch.delenv("SENTINEL_AUTH_SECRET")
    assert main(["issue", "--role", "handler", "--district", "laishan"]) == 2
