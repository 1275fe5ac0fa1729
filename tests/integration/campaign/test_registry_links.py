"""What passes between the campaign and the registry, on real Kafka and Postgres, each exactly
once: a renovation project's stages reach the registry's market snapshot (`renovation_status`),
and a task force registered at the registry records the campaign's `task_force_set_up`
milestone."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import topics
from contracts.registry import MarketUpserted
from services.runtime.messaging import Delivery
from tests.integration.campaign.conftest import Api
from tests.support.kafka import Record, TopicWatcher, redeliver
from tests.support.registry_api import market_body

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _city(api: Api, task_force: bool) -> tuple[str, dict[str, Any]]:
    district = f"d{uuid.uuid4().hex[:8]}"
    r = await api.registry.post("/districts", {"code": district, "name": f"{district}区"})
    assert r.status_code == 201, r.text
    market = (await api.registry.post("/markets", market_body(district))).json()
    if task_force:
        r = await api.registry.put(
            f"/markets/{market['id']}/task-force", {"leader": "张组长", "members": []}
        )
        assert r.status_code == 200, r.text
        market = r.json()
    await api.knows(market)
    return district, market


async def _campaign(api: Api, district: str) -> str:
    """A campaign mobilised yesterday (its deadlines still ahead), created now."""
    mob = datetime.now(SHANGHAI).date() - timedelta(days=1)
    r = await api.post(
        "/campaigns",
        {
            "name": "专项行动",
            "mobilisation_date": mob.isoformat(),
            "districts": [district],
            # (by default the deployment meeting is due on 30 April)
            "deadlines": {"deployment_meeting_held": {"days_after_mobilisation": 30}},
        },
    )
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    return cid


def _market_snapshot(market_id: str, after_version: int):  # type: ignore[no-untyped-def]
    def match(rec: Record) -> bool:
        return rec.key == market_id.encode() and rec.json()["data"]["version"] > after_version

    return match


async def test_renovation_stages_reach_the_registrys_market_snapshot_once(
    api: Api, kafka: str
) -> None:
    district, market = await _city(api, task_force=True)
    cid = await _campaign(api, district)
    mid, first = market["id"], market["version"]
    body = {
        "campaign_id": cid,
        "market_id": mid,
        "kind": "old_market_upgrade",
        "title": "幸福农贸市场提升改造工程",
        "scope_items": [{"area": "hygiene", "description": "增设洗手池"}],
        "budget": [{"source": "fiscal", "amount_fen": 100_000}],
    }
    async with (
        TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as markets,
        TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as campaign,
    ):
        r = await api.post("/renovations", body, "clerk", district)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        [planned] = await markets.wait_for(_market_snapshot(mid, first))
        assert planned.json()["data"]["renovation_status"] == "planned"
        got = (await api.registry.get(f"/markets/{mid}")).json()
        assert (got["renovation_status"], got["version"]) == ("planned", first + 1)

        stage = f"/renovations/{pid}/stage"
        for step in ("approved", "under_construction"):
            r = await api.post(stage, {"stage": step}, "clerk", district)
            assert r.status_code == 200, r.text
        [building] = await campaign.wait_for(
            lambda rec: (
                rec.json()["type"] == "registry.renovation.upserted"
                and rec.json()["data"]["stage"] == "under_construction"
                and rec.json()["subject"] == pid
            )
        )
        [_, in_progress] = await markets.wait_for(_market_snapshot(mid, first), count=2)
        assert in_progress.json()["data"]["renovation_status"] == "in_progress"

        # Kafka delivers the stage change again: the registry has handled it already.
        await redeliver(kafka, building)
        r = await api.post(stage, {"stage": "accepted"}, "clerk", district)
        assert r.status_code == 200, r.text
        await markets.wait_for(_market_snapshot(mid, first), count=3)
        await markets.drain(settle_s=1.0)

    snapshots = [
        Delivery(r.topic, r.partition, r.offset, r.key, r.value).envelope(MarketUpserted).data
        for r in markets.records
        if _market_snapshot(mid, first)(r)
    ]
    assert [(s.version, s.renovation_status) for s in snapshots] == [
        (first + 1, "planned"),
        (first + 2, "in_progress"),
        (first + 3, "completed"),
    ]
    assert snapshots[-1].task_force is not None  # the rest of the market is as it was
    event_id = building.json()["id"]
    pool = api.registry_app.state.service.pool
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id) == 1
    got = (await api.registry.get(f"/markets/{mid}")).json()
    assert (got["renovation_status"], got["version"]) == ("completed", first + 3)


async def test_a_task_force_registered_at_the_registry_records_the_campaign_milestone_once(
    api: Api, kafka: str
) -> None:
    district, market = await _city(api, task_force=False)
    cid = await _campaign(api, district)
    mid = market["id"]
    today = datetime.now(SHANGHAI).date()

    def recorded_here(rec: Record) -> bool:
        event = rec.json()
        return (
            event["type"] == "registry.milestone.recorded"
            and event["data"]["campaign_id"] == cid
            and event["data"]["market_id"] == mid
        )

    async with (
        TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as markets,
        TopicWatcher(kafka, topics.REGISTRY_CAMPAIGN.name) as campaign,
    ):
        r = await api.registry.put(
            f"/markets/{mid}/task-force", {"leader": "王组长", "members": ["李"]}, "clerk", district
        )
        assert r.status_code == 200, r.text
        staffed = r.json()
        [snapshot] = await markets.wait_for(_market_snapshot(mid, market["version"]))
        [event] = await campaign.wait_for(recorded_here)
        data = event.json()["data"]
        assert (data["kind"], data["achieved_on"], data["on_time"], data["version"]) == (
            "task_force_set_up",
            today.isoformat(),
            True,
            1,
        )
        # Recorded in the name of the clerk who registered the task force.
        assert data["actor"]["subject"] == staffed["updated_actor"]["subject"]
        assert event.json()["source"] == "/sentinel/campaign"

        # The same snapshot again, then a change of the task force's members: the milestone
        # stays as it was recorded.
        await redeliver(kafka, snapshot)
        r = await api.registry.put(
            f"/markets/{mid}/task-force",
            {"leader": "王组长", "members": ["李", "赵"]},
            "clerk",
            district,
        )
        assert r.status_code == 200, r.text
        await api.knows(r.json())
        await campaign.drain(settle_s=1.0)

    assert len([rec for rec in campaign.records if recorded_here(rec)]) == 1
    items = (await api.get(f"/campaigns/{cid}/milestones", "clerk", district)).json()["items"]
    [milestone] = [m for m in items if m["market_id"] == mid]
    assert (milestone["kind"], milestone["version"], milestone["status"]) == (
        "task_force_set_up",
        1,
        "on_time",
    )
    progress = (await api.get(f"/campaigns/{cid}/progress", "clerk", district)).json()
    [row] = progress["districts"]
    assert row["name"] == f"{district}区"  # from the market's snapshot
    assert row["markets"] == {"total": 1, "with_task_force": 1}


async def test_a_task_force_set_before_the_campaign_records_nothing(api: Api) -> None:
    district, market = await _city(api, task_force=True)
    cid = await _campaign(api, district)
    # The task force's snapshot was taken into the view before; a later snapshot (another
    # change of the market) does not make it new.
    r = await api.registry.put(
        f"/markets/{market['id']}/task-force", {"leader": "另一组长", "members": []}
    )
    assert r.status_code == 200, r.text
    await api.knows(r.json())
    items = (await api.get(f"/campaigns/{cid}/milestones")).json()["items"]
    assert [m for m in items if m["market_id"] == market["id"]] == []
