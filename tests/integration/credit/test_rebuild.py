"""The rebuild command: every ledger and score rebuilt from the topics from the beginning into
fresh tables equals the live tables. Here the live service also reads from the beginning, so
both saw the same history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from contracts import topics
from services.credit.rebuild import LEDGER_TOPICS, compare, rebuild
from services.runtime.db import connect, ident
from tests.integration.credit.conftest import (
    Stack,
    closed_complaint,
    completed,
    credit_stack,
    score_of,
)
from tests.support.credit_events import decided_event
from tests.support.kafka import TopicWatcher


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    async for s in credit_stack(kafka, database_url, secrets_env, from_beginning=True):
        yield s


async def test_a_rebuild_from_the_topics_equals_the_live_scores(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    original = closed_complaint(place)
    events = [
        (topics.INSPECTION_EVENTS.name, completed(place, "major")),
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
    live = stack.app.state.service
    for topic in LEDGER_TOPICS:
        await live.messaging.caught_up(topic)

    schema = f"credit_rebuild_{uuid.uuid4().hex[:6]}"
    result = await rebuild(stack.settings, schema, keep=True)
    print(result.report())
    assert result.identical, result.report()
    assert result.rebuilt_scores[place.merchant_id] == (77, "B")
    assert result.live_adjustments == result.rebuilt_adjustments >= 5

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
