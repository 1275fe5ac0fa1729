"""Issue 17 in credit, on real Kafka and Postgres: a decided joint enforcement case on
`campaign.enforcement.v1` lowers the merchant's score once, with the case as the cause; the
operators' duties on `campaign.duties.v1` lower a market's assessment and its rank."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import topics
from tests.integration.credit.conftest import (
    Stack,
    completed,
    ledger,
    recorded,
    registered,
    score_of,
)
from tests.support.city import Place
from tests.support.credit_codes import fresh_credit_code
from tests.support.credit_events import decided_event, duties_event
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

SCORES = topics.CREDIT_SCORES.name
ENFORCEMENT = topics.CAMPAIGN_ENFORCEMENT.name
DUTIES = topics.CAMPAIGN_DUTIES.name


async def test_a_decided_case_lowers_the_score_once_with_the_case_as_cause(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    event = decided_event(place, "fine", root="cmp_root_1")
    again = decided_event(place, "suspension", case_id=event.subject)  # the case decided again
    operator = decided_event(place, "warning", merchant=False)  # against the operator
    marker = completed(place, "pass")
    async with TopicWatcher(kafka, SCORES) as scores:
        sent = await stack.producer.send_and_wait(
            ENFORCEMENT, event.to_json(), key=event.subject.encode()
        )
        [changed] = await scores.wait_for(score_of(place.merchant_id, score=85))
        for other in (event, again, operator):  # a redelivery, a second decision, no merchant
            await stack.send(ENFORCEMENT, other, other.subject)
        await stack.send(topics.INSPECTION_EVENTS.name, marker, marker.subject)
        await scores.wait_for(score_of(place.merchant_id, score=87))
    # This service read all three: one duplicate, one case decided again, one without merchant.
    await until(
        lambda: _counted(stack, duplicate=1, ignored=1, applied=2),
        what="the redelivery, the second decision and the operator's case were read",
    )
    await until(lambda: recorded(stack.credit, place, "inspection.pass"), what="the marker")
    body = changed.json()
    data = body["data"]
    assert (data["grade"], data["previous_score"]) == ("B", 100)
    adjustment = data["adjustment"]
    assert (adjustment["kind"], adjustment["delta"]) == ("enforcement.fine", -15)
    assert adjustment["policy_version"] == "2026-12"
    assert adjustment["cause"] == {
        "event_id": event.id,
        "event_type": "campaign.enforcement.decided",
        "topic": ENFORCEMENT,
        "partition": sent.partition,
        "offset": sent.offset,
        "correlation_id": "cmp_root_1",
    }
    assert body["causationid"] == event.id and body["correlationid"] == "cmp_root_1"

    # The explanation names the case as the cause of the drop.
    entries = await ledger(stack, place)
    enforcement = [e for e in entries if e["kind"].startswith("enforcement.")]
    assert len(enforcement) == 1
    [entry] = enforcement
    assert (entry["event_id"], entry["event_type"], entry["topic"]) == (
        event.id,
        "campaign.enforcement.decided",
        ENFORCEMENT,
    )
    assert (entry["partition"], entry["offset"]) == (sent.partition, sent.offset)
    assert entry["correlation_id"] == "cmp_root_1" and entry["delta"] == -15
    assert f"case {event.subject} from complaint cmp_9: fine ¥5,000.00" in entry["reason"]
    assert entry["counting"] is True
    metrics = (await stack.credit.get("/metrics")).text
    assert 'sentinel_credit_adjustments_total{kind="enforcement.fine"}' in metrics


async def _counted(stack: Stack, **outcomes: int) -> bool:
    """Whether this service counted at least so many enforcement events of each outcome."""
    metrics = (await stack.credit.get("/metrics")).text
    seen: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("sentinel_credit_events_total{") and f'topic="{ENFORCEMENT}"' in line:
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            seen[outcome] = float(line.rsplit(" ", 1)[1])
    return all(seen.get(k, 0) >= n for k, n in outcomes.items())


# -- duties ------------------------------------------------------------------------------------


async def neighbour(stack: Stack, place: Place, kafka: str) -> Place:
    """A second market in the place's district with one merchant, once credit scored it."""
    r = await stack.registry.post(
        "/markets",
        json={
            "name": "邻近市场",
            "district": place.district,
            "kind": "farmers",
            "operator": "o",
            "address": "a",
            "capacity": 500,
            "opening_hours": {"open": "06:00", "close": "19:00"},
        },
    )
    assert r.status_code == 201, r.text
    market = r.json()
    async with TopicWatcher(kafka, SCORES) as scores:
        r = await stack.registry.post(
            "/merchants",
            json={
                "name": "邻近商户",
                "market_id": market["id"],
                "stall_no": "N-1",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "categories": [],
            },
        )
        assert r.status_code == 201, r.text
        merchant = r.json()
        await scores.wait_for(score_of(merchant["id"], score=100))
    found = Place(place.district, market["id"], merchant["id"], "N-1", place.terminal_id)
    await until(lambda: recorded(stack.credit, found, "merchant.registered"), what="scored")
    return found


