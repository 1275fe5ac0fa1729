"""A department member's token from the real provider names their department, and the campaign
service holds them to it (docs/campaign.md, "Who does what"): a 议定事项 of another department
is refused (403, naming both), their own is reported done; a 联合执法 case is decided only by a
member of a department involved in it; a department member whose token names no department is
told the provider must set it. On the test stack's Keycloak, Kafka and Postgres, with the
campaign's joint part and the registry in process (joint_stack.py)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from deploy.identity.keycloak import Person
from sentinel_cli.identity import password_grant
from services.runtime.auth import decode_unverified
from tests.integration.campaign import joint_stack
from tests.integration.campaign.joint_stack import Stack, meeting_body
from tests.support.identity import Tokens

pytestmark = pytest.mark.integration

# The campaign's joint part and the registry in process, as test_joint.py runs them.
stack = joint_stack.stack


def member(tokens: Tokens, district: str, department: str) -> dict[str, str]:
    return tokens.bearer("department", district, department=department)


async def post(stack: Stack, path: str, headers: dict[str, str], body: object) -> httpx.Response:
    return await stack.client.post(path, json=body, headers=headers)


async def test_a_department_member_reports_done_their_own_departments_item_only(
    stack: Stack, tokens: Tokens
) -> None:
    place = await stack.place()
    d = place.district
    r = await stack.call("POST", "/meetings", "clerk", d, meeting_body(d))
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    items = {i["department"]: i["id"] for i in r.json()["action_items"]}
    health, environment = member(tokens, d, "health"), member(tokens, d, "environment")
    # The provider put each member's department in their token.
    claims = decode_unverified(health["Authorization"].removeprefix("Bearer "))
    assert (claims["department"], claims["district"]) == ("health", d)
    assert "department" not in decode_unverified(tokens.token("clerk", d))

    done = f"/meetings/{mid}/items/{items['health']}/done"
    r = await post(stack, done, environment, {"note": "代为办结"})
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "forbidden"
    assert "'health'" in r.json()["message"] and "'environment'" in r.json()["message"]
    r = await post(
        stack, f"/meetings/{mid}/items/{items['urban_management']}/done", health, {"note": "x"}
    )
    assert r.status_code == 403, r.text
    r = await stack.call("GET", f"/meetings/{mid}", "leader", d)
    assert all(i["state"] == "open" for i in r.json()["action_items"])

    r = await post(stack, done, health, {"note": "已完成冷链排查"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done"
    assert r.json()["done_actor"]["subject"] == tokens.person("department", d)[1]
    # A clerk still reports any department's item done.
    r = await stack.call(
        "POST",
        f"/meetings/{mid}/items/{items['urban_management']}/done",
        "clerk",
        d,
        {"note": "完成"},
    )
    assert r.status_code == 200, r.text


async def test_a_department_member_without_a_department_is_told_the_provider_must_set_it(
    stack: Stack, tokens: Tokens
) -> None:
    place = await stack.place()
    d = place.district
    r = await stack.call("POST", "/meetings", "clerk", d, meeting_body(d))
    mid, item = r.json()["id"], r.json()["action_items"][0]["id"]
    username = f"t-department-{d}-none-{uuid.uuid4().hex[:6]}"
    tokens.admin.ensure_user(Person(username, ("department",), d, "无部门"), tokens.password)
    token = password_grant(tokens.issuer, username, tokens.password)["access_token"]
    assert "department" not in decode_unverified(token)
    r = await post(
        stack,
        f"/meetings/{mid}/items/{item}/done",
        {"Authorization": f"Bearer {token}"},
        {"note": "x"},
    )
    assert r.status_code == 403, r.text
    assert "identity provider must set" in r.json()["message"]


async def test_a_case_is_decided_by_a_member_of_a_department_involved_in_it(
    stack: Stack, tokens: Tokens
) -> None:
    place = await stack.place()
    d = place.district
    task_id, _, _ = await stack.finding(place, "critical")
    body = {
        "origin": {"kind": "finding", "id": task_id},
        "departments": ["market_regulation", "health"],
        "facts": "冷柜温度 14 °C",
    }
    r = await post(stack, "/enforcement-cases", member(tokens, d, "environment"), body)
    assert r.status_code == 201, r.text  # a referral: any department member of the district
    case_id = r.json()["id"]
    decision = {"sanction": "warning", "reasoning": "《食品安全法》"}
    r = await post(
        stack, f"/enforcement-cases/{case_id}/decide", member(tokens, d, "environment"), decision
    )
    assert r.status_code == 403, r.text
    assert "'environment'" in r.json()["message"] and "'health'" in r.json()["message"]
    r = await post(
        stack, f"/enforcement-cases/{case_id}/decide", member(tokens, d, "health"), decision
    )
    assert r.status_code == 200, r.text
    r = await post(
        stack,
        f"/enforcement-cases/{case_id}/close",
        member(tokens, d, "market_regulation"),
        {"note": "警告已送达"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"
