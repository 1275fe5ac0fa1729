"""Every use case of joint meetings and enforcement on the in-memory stores and a fake unit of
work: what it stores and announces, and above all what a refusal, a redelivery or a failure
half-way leaves behind (nothing stored, nothing announced)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from contracts.envelope import make_event
from contracts.inspection import RectificationLapsed
from services.campaign.domain.joint import JointRuleError
from services.campaign.domain.meetings import DecisionInput
from services.campaign.joint.handlers import complaints_router, inspection_router
from services.campaign.joint.service import http_error
from services.runtime.auth import Principal
from services.runtime.failures import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidInputs,
    NotFound,
    ServiceError,
)
from services.runtime.messaging import Delivery
from tests.unit.campaign.conftest import (
    ADMIN,
    CLERK,
    ELSEWHERE,
    T0,
    World,
    delivery,
    opened,
    recorded,
    task_completed,
)

# -- meetings ------------------------------------------------------------------------------------


async def test_a_meeting_is_recorded_with_its_items_and_announced(world: World) -> None:
    mid = await recorded(world)
    m = await world.joint.meeting(CLERK, mid)
    assert len(m.items) == 2
    assert [x.meeting_id for x in await world.joint.meetings(CLERK, district=None, limit=10)] == [
        mid
    ]
    assert world.types() == ["campaign.meeting.recorded"]
    topic, event, key = world.uow.published[0]
    assert (topic, key, event.correlationid) == ("campaign.meetings.v1", mid, mid)


@pytest.mark.parametrize(
    ("who", "district", "error"),
    [(ELSEWHERE, "zhifu", Forbidden), (CLERK, "city", Forbidden), (CLERK, "nowhere", Forbidden)],
)
async def test_a_refused_meeting_stores_and_announces_nothing(
    world: World, who: Principal, district: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await recorded(world, who, district)
    assert world.counts() == (0, 0, 0, 0, 0)


async def test_a_meeting_the_rules_refuse_stores_and_announces_nothing(world: World) -> None:
    with pytest.raises(InvalidInput):
        await world.joint.record_meeting(
            ADMIN,
            district="muping",  # not a district the registry knows
            title="x",
            held_on=date(2026, 5, 8),
            departments=["market_regulation"],
            minutes="x",
            decisions=[],
        )
    assert world.counts() == (0, 0, 0, 0, 0)


async def test_another_districts_meeting_is_not_found(world: World) -> None:
    mid = await recorded(world)
    with pytest.raises(NotFound):
        await world.joint.meeting(ELSEWHERE, mid)
    with pytest.raises(NotFound):
        await world.joint.meeting(CLERK, "mtg_nobody")
    assert await world.joint.meetings(ELSEWHERE, district=None, limit=10) == []
    with pytest.raises(Forbidden):
        await world.joint.meetings(ELSEWHERE, district="zhifu", limit=10)


async def test_an_item_is_marked_done_once(world: World) -> None:
    mid = await recorded(world)
    item_id = (await world.joint.meeting(CLERK, mid)).items[0].item_id
    _, item = await world.joint.mark_done(CLERK, mid, item_id, note="已完成")
    assert item.state == "done" and item.on_time
    before = world.counts()
    with pytest.raises(Conflict):
        await world.joint.mark_done(CLERK, mid, item_id, note="again")
    with pytest.raises(NotFound):
        await world.joint.mark_done(ELSEWHERE, mid, item_id, note="x")
    assert world.counts() == before
    assert world.types() == ["campaign.meeting.recorded", "campaign.action_item.done"]
    done = await world.joint.action_items(
        CLERK, state="done", district=None, department=None, limit=10
    )
    assert [r.item.item_id for r in done] == [item_id]


async def test_an_item_not_in_the_meeting_is_not_found_naming_the_item(world: World) -> None:
    mid = await recorded(world)
    before = world.counts()
    with pytest.raises(NotFound) as refused:
        await world.joint.mark_done(CLERK, mid, "item_nobody", note="x")
    assert [e["field"] for e in refused.value.errors] == ["item_id"]
    assert "item_nobody" in refused.value.errors[0]["reason"]
    assert world.counts() == before
    assert world.types() == ["campaign.meeting.recorded"]
    assert all(i.state == "open" for i in (await world.joint.meeting(CLERK, mid)).items)


async def test_a_listing_of_a_named_district_holds_that_districts_work_only(world: World) -> None:
    own = await recorded(world)
    city = await recorded(world, ADMIN, "city")
    listed = await world.joint.meetings(CLERK, district="city", limit=10)
    assert [m.meeting_id for m in listed] == [city]
    listed = await world.joint.meetings(CLERK, district="zhifu", limit=10)
    assert [m.meeting_id for m in listed] == [own]
    # Another district's people read the city's meetings too, named or not.
    listed = await world.joint.meetings(ELSEWHERE, district="city", limit=10)
    assert [m.meeting_id for m in listed] == [city]
    items = await world.joint.action_items(
        ELSEWHERE, state=None, district="city", department=None, limit=10
    )
    assert {r.item.meeting_id for r in items} == {city}


def test_a_rule_refusal_of_no_known_kind_is_a_plain_bad_request() -> None:
    error = http_error(JointRuleError("something the rules refused"))
    assert type(error) is ServiceError
    assert (error.code, error.message, error.errors) == (
        "bad_request",
        "something the rules refused",
        [],
    )


async def test_a_city_meetings_items_are_reported_done_with_a_city_wide_token(
    world: World,
) -> None:
    mid = await recorded(world, ADMIN, "city")
    item_id = (await world.joint.meeting(CLERK, mid)).items[0].item_id
    with pytest.raises(Forbidden):
        await world.joint.mark_done(CLERK, mid, item_id, note="x")
    assert world.types() == ["campaign.meeting.recorded"]


async def test_the_clock_flags_a_late_item_once(world: World) -> None:
    await recorded(world)
    world.clock.at = T0 + timedelta(days=6)  # the 16th: the first item's deadline passed
    assert await world.joint.flag_late_items() == 1
    assert await world.joint.flag_late_items() == 0
    assert world.types() == ["campaign.meeting.recorded", "campaign.action_item.late"]
    late = await world.joint.action_items(
        CLERK, state="late", district=None, department=None, limit=10
    )
    assert len(late) == 1


async def test_a_clock_run_that_fails_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = await recorded(world)
    world.clock.at = T0 + timedelta(days=60)
    before = world.counts()
    calls = 0
    update = world.stores.meetings.update_item

    async def second_fails(item: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database went away")
        await update(item)

    monkeypatch.setattr(world.stores.meetings, "update_item", second_fails)
    with pytest.raises(RuntimeError):
        await world.joint.flag_late_items()
    assert world.counts() == before and world.uow.rollbacks == 1
    assert all(i.late_flagged_at is None for i in (await world.joint.meeting(CLERK, mid)).items)


# -- origins and cases ---------------------------------------------------------------------------


async def test_an_origin_event_is_kept_once_and_other_types_are_passed_over(world: World) -> None:
    route = inspection_router(world.joint)
    event = task_completed()
    await route(delivery(event))
    await route(delivery(event))  # redelivered
    await route(
        Delivery("inspection.events.v1", 0, 0, None, b'{"type": "inspection.task.created"}')
    )
    await complaints_router(world.joint)(
        Delivery("complaints.events.v1", 0, 0, None, b'{"type": "complaints.complaint.closed"}')
    )
    assert world.uow.commits == 2 and len(world.uow.claimed) == 1
    assert len(world.stores.origins.rows) == 1  # type: ignore[attr-defined]
    assert world.uow.published == []


async def test_a_case_is_opened_decided_and_closed_in_its_origins_chain(world: World) -> None:
    cid = await opened(world)
    decided = await world.joint.decide(
        CLERK,
        cid,
        sanction="fine",
        fine_yuan="2000",
        suspension_days=None,
        reasoning="第一百二十四条",
        decided_on=None,
    )
    closed = await world.joint.close(CLERK, cid, note="已执行")
    assert (decided.state, closed.state) == ("decided", "closed")
    assert world.types() == [
        "campaign.enforcement.opened",
        "campaign.enforcement.decided",
        "campaign.enforcement.closed",
    ]
    events = [e for _, e, _ in world.uow.published]
    assert {e.correlationid for e in events} == {"risk_1"}
    assert events[1].causationid == events[0].id and events[2].causationid == events[1].id
    assert (await world.joint.case(CLERK, cid)) == closed
    assert [
        c.case_id
        for c in await world.joint.cases(CLERK, state=None, district=None, market_id=None, limit=10)
    ] == [cid]


async def test_a_refused_case_stores_and_announces_nothing(world: World) -> None:
    await inspection_router(world.joint)(delivery(task_completed("task_pass", "pass")))
    await inspection_router(world.joint)(delivery(task_completed("task_1")))
    before = world.counts()
    for who, origin_id, error in (
        (CLERK, "task_pass", InvalidInput),  # a passed task is no case
        (CLERK, "nope", InvalidInput),  # nothing known of it
        (ELSEWHERE, "task_1", Forbidden),
    ):
        with pytest.raises(error):
            await world.joint.open_case(
                who,
                kind="finding",
                origin_id=origin_id,
                departments=["market_regulation"],
                facts="x",
            )
    assert world.counts() == before


def found_wrong(task_id: str = "task_1", reason: str = "finding_corrected") -> Any:
    """Inspection's word that the task's order lapsed: its finding was found wrong on the
    merchant's objection (信用异议 corrected)."""
    task = task_completed(task_id).data
    data = RectificationLapsed.model_validate(
        {
            "rectification_id": task.rectification_id, "version": 2, "task_id": task_id,
            "market_id": task.market_id, "district": task.district,
            "merchant_id": task.merchant_id, "stall_no": task.stall_no, "severity": "critical",
            "findings": [f.model_dump() for f in task.findings], "state": "lapsed",
            "ordered_at": task.completed_at, "deadline": None, "suspension": True,
            "failed_verifications": 0, "reinspection_task_id": None, "overdue_at": None,
            "lapsed_at": T0 + timedelta(days=5), "reason": reason,
        }
    )  # fmt: skip
    return make_event(
        service="inspection",
        event_type="inspection.rectification.lapsed",
        version=1,
        subject=data.rectification_id,
        data=data,
        correlation_id="risk_1",
    )


