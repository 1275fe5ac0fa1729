"""A merchant leaves its stall (退出经营) through the registry's API: inspection lets its open
rectification order lapse, withdraws its tasks still to do and opens none for a complaint about
it accepted afterwards. Real Kafka and
Postgres, the registry and inspection in process."""

from __future__ import annotations

from dataclasses import replace

from contracts.inspection import RECTIFICATION_LAPSED, TASK_CREATED, TASK_WITHDRAWN
from tests.integration.inspection.conftest import Stack, distinct, minutes_ago
from tests.integration.inspection.upstream import accepted_event
from tests.support.city import Place
from tests.support.kafka import TopicWatcher, of
from tests.support.poll import until

EVENTS = "inspection.events.v1"
COMPLAINTS = "complaints.events.v1"
IGNORED = 'sentinel_inspection_trigger_decisions_total{action="ignore",trigger="complaint"}'


async def _ignored(stack: Stack) -> float:
    """How many complaints inspection has passed over so far."""
    for line in (await stack.inspection.get("/metrics")).text.splitlines():
        if line.startswith(IGNORED + " "):
            return float(line.split()[-1])
    return 0.0


async def test_leaving_ends_the_merchant_s_open_work_and_a_later_complaint_opens_none(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    clerk = stack.token("clerk", place.district)
    inspector = stack.token("inspector", place.district)
    found = accepted_event(place, category="food_safety", accepted_at=minutes_ago(60))
    first = accepted_event(place, category="food_safety", accepted_at=minutes_ago(30))
    async with TopicWatcher(kafka, EVENTS) as events:
        # An inspection that ordered rectification: the order is open when the merchant leaves.
        await stack.send(found, found.data.complaint_id, COMPLAINTS)
        [inspected] = distinct(
            await events.wait_for(of(TASK_CREATED, merchant_id=place.merchant_id))
        )
        inspected_id = inspected.json()["subject"]
        r = await stack.inspection.post(f"/tasks/{inspected_id}/claim", headers=inspector)
        assert r.status_code == 200, r.text
        r = await stack.inspection.post(
            f"/tasks/{inspected_id}/complete",
            json={"outcome": "major", "findings": [{"code": "CCH-01"}]},
            headers=inspector,
        )
        assert r.status_code == 200, r.text
        order_id = r.json()["rectification_id"]
        # A task still to do, claimed.
        await stack.send(first, first.data.complaint_id, COMPLAINTS)
        made = await events.wait_for(of(TASK_CREATED, merchant_id=place.merchant_id), count=2)
        [task_id] = {r.json()["subject"] for r in made} - {inspected_id}
        r = await stack.inspection.post(f"/tasks/{task_id}/claim", headers=inspector)
        assert r.status_code == 200, r.text

        r = await stack.registry.post(
            f"/merchants/{place.merchant_id}/leave",
            json={"reason": "租约到期，不再续租"},
            headers=clerk,
        )
        assert r.status_code == 200, r.text
        [withdrawn] = distinct(await events.wait_for(of(TASK_WITHDRAWN, task_id=task_id)))
        [lapsed] = distinct(
            await events.wait_for(of(RECTIFICATION_LAPSED, rectification_id=order_id))
        )
    assert (lapsed.json()["data"]["state"], lapsed.json()["data"]["reason"]) == (
        "lapsed",
        "merchant_left",
    )
    order = (await stack.inspection.get(f"/rectifications/{order_id}", headers=inspector)).json()
    assert (order["state"], order["lapse_reason"]) == ("lapsed", "merchant_left")
    recheck = await stack.inspection.post(
        f"/rectifications/{order_id}/verify", json={"passed": True}, headers=inspector
    )
    assert recheck.status_code == 409, recheck.text
    body = withdrawn.json()
    assert body["subject"] == task_id and body["correlationid"] == first.data.complaint_id
    assert (body["data"]["state"], body["data"]["reason"]) == ("withdrawn", "merchant_left")
    task = (await stack.inspection.get(f"/tasks/{task_id}", headers=inspector)).json()
    assert (task["state"], task["withdrawal_reason"]) == ("withdrawn", "merchant_left")
    done = await stack.inspection.post(
        f"/tasks/{task_id}/complete",
        json={"outcome": "pass", "findings": [], "departments": ["market_regulation"]},
        headers=inspector,
    )
    assert done.status_code == 409, done.text

    # A complaint about it accepted after it left: passed over, no task.
    await _passed_over_opening_no_task(stack, place, inspector)


async def _passed_over_opening_no_task(
    stack: Stack, about: Place, inspector: dict[str, str]
) -> None:
    """A complaint about `about` accepted now: inspection passes it over, and no task about the
    market (or its merchant, if named) is open."""
    before = await _ignored(stack)
    later = accepted_event(about, category="price", accepted_at=minutes_ago(1))
    await stack.send(later, later.data.complaint_id, COMPLAINTS)

    async def passed_over() -> bool:
        return await _ignored(stack) > before

    await until(passed_over, what="inspection passes over the later complaint")
    r = await stack.inspection.get("/tasks", headers=inspector, params={"state": "open"})
    key, value = (
        ("merchant_id", about.merchant_id) if about.merchant_id else ("market_id", about.market_id)
    )
    assert [t for t in r.json()["items"] if t[key] == value] == []


async def test_closing_the_market_withdraws_its_own_task(stack: Stack, kafka: str) -> None:
    """停业 through the registry's API, once its merchant left: the task about the market itself
    (a complaint about the market, no merchant named) is withdrawn."""
    place = await stack.place()
    clerk = stack.token("clerk", place.district)
    inspector = stack.token("inspector", place.district)
    about_market = replace(place, merchant_id=None, stall_no=None)
    complaint = accepted_event(about_market, category="hygiene", accepted_at=minutes_ago(20))
    async with TopicWatcher(kafka, EVENTS) as events:
        await stack.send(complaint, complaint.data.complaint_id, COMPLAINTS)
        [created] = distinct(await events.wait_for(of(TASK_CREATED, market_id=place.market_id)))
        task_id = created.json()["subject"]
        assert created.json()["data"]["merchant_id"] is None
        left = await stack.registry.post(
            f"/merchants/{place.merchant_id}/leave", json={"reason": "转让"}, headers=clerk
        )
        assert left.status_code == 200, left.text
        r = await stack.registry.post(
            f"/markets/{place.market_id}/close", json={"reason": "整体搬迁"}, headers=clerk
        )
        assert r.status_code == 200, r.text
        [withdrawn] = distinct(await events.wait_for(of(TASK_WITHDRAWN, task_id=task_id)))
    assert withdrawn.json()["data"]["reason"] == "market_closed"
    task = (await stack.inspection.get(f"/tasks/{task_id}", headers=inspector)).json()
    assert (task["state"], task["withdrawal_reason"]) == ("withdrawn", "market_closed")

    # A complaint about the market accepted after it closed: passed over, no task.
    await _passed_over_opening_no_task(stack, about_market, inspector)
