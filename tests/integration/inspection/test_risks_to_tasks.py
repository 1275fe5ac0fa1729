"""Risks on the real topic → inspection tasks; the work API; the overdue clock. Real Kafka and
Postgres, in-process apps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.integration.inspection.conftest import (
    Place,
    Stack,
    distinct,
    minutes_ago,
    risk_event,
)
from tests.support.kafka import TopicWatcher, of

EVENTS = "inspection.events.v1"


async def _task_from_risk(stack: Stack, kafka: str, place: Place) -> tuple[dict[str, Any], str]:
    async with TopicWatcher(kafka, EVENTS) as events:
        risk = await stack.risk(place, raised_at=minutes_ago(5))
        [created] = distinct(
            await events.wait_for(of("inspection.task.created", merchant_id=place.merchant_id))
        )
    return created.json(), risk.data.risk_id


async def test_a_major_risk_makes_one_task_a_redelivery_nothing_a_second_risk_attaches(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place(leader="赵队长")
    raised_at = minutes_ago(10)
    inspector = stack.token("inspector", place.district)
    async with TopicWatcher(kafka, EVENTS) as events:
        risk = await stack.risk(place, raised_at=raised_at)
        [created] = distinct(
            await events.wait_for(of("inspection.task.created", merchant_id=place.merchant_id))
        )
        body = created.json()
        task_id = body["subject"]
        assert created.key == task_id.encode()
        assert body["correlationid"] == risk.data.risk_id
        assert body["causationid"] == risk.id
        assert body["data"]["task_force"]["leader"] == "赵队长"

        listed = (await stack.inspection.get("/tasks", headers=inspector)).json()["items"]
        assert [t["id"] for t in listed] == [task_id]
        [task] = listed
        assert task["merchant_id"] == place.merchant_id and task["market_id"] == place.market_id
        assert task["state"] == "open" and task["reason_kind"] == "risk"
        assert datetime.fromisoformat(task["due_at"]) == raised_at + timedelta(hours=4)
        assert task["task_force"] == {"leader": "赵队长", "members": ["李", "张"]}

        # The very same event again (at-least-once delivery), then a second risk for the
        # merchant; one partition (the terminal's key), so the second is handled after the first.
        await stack.send(risk, place.terminal_id)
        second = await stack.risk(place, raised_at=minutes_ago(2))
        [attached] = distinct(await events.wait_for(of("inspection.task.updated", task_id=task_id)))
        await events.drain(settle_s=1.0)
    assert attached.json()["data"]["change"] == "attached"
    assert attached.json()["data"]["trigger_id"] == second.data.risk_id
    assert attached.json()["correlationid"] == risk.data.risk_id
    about_merchant = [
        r
        for r in distinct(events.records)
        if r.json()["data"].get("merchant_id") == place.merchant_id
    ]
    assert [r.json()["type"] for r in about_merchant] == [
        "inspection.task.created",
        "inspection.task.updated",
    ]
    [task] = (await stack.inspection.get("/tasks", headers=inspector)).json()["items"]
    assert [t["id"] for t in task["triggers"]] == [risk.data.risk_id, second.data.risk_id]
    # Attaching never pushes the due date later.
    assert datetime.fromisoformat(task["due_at"]) == raised_at + timedelta(hours=4)
    metrics = (await stack.inspection.get("/metrics")).text
    assert 'sentinel_inspection_trigger_decisions_total{action="create",trigger="risk"}' in metrics
    assert 'sentinel_inspection_trigger_decisions_total{action="attach",trigger="risk"}' in metrics
    assert "sentinel_inspection_trigger_to_task_seconds_bucket" in metrics


async def test_claim_complete_major_orders_rectification_verify_fail_then_overdue_once(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    created, risk_id = await _task_from_risk(stack, kafka, place)
    task_id = created["subject"]
    li = stack.token("inspector", place.district, subject="inspector-li")
    li_subject = stack.subject("inspector", place.district, "inspector-li")

    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.inspection.post(f"/tasks/{task_id}/claim", headers=li)
        assert r.status_code == 200, r.text
        claimed = (
            await events.wait_for(
                lambda x: (
                    x.json()["type"] == "inspection.task.claimed" and x.key == task_id.encode()
                )
            )
        )[0]
    # The actor is the person who signed in: their subject and name, in the API and the event.
    actor = {"subject": li_subject, "name": "测试inspector " + place.district}
    assert r.json()["state"] == "claimed" and r.json()["assignee"] == li_subject
    assert r.json()["claimed_actor"] == actor
    assert (
        claimed.json()["data"]["actor"] == actor
        and claimed.json()["data"]["assignee"] == li_subject
    )
    other = stack.token("inspector", place.district, subject="inspector-wang")
    r = await stack.inspection.post(f"/tasks/{task_id}/claim", headers=other)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "state"

    # A completion that breaks the rules is refused whole and changes nothing.
    bad = {"outcome": "major", "findings": [{"code": "NOPE-1", "note": ""}]}
    r = await stack.inspection.post(f"/tasks/{task_id}/complete", headers=li, json=bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "findings.0.code"

    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.inspection.post(
            f"/tasks/{task_id}/complete",
            headers=li,
            json={
                "outcome": "major",
                "findings": [{"code": "CCH-01", "note": "11 °C in the display fridge"}],
                "departments": ["health", "market_regulation"],
            },
        )
        assert r.status_code == 200, r.text
        done = r.json()
        order_id = done["rectification_id"]
        completed, ordered = distinct(
            await events.wait_for(
                lambda x: (
                    x.json()["type"]
                    in ("inspection.task.completed", "inspection.rectification.ordered")
                    and x.key == task_id.encode()
                ),
                count=2,
            )
        )
    assert done["state"] == "completed" and done["departments"] == ["market_regulation", "health"]
    o = ordered.json()
    assert o["type"] == "inspection.rectification.ordered" and o["subject"] == order_id
    assert o["correlationid"] == risk_id and o["causationid"] == completed.json()["id"]
    ordered_at = datetime.fromisoformat(o["data"]["ordered_at"])
    assert datetime.fromisoformat(o["data"]["deadline"]) == ordered_at + timedelta(days=3)
    assert o["data"]["severity"] == "major" and o["data"]["findings"][0]["code"] == "CCH-01"

    r = await stack.inspection.post(
        f"/rectifications/{order_id}/verify", headers=li, json={"passed": False}
    )
    assert r.status_code == 200, r.text
    failed = r.json()
    assert failed["state"] == "open" and failed["failed_verifications"] == 1
    listed = (await stack.inspection.get("/rectifications?state=open", headers=li)).json()
    assert [x["id"] for x in listed["items"]] == [order_id]

    new_deadline = datetime.fromisoformat(failed["deadline"])
    try:
        async with TopicWatcher(kafka, EVENTS) as events:
            stack.clock.offset = new_deadline - datetime.now(UTC) + timedelta(minutes=1)
            await events.wait_for(of("inspection.rectification.overdue", rectification_id=order_id))
            await events.drain(settle_s=1.5)  # several more ticks of the clock job
    finally:
        stack.clock.offset = timedelta()
    overdue = [
        r
        for r in distinct(events.records)
        if of("inspection.rectification.overdue", rectification_id=order_id)(r)
    ]
    assert len(overdue) == 1
    assert overdue[0].json()["correlationid"] == risk_id
    [order] = (await stack.inspection.get("/rectifications", headers=li)).json()["items"]
    assert order["overdue_at"] is not None and order["state"] == "open"
    metrics = (await stack.inspection.get("/metrics")).text
    # The series exists at 0 from the start (for the alert's increase()): it must have counted.
    marked = re.search(
        r'^sentinel_inspection_overdue_marked_total\{entity="rectification"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert marked is not None and float(marked.group(1)) >= 1
    assert (
        'sentinel_inspection_task_transitions_total{reason_kind="risk",transition="completed"}'
        in metrics
    )


async def test_an_inspector_of_another_district_can_neither_see_nor_act(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    elsewhere = await stack.place()
    created, _ = await _task_from_risk(stack, kafka, place)
    task_id = created["subject"]
    mine = stack.token("inspector", place.district, subject="inspector-mine")
    theirs = stack.token("inspector", elsewhere.district, subject="inspector-theirs")

    seen = (await stack.inspection.get("/tasks", headers=theirs)).json()["items"]
    assert task_id not in [t["id"] for t in seen]
    for action in ("claim", "complete"):
        body = {"outcome": "pass"} if action == "complete" else None
        r = await stack.inspection.post(f"/tasks/{task_id}/{action}", headers=theirs, json=body)
        assert r.status_code == 404, (action, r.text)
    clerk = stack.token("clerk", place.district)
    assert (
        await stack.inspection.post(f"/tasks/{task_id}/claim", headers=clerk)
    ).status_code == 403
    admin = stack.token("admin", "*")
    everything = (await stack.inspection.get("/tasks", headers=admin)).json()["items"]
    assert task_id in [t["id"] for t in everything]

    assert (await stack.inspection.post(f"/tasks/{task_id}/claim", headers=mine)).status_code == 200
    r = await stack.inspection.post(
        f"/tasks/{task_id}/complete",
        headers=mine,
        json={"outcome": "minor", "findings": [{"code": "HYG-01", "note": ""}]},
    )
    assert r.status_code == 200, r.text
    order_id = r.json()["rectification_id"]
    listed = (await stack.inspection.get("/rectifications", headers=theirs)).json()["items"]
    assert order_id not in [o["id"] for o in listed]
    one = await stack.inspection.get(f"/rectifications/{order_id}", headers=mine)
    assert one.status_code == 200 and one.json()["id"] == order_id
    assert one.json()["state"] == "open" and one.json()["deadline"] is not None
    assert (
        await stack.inspection.get(f"/rectifications/{order_id}", headers=theirs)
    ).status_code == 404
    r = await stack.inspection.post(
        f"/rectifications/{order_id}/verify", headers=theirs, json={"passed": True}
    )
    assert r.status_code == 404
    r = await stack.inspection.get(f"/tasks?market_id={place.market_id}", headers=mine)
    assert [t["state"] for t in r.json()["items"]] == ["completed"]


async def test_a_poison_risk_event_is_parked_on_the_dlq_and_the_next_one_is_handled(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    key = place.terminal_id.encode()
    good = risk_event(place, raised_at=minutes_ago(1))
    wrong = good.model_dump(mode="json")
    wrong["data"]["severity"] = "apocalyptic"
    async with (
        TopicWatcher(kafka, "telemetry.risks.v1.dlq") as dlq,
        TopicWatcher(kafka, EVENTS) as events,
    ):
        for value in (b"{not json", orjson.dumps(wrong)):
            await stack.producer.send_and_wait("telemetry.risks.v1", value, key=key)
        await stack.send(good, place.terminal_id)
        parked = await dlq.wait_for(lambda r: r.key == key and stack.ours(r), count=2)
        await events.wait_for(of("inspection.task.created", merchant_id=place.merchant_id))
    assert {r.headers["dlq.source_topic"] for r in parked} == {b"telemetry.risks.v1"}
    assert b"severity" in parked[1].headers["dlq.error"]
