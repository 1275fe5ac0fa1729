"""Every event type, its data model, its schema version and the topic it travels on."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from pydantic import BaseModel

from contracts import registry, topics
from contracts.envelope import schema_id


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    data: builtins.type[BaseModel]
    topic: topics.Topic

    @property
    def schema_id(self) -> str:
        return schema_id(self.type, self.version)

    @property
    def schema_file(self) -> str:
        return f"{self.type}.v{self.version}.json"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("registry.market.upserted", 1, registry.MarketUpserted, topics.REGISTRY_MARKETS),
    EventSpec(
        "registry.merchant.upserted", 1, registry.MerchantUpserted, topics.REGISTRY_MERCHANTS
    ),
    EventSpec(
        "registry.terminal.upserted", 1, registry.TerminalUpserted, topics.REGISTRY_TERMINALS
    ),
)


def spec(event_type: str) -> EventSpec:
    for event in EVENTS:
        if event.type == event_type:
            return event
    raise KeyError(event_type)
