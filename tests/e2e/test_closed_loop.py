"""The closed loop, end to end: every service as its own process on the real stack, driven only
from outside — HTTP and Kafka, no service code imported.

1. A freezer's door left open → risk → inspection task → a `major` cold-chain finding →
   rectification ordered → credit drops, the grade changes → the patrol plan follows the grade;
   the risk clears when the readings recover; every event of the chain carries the risk's id.
2. A citizen's short-weight complaint → accepted → task → finding → closed substantiated →
   credit adjustment; the public lookup shows the new grade.
3. Forged readings from a terminal pretending to be another market's → rejected; no risk, no
   task, no credit change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.e2e.conftest import City
from tests.support import identity
from tests.support.city import bearer
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.readings import Terminal
from tests.support.stalls import Stall, open_stall, send_readings


def readable(r: Record) -> dict[str, Any]:
    """The record's event, or {} for a record that is not one (another test's poison)."""
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def of_type(event_type: str, subject: str | None = None):  # type: ignore[no-untyped-def]
    def match(r: Record) -> bool:
        body = r.json()
        return body["type"] == event_type and (subject is None or body["subject"] == subject)

    return match


async def complaint_inspected(
    public: httpx.AsyncClient,
    inspections: TopicWatcher,
    stall: Stall,
    handler: dict[str, str],
    category: str,
    facts: str,
) -> tuple[str, Record]:
    """A citizen's complaint about the stall, filed (once complaints knows the market) and
    accepted by the handler; its id and the inspection task it made, as announced."""

    async def filed() -> dict[str, Any] | None:
        r = await public.post(
            "/complaints",
            json={
                "complainant": {"name": "赵女士", "phone": "13905350000"},
                "market_id": stall.market_id,
                "stall_no": "E-1",
                "category": category,
                "facts": facts,
                "request": "退还差价",
                "channel": "web",
            },
        )
        return r.json() if r.status_code == 201 else None

    cid = str((await until(filed, within=30, what="the complaint is filed"))["id"])
    r = await public.post(f"/complaints/{cid}/accept", headers=handler)
    assert r.status_code == 200, r.text
    [created] = await inspections.wait_for(
        lambda r: of_type("inspection.task.created")(r) and r.json()["correlationid"] == cid,
        timeout=60,
    )
    return cid, created


async def test_a_freezer_door_left_open_runs_the_whole_loop(city: City, kafka: str) -> None:
    stall = await open_stall(city)
    inspector = bearer("inspector", stall.district)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)
    # frozen: limit −15 °C; −5 °C is 10 °C beyond it — a major risk at once (hard limit).
    door_open = stall.freezer.series(start, [-19.0, -18.5, -5.0, -4.5, -5.0])
    async with (
        TopicWatcher(kafka, "telemetry.risks.v1") as risks,
        TopicWatcher(kafka, "inspection.events.v1") as inspections,
        TopicWatcher(kafka, "credit.scores.v1") as scores,
    ):
        await send_readings(city, door_open)
        [raised] = await risks.wait_for(
            lambda r: r.key == stall.freezer.id.encode() and of_type("telemetry.risk.raised")(r),
            timeout=60,
        )
        risk = raised.json()
        risk_id = risk["data"]["risk_id"]
        assert risk["data"]["severity"] in ("major", "critical")
        assert risk["data"]["merchant_id"] == stall.merchant_id

        [created] = await inspections.wait_for(
            lambda r: (
                of_type("inspection.task.created")(r)
                and r.json()["data"]["merchant_id"] == stall.merchant_id
            ),
            timeout=60,
        )
        task_id = created.json()["subject"]
        async with httpx.AsyncClient(base_url=city.urls["inspection"], headers=inspector) as ins:
            assert (await ins.post(f"/tasks/{task_id}/claim")).status_code == 200
            r = await ins.post(
                f"/tasks/{task_id}/complete",
                json={
                    "outcome": "major",
                    "findings": [{"code": "CCH-01", "note": "冷柜门未关"}],
                    "departments": ["market_regulation", "health"],
                },
            )
            assert r.status_code == 200, r.text
            order = r.json()["rectification"]
        completed_at = datetime.fromisoformat(r.json()["completed_at"])
        assert datetime.fromisoformat(order["deadline"]) == completed_at + timedelta(days=3)
        await inspections.wait_for(of_type("inspection.rectification.ordered"), timeout=30)

        # −15 for the major finding, −10 for the food-safety risk it confirmed: 75, grade B.
        [graded] = await scores.wait_for(
            lambda r: r.key == stall.merchant_id.encode() and r.json()["data"]["score"] == 75,
            timeout=60,
        )
        assert graded.json()["data"]["grade"] == "B"

        # The readings recover: −19 °C for more than 10 minutes clears the risk.
        recovered = stall.freezer.series(start + timedelta(minutes=5), [-19.0] * 14)
        await send_readings(city, recovered)
        await risks.wait_for(
            lambda r: r.key == stall.freezer.id.encode() and of_type("telemetry.risk.cleared")(r),
            timeout=60,
        )

    async with httpx.AsyncClient(base_url=city.urls["inspection"], headers=inspector) as ins:

        async def replanned() -> dict[str, Any] | None:
            plan = (await ins.get(f"/patrol-plans/{stall.merchant_id}")).json()
            return plan if plan.get("grade") == "B" else None

        plan = await until(replanned, within=60, what="the patrol plan follows grade B")
    assert datetime.fromisoformat(plan["due_at"]) == completed_at + timedelta(days=180)

    # One chain: every event it caused carries the first risk's id.
    merchant = stall.merchant_id

    def about_merchant(r: Record) -> bool:
        data = readable(r).get("data") or {}
        adjustment = data.get("adjustment") or {}
        return data.get("merchant_id") == merchant and adjustment.get("kind") != (
            "merchant.registered"
        )

    chain = [
        *[r for r in risks.records if r.key == stall.freezer.id.encode()],
        *[r for r in (*inspections.records, *scores.records) if about_merchant(r)],
    ]
    types = {r.json()["type"] for r in chain}
    assert {
        "telemetry.risk.raised",
        "telemetry.risk.cleared",
        "inspection.task.created",
        "inspection.task.claimed",
        "inspection.task.completed",
        "inspection.rectification.ordered",
        "credit.score.changed",
    } <= types
    assert {r.json()["correlationid"] for r in chain} == {risk_id}


async def test_a_short_weight_complaint_is_settled_and_scored(city: City, kafka: str) -> None:
    stall = await open_stall(city)
    handler = bearer("handler", stall.district)
    inspector = bearer("inspector", stall.district)
    async with (
        httpx.AsyncClient(base_url=city.urls["complaints"]) as public,
        TopicWatcher(kafka, "inspection.events.v1") as inspections,
        TopicWatcher(kafka, "credit.scores.v1") as scores,
    ):
        cid, created = await complaint_inspected(
            public, inspections, stall, handler, "short_weight", "两斤冻虾只有一斤七两"
        )
        task_id = created.json()["subject"]
        assert created.json()["data"]["reason_kind"] == "complaint"
        async with httpx.AsyncClient(base_url=city.urls["inspection"], headers=inspector) as ins:
            assert (await ins.post(f"/tasks/{task_id}/claim")).status_code == 200
            r = await ins.post(
                f"/tasks/{task_id}/complete",
                json={
                    "outcome": "major",
                    "findings": [{"code": "WGT-01", "note": "电子秤未检定"}],
                    "departments": ["market_regulation"],
                },
            )
            assert r.status_code == 200, r.text
        await scores.wait_for(
            lambda r: r.key == stall.merchant_id.encode() and r.json()["data"]["score"] == 85,
            timeout=60,
        )

        async def inspected() -> bool:
            case = (await public.get(f"/complaints/{cid}", headers=handler)).json()
            return bool(case["inspections"])

        await until(inspected, within=30, what="the complaint shows the inspection")
        r = await public.post(
            f"/complaints/{cid}/close",
            json={"outcome": "refunded", "substantiated": True, "satisfaction": 4},
            headers=handler,
        )
        assert r.status_code == 200, r.text
        [changed] = await scores.wait_for(
            lambda r: r.key == stall.merchant_id.encode() and r.json()["data"]["score"] == 80,
            timeout=60,
        )
    adjustment = changed.json()["data"]["adjustment"]
    assert adjustment["kind"] == "complaint.substantiated" and adjustment["delta"] == -5
    assert changed.json()["correlationid"] == cid
    async with httpx.AsyncClient(base_url=city.urls["credit"]) as credit:

        async def public() -> dict[str, Any] | None:
            # The name comes from credit's registry view, which may still be reading the topic.
            r = await credit.get(f"/public/merchants/{stall.merchant_id}")
            return r.json() if r.status_code == 200 else None

        public_view = await until(public, within=60, what="credit's public view of the merchant")
    assert public_view["grade"] == "B"
    # The city's day (credit's default time zone), not UTC's: they differ after 16:00 UTC.
    city_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert public_view["last_inspection"] == city_today.isoformat()
    assert public_view["last_inspection_outcome"] == "major"
    assert set(public_view) == {
        "id",
        "merchant_id",
        "name",
        "market",
        "market_name",
        "market_id",
        "district",
        "stall_no",
        "grade",
        "graded_at",
        "last_inspection",
        "last_inspection_outcome",
        "open_rectifications",
        "left_on",  # 退出经营: a day, not a person
        "objections_open",  # 信用异议 under way: a count, nothing of what or who
        "last_inspection_corrected",  # its finding found wrong on objection: a yes or no
    }
    assert public_view["objections_open"] == 0 and not public_view["last_inspection_corrected"]


async def test_forged_readings_are_rejected_and_change_nothing(city: City, kafka: str) -> None:
    victim = await open_stall(city)
    forger = await open_stall(city)
    # The forger's terminal signs with its own key and claims the victim's terminal id.
    impostor = Terminal(victim.freezer.id, forger.freezer.key.hex())
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    forged = impostor.series(start, [-2.0, -1.0, 0.0, 1.0])
    honest = victim.freezer.series(start + timedelta(minutes=10), [-19.0])
    async with (
        TopicWatcher(kafka, "telemetry.rejected.v1") as rejected,
        TopicWatcher(kafka, "telemetry.risks.v1") as risks,
    ):
        await send_readings(city, forged + honest)
        found = await rejected.wait_for(
            lambda r: r.key == victim.freezer.id.encode(), count=len(forged), timeout=60
        )
        await risks.drain(settle_s=2.0)
    assert {r.json()["data"]["reason"] for r in found} == {"signature"}
    assert not [r for r in risks.records if r.key == victim.freezer.id.encode()]
    async with city.client("inspection") as ins:
        tasks = (await ins.get(f"/tasks?market_id={victim.market_id}")).json()["items"]
    assert tasks == []
    async with city.client("credit") as credit:
        body = (await credit.get(f"/merchants/{victim.merchant_id}/credit")).json()
    assert (body["score"], body["grade"]) == (100, "A")
    assert [e["kind"] for e in body["ledger"]] == ["merchant.registered"]


async def test_a_critical_finding_found_wrong_ends_its_order_and_the_suspension(
    city: City, kafka: str
) -> None:
    """信用异议 on a critical finding, corrected: credit gives the points back, those of the
    suspension too; inspection lets the order lapse (`finding_corrected`) and withdraws its
    re-inspection; the registry lets the merchant trade again — each service on its own, from the
    topics."""
    stall = await open_stall(city)
    handler = bearer("handler", stall.district)
    inspector = bearer("inspector", stall.district)
    clerk = bearer("clerk", stall.district)
    second = identity.bearer("clerk", stall.district, who="second")
    async with (
        httpx.AsyncClient(base_url=city.urls["complaints"]) as public,
        httpx.AsyncClient(base_url=city.urls["inspection"], headers=inspector) as ins,
        httpx.AsyncClient(base_url=city.urls["credit"]) as credit,
        city.client("registry") as registry,
        TopicWatcher(kafka, "inspection.events.v1") as inspections,
    ):
        cid, created = await complaint_inspected(
            public, inspections, stall, handler, "food_safety", "冻品化冻后又冻上"
        )
        task_id = created.json()["subject"]
        assert (await ins.post(f"/tasks/{task_id}/claim")).status_code == 200
        r = await ins.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "critical", "findings": [{"code": "HYG-06", "note": "原料变质"}]},
        )
        assert r.status_code == 200, r.text
        order_id = r.json()["rectification_id"]
        order = (await ins.get(f"/rectifications/{order_id}")).json()
        assert order["suspension"] and order["reinspection_task_id"]

        async def trading(wanted: str) -> bool:
            found = await registry.get(f"/merchants/{stall.merchant_id}")
            return bool(found.json()["status"] == wanted)

        await until(lambda: trading("suspended"), within=60, what="the merchant suspended")

        async def finding() -> dict[str, Any] | None:
            r = await credit.get(f"/merchants/{stall.merchant_id}/credit", headers=clerk)
            ledger = r.json().get("ledger") or [] if r.status_code == 200 else []
            kinds = [e for e in ledger if e["kind"] == "inspection.finding.critical"]
            return kinds[0] if kinds else None

        entry = await until(finding, within=60, what="credit's entry of the critical finding")
        r = await credit.post(
            f"/merchants/{stall.merchant_id}/objections",
            json={
                "event_id": entry["event_id"],
                "kind": entry["kind"],
                "statement": "检查当日所见并非本摊位的冻品",
            },
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        r = await credit.post(
            f"/objections/{r.json()['objection_id']}/decision",
            json={"decision": "corrected", "reasoning": "市场监控录像显示冻品属隔壁摊位"},
            headers=second,
        )
        assert r.status_code == 200, r.text
        [lapsed] = await inspections.wait_for(
            of_type("inspection.rectification.lapsed", order_id), timeout=60
        )
        [withdrawn] = await inspections.wait_for(
            of_type("inspection.task.withdrawn", order["reinspection_task_id"]), timeout=60
        )
        assert lapsed.json()["data"]["reason"] == "finding_corrected"
        assert lapsed.json()["correlationid"] == cid
        assert withdrawn.json()["data"]["reason"] == "finding_corrected"
        await until(lambda: trading("active"), within=60, what="the merchant trades again")
        ended = (await ins.get(f"/rectifications/{order_id}")).json()
        assert (ended["state"], ended["lapse_reason"]) == ("lapsed", "finding_corrected")
        recheck = await ins.post(f"/rectifications/{order_id}/verify", json={"passed": True})
        assert recheck.status_code == 409, recheck.text

        # Credit gives back the finding's 30 points and the suspension's 10 it cost.
        async def restored() -> dict[str, Any] | None:
            r = await credit.get(f"/merchants/{stall.merchant_id}/credit", headers=clerk)
            body: dict[str, Any] = r.json()
            return body if body["score"] == 100 else None

        body = await until(restored, within=60, what="the merchant's credit restored")
        ledger = {e["kind"]: e for e in body["ledger"]}
        assert ledger["objection.corrected"]["delta"] == 30
        assert ledger["objection.follow_on"]["delta"] == 10
        assert ledger["merchant.suspended"]["correlation_id"] == cid
        assert not ledger["merchant.suspended"]["disputable"]