async def test_a_finding_found_wrong_grounds_no_case_and_an_open_one_stays(world: World) -> None:
    """Opening is refused naming the origin; a case opened before stays, its departments'."""
    cid = await opened(world)
    route = inspection_router(world.joint)
    await route(delivery(task_completed("task_2")))
    for task_id in ("task_1", "task_2"):
        await route(delivery(found_wrong(task_id)))
    await route(delivery(found_wrong("task_9")))  # no origin known: nothing to change
    before = world.counts()
    with pytest.raises(InvalidInputs) as refused:
        await world.joint.open_case(
            CLERK, kind="finding", origin_id="task_2", departments=["health"], facts="x"
        )
    [problem] = refused.value.errors
    assert problem["field"] == "origin.id" and "found wrong" in problem["reason"]
    assert world.counts() == before
    assert (await world.joint.case(CLERK, cid)).state == "open"
    kept = await world.stores.origins.get("finding", "task_2")
    assert kept is not None and kept.detail["outcome"] == "critical"


async def test_a_lapse_for_another_reason_leaves_the_finding_a_ground(world: World) -> None:
    route = inspection_router(world.joint)
    await route(delivery(task_completed("task_2")))
    await route(delivery(found_wrong("task_2", reason="merchant_left")))
    case = await world.joint.open_case(
        CLERK, kind="finding", origin_id="task_2", departments=["health"], facts="x"
    )
    assert case.state == "open"


