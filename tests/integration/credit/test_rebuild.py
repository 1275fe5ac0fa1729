"""The rebuild command: every ledger and score rebuilt from the topics from the beginning into
fresh tables equals the live tables. Here the live service also reads from the beginning, so
both saw the same history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from contracts import topics
from services.credit.rebuild import LEDGER_TOPICS, compare, rebuild
from services.runtime.db import connect, ident
from tests.integration.credit.conftest import (
    Stack,
    closed_complaint,
    completed,
    credit_stack,
    overdue_rectification,
    score_of,
)
from tests.support import identity
from tests.support.city import Place
from tests.support.credit_events import decided_event
from tests.support.kafka import TopicWatcher


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    async for s in credit_stack(kafka, database_url, secrets_env, from_beginning=True):
        yield s


async def decided(stack: Stack, place: Place, kind: str, decision: str) -> None:
    """The place's entry of `kind` disputed by one clerk of its district and decided
    `decision` by another: `corrected` an objection to an error, `repaired` a repair."""
    clerk = stack.token("clerk", place.district)
    other = identity.bearer("clerk", place.district, who="second")
    credit = f"/merchants/{place.merchant_id}/credit"
    entries = (await stack.credit.get(credit, headers=clerk)).json()["ledger"]
    [entry] = [e for e in entries if e["kind"] == kind]
    asked = {"event_id": entry["event_id"], "kind": kind, "statement": "商户的书面材料"}
    if decision == "repaired":
        asked |= {"ground": "repaired", "commitment": True}
    r = await stack.credit.post(f"/merchants/{place.merchant_id}/objections", json=asked,
                                headers=clerk)  # fmt: skip
    assert r.status_code == 201, r.text
    r = await stack.credit.post(
        f"/objections/{r.json()['objection_id']}/decision",
        json={"decision": decision, "reasoning": "核实"},
        headers=other,
    )
    assert r.status_code == 200, r.text


async def test_a_rebuild_from_the_topics_equals_the_live_scores(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    original = closed_complaint(place)
    major = completed(place, "major")
    events = [
        (topics.INSPECTION_EVENTS.name, major),
        (topics.INSPECTION_EVENTS.name, completed(place, "pass")),
        (topics.COMPLAINTS_EVENTS.name, original),
        (topics.COMPLAINTS_EVENTS.name, closed_complaint(place, duplicate_of=original.subject)),
        # Issue 17: a joint enforcement decision is in the ledger, and in the rebuild.
        (topics.CAMPAIGN_ENFORCEMENT.name, decided_event(place, "warning")),
    ]
    async with TopicWatcher(kafka, topics.CREDIT_SCORES.name) as scores:
        for topic, event in events:
            await stack.send(topic, event, place.merchant_id)
        await scores.wait_for(score_of(place.merchant_id, score=77, grade="B"), timeout=60)
        # The finding's order missed its deadline (−10), in the finding's chain.
        late = overdue_rectification(place, at=datetime.now(UTC), chain=major.correlationid)
        await stack.send(topics.INSPECTION_EVENTS.name, late, place.merchant_id)
        await scores.wait_for(score_of(place.merchant_id, score=67, grade="C"), timeout=60)
        # 信用异议: the major finding corrected; the correction comes back from credit's own
        # topic, in the live service and in the rebuild alike, and undoes the missed deadline
        # with it (+15, +10).
        await decided(stack, place, "inspection.finding.major", "corrected")
        await scores.wait_for(score_of(place.merchant_id, score=92, grade="A"), timeout=60)
        # A deadline of the order missed after the correction is undone as it comes: in the
        # rebuild, whichever of the two topics it reads first.
        later = overdue_rectification(place, at=datetime.now(UTC), chain=major.correlationid)
        await stack.send(topics.INSPECTION_EVENTS.name, later, place.merchant_id)
        [undone] = await scores.wait_for(
            lambda r: (
                r.key == place.merchant_id.encode()
                and r.json()["data"]["adjustment"]["kind"] == "objection.follow_on"
                and r.json()["data"]["adjustment"]["cause"]["event_id"] == later.id
            ),
            timeout=60,
        )
        assert undone.json()["data"]["score"] == 92
        # 信用修复: another merchant's only finding, of 100 days ago, repaired: the repair too
        # comes back from credit's own topic.
        repaired = await stack.place()
        old = completed(repaired, "minor", at=datetime.now(UTC) - timedelta(days=100))
        await stack.send(topics.INSPECTION_EVENTS.name, old, repaired.merchant_id)
        await scores.wait_for(score_of(repaired.merchant_id, score=95), timeout=60)
        await decided(stack, repaired, "inspection.finding.minor", "repaired")
        await scores.wait_for(score_of(repaired.merchant_id, score=100), timeout=60)
    live = stack.app.state.service
    await live.drain_outbox()
    for topic in LEDGER_TOPICS:
        await live.messaging.caught_up(topic)

    schema = f"credit_rebuild_{uuid.uuid4().hex[:6]}"
    result = await rebuild(stack.settings, schema, keep=True)
    print(result.report())
    assert result.identical, result.report()
    assert result.rebuilt_scores[place.merchant_id] == (92, "A")
    assert result.rebuilt_scores[repaired.merchant_id] == (100, "A")
    assert result.live_adjustments == result.rebuilt_adjustments >= 12

    # The comparison is not blind: a live score that drifted is reported.
    async with connect(stack.settings.database_url) as conn:
        await conn.execute(
            f"UPDATE {ident(stack.settings.pg_schema)}.credits SET score = 1 "
            "WHERE merchant_id = $1",
            place.merchant_id,
        )
        drifted = await compare(stack.settings.database_url, stack.settings.pg_schema, schema)
        await conn.execute(f"DROP SCHEMA {ident(schema)} CASCADE")
    assert not drifted.identical
    assert any(place.merchant_id in d for d in drifted.differences)
