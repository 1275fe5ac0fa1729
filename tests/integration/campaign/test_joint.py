"""Joint meetings and joint enforcement on real Kafka and Postgres: the campaign's joint part in
process (a minimal app: the runtime's Service, the registry view, `joint.attach`), the registry
beside it for a real district, market and merchant; inspection and complaint events produced to
their topics as those services would."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import topics
from contracts.joint import EnforcementClosed, EnforcementDecided, EnforcementOpened
from tests.integration.campaign import joint_stack
from tests.integration.campaign.joint_stack import Stack, meeting_body
from tests.support.identity import Tokens
from tests.support.kafka import Record, TopicWatcher

ENFORCEMENT = topics.CAMPAIGN_ENFORCEMENT.name
MEETINGS = topics.CAMPAIGN_MEETINGS.name
pytestmark = pytest.mark.integration

stack = joint_stack.stack


def of(event_type: str, subject: str):  # type: ignore[no-untyped-def]
    def match(r: Record) -> bool:
        body = r.json()
        return bool(body["type"] == event_type and body["subject"] == subject)

    return match


def about(records: list[Record], subject: str) -> list[dict[str, Any]]:
    return [r.json() for r in records if r.json().get("subject") == subject]


# -- enforcement -----------------------------------------------------------------------------


async def test_a_case_from_a_critical_finding_is_opened_decided_and_closed_each_once(
    stack: Stack, kafka: str, tokens: Tokens
) -> None:
    place = await stack.place()
    task_id, finding_event, chain = await stack.finding(place, "critical")
    d = place.district
    async with TopicWatcher(kafka, ENFORCEMENT) as watch:
        r = await stack.call(
            "POST",
            "/enforcement-cases",
            "inspector",
            d,
            {
                "origin": {"kind": "finding", "id": task_id},
                "departments": ["market_regulation", "health"],
                "facts": "冷柜温度 14 °C, 销售变质肉品",
            },
        )
        assert r.status_code == 201, r.text
        case = r.json()
        case_id = case["id"]
        assert case["state"] == "open" and case["version"] == 1
        assert (case["market_id"], case["merchant_id"]) == (place.market_id, place.merchant_id)
        assert case["district"] == d and case["origin"] == {"kind": "finding", "id": task_id}
        assert case["market_name"] == "检查市场"
        assert case["opened_actor"]["subject"] == tokens.subject("inspector", d)

        r = await stack.call(
            "POST",
            f"/enforcement-cases/{case_id}/decide",
            "department",
            d,
            {"sanction": "fine", "fine_yuan": "2000.50", "reasoning": "《食品安全法》第124条"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["decision"]["fine_fen"] == 200050 and r.json()["fine_yuan"] == "2000.50"
        r = await stack.call(
            "POST", f"/enforcement-cases/{case_id}/close", "inspector", d, {"note": "罚款已缴纳"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "closed" and r.json()["version"] == 3

        await watch.wait_for(of("campaign.enforcement.closed", case_id))
        records = await watch.drain()
    opened, decided, closed = events = about(records, case_id)
    assert [e["type"] for e in events] == [
        "campaign.enforcement.opened",
        "campaign.enforcement.decided",
        "campaign.enforcement.closed",
    ]
    EnforcementOpened.model_validate(opened["data"])
    EnforcementDecided.model_validate(decided["data"])
    EnforcementClosed.model_validate(closed["data"])
    assert [e["data"]["version"] for e in events] == [1, 2, 3]
    assert all(e["correlationid"] == chain for e in events)
    assert opened["causationid"] == finding_event
    assert decided["causationid"] == opened["id"] and closed["causationid"] == decided["id"]
    assert decided["data"]["decision"]["fine_fen"] == 200050
    assert decided["data"]["merchant_id"] == place.merchant_id
    assert closed["data"]["closing_note"] == "罚款已缴纳"
    assert closed["data"]["decision"] == decided["data"]["decision"]
    assert decided["data"]["actor"]["subject"] == tokens.subject("department", d)
    assert opened["data"]["actor"]["subject"] == tokens.subject("inspector", d)
    keys = {r.key for r in records if r.json().get("subject") == case_id}
    assert keys == {case_id.encode()}

    # The lists and the record show it; a closed case is not decided again.
    r = await stack.call("GET", f"/enforcement-cases?market_id={place.market_id}", "leader", d)
    assert [c["id"] for c in r.json()["items"]] == [case_id]
    r = await stack.call("GET", "/enforcement-cases?state=open", "leader", d)
    assert case_id not in [c["id"] for c in r.json()["items"]]
    r = await stack.call(
        "POST",
        f"/enforcement-cases/{case_id}/decide",
        "inspector",
        d,
        {"sanction": "warning", "reasoning": "again"},
    )
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "state"


async def test_a_case_from_a_pass_finding_is_refused_naming_origin_id_and_publishes_nothing(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    task_id, _, _ = await stack.finding(place, "pass")
    async with TopicWatcher(kafka, ENFORCEMENT) as watch:
        reasons = []
        for origin in ({"kind": "finding", "id": task_id}, {"kind": "complaint", "id": "nope"}):
            r = await stack.call(
                "POST",
                "/enforcement-cases",
                "inspector",
                place.district,
                {"origin": origin, "departments": ["market_regulation"], "facts": "x"},
            )
            assert r.status_code == 422, r.text
            assert [e["field"] for e in r.json()["errors"]] == ["origin.id"]
            reasons.append(r.json()["errors"][0]["reason"])
        records = await watch.drain()
    assert "outcome 'pass'" in reasons[0] and "critical" in reasons[0]
    assert "no accepted complaint 'nope'" in reasons[1]
    assert not [r for r in records if task_id in r.value.decode()]
    count = await stack.app.state.service.pool.fetchval(
        "SELECT count(*) FROM joint_cases WHERE origin_id = $1", task_id
    )
    assert count == 0


async def test_every_problem_of_a_case_and_of_a_decision_is_one_422_changing_nothing(
    stack: Stack,
) -> None:
    # Blank facts and no department used to be refused alone (the request's schema), the
    # unknown origin only on the next try: now one answer names each field.
    place = await stack.place()
    task_id, _, _ = await stack.finding(place, "critical")
    r = await stack.call(
        "POST",
        "/enforcement-cases",
        "inspector",
        place.district,
        {"origin": {"kind": "finding", "id": "task_gone"}, "departments": [], "facts": " "},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "origin.id", "reason": "no completed inspection task 'task_gone' is known"},
        {"field": "departments", "reason": "name at least one department"},
        {"field": "facts", "reason": "must not be blank"},
    ]
    body = {"origin": {"kind": "finding", "id": task_id}, "departments": ["health"], "facts": "x"}
    case_id = (
        await stack.call("POST", "/enforcement-cases", "inspector", place.district, body)
    ).json()["id"]
    r = await stack.call(
        "POST",
        f"/enforcement-cases/{case_id}/decide",
        "inspector",
        place.district,
        {"sanction": "suspension", "suspension_days": 0, "reasoning": ""},
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["suspension_days", "reasoning"]
    r = await stack.call("GET", f"/enforcement-cases/{case_id}", "inspector", place.district)
    assert r.json()["state"] == "open" and r.json()["version"] == 1


async def test_a_second_case_for_an_origin_not_closed_is_409(stack: Stack) -> None:
    place = await stack.place()
    task_id, _, _ = await stack.finding(place, "critical")
    body = {"origin": {"kind": "finding", "id": task_id}, "departments": ["health"], "facts": "x"}
    first = await stack.call("POST", "/enforcement-cases", "inspector", place.district, body)
    assert first.status_code == 201, first.text
    again = await stack.call("POST", "/enforcement-cases", "department", place.district, body)
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "origin.id"
    assert first.json()["id"] in again.json()["message"]
    # Decided is not closed either.
    r = await stack.call(
        "POST",
        f"/enforcement-cases/{first.json()['id']}/decide",
        "inspector",
        place.district,
        {"sanction": "suspension", "suspension_days": 7, "reasoning": "停业整顿"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["decision"]["suspension_days"] == 7
    again = await stack.call("POST", "/enforcement-cases", "inspector", place.district, body)
    assert again.status_code == 409


async def test_a_case_from_an_accepted_complaint(stack: Stack) -> None:
    place = await stack.place()
    complaint_id = await stack.accepted_complaint(place)
    r = await stack.call(
        "POST",
        "/enforcement-cases",
        "department",
        place.district,
        {
            "origin": {"kind": "complaint", "id": complaint_id},
            "departments": ["market_regulation", "public_security"],
            "facts": "投诉属实, 移送立案",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["origin"] == {"kind": "complaint", "id": complaint_id}
    assert r.json()["merchant_id"] == place.merchant_id


async def test_bad_decisions_name_the_field_and_change_nothing(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    task_id, _, _ = await stack.finding(place, "critical")
    r = await stack.call(
        "POST",
        "/enforcement-cases",
        "inspector",
        place.district,
        {"origin": {"kind": "finding", "id": task_id}, "departments": ["health"], "facts": "x"},
    )
    case_id = r.json()["id"]
    path = f"/enforcement-cases/{case_id}/decide"
    async with TopicWatcher(kafka, ENFORCEMENT) as watch:
        for body, field in (
            ({"sanction": "fine", "reasoning": "r"}, "fine_yuan"),
            ({"sanction": "fine", "fine_yuan": "0", "reasoning": "r"}, "fine_yuan"),
            ({"sanction": "fine", "fine_yuan": "1.005", "reasoning": "r"}, "fine_yuan"),
            ({"sanction": "warning", "fine_yuan": 5, "reasoning": "r"}, "fine_yuan"),
            (
                {"sanction": "suspension", "suspension_days": "7", "reasoning": "r"},
                "suspension_days",
            ),
            ({"sanction": "jail", "reasoning": "r"}, "sanction"),
            ({"sanction": "warning", "reasoning": "r", "decided_on": "2999-01-01"}, "decided_on"),
        ):
            r = await stack.call("POST", path, "inspector", place.district, body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["errors"][0]["field"] == field, (body, r.text)
        records = await watch.drain()
    # The case's own `opened` may reach the topic only now (the outbox relays it after the
    # answer); no refused decision publishes anything.
    assert [e["type"] for e in about(records, case_id)] in ([], ["campaign.enforcement.opened"])
    r = await stack.call("GET", f"/enforcement-cases/{case_id}", "inspector", place.district)
    assert r.json()["state"] == "open" and r.json()["version"] == 1


# -- meetings --------------------------------------------------------------------------------


async def test_a_late_action_item_is_flagged_once_when_the_clock_runs_twice(
    stack: Stack, kafka: str, tokens: Tokens
) -> None:
    place = await stack.place()
    d = place.district
    async with TopicWatcher(kafka, MEETINGS) as watch:
        r = await stack.call("POST", "/meetings", "clerk", d, meeting_body(d))
        assert r.status_code == 201, r.text
        meeting = r.json()
        mid = meeting["id"]
        late_item, open_item = meeting["action_items"]
        assert meeting["recorded_actor"]["subject"] == tokens.subject("clerk", d)
        assert late_item["late"] and not open_item["late"]

        assert await stack.joint.flag_late_items() >= 1
        assert await stack.joint.flag_late_items() == 0
        await watch.wait_for(of("campaign.action_item.late", mid))

        # Done late by the owning department, then the other on time.
        r = await stack.call(
            "POST", f"/meetings/{mid}/items/{late_item['id']}/done", "department", d, {"note": "补"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["on_time"] is False and r.json()["late_flagged_at"]
        r = await stack.call(
            "POST", f"/meetings/{mid}/items/{open_item['id']}/done", "clerk", d, {"note": "完成"}
        )
        assert r.json()["on_time"] is True
        r = await stack.call(
            "POST", f"/meetings/{mid}/items/{open_item['id']}/done", "clerk", d, {"note": "again"}
        )
        assert r.status_code == 409
        await stack.joint.flag_late_items()
        await watch.wait_for(of("campaign.action_item.done", mid), count=2)
        records = await watch.drain()
    events = about(records, mid)
    assert [e["type"] for e in events] == [
        "campaign.meeting.recorded",
        "campaign.action_item.late",
        "campaign.action_item.done",
        "campaign.action_item.done",
    ]
    recorded, late, done_late, done = events
    assert recorded["data"]["departments"] == ["market_regulation", "health"]
    assert len(recorded["data"]["action_items"]) == 2
    assert late["data"]["item"]["item_id"] == late_item["id"] and late["data"]["district"] == d
    assert done_late["data"]["on_time"] is False and done["data"]["on_time"] is True
    assert done_late["data"]["actor"]["subject"] == tokens.subject("department", d)
    assert all(e["correlationid"] == mid for e in events)


async def test_action_items_are_listed_by_state_and_a_bad_meeting_publishes_nothing(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    d = place.district
    async with TopicWatcher(kafka, MEETINGS) as watch:
        r = await stack.call("POST", "/meetings", "department", d, meeting_body(d))
        mid = r.json()["id"]
        late_id, open_id = (i["id"] for i in r.json()["action_items"])
        bad = meeting_body(d, departments=["health", "forestry"])
        bad["decisions"][0]["deadline"] = "2000-01-01"
        r = await stack.call("POST", "/meetings", "clerk", d, bad)
        assert r.status_code == 422, r.text
        assert {e["field"] for e in r.json()["errors"]} == {
            "departments.1",
            "decisions.0.deadline",
        }
        r = await stack.call("POST", "/meetings", "clerk", d, meeting_body("nowhere-district"))
        assert r.status_code in (403, 422)
        await watch.wait_for(of("campaign.meeting.recorded", mid))
        records = await watch.drain()
    assert [
        e["subject"] for e in (r.json() for r in records) if e["data"].get("district") == d
    ] == [mid]
    r = await stack.call("GET", f"/action-items?state=late&district={d}", "leader", d)
    assert [i["id"] for i in r.json()["items"]] == [late_id]
    r = await stack.call("GET", "/action-items?state=open", "leader", d)
    ids = [i["id"] for i in r.json()["items"]]
    assert late_id in ids and open_id in ids
    assert ids.index(late_id) < ids.index(open_id)  # by deadline
    r = await stack.call("GET", "/departments", "inspector", d)
    assert [x["code"] for x in r.json()["items"]][:3] == [
        "market_regulation",
        "health",
        "environment",
    ]


async def test_a_city_meeting_is_the_admins_and_every_district_reads_it(stack: Stack) -> None:
    place = await stack.place()
    d = place.district
    r = await stack.call("POST", "/meetings", "clerk", d, meeting_body("city"))
    assert r.status_code == 403, r.text
    r = await stack.call("POST", "/meetings", "admin", "*", meeting_body("city"))
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    r = await stack.call("GET", f"/meetings/{mid}", "department", d)
    assert r.status_code == 200 and r.json()["district"] == "city"
    item = r.json()["action_items"][0]["id"]
    r = await stack.call(
        "POST", f"/meetings/{mid}/items/{item}/done", "department", d, {"note": "x"}
    )
    assert r.status_code == 403, r.text
    r = await stack.call("GET", "/meetings", "clerk", d)
    assert mid in [m["id"] for m in r.json()["items"]]


# -- who may do what -------------------------------------------------------------------------


async def test_a_leader_reads_but_changes_nothing(stack: Stack) -> None:
    place = await stack.place()
    d = place.district
    task_id, _, _ = await stack.finding(place, "critical")
    r = await stack.call("POST", "/meetings", "clerk", d, meeting_body(d))
    mid, item = r.json()["id"], r.json()["action_items"][0]["id"]
    body = {"origin": {"kind": "finding", "id": task_id}, "departments": ["health"], "facts": "x"}
    r = await stack.call("POST", "/enforcement-cases", "inspector", d, body)
    case_id = r.json()["id"]

    for path in (f"/meetings/{mid}", "/meetings", "/action-items", f"/enforcement-cases/{case_id}"):
        r = await stack.call("GET", path, "leader", d)
        assert r.status_code == 200, (path, r.text)
    for path, write in (
        ("/meetings", meeting_body(d)),
        (f"/meetings/{mid}/items/{item}/done", {"note": "x"}),
        ("/enforcement-cases", body),
        (f"/enforcement-cases/{case_id}/decide", {"sanction": "warning", "reasoning": "r"}),
        (f"/enforcement-cases/{case_id}/close", {"note": "x"}),
    ):
        r = await stack.call("POST", path, "leader", d, write)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "forbidden"
    # A handler is not among the readers either.
    r = await stack.call("GET", f"/enforcement-cases/{case_id}", "handler", d)
    assert r.status_code == 403


async def test_another_districts_people_are_refused(stack: Stack) -> None:
    place, other = await stack.place(), await stack.place()
    d, o = place.district, other.district
    task_id, _, _ = await stack.finding(place, "critical")
    r = await stack.call("POST", "/meetings", "clerk", d, meeting_body(d))
    mid, item = r.json()["id"], r.json()["action_items"][0]["id"]
    body = {"origin": {"kind": "finding", "id": task_id}, "departments": ["health"], "facts": "x"}

    # Creating in their district: 403.
    r = await stack.call("POST", "/meetings", "clerk", o, meeting_body(d))
    assert r.status_code == 403, r.text
    r = await stack.call("POST", "/enforcement-cases", "inspector", o, body)
    assert r.status_code == 403, r.text
    r = await stack.call("POST", "/enforcement-cases", "inspector", d, body)
    case_id = r.json()["id"]
    # Their district's work is not found, and not listed.
    r = await stack.call("GET", f"/meetings/{mid}", "clerk", o)
    assert r.status_code == 404, r.text
    r = await stack.call("POST", f"/meetings/{mid}/items/{item}/done", "clerk", o, {"note": "x"})
    assert r.status_code == 404, r.text
    r = await stack.call("GET", f"/enforcement-cases/{case_id}", "inspector", o)
    assert r.status_code == 404, r.text
    r = await stack.call(
        "POST",
        f"/enforcement-cases/{case_id}/decide",
        "department",
        o,
        {"sanction": "warning", "reasoning": "r"},
    )
    assert r.status_code == 404, r.text
    for path in (f"/meetings?district={d}", f"/enforcement-cases?district={d}"):
        r = await stack.call("GET", path, "clerk", o)
        assert r.status_code == 403, (path, r.text)
    r = await stack.call("GET", "/enforcement-cases", "leader", o)
    assert case_id not in [c["id"] for c in r.json()["items"]]
    r = await stack.call("GET", "/meetings", "clerk", o)
    assert mid not in [m["id"] for m in r.json()["items"]]
    # Nothing changed.
    r = await stack.call("GET", f"/enforcement-cases/{case_id}", "leader", d)
    assert r.json()["state"] == "open"
    r = await stack.call("GET", f"/meetings/{mid}", "leader", d)
    assert r.json()["action_items"][0]["state"] == "open"