async def test_a_second_case_of_one_origin_is_a_conflict(world: World) -> None:
    await opened(world)
    before = world.counts()
    with pytest.raises(Conflict):
        await world.joint.open_case(
            CLERK, kind="finding", origin_id="task_1", departments=["health"], facts="x"
        )
    assert world.counts() == before


async def test_a_case_refused_a_change_keeps_its_state_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await opened(world)
    before = world.counts()
    with pytest.raises(Conflict):  # not decided yet
        await world.joint.close(CLERK, cid, note="x")
    with pytest.raises(NotFound):
        await world.joint.close(ELSEWHERE, cid, note="x")
    with pytest.raises(NotFound):
        await world.joint.case(CLERK, "case_nobody")

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.stores.cases, "update", broken)
    rollbacks = world.uow.rollbacks
    with pytest.raises(RuntimeError):
        await world.joint.decide(
            CLERK,
            cid,
            sanction="warning",
            fine_yuan=None,
            suspension_days=None,
            reasoning="x",
            decided_on=None,
        )
    assert world.counts() == before and world.uow.rollbacks == rollbacks + 1
    assert (await world.joint.case(CLERK, cid)).state == "open"


async def test_a_case_another_request_opened_meanwhile_is_a_conflict_naming_the_origin(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clerks open a case of one finding at once: the second's check saw none, its insert
    finds one (the store's constraint); it is a 409 naming origin.id, and nothing of it stays."""
    await opened(world)
    cases = world.stores.cases
    real_active, asked = cases.active, []

    async def the_check_sees_none(kind: str, origin_id: str) -> object:
        asked.append(origin_id)  # the use case's check first, then the store's own at insert
        return None if len(asked) == 1 else await real_active(kind, origin_id)

    monkeypatch.setattr(cases, "active", the_check_sees_none)
    before = world.counts()
    with pytest.raises(Conflict) as refused:
        await world.joint.open_case(
            CLERK, kind="finding", origin_id="task_1", departments=["health"], facts="另一份"
        )
    assert refused.value.errors == [
        {"field": "origin.id", "reason": "a case for it is not closed yet"}
    ]
    assert world.counts() == before


async def test_every_problem_of_a_meeting_is_refused_at_once_and_nothing_is_kept(
    world: World,
) -> None:
    # A blank title (a value the request's schema used to refuse alone) and a deadline before
    # the meeting (the rules'): both in one refusal, the form's fields each with its reason.
    with pytest.raises(InvalidInputs) as exc:
        await world.joint.record_meeting(
            CLERK,
            district="zhifu",
            title="  ",
            held_on=date(2026, 5, 8),
            departments=["market_regulation"],
            minutes="研究部署",
            decisions=[DecisionInput("排查冷链", "health", date(2026, 5, 1))],
        )
    assert exc.value.errors == [
        {"field": "title", "reason": "must not be blank"},
        {"field": "decisions.0.deadline", "reason": "must not be before the meeting (2026-05-08)"},
    ]
    assert world.counts() == (0, 0, 0, 0, 0)


async def test_every_problem_of_a_case_is_refused_at_once_and_nothing_is_kept(
    world: World,
) -> None:
    await inspection_router(world.joint)(delivery(task_completed("task_1")))
    before = world.counts()
    with pytest.raises(InvalidInputs) as exc:
        await world.joint.open_case(
            CLERK, kind="findng", origin_id="task_1", departments=[], facts=" "
        )
    assert exc.value.errors == [
        {"field": "origin.kind", "reason": "must be one of finding, complaint"},
        {"field": "departments", "reason": "name at least one department"},
        {"field": "facts", "reason": "must not be blank"},
    ]
    assert world.counts() == before
