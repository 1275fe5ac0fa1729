"""The credit ledger on real Kafka and Postgres: events in, adjustments once, scores published
with their cause, explained, public, assessed. In-process apps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import topics
from tests.integration.credit.conftest import (
    Stack,
    closed_complaint,
    completed,
    ledger,
    registered,
    score_of,
)
from tests.integration.inspection.conftest import risk_event
from tests.support.city import Place
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

SCORES = topics.CREDIT_SCORES.name
INSPECTION = topics.INSPECTION_EVENTS.name
COMPLAINTS = topics.COMPLAINTS_EVENTS.name


async def test_a_major_finding_costs_15_once_whatever_is_redelivered(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    event = completed(place, "major")
    marker = completed(place, "pass")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(INSPECTION, event, event.subject)
        [changed] = await scores.wait_for(score_of(place.merchant_id, score=85))
        await stack.send(INSPECTION, event, event.subject)  # redelivered
        await stack.send(INSPECTION, marker, event.subject)  # same partition, after it
        await scores.wait_for(score_of(place.merchant_id, score=87))
    body = changed.json()
    data = body["data"]
    assert changed.key == place.merchant_id.encode()
    assert (data["grade"], data["previous_score"], data["previous_grade"]) == ("B", 100, "A")
    assert data["adjustment"]["delta"] == -15
    assert data["adjustment"]["kind"] == "inspection.finding.major"
    cause = data["adjustment"]["cause"]
    assert (cause["event_id"], cause["topic"]) == (event.id, INSPECTION)
    assert body["causationid"] == event.id and body["correlationid"] == event.correlationid
    kinds = [e["kind"] for e in await ledger(stack, place)]
    assert kinds.count("inspection.finding.major") == 1
    assert sorted(kinds) == ["inspection.finding.major", "inspection.pass", "merchant.registered"]
    metrics = (await stack.credit.get("/metrics")).text
    assert 'sentinel_credit_adjustments_total{kind="inspection.finding.major"}' in metrics
    duplicates = [
        line
        for line in metrics.splitlines()
        if line.startswith("sentinel_credit_events_total{")
        and 'outcome="duplicate"' in line
        and 'topic="inspection.events.v1"' in line
    ]
    assert duplicates and float(duplicates[0].rsplit(" ", 1)[1]) >= 1
    graded = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('sentinel_credit_merchants_by_grade{grade="B"}')
    ]
    assert graded and graded[0] >= 1


async def test_a_substantiated_complaint_costs_5_a_duplicate_nothing(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    original = closed_complaint(place)
    duplicate = closed_complaint(place, duplicate_of=original.subject)
    marker = completed(place, "pass")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(COMPLAINTS, original, place.merchant_id)
        [changed] = await scores.wait_for(score_of(place.merchant_id, score=95))
        await stack.send(COMPLAINTS, duplicate, place.merchant_id)
        await stack.send(INSPECTION, marker, marker.subject)
        await until(
            lambda: ledger_kinds(stack, place, "inspection.pass"),
            what="the marker inspection reached the ledger",
        )
    assert changed.json()["data"]["adjustment"]["kind"] == "complaint.substantiated"
    entries = await ledger(stack, place)
    complaint_entries = [e for e in entries if e["kind"] == "complaint.substantiated"]
    assert [e["event_id"] for e in complaint_entries] == [original.id]


async def ledger_kinds(stack: Stack, place: Place, kind: str) -> bool:
    return any(e["kind"] == kind for e in await ledger(stack, place))


async def test_the_explanation_names_each_cause_and_the_risk_at_the_root(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    risk = risk_event(place, raised_at=datetime.now(UTC) - timedelta(minutes=30))
    await stack.send(topics.TELEMETRY_RISKS.name, risk, place.terminal_id)
    event = completed(place, "major", risk_id=risk.data.risk_id)
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(INSPECTION, event, event.subject)
        await scores.wait_for(score_of(place.merchant_id, score=75, grade="B"))
    r = await stack.credit.get(
        f"/merchants/{place.merchant_id}/credit", headers=stack.token("handler", place.district)
    )
    body = r.json()
    # The version in force now: 2026-12 since December 2026 (2026-01's numbers for these).
    assert (body["score"], body["grade"]) == (75, "B")
    assert body["policy_version"] == stack.app.state.credit.book.in_force(datetime.now(UTC)).version
    by_kind = {e["kind"]: e for e in body["ledger"]}
    assert set(by_kind) == {
        "merchant.registered",
        "inspection.finding.major",
        "food_safety_risk.confirmed",
    }
    for kind in ("inspection.finding.major", "food_safety_risk.confirmed"):
        entry = by_kind[kind]
        assert entry["event_id"] == event.id and entry["topic"] == INSPECTION
        assert entry["correlation_id"] == risk.data.risk_id
        assert entry["root"]["kind"] == "risk" and entry["root"]["id"] == risk.data.risk_id
        assert entry["root"]["rule"] == "cold_chain_excursion" and entry["counting"] is True
    elsewhere = stack.token("inspector", "another-district")
    denied = await stack.credit.get(f"/merchants/{place.merchant_id}/credit", headers=elsewhere)
    assert denied.status_code == 403
    assert (await stack.credit.get(f"/merchants/{place.merchant_id}/credit")).status_code == 401


async def test_the_public_view_shows_name_market_grade_and_last_inspection_only(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    event = completed(place, "minor")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(INSPECTION, event, event.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    directory = stack.app.state.credit.directory
    await until(
        lambda: place.merchant_id in directory.merchants and place.market_id in directory.markets,
        what="credit knows the merchant's and the market's names",
    )
    r = await stack.credit.get(f"/public/merchants/{place.merchant_id}")
    assert r.status_code == 200
    body = r.json()
    graded_at = body.pop("graded_at")
    inspected, outcome = body.pop("last_inspection"), body.pop("last_inspection_outcome")
    assert graded_at is not None and outcome == "minor"
    # The city's day of the completion (credit's time zone), not UTC's: they differ after 16:00.
    city_day = event.data.completed_at.astimezone(stack.app.state.credit.tz).date()
    assert inspected == city_day.isoformat()
    assert body == {
        "id": place.merchant_id,
        "merchant_id": place.merchant_id,
        "name": "商户",
        "market_name": "检查市场",
        "market": "检查市场",
        "market_id": place.market_id,
        "district": place.district,
        "stall_no": place.stall_no,
        "grade": "A",
        "open_rectifications": {"count": 0, "earliest_deadline": None},
        "left_on": None,  # still trading at its stall
        "objections_open": 0,
        "last_inspection_corrected": False,  # its finding was not found wrong
    }
    assert (await stack.credit.get("/public/merchants/mer_nobody")).status_code == 404


async def test_a_market_is_assessed_on_demand_and_assessments_are_published(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    for outcome in ("pass", "major"):
        event = completed(place, outcome)
        await stack.send(INSPECTION, event, event.subject)
    await until(
        lambda: ledger_kinds(stack, place, "inspection.finding.major"),
        what="both inspections applied",
    )
    directory = stack.app.state.credit.directory
    await until(lambda: place.market_id in directory.markets, what="credit knows the market")
    headers = stack.token("clerk", place.district)
    r = await stack.credit.get(f"/markets/{place.market_id}/assessment?days=7", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "market" and body["market_id"] == place.market_id
    assert body["inspection_pass_rate"] == 0.5
    assert body["merchants"] == 1 and body["grades"]["B"] == 1 and body["share_ab"] == 1.0
    assert body["rank"] == 1 and body["ranked"] == 1
    assert body["district_assessment"]["scope"] == "district"
    own = body["district_assessment"]
    assert 1 <= own["city_rank"] <= own["city_ranked"]  # the district's standing in the city
    bad = await stack.credit.get(
        f"/markets/{place.market_id}/assessment?from=2026-05-01T00:00:00", headers=headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"

    admin = stack.token("admin", "*")
    async with TopicWatcher(kafka, topics.CREDIT_ASSESSMENTS.name) as published:
        r = await stack.credit.post("/assessments?days=7", headers=admin)
        assert r.status_code == 202 and r.json()["published"] >= 2
        [mine] = await published.wait_for(lambda rec: rec.key == place.market_id.encode())
        [district] = await published.wait_for(
            lambda rec: rec.key == f"district:{place.district}".encode()
        )
    assert mine.json()["data"]["inspection_pass_rate"] == 0.5
    assert district.json()["data"]["market_id"] is None
    standing = district.json()["data"]
    assert 1 <= standing["city_rank"] <= standing["city_ranked"]
    assert mine.json()["data"]["city_rank"] is None  # markets stand within their district
    denied = await stack.credit.post("/assessments", headers=stack.token("clerk", "*"))
    assert denied.status_code == 403
