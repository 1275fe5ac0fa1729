"""The demo campaign seeder, through the campaign service's API in-process (the city read from
the registry's): some districts on time, one late, and idempotent."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx

from deploy.local.demo_campaign import seed
from tests.integration.campaign.conftest import Api
from tests.support.registry_api import market_body


async def _district_with_markets(api: Api, markets: int) -> str:
    reg = api.registry
    code = f"d{uuid.uuid4().hex[:8]}"
    assert (await reg.post("/districts", {"code": code, "name": f"{code}区"})).status_code == 201
    for i in range(markets):
        body = market_body(code, f"市场{i}") | {"kind": "farmers" if i % 2 == 0 else "wholesale"}
        market = (await reg.post("/markets", body)).json()
        tf = await reg.put(f"/markets/{market['id']}/task-force", {"leader": "组长", "members": []})
        assert tf.status_code == 200, tf.text
    return code


async def test_the_demo_campaign_has_districts_on_time_and_one_late(api: Api) -> None:
    on_time = await _district_with_markets(api, 2)
    late = await _district_with_markets(api, 1)
    # The seeder does not wait for the campaign to learn the city: it waits itself.
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app),
            base_url="http://campaign",
            headers=api.token(),
        ) as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.registry_app),
            base_url="http://registry",
            headers=api.token(),
        ) as city,
    ):
        result = await seed(http, city, today=date.today(), districts=[on_time, late])
        again = await seed(http, city, today=date.today(), districts=[on_time, late])
    assert result["seeded"] and result["late_district"] == late
    assert again == {"seeded": False, "campaign_id": result["campaign_id"]}

    progress = (await api.get(f"/campaigns/{result['campaign_id']}/progress")).json()
    rows = {row["district"]: row for row in progress["districts"]}
    assert rows[on_time]["milestones"]["on_time"] == 3 + 2 * 2
    assert rows[on_time]["milestones"]["missed_deadline"] == 0
    # Late: the leadership structure and, once flagged, the market's task force (the registry
    # has it); missing: the deployment meeting and the renovation plan's approval.
    assert rows[late]["milestones"] == {
        "expected": 5,
        "on_time": 1,
        "late": 2,
        "missing": 2,
        "overdue": 2,
        "pending": 0,
        "missed_deadline": 4,
    }
    assert rows[on_time]["renovations"]["by_stage"] == {
        "planned": 0,
        "approved": 0,
        "under_construction": 1,
        "accepted": 1,
    }
    assert rows[on_time]["renovations"]["committed"]["fen"]["fiscal"] == 2 * 120_000_000
    assert rows[late]["renovations"]["committed"]["total_fen"] == 0
    assert rows[late]["renovations"]["budget"]["fen"]["special_fund"] == 35_000_050

    public = await api.client.get(f"/public/disclosures?campaign_id={result['campaign_id']}")
    kinds = sorted((d["kind"], d["district"], d["state"]) for d in public.json()["items"])
    assert kinds == [
        ("failed_check", on_time, "open"),
        ("late_milestone", late, "open"),
        ("late_milestone", late, "open"),
        ("late_milestone", late, "resolved"),
        ("late_milestone", late, "resolved"),
    ]
    # The failed safety check is recent: its 15 days to rectify have not run out, so the task it
    # opens is not months overdue on the demo's first morning.
    [failed] = [d for d in public.json()["items"] if d["kind"] == "failed_check"]
    assert failed["overdue"] is False, failed

    # The late district's market has the task force the registry shows: its milestone reads as
    # done, late, on the 30th day, and the progress view counts the task force alike.
    listed = await api.get(f"/campaigns/{result['campaign_id']}/milestones")
    task_force = [
        m
        for m in listed.json()["items"]
        if m["district"] == late and m["kind"] == "task_force_set_up"
    ]
    mobilised = date.fromisoformat(result["mobilisation_date"])
    assert [(m["status"], m["achieved_on"]) for m in task_force] == [
        ("late", (mobilised + timedelta(days=30)).isoformat())
    ]
    assert rows[late]["markets"] == {"total": 1, "with_task_force": 1}
