"""A failed renovation check (`registry.renovation.check_failed` on `registry.campaign.v1`, from
the campaign service) opens one market-level task for the market's operator, however often it is
delivered; the topic's other events open none. Real Kafka and Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.campaign import Check, RenovationCheckFailed
from contracts.envelope import Envelope, make_event
from contracts.events import spec
from services.inspection.domain.model import derive_id
from tests.integration.inspection.conftest import Place, Stack, distinct
from tests.support.event_samples import SAMPLES
from tests.support.kafka import Record, TopicWatcher

EVENTS = "inspection.events.v1"
CAMPAIGN = "registry.campaign.v1"
CITY = ZoneInfo("Asia/Shanghai")


def check_failed(
    campaign_id: str, market_id: str, district: str, rectify_by: date
) -> Envelope[Any]:
    """A `registry.renovation.check_failed` as the campaign service publishes it."""
    now = datetime.now(UTC).replace(microsecond=0)
    project_id = f"rnv_{uuid.uuid4().hex[:10]}"
    check = Check(
        check_id=f"chk_{uuid.uuid4().hex[:10]}",
        kind="safety",
        result="fail",
        checked_on=now.astimezone(CITY).date(),
        inspector="市住建局质安站 刘工",
        findings=["施工区与经营区未有效隔离"],
        rectify_by=rectify_by,
        recorded_by="clerk@zhifu",
        recorded_at=now,
    )
    data = RenovationCheckFailed(
        project_id=project_id,
        campaign_id=campaign_id,
        market_id=market_id,
        market_name=None,
        district=district,
        project_kind="old_market_upgrade",
        project_stage="under_construction",
        check=check,
        rectify_by=rectify_by,
        disclosure_id=f"dsc_{uuid.uuid4().hex[:10]}",
    )
    return make_event(
        service="campaign",
        event_type="registry.renovation.check_failed",
        version=1,
        subject=project_id,
        data=data,
    )


def other_events(campaign_id: str, place: Place) -> list[Envelope[Any]]:
    """The topic's other event types, about the same campaign and market."""
    out = []
    for event_type, changes in (
        ("registry.campaign.upserted", {"campaign_id": campaign_id}),
        ("registry.milestone.late", {"campaign_id": campaign_id, "market_id": place.market_id}),
        (
            "registry.renovation.upserted",
            {
                "campaign_id": campaign_id,
                "market_id": place.market_id,
                "district": place.district,
            },
        ),
    ):
        sample = SAMPLES[event_type]
        data = spec(event_type).data.model_validate(sample.model_dump(mode="json") | changes)
        subject = next(
            (getattr(data, f) for f in ("project_id", "milestone_id") if hasattr(data, f)),
            campaign_id,
        )
        out.append(
            make_event(
                service="campaign",
                event_type=event_type,
                version=spec(event_type).version,
                subject=subject,
                data=data,
            )
        )
    return out


def _created(market_id: str) -> Callable[[Record], bool]:
    def match(r: Record) -> bool:
        body = r.json()
        return body["type"] == "inspection.task.created" and body["data"]["market_id"] == market_id

    return match


async def test_a_failed_renovation_check_opens_one_market_task_due_on_its_rectify_by_day(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place(leader="赵队长")
    campaign_id = f"cmp_{uuid.uuid4().hex[:10]}"
    rectify_by = datetime.now(CITY).date() + timedelta(days=14)
    failed = check_failed(campaign_id, place.market_id, place.district, rectify_by)
    # A failed check of another market, sent last on the same partition: once its task exists,
    # everything before it (the other types, the redelivery) has been handled.
    probe_market = f"mkt_probe_{uuid.uuid4().hex[:8]}"
    probe = check_failed(campaign_id, probe_market, place.district, rectify_by)

    async with (
        TopicWatcher(kafka, EVENTS) as events,
        TopicWatcher(kafka, f"{CAMPAIGN}.dlq") as dlq,
    ):
        partition = await stack.send(other_events(campaign_id, place)[0], campaign_id, CAMPAIGN)
        for other in other_events(campaign_id, place)[1:]:
            await stack.send(other, campaign_id, CAMPAIGN, partition=partition)
        await stack.send(failed, campaign_id, CAMPAIGN, partition=partition)
        await stack.send(failed, campaign_id, CAMPAIGN, partition=partition)  # delivered twice
        await stack.send(probe, campaign_id, CAMPAIGN, partition=partition)
        await events.wait_for(_created(probe_market))
        await events.drain(settle_s=1.0)
        await dlq.drain(settle_s=0.5)

    about = [
        r for r in distinct(events.records) if r.json()["data"]["market_id"] == place.market_id
    ]
    assert [r.json()["type"] for r in about] == ["inspection.task.created"]
    body = about[0].json()
    task = body["data"]
    # Named after the event: a second delivery could only have collided with it.
    assert body["subject"] == task["task_id"] == derive_id("tsk", "renovation", failed.id)
    assert body["causationid"] == failed.id and body["correlationid"] == failed.correlationid
    assert (task["reason_kind"], task["merchant_id"], task["stall_no"]) == (
        "renovation",
        None,
        None,
    )
    assert (task["market_id"], task["district"]) == (place.market_id, place.district)
    assert task["task_force"]["leader"] == "赵队长"
    # Due when the rectify_by day ends in the city.
    end_of_day = datetime.combine(rectify_by + timedelta(days=1), time(0), tzinfo=CITY)
    assert datetime.fromisoformat(task["due_at"]) == end_of_day
    [ref] = task["triggers"]
    assert (ref["kind"], ref["id"], ref["category"], ref["event_ids"]) == (
        "renovation_check",
        failed.data.check.check_id,
        "safety",
        [failed.id],
    )
    assert not [r for r in dlq.records if r.key == campaign_id.encode() and stack.ours(r)]

    # The work list shows exactly that one task for the market: the other types made none.
    admin = stack.token("admin", "*")
    r = await stack.inspection.get(f"/tasks?market_id={place.market_id}", headers=admin)
    assert r.status_code == 200, r.text
    [listed] = r.json()["items"]
    assert (listed["id"], listed["reason_kind"], listed["state"]) == (
        task["task_id"],
        "renovation",
        "open",
    )
    metrics = (await stack.inspection.get("/metrics")).text
    assert (
        'sentinel_inspection_trigger_decisions_total{action="create",trigger="renovation"}'
        in metrics
    )
