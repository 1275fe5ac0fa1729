"""The event router: a delivery reaches the handler of its CloudEvents type, parsed with the
catalog's model; other types pass; what cannot be read or does not fit is poison."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from contracts.envelope import Envelope
from contracts.registry import MarketUpserted, MerchantUpserted
from services.runtime.messaging import Delivery, PoisonMessage
from services.runtime.outbox import outgoing
from services.runtime.router import EventRouter, delivery_type
from tests.support.event_samples import SAMPLES

MARKET, MERCHANT = "registry.market.upserted", "registry.merchant.upserted"


def _delivery(event_type: str, *, header: bool = True, value: bytes | None = None) -> Delivery:
    _, event, key = outgoing("registry", event_type, "id_1", SAMPLES[event_type])
    headers = (("ce_type", event_type.encode()),) if header else ()
    return Delivery("registry.markets.v1", 0, 7, key.encode(), value or event.to_json(), headers)


class Seen:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Delivery]] = []

    def handler(self, name: str) -> Any:
        async def handle(envelope: Envelope[Any], delivery: Delivery) -> None:
            self.calls.append((name, envelope, delivery))

        return handle


async def test_a_delivery_reaches_the_handler_of_its_type_parsed_with_its_model() -> None:
    seen, router = Seen(), EventRouter()
    router.route(MARKET, seen.handler("market"))
    router.route(MERCHANT, seen.handler("merchant"))
    await router(_delivery(MERCHANT))
    await router(_delivery(MARKET, header=False))
    assert [name for name, _, _ in seen.calls] == ["merchant", "market"]
    assert isinstance(seen.calls[0][1].data, MerchantUpserted)
    assert isinstance(seen.calls[1][1].data, MarketUpserted)
    assert seen.calls[0][2].offset == 7
    assert router.types() == {MARKET, MERCHANT}


async def test_routes_given_at_construction_route_as_added_ones_do() -> None:
    seen = Seen()
    router = EventRouter({MARKET: seen.handler("market")})
    router.route(MERCHANT, seen.handler("merchant"))
    await router(_delivery(MARKET))
    await router(_delivery(MERCHANT))
    assert [name for name, _, _ in seen.calls] == ["market", "merchant"]
    with pytest.raises(ValueError, match="already routed"):
        router.route(MARKET, seen.handler("again"))


async def test_a_type_without_a_route_is_passed_over() -> None:
    seen, router = Seen(), EventRouter()
    router.route(MARKET, seen.handler("market"))
    await router(_delivery(MERCHANT))
    assert seen.calls == []


async def test_the_header_decides_before_the_body() -> None:
    relabelled = replace(_delivery(MARKET), headers=(("ce_type", b"something.else"),))
    assert delivery_type(relabelled) == "something.else"
    assert delivery_type(_delivery(MARKET, header=False)) == MARKET


async def test_an_event_that_does_not_fit_its_model_is_poison_naming_the_field() -> None:
    seen, router = Seen(), EventRouter()
    router.route(MARKET, seen.handler("market"))
    event = orjson.loads(_delivery(MARKET).value)
    event["data"]["capacity"] = "many"
    with pytest.raises(PoisonMessage, match="capacity"):
        await router(_delivery(MARKET, value=orjson.dumps(event)))
    assert seen.calls == []


async def test_an_unreadable_record_is_poison() -> None:
    router = EventRouter()
    with pytest.raises(PoisonMessage, match="not JSON"):
        await router(_delivery(MARKET, header=False, value=b"{broken"))
    with pytest.raises(PoisonMessage, match="type"):
        await router(_delivery(MARKET, header=False, value=b'{"id": "x"}'))


def test_a_type_is_routed_once_and_only_a_type_the_catalog_knows() -> None:
    router = EventRouter()
    router.route(MARKET, Seen().handler("a"))
    with pytest.raises(ValueError, match="already routed"):
        router.route(MARKET, Seen().handler("b"))
    with pytest.raises(KeyError):
        router.route("no.such.event", Seen().handler("c"))
