"""`outgoing`: an event for the outbox, with its catalog version, topic and chain."""

from __future__ import annotations

import pytest

from contracts import topics
from services.runtime.outbox import outgoing
from tests.support.event_samples import SAMPLES

MARKET = "registry.market.upserted"


def test_the_catalog_gives_the_topic_and_the_subject_the_key() -> None:
    topic, event, key = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET])
    assert (topic, key, event.subject, event.type) == (
        topics.REGISTRY_MARKETS.name,
        "mkt_1",
        "mkt_1",
        MARKET,
    )
    # With no cause it starts a chain of its own.
    assert (event.correlationid, event.causationid) == (event.id, None)


def test_an_event_with_a_cause_joins_its_chain() -> None:
    _, cause, _ = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET], correlation_id="risk_9")
    _, effect, _ = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET], cause=cause)
    assert (effect.correlationid, effect.causationid) == ("risk_9", cause.id)


def test_a_given_correlation_wins_over_the_causes() -> None:
    _, cause, _ = outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET], correlation_id="risk_9")
    _, effect, _ = outgoing(
        "registry", MARKET, "mkt_1", SAMPLES[MARKET], cause=cause, correlation_id="cmp_3"
    )
    assert (effect.correlationid, effect.causationid) == ("cmp_3", cause.id)


def test_data_of_another_event_type_is_refused_naming_both() -> None:
    merchant = SAMPLES["registry.merchant.upserted"]
    with pytest.raises(TypeError, match=f"{MARKET} carries MarketUpserted, not MerchantUpserted"):
        outgoing("registry", MARKET, "mkt_1", merchant)
    with pytest.raises(TypeError, match="not dict"):
        outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET].model_dump())