async def assessment(stack: Stack, place: Place) -> dict[str, Any]:
    r = await stack.credit.get(
        f"/markets/{place.market_id}/assessment?days=7",
        headers=stack.token("leader", place.district),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_market_neglecting_its_duties_scores_and_ranks_below_its_neighbour(
    stack: Stack, kafka: str
) -> None:
    lax = await registered(stack, kafka)
    diligent = await neighbour(stack, lax, kafka)
    directory = stack.app.state.credit.directory
    await until(
        lambda: (
            {lax.market_id, diligent.market_id} <= set(directory.markets)
            and {lax.merchant_id, diligent.merchant_id} <= set(directory.merchants)
        ),
        what="credit knows both markets and their merchants",
    )
    # Otherwise identical: one merchant each, graded A, nothing else in the period. Tied, they
    # share a rank; the duties must part them.
    before = {p.market_id: await assessment(stack, p) for p in (lax, diligent)}
    assert before[lax.market_id]["score"] == before[diligent.market_id]["score"]

    # The operator skips self-inspections, the task force misses reports, certificates lapse.
    stale = duties_event(
        lax,
        self_inspection=1.0,
        reports=1.0,
        certified=1.0,
        updated_at=datetime.now(UTC) - timedelta(hours=2),
    )
    bad = duties_event(lax, self_inspection=0.25, reports=0.0, certified=0.25)
    good = duties_event(diligent, self_inspection=1.0, reports=1.0, certified=1.0)
    for event in (bad, good):
        await stack.send(DUTIES, event, event.subject)

    async def applied() -> dict[str, Any] | None:
        mine = await assessment(stack, lax)
        theirs = await assessment(stack, diligent)
        ready = mine["self_inspection_rate"] == 0.25 and theirs["certified_share"] == 1.0
        return mine if ready else None

    await until(applied, what="credit read both markets' duties")
    mine, theirs = await assessment(stack, lax), await assessment(stack, diligent)
    assert (mine["report_on_time_rate"], mine["certified_share"]) == (0.0, 0.25)
    assert mine["score"] < theirs["score"] == before[diligent.market_id]["score"]
    assert (mine["rank"], theirs["rank"], mine["ranked"]) == (2, 1, 2)
    district = mine["district_assessment"]
    assert district["self_inspection_rate"] == (0.25 + 1.0) / 2
    # 考核排名 in one call says the same, best first, with what each score is made of.
    r = await stack.credit.get("/assessments?days=7", headers=stack.token("leader", lax.district))
    assert r.status_code == 200, r.text
    ranking = r.json()
    assert [(m["market_id"], m["rank"], m["score"]) for m in ranking["markets"]] == [
        (diligent.market_id, 1, theirs["score"]),
        (lax.market_id, 2, mine["score"]),
    ]
    parts = {p["part"]: p["value"] for p in ranking["markets"][1]["parts"]}
    assert parts["self_inspection_rate"] == 0.25
    # With its end given, the grades are rebuilt from the ledger as they stood then: now, the
    # same as those held.
    to = datetime.now(UTC).isoformat()
    r = await stack.credit.get(
        "/assessments", params={"days": 7, "to": to}, headers=stack.token("leader", lax.district)
    )
    assert r.status_code == 200, r.text
    rebuilt = r.json()["markets"]
    assert [(m["market_id"], m["grades"]) for m in rebuilt] == [
        (m["market_id"], m["grades"]) for m in ranking["markets"]
    ]
    assert sum(rebuilt[0]["grades"].values()) == 1
    assert [d["district"] for d in ranking["districts"]] == [lax.district]
    elsewhere = stack.token("leader", "elsewhere")
    r = await stack.credit.get(f"/assessments?district={lax.district}", headers=elsewhere)
    assert r.status_code == 403, r.text
    r = await stack.credit.get("/assessments?to=2026-05-01T00:00:00", headers=elsewhere)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"

    # An older update of the same day (a replay of the compacted topic) changes nothing.
    await stack.send(DUTIES, stale, stale.subject)
    await until(lambda: _ignored_duties(stack), what="credit read the older update")
    assert (await assessment(stack, lax))["self_inspection_rate"] == 0.25

    # Published assessments carry the duties too (contracts: optional fields).
    admin = stack.token("admin", "*")
    async with TopicWatcher(kafka, topics.CREDIT_ASSESSMENTS.name) as published:
        r = await stack.credit.post("/assessments?days=7", headers=admin)
        assert r.status_code == 202, r.text
        [record] = await published.wait_for(lambda rec: rec.key == lax.market_id.encode())
    data = record.json()["data"]
    assert (data["self_inspection_rate"], data["report_on_time_rate"]) == (0.25, 0.0)
    assert data["rank"] == 2


async def _ignored_duties(stack: Stack) -> bool:
    metrics = (await stack.credit.get("/metrics")).text
    return any(
        line.startswith("sentinel_credit_events_total{")
        and 'outcome="ignored"' in line
        and f'topic="{DUTIES}"' in line
        and float(line.rsplit(" ", 1)[1]) >= 1
        for line in metrics.splitlines()
    )


async def test_a_decision_before_the_merchant_is_known_still_counts_once(
    stack: Stack, kafka: str
) -> None:
    # The campaign may decide a case on a merchant credit has not scored yet: the ledger takes
    # it (the merchant starts from it), and the registration that follows adds its 0.
    place = await stack.place()
    event = decided_event(place, "warning")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(ENFORCEMENT, event, event.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    await until(
        lambda: recorded(stack.credit, place, "merchant.registered", "enforcement.warning"),
        what="the registration and the case",
    )
    kinds = sorted(e["kind"] for e in await ledger(stack, place))
    assert kinds == ["enforcement.warning", "merchant.registered"]
