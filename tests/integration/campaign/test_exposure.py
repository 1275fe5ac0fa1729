"""Public exposure with deadline rectification (曝光 / 舆论监督, 限期整改) on real Kafka and
Postgres: an exposed problem is public on the disclosure feed until a re-check finds it fixed, a
late one is flagged once by the campaign clock, and a bad request names its field and changes
nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import topics
from contracts.campaign import DisclosureUpserted
from services.runtime.messaging import Delivery
from tests.integration.campaign.conftest import Api
from tests.support.kafka import Record, TopicWatcher
from tests.support.registry_api import market_body

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
DISCLOSURES = topics.REGISTRY_DISCLOSURES.name


def city_today() -> Any:
    return datetime.now(SHANGHAI).date()


async def _market(api: Api) -> tuple[str, dict[str, Any]]:
    """A new district with a market the campaign knows."""
    code = f"x{uuid.uuid4().hex[:8]}"
    r = await api.registry.post("/districts", {"code": code, "name": f"{code}区"})
    assert r.status_code == 201, r.text
    r = await api.registry.post("/markets", market_body(code, name="曝光农贸市场"))
    assert r.status_code == 201, r.text
    market: dict[str, Any] = r.json()
    await api.knows(market)
    return code, market


def exposure_body(market_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market_id": market_id,
        "source": "press",
        "reference": "烟台日报 第 4 版",
        "title": "水产区污水横流",
        "details": ["排水沟堵塞", "地面积水"],
        "rectify_by": (city_today() + timedelta(days=7)).isoformat(),
    }
    return body | changes


def _parse(rec: Record) -> Any:
    return Delivery(rec.topic, rec.partition, rec.offset, rec.key, rec.value).envelope(
        DisclosureUpserted
    )


def _of(disclosure_id: str) -> Any:
    return lambda rec: rec.key == disclosure_id.encode()


def _flagged(api: Api) -> float:
    value = api.app.state.service.metrics.registry.get_sample_value(
        "sentinel_campaign_disclosures_total", {"kind": "exposure", "change": "flagged_late"}
    )
    return value or 0.0


async def _public_open(api: Api, market_id: str) -> list[str]:
    r = await api.client.get(
        "/public/disclosures", params={"market_id": market_id, "state": "open"}
    )
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()["items"]]


async def test_an_exposure_is_public_until_verified_fixed(api: Api, kafka: str) -> None:
    district, market = await _market(api)
    async with TopicWatcher(kafka, DISCLOSURES) as feed:
        r = await api.post("/exposures", exposure_body(market["id"]), "clerk", district)
        assert r.status_code == 201, r.text
        exposure = r.json()
        did = exposure["id"]
        assert (exposure["kind"], exposure["state"], exposure["exposure_source"]) == (
            "exposure",
            "open",
            "press",
        )
        assert exposure["title"] == "曝光农贸市场：水产区污水横流"
        assert exposure["rectify_by"] == (city_today() + timedelta(days=7)).isoformat()
        assert exposure["recorded_by"]["subject"] and exposure["verifications"] == []
        [opened] = await feed.wait_for(_of(did))
        event = _parse(opened)
        assert (event.subject, event.source) == (did, "/sentinel/campaign")
        data = event.data
        assert (data.kind, data.state, data.market_id, data.district) == (
            "exposure",
            "open",
            market["id"],
            district,
        )
        assert (data.exposure_source, data.exposure_reference) == ("press", "烟台日报 第 4 版")
        assert data.details == ["排水沟堵塞", "地面积水"]

        # Public on the disclosure feed's open list, and the district's staff list it.
        assert did in await _public_open(api, market["id"])
        listed = await api.get(f"/exposures?state=open&district={district}", "inspector", district)
        assert [e["id"] for e in listed.json()["items"]] == [did]

        # Re-checked, not fixed: still open, and the public reads that it was not.
        r = await api.post(
            f"/exposures/{did}/verify",
            {"fixed": False, "note": "排水沟仍堵塞"},
            "inspector",
            district,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["version"]) == ("open", 2)
        assert r.json()["verifications"][0]["fixed"] is False
        assert did in await _public_open(api, market["id"])

        # Fixed: resolved, off the open list, on the resolved one.
        r = await api.post(
            f"/exposures/{did}/verify", {"fixed": True, "note": "已疏通"}, "clerk", district
        )
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["version"]) == ("resolved", 3)
        [_, kept, resolved] = await feed.wait_for(_of(did), count=3)
        assert _parse(kept).data.state == "open"
        assert _parse(kept).data.details[-1].endswith("未整改到位（排水沟仍堵塞）")
        assert _parse(resolved).data.state == "resolved"
        assert _parse(resolved).data.resolved_at is not None
        assert did not in await _public_open(api, market["id"])
        r = await api.client.get(
            "/public/disclosures",
            params={"market_id": market["id"], "state": "resolved", "kind": "exposure"},
        )
        assert [d["id"] for d in r.json()["items"]] == [did]

        # Verifying it again is a conflict, and publishes nothing.
        again = await api.post(f"/exposures/{did}/verify", {"fixed": True}, "clerk", district)
        assert again.status_code == 409 and again.json()["errors"][0]["field"] == "state"
        await feed.drain(settle_s=0.5)
    assert len([r for r in feed.records if _of(did)(r)]) == 3


async def test_a_late_exposure_is_flagged_once_by_the_clock(
    api: Api, kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    district, market = await _market(api)
    campaigns = api.campaigns
    today = city_today()
    body = exposure_body(market["id"], source="public", rectify_by=today.isoformat())
    r = await api.post("/exposures", body, "clerk", district)
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    before = _flagged(api)
    # The exposure's own disclosure (version 1) is on the topic before the watcher starts: the
    # watcher is to see what the clock publishes, not the relay catching up (CI run: it saw v1).
    await api.app.state.service.drain_outbox()
    async with TopicWatcher(kafka, DISCLOSURES) as feed:
        # On its deadline day it is not late.
        await campaigns.check_clock()
        assert (await api.get(f"/exposures/{did}", "clerk", district)).json()[
            "late_flagged_at"
        ] is None
        # The day after, the clock flags it — once, however often it runs.
        later = datetime.now(SHANGHAI) + timedelta(days=1)
        monkeypatch.setattr(campaigns, "now", lambda: later)
        assert await campaigns.check_clock() >= 1
        assert await campaigns.check_clock() == 0
        [late] = await feed.wait_for(_of(did))
        event = _parse(late)
        assert (event.data.state, event.data.version) == ("open", 2)
        assert event.data.details[-1] == f"整改期限{today.isoformat()}已过，尚未整改到位"
        await feed.drain(settle_s=0.5)
    assert len([r for r in feed.records if _of(did)(r)]) == 1
    assert _flagged(api) >= before + 1
    shown = (await api.get(f"/exposures/{did}", "leader", district)).json()
    assert shown["late_flagged_at"] is not None and shown["overdue"] is True
    listed = await api.get(f"/exposures?district={district}", "clerk", district)
    assert [(e["id"], e["overdue"]) for e in listed.json()["items"]] == [(did, True)]
    # Still public, still open: being late resolves nothing.
    assert did in await _public_open(api, market["id"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source": "radio"}, "source"),
        ({"source": None}, "source"),
        ({"reference": ""}, "reference"),
        ({"title": "  "}, "title"),
        ({"details": ["ok", ""]}, "details.1"),
        ({"rectify_by": "2020-01-01"}, "rectify_by"),
        ({"rectify_by": "soon"}, "rectify_by"),
        ({"market_id": "mkt_nope"}, "market_id"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_a_bad_exposure_names_the_field_and_changes_nothing(
    api: Api, kafka: str, changes: dict[str, Any], field: str
) -> None:
    district, market = await _market(api)
    async with TopicWatcher(kafka, DISCLOSURES) as feed:
        body = exposure_body(market["id"]) | changes
        r = await api.post("/exposures", body, "clerk", district)
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.text
        await feed.drain(settle_s=0.5)
    assert not [rec for rec in feed.records if rec.json()["data"].get("market_id") == market["id"]]
    listed = await api.get(f"/exposures?market_id={market['id']}", "clerk", district)
    assert listed.json()["items"] == []


async def test_every_problem_of_an_exposure_is_one_422(api: Api) -> None:
    # A blank title (once refused alone by the request's schema) and a deadline already past
    # (the rules'), a source and a detail line left blank: one answer names each field.
    district, market = await _market(api)
    body = exposure_body(
        market["id"], source=None, title=" ", details=["排水沟堵塞", ""], rectify_by="2020-01-01"
    )
    r = await api.post("/exposures", body, "clerk", district)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "source",
        "title",
        "details.1",
        "rectify_by",
    ]
    listed = await api.get(f"/exposures?market_id={market['id']}", "clerk", district)
    assert listed.json()["items"] == []


async def test_a_bad_verification_names_the_field_and_changes_nothing(api: Api) -> None:
    district, market = await _market(api)
    r = await api.post("/exposures", exposure_body(market["id"]), "clerk", district)
    did = r.json()["id"]
    for body, field in (
        ({"fixed": "yes"}, "fixed"),
        ({}, "fixed"),
        ({"fixed": False}, "note"),
        ({"fixed": False, "note": "  "}, "note"),
    ):
        r = await api.post(f"/exposures/{did}/verify", body, "clerk", district)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    shown = (await api.get(f"/exposures/{did}", "clerk", district)).json()
    assert (shown["state"], shown["version"], shown["verifications"]) == ("open", 1, [])
    missing = await api.post("/exposures/dsc_nope/verify", {"fixed": True}, "clerk", district)
    assert missing.status_code == 404


async def test_only_the_districts_clerks_and_inspectors_record_and_verify(api: Api) -> None:
    district, market = await _market(api)
    body = exposure_body(market["id"])
    for role, where in (("leader", district), ("handler", district), ("clerk", "elsewhere")):
        r = await api.post("/exposures", body, role, where)
        assert r.status_code == 403, (role, where, r.text)
    r = await api.post("/exposures", body, "inspector", district)
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    r = await api.post(f"/exposures/{did}/verify", {"fixed": True}, "clerk", "elsewhere")
    assert r.status_code == 403
    # Another district's token reads its own district only.
    other = await api.get(f"/exposures?district={district}", "clerk", "elsewhere")
    assert other.status_code == 403
    assert (await api.get(f"/exposures/{did}", "clerk", "elsewhere")).status_code == 403
    mine = await api.get("/exposures", "clerk", district)
    assert [e["id"] for e in mine.json()["items"]] == [did]
