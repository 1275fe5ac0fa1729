"""Accepted complaints on `complaints.events.v1` → tasks; credit grades on `credit.scores.v1` →
patrol plans; the scheduler → patrol tasks. Real Kafka and Postgres, in-process apps, the
injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from contracts.envelope import make_event
from contracts.registry import MerchantUpserted
from services.inspection.domain import first_patrol_offset
from tests.integration.inspection.conftest import Place, Stack, distinct, minutes_ago
from tests.integration.inspection.upstream import accepted_event, received_event, score_event
from tests.support.kafka import TopicWatcher, of
from tests.support.poll import until

EVENTS = "inspection.events.v1"
COMPLAINTS = "complaints.events.v1"
SCORES = "credit.scores.v1"


async def _plan(
    stack: Stack, place: Place, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    admin = stack.token("admin", "*")

    async def found() -> dict[str, Any]:
        # An empty answer (no plan yet, or not as expected) is falsy: `until` asks again.
        r = await stack.inspection.get(f"/patrol-plans/{place.merchant_id}", headers=admin)
        if r.status_code != 200:
            return {}
        plan: dict[str, Any] = r.json()
        return plan if check(plan) else {}

    return await until(found, what=f"the patrol plan of {place.merchant_id}")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- complaints ------------------------------------------------------------------------------


async def test_an_accepted_food_safety_complaint_makes_one_task_due_in_24_hours(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place(leader="孙队长")
    accepted_at = minutes_ago(10)
    event = accepted_event(place, category="food_safety", accepted_at=accepted_at)
    complaint_id = event.data.complaint_id
    inspector = stack.token("inspector", place.district)
    async with (
        TopicWatcher(kafka, EVENTS) as events,
        TopicWatcher(kafka, f"{COMPLAINTS}.dlq") as dlq,
    ):
        # The case's earlier event is not a trigger, nor poison; a broken acceptance is poison.
        partition = await stack.send(
            received_event(place, complaint_id, "food_safety"), complaint_id, COMPLAINTS
        )
        broken = accepted_event(place, category="food_safety", accepted_at=accepted_at)
        wrong = broken.model_dump(mode="json")
        wrong["data"]["category"] = "gossip"
        broken_key = broken.data.complaint_id.encode()
        await stack.producer.send_and_wait(
            COMPLAINTS, orjson.dumps(wrong), key=broken_key, partition=partition
        )
        await stack.send(event, complaint_id, COMPLAINTS, partition=partition)
        [created] = distinct(
            await events.wait_for(of("inspection.task.created", merchant_id=place.merchant_id))
        )
        body = created.json()
        task_id = body["subject"]
        assert body["correlationid"] == complaint_id
        assert body["causationid"] == event.id
        assert body["data"]["reason_kind"] == "complaint"
        assert body["data"]["task_force"]["leader"] == "孙队长"
        [ref] = body["data"]["triggers"]
        assert (ref["kind"], ref["id"], ref["category"]) == (
            "complaint",
            complaint_id,
            "food_safety",
        )
        assert _at(body["data"]["due_at"]) == accepted_at + timedelta(hours=24)

        # Redelivered, then a second complaint about the merchant behind it on the same partition:
        # once the second is attached, the redelivery has been handled — and changed nothing.
        await stack.send(event, complaint_id, COMPLAINTS, partition=partition)
        second = accepted_event(place, category="price", accepted_at=minutes_ago(2))
        await stack.send(second, second.data.complaint_id, COMPLAINTS, partition=partition)
        [attached] = distinct(await events.wait_for(of("inspection.task.updated", task_id=task_id)))
        await events.drain(settle_s=1.0)
        [parked] = await dlq.wait_for(lambda r: r.key == broken_key and stack.ours(r))
        await dlq.drain(settle_s=0.5)
    assert attached.json()["data"]["trigger_id"] == second.data.complaint_id
    assert attached.json()["correlationid"] == complaint_id
    about = [
        r
        for r in distinct(events.records)
        if r.json()["data"].get("merchant_id") == place.merchant_id
    ]
    assert [r.json()["type"] for r in about] == [
        "inspection.task.created",
        "inspection.task.updated",
    ]
    assert b"category" in parked.headers["dlq.error"]
    assert not [r for r in dlq.records if r.key == complaint_id.encode() and stack.ours(r)]
    [task] = (await stack.inspection.get("/tasks", headers=inspector)).json()["items"]
    assert task["id"] == task_id and task["correlation_id"] == complaint_id
    # A 72 h complaint joining never loosens the 24 h due date.
    assert _at(task["due_at"]) == accepted_at + timedelta(hours=24)
    assert [t["id"] for t in task["triggers"]] == [complaint_id, second.data.complaint_id]
    metrics = (await stack.inspection.get("/metrics")).text
    assert (
        'sentinel_inspection_trigger_decisions_total{action="create",trigger="complaint"}'
        in metrics
    )
    assert 'sentinel_inspection_trigger_to_task_seconds_count{trigger="complaint"}' in metrics


async def test_a_short_weight_complaint_is_due_in_72_hours(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    accepted_at = minutes_ago(5)
    event = accepted_event(place, category="short_weight", accepted_at=accepted_at)
    async with TopicWatcher(kafka, EVENTS) as events:
        await stack.send(event, event.data.complaint_id, COMPLAINTS)
        [created] = distinct(
            await events.wait_for(of("inspection.task.created", merchant_id=place.merchant_id))
        )
    body = created.json()
    assert body["correlationid"] == event.data.complaint_id
    assert _at(body["data"]["due_at"]) == accepted_at + timedelta(hours=72)


# -- patrols ---------------------------------------------------------------------------------

# Score versions far above any a real credit service would reach for a test merchant: one may be
# running against the shared broker and score every merchant it learns of (grade A, version 1).
V = 1_000_000


async def _patrol_tasks(stack: Stack, place: Place) -> list[dict[str, Any]]:
    admin = stack.token("admin", "*")
    r = await stack.inspection.get(f"/tasks?market_id={place.market_id}", headers=admin)
    return [t for t in r.json()["items"] if t["reason_kind"] == "patrol"]


def _due_now(stack: Stack, due_at: datetime) -> None:
    stack.clock.offset = due_at - datetime.now(UTC) + timedelta(minutes=1)


async def test_a_grade_d_plans_the_patrol_at_90_days_the_scheduler_makes_one_task_and_completing_it_re_anchors(  # noqa: E501
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    inspection = stack.inspection_app.state.inspection
    # The merchant's first registry snapshot started its plan within one interval of its grade
    # (B's 180 days while it has none) from when planning began, at the merchant's own point of
    # it (never inspected: first patrols of a seeded city spread over the interval).
    plan = await _plan(stack, place, lambda p: True)
    anchor = _at(plan["anchor"])
    days = {"A": 365, "B": 180, "C": 120, "D": 90}

    def first(grade: str) -> datetime:
        return anchor + first_patrol_offset(place.merchant_id, timedelta(days=days[grade]))

    assert _at(plan["due_at"]) == first(plan["effective_grade"])
    assert plan["first_round"] is True
    assert plan["task_id"] is None

    partition = await stack.send(
        score_event(place, grade="D", version=V + 2), place.merchant_id, SCORES
    )
    plan = await _plan(stack, place, lambda p: p["grade_version"] == V + 2)
    assert plan["grade"] == "D" and _at(plan["anchor"]) == anchor
    assert _at(plan["due_at"]) == first("D")

    # An older score (the compacted topic read again) changes nothing; a newer one is applied.
    await stack.send(
        score_event(place, grade="A", version=V + 1), place.merchant_id, SCORES, partition=partition
    )
    await stack.send(
        score_event(place, grade="D", version=V + 3), place.merchant_id, SCORES, partition=partition
    )
    plan = await _plan(stack, place, lambda p: p["grade_version"] == V + 3)
    assert plan["grade"] == "D" and _at(plan["due_at"]) == first("D")

    due_at = _at(plan["due_at"])
    inspector = stack.token("inspector", place.district, subject="inspector-patrol")
    try:
        async with TopicWatcher(kafka, EVENTS) as events:
            _due_now(stack, due_at)
            [task] = await until(lambda: _patrol_tasks(stack, place), what="a patrol task")
            task_id = task["id"]
            [created] = distinct(
                await events.wait_for(of("inspection.task.created", task_id=task_id))
            )
            # The scheduler runs on (every 0.2 s), and once more by hand: still one task.
            assert await inspection.check_patrols() == 0
            await events.drain(settle_s=1.0)
        assert [t["id"] for t in await _patrol_tasks(stack, place)] == [task_id]
        published = [
            r for r in distinct(events.records) if r.json()["data"].get("task_id") == task_id
        ]
        assert [r.json()["type"] for r in published] == ["inspection.task.created"]
        body = created.json()
        assert body["data"]["merchant_id"] == place.merchant_id
        assert body["data"]["grade"] == "D" and body["data"]["triggers"] == []
        assert body["correlationid"] == task_id and body["causationid"] is None
        created_at = _at(body["data"]["created_at"])
        assert _at(body["data"]["due_at"]) == max(due_at, created_at) + timedelta(days=7)
        plan = await _plan(stack, place, lambda p: p["task_id"] == task_id)

        r = await stack.inspection.post(f"/tasks/{task_id}/claim", headers=inspector)
        assert r.status_code == 200, r.text
        r = await stack.inspection.post(
            f"/tasks/{task_id}/complete", headers=inspector, json={"outcome": "pass"}
        )
        assert r.status_code == 200, r.text
        completed_at = _at(r.json()["completed_at"])
    finally:
        stack.clock.offset = timedelta()

    # Completing it re-anchors the plan at the inspection and frees it to come due again.
    plan = await _plan(stack, place, lambda p: p["task_id"] is None)
    assert _at(plan["anchor"]) == completed_at
    assert _at(plan["due_at"]) == completed_at + timedelta(days=90)
    assert plan["first_round"] is False  # whole intervals from inspections on
    metrics = (await stack.inspection.get("/metrics")).text
    assert (
        'sentinel_inspection_trigger_decisions_total{action="create",trigger="patrol"}' in metrics
    )
    assert 'sentinel_inspection_patrol_plan_changes_total{change="inspected"}' in metrics


async def test_a_merchant_with_an_expired_licence_is_patrolled_once_it_is_renewed(
    stack: Stack,
) -> None:
    place = await stack.place()
    inspection = stack.inspection_app.state.inspection
    admin = stack.token("admin", "*")
    await _plan(stack, place, lambda p: True)
    await stack.send(score_event(place, grade="D", version=V + 1), place.merchant_id, SCORES)
    plan = await _plan(stack, place, lambda p: p["grade_version"] == V + 1)

    async def registry_says(status: str) -> None:
        # What the registry publishes when a licence lapses or is renewed.
        merchant = inspection.directory.merchants[place.merchant_id]
        r = await stack.registry.get(f"/merchants/{place.merchant_id}")
        assert r.status_code == 200, r.text
        fields = {k: v for k, v in r.json().items() if k in MerchantUpserted.model_fields}
        data = MerchantUpserted.model_validate(
            fields
            | {
                "merchant_id": place.merchant_id,
                "status": status,
                "version": merchant.version + 1,
                "updated_at": datetime.now(UTC),
            }
        )
        event = make_event(
            service="registry",
            event_type="registry.merchant.upserted",
            version=1,
            subject=place.merchant_id,
            data=data,
        )
        await stack.send(event, place.merchant_id, "registry.merchants.v1")
        await until(
            lambda: inspection.directory.merchants[place.merchant_id].status == status,
            what=f"inspection sees the merchant {status}",
        )

    await registry_says("licence_expired")
    r = await stack.inspection.get(f"/patrol-plans/{place.merchant_id}", headers=admin)
    assert r.json()["patrolled"] is False
    try:
        _due_now(stack, _at(plan["due_at"]))
        await inspection.check_patrols()
        plan = await _plan(stack, place, lambda p: True)
        assert plan["task_id"] is None  # due, but waiting for the licence
        assert await _patrol_tasks(stack, place) == []

        await registry_says("active")
        [task] = await until(lambda: _patrol_tasks(stack, place), what="a patrol task")
        assert task["merchant_id"] == place.merchant_id and task["grade"] == "D"
        await _plan(stack, place, lambda p: p["task_id"] == task["id"])
    finally:
        stack.clock.offset = timedelta()
