"""Inspection's gauges of open work on real Kafka and Postgres: `sentinel_inspection_tasks`
{district, state} follows a task from open to claimed to overdue, and
`sentinel_inspection_rectifications_overdue`{district} counts an order past its deadline; a
restarted inspection (a fresh registry, no periodic refresh for an hour) shows the same numbers,
counted from the database at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.inspection.app import build as build_inspection
from tests.integration.inspection.conftest import Stack
from tests.support.poll import until

STATES = ("open", "claimed", "overdue")


async def gauges(client: httpx.AsyncClient, district: str) -> dict[str, float]:
    """The district's task gauge by state and its overdue rectifications, from `/metrics`."""
    text = (await client.get("/metrics")).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("district") != district:
                continue
            if sample.name == "sentinel_inspection_tasks":
                found[sample.labels["state"]] = sample.value
            elif sample.name == "sentinel_inspection_rectifications_overdue":
                found["rectifications_overdue"] = sample.value
    return found


def expect(open_: float, claimed: float, overdue: float, orders: float) -> dict[str, float]:
    return {"open": open_, "claimed": claimed, "overdue": overdue, "rectifications_overdue": orders}


async def test_tasks_by_state_and_overdue_rectifications_follow_the_work_and_survive_a_restart(
    stack: Stack,
) -> None:
    place = await stack.place()
    li = stack.token("inspector", place.district, subject="inspector-li")

    async def settles_at(want: dict[str, float], what: str) -> None:
        async def check() -> bool:
            return await gauges(stack.inspection, place.district) == want

        await until(check, within=20, what=what)

    # A major risk: one open task.
    raised_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    await stack.risk(place, raised_at=raised_at)
    await settles_at(expect(1, 0, 0, 0), "one open task")
    [task] = (await stack.inspection.get("/tasks", headers=li)).json()["items"]

    # Claimed: no longer open.
    r = await stack.inspection.post(f"/tasks/{task['id']}/claim", headers=li)
    assert r.status_code == 200, r.text
    await settles_at(expect(0, 1, 0, 0), "the task claimed")

    # Past its due time: the clock marks it overdue.
    due = datetime.fromisoformat(task["due_at"])
    stack.clock.offset = due - datetime.now(UTC) + timedelta(minutes=1)
    try:
        await settles_at(expect(0, 0, 1, 0), "the task overdue")
    finally:
        stack.clock.offset = timedelta()

    # Completed with a major finding: the task is done, its rectification order runs 3 days.
    r = await stack.inspection.post(
        f"/tasks/{task['id']}/complete",
        headers=li,
        json={
            "outcome": "major",
            "findings": [{"code": "CCH-01", "note": "11 °C in the display fridge"}],
            "departments": ["market_regulation"],
        },
    )
    assert r.status_code == 200, r.text
    await settles_at(expect(0, 0, 0, 0), "the task completed")
    [order] = (await stack.inspection.get("/rectifications", headers=li)).json()["items"]

    # Past the order's deadline: one overdue rectification (and perhaps a re-inspection task).
    deadline = datetime.fromisoformat(order["deadline"])
    stack.clock.offset = deadline - datetime.now(UTC) + timedelta(minutes=1)
    try:

        async def order_overdue() -> bool:
            found = await gauges(stack.inspection, place.district)
            return found.get("rectifications_overdue") == 1

        await until(order_overdue, within=20, what="the rectification overdue")
    finally:
        stack.clock.offset = timedelta()

    # What the database holds, through the API.
    unfinished = [
        t
        for state in ("open", "claimed")
        for t in (await stack.inspection.get(f"/tasks?state={state}", headers=li)).json()["items"]
    ]
    truth = {state: 0.0 for state in STATES}
    for t in unfinished:
        truth["overdue" if t["overdue_at"] else t["state"]] += 1
    truth["rectifications_overdue"] = 1.0
    await settles_at(truth, "the running service agrees with the API")

    # A restart: a new app on the same schema, whose periodic refresh would not come for an
    # hour; its gauges are counted from the database when it starts.
    settings = stack.inspection_app.state.service.settings.model_copy(
        update={"gauge_refresh_interval_s": 3600.0}
    )
    again = build_inspection(settings, now=stack.clock)
    await again.state.service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=again), base_url="http://restarted"
        ) as restarted:
            assert await gauges(restarted, place.district) == truth
    finally:
        await again.state.service.stop()
