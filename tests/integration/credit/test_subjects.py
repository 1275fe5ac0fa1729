"""信用主体 on real Kafka, Postgres and the identity provider: a merchant that left with a major
finding on its record registers again, at another stall, under the same 统一社会信用代码 — and
credit scores the new registration where the business left off, not at a clean 100 A."""

from __future__ import annotations

from datetime import date, timedelta

from contracts import topics
from tests.integration.credit.conftest import Stack, completed, registered, score_of
from tests.support.kafka import TopicWatcher

SCORES = topics.CREDIT_SCORES.name


async def test_a_merchant_registered_again_starts_where_its_business_left_off(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    held = (await stack.registry.get(f"/merchants/{place.merchant_id}")).json()
    major = completed(place, "major")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, major, major.subject)
        await scores.wait_for(score_of(place.merchant_id, score=85, grade="B"))
    r = await stack.registry.post(
        f"/merchants/{place.merchant_id}/leave", json={"reason": "租约到期，不再续租"}
    )
    assert r.status_code == 200, r.text

    again = {
        "name": held["name"],
        "market_id": place.market_id,
        "stall_no": f"{place.stall_no}-2",
        "credit_code": held["credit_code"],
        "food_licence": "JY13706020012345",
        "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
        "categories": [],
    }
    async with TopicWatcher(kafka, SCORES) as scores:
        r = await stack.registry.post("/merchants", json=again)
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        [first] = await scores.wait_for(score_of(new_id, score=85, grade="B"))
    data = first.json()["data"]
    assert data["previous_score"] is None
    assert data["adjustment"]["kind"] == "merchant.registered"

    r = await stack.credit.get(
        f"/merchants/{new_id}/credit", headers=stack.token("clerk", place.district)
    )
    assert r.status_code == 200, r.text
    entries = r.json()["ledger"]
    [found] = [e for e in entries if e["kind"] == "inspection.finding.major"]
    assert found["merchant_id"] == place.merchant_id and found["another_registration"]
    assert not found["disputable"]
    filed = await stack.credit.post(
        f"/merchants/{new_id}/objections",
        json={"event_id": found["event_id"], "kind": found["kind"], "statement": "不是我们"},
        headers=stack.token("clerk", place.district),
    )
    assert filed.status_code == 409, filed.text
    assert [e["field"] for e in filed.json()["errors"]] == ["event_id"]
