"""A department member (部门人员) acts on their own department's joint work only (docs/campaign.md,
"Who does what"): they report done the 议定事项 their department owns and decide or close the
联合执法 cases their department is involved in; anything else is 403 naming both departments,
and a department member whose token names no department is refused, saying the provider must
set it. Clerks, inspectors and admins keep their rights over every department's work. The rule
(services/campaign/domain/ownership.py) is pure; the use cases run on the in-memory stores."""

from __future__ import annotations

import json
from datetime import date

import pytest

from deploy.identity.keycloak import REALM_FILE, user_profile
from services.campaign.domain import ownership
from services.campaign.domain.meetings import ActionItem
from services.campaign.joint.config import DEPARTMENTS_FILE
from services.campaign.joint.handlers import inspection_router
from services.campaign.joint.policy_files import load_departments
from services.runtime.auth import Principal
from services.runtime.failures import Conflict, Forbidden, NotFound
from tests.unit.campaign.conftest import (
    ADMIN,
    CLERK,
    World,
    delivery,
    opened,
    recorded,
    task_completed,
)


def member(department: str | None, district: str = "zhifu", *more: str) -> Principal:
    return Principal(
        subject=f"d-{department}",
        role="department",
        district=district,
        name="赵文静",
        roles=frozenset({"department", *more}),
        department=department,
    )


HEALTH = member("health")
MARKET = member("market_regulation")
NO_DEPARTMENT = member(None)
ITEM = ActionItem("item_1", "mtg_1", 1, "排查冷链", "health", date(2026, 5, 15))


# -- the rule ---------------------------------------------------------------------------------


def test_the_owning_department_may_report_its_item_done_and_no_other() -> None:
    ownership.may_report_done("health", ITEM)
    with pytest.raises(ownership.NotTheirs) as refused:
        ownership.may_report_done("market_regulation", ITEM)
    assert "'health'" in str(refused.value) and "'market_regulation'" in str(refused.value)
    for missing in (None, ""):
        with pytest.raises(ownership.NoDepartment) as refused_too:
            ownership.may_report_done(missing, ITEM)
        assert "identity provider must set" in str(refused_too.value)


# -- action items -----------------------------------------------------------------------------


async def item_of(world: World, department: str) -> tuple[str, str]:
    """(meeting id, item id) of the recorded meeting's item owned by `department`."""
    mid = await recorded(world)
    items = (await world.joint.meeting(CLERK, mid)).items
    return mid, next(i.item_id for i in items if i.department == department)


async def test_a_department_member_reports_their_own_departments_item_done(world: World) -> None:
    mid, item_id = await item_of(world, "health")
    _, item = await world.joint.mark_done(HEALTH, mid, item_id, note="已完成排查")
    assert item.state == "done" and item.done_actor is not None
    assert item.done_actor.subject == "d-health"
    assert world.types() == ["campaign.meeting.recorded", "campaign.action_item.done"]


async def test_another_departments_item_is_refused_naming_both_and_nothing_changes(
    world: World,
) -> None:
    mid, item_id = await item_of(world, "health")
    before = world.counts()
    with pytest.raises(Forbidden) as refused:
        await world.joint.mark_done(MARKET, mid, item_id, note="代为办结")
    assert refused.value.code == "forbidden"
    assert "'health'" in refused.value.message
    assert "'market_regulation'" in refused.value.message
    assert world.counts() == before
    assert world.types() == ["campaign.meeting.recorded"]
    assert all(i.state == "open" for i in (await world.joint.meeting(CLERK, mid)).items)


async def test_a_department_member_without_a_department_is_told_the_provider_must_set_it(
    world: World,
) -> None:
    mid, item_id = await item_of(world, "health")
    before = world.counts()
    with pytest.raises(Forbidden) as refused:
        await world.joint.mark_done(NO_DEPARTMENT, mid, item_id, note="x")
    assert "identity provider must set" in refused.value.message
    assert "department" in refused.value.message
    assert world.counts() == before


async def test_the_items_scope_and_state_answer_as_before_for_a_department_member(
    world: World,
) -> None:
    mid, item_id = await item_of(world, "health")
    with pytest.raises(NotFound):  # no such item: still 404, not a department refusal
        await world.joint.mark_done(MARKET, mid, "item_nobody", note="x")
    with pytest.raises(NotFound):  # another district's member
        await world.joint.mark_done(member("health", "laishan"), mid, item_id, note="x")
    await world.joint.mark_done(HEALTH, mid, item_id, note="已完成")
    with pytest.raises(Conflict):
        await world.joint.mark_done(HEALTH, mid, item_id, note="again")


async def test_clerks_admins_and_a_member_who_is_also_a_clerk_report_any_item_done(
    world: World,
) -> None:
    also_clerk = member("market_regulation", "zhifu", "clerk")
    also_admin = member(None, "zhifu", "admin")
    for who in (CLERK, ADMIN, also_clerk, also_admin):
        mid, item_id = await item_of(world, "health")
        _, item = await world.joint.mark_done(who, mid, item_id, note="已完成")
        assert item.state == "done"


# -- enforcement cases ------------------------------------------------------------------------


async def decide(world: World, who: Principal, case_id: str) -> str:
    case = await world.joint.decide(
        who,
        case_id,
        sanction="warning",
        fine_yuan=None,
        suspension_days=None,
        reasoning="《食品安全法》",
        decided_on=None,
    )
    return case.state


async def test_a_department_member_decides_and_closes_only_cases_their_department_is_in(
    world: World,
) -> None:
    case_id = await opened(world)  # market_regulation and health
    environment = member("environment")
    before = world.counts()
    with pytest.raises(Forbidden) as refused:
        await decide(world, environment, case_id)
    message = refused.value.message
    assert "'environment'" in message and "'market_regulation'" in message and "'health'" in message
    with pytest.raises(Forbidden):
        await decide(world, NO_DEPARTMENT, case_id)
    assert world.counts() == before
    assert await decide(world, HEALTH, case_id) == "decided"
    with pytest.raises(Forbidden):
        await world.joint.close(environment, case_id, note="已执行")
    assert (await world.joint.close(MARKET, case_id, note="已执行")).state == "closed"


async def test_inspectors_work_every_case_of_their_district(world: World) -> None:
    case_id = await opened(world)
    inspector = Principal(subject="i-1", role="inspector", district="zhifu")
    assert await decide(world, inspector, case_id) == "decided"
    also_inspector = member("environment", "zhifu", "inspector")
    assert (await world.joint.close(also_inspector, case_id, note="已执行")).state == "closed"


async def test_any_department_member_of_the_district_may_refer_a_case(world: World) -> None:
    """Opening a case is a referral (移送): it names the departments that are to enforce it,
    which need not include the referring member's own."""
    await inspection_router(world.joint)(delivery(task_completed("task_2")))
    case = await world.joint.open_case(
        member("environment"),
        kind="finding",
        origin_id="task_2",
        departments=["market_regulation"],
        facts="移送市场监管",
    )
    assert case.departments == ("market_regulation",)
    with pytest.raises(Forbidden):  # but it is theirs to decide no more than any other's
        await decide(world, member("environment"), case.case_id)


# -- the realm --------------------------------------------------------------------------------


def test_the_realm_offers_the_departments_of_the_catalogue_and_maps_them_into_the_token() -> None:
    """The provider's `department` attribute is what the rule compares with an item's owner: its
    choices are the catalogue's codes (services/campaign/departments.yaml), admin-edited only,
    and the `sentinel` scope puts it in the access token as `department`."""
    realm = json.loads(REALM_FILE.read_text(encoding="utf-8"))
    profile = user_profile(realm)
    assert profile is not None
    (attribute,) = [a for a in profile["attributes"] if a["name"] == "department"]
    options = attribute["validations"]["options"]["options"]
    assert options == list(load_departments(DEPARTMENTS_FILE).codes)
    assert attribute["permissions"]["edit"] == ["admin"]
    (scope,) = [s for s in realm["clientScopes"] if s["name"] == "sentinel"]
    (mapper,) = [m for m in scope["protocolMappers"] if m["name"] == "department"]
    config = mapper["config"]
    assert (config["user.attribute"], config["claim.name"]) == ("department", "department")
    assert config["access.token.claim"] == "true"
