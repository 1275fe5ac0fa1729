"""The CloudEvents 1.0 envelope (structured mode) every Market Sentinel event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_BASE = "https://schemas.market-sentinel.dev"

D = TypeVar("D", bound=BaseModel)


def schema_id(event_type: str, version: int) -> str:
    """The `dataschema` of an event type: its JSON Schema id, carrying the schema version."""
    return f"{SCHEMA_BASE}/{event_type}/v{version}.json"


class Envelope(BaseModel, Generic[D]):
    """A structured-mode CloudEvent; extension attributes sit beside the core ones (spec)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="UUID of this event")
    source: str = Field(pattern=r"^/sentinel/[a-z]+$", description="/sentinel/<service>")
    type: str = Field(pattern=r"^[a-z]+(\.[a-z_]+)+$", description="e.g. registry.market.upserted")
    subject: str = Field(min_length=1, description="id of the entity the event is about")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    correlationid: str = Field(description="the chain this event belongs to (risk or complaint id)")
    causationid: str | None = Field(
        default=None, description="id of the event that caused this one"
    )
    data: D

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone (UTC)")
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def make_event(
    *,
    service: str,
    event_type: str,
    version: int,
    subject: str,
    data: Any,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> Envelope[Any]:
    """Build an envelope; a chain without a correlation id starts a new one at this event. The
    id is random unless the producer derives it (the same change then writes the same event)."""
    event_id = event_id or str(uuid.uuid4())
    model: Any = Envelope[type(data)]  # type: ignore[misc]
    envelope: Envelope[Any] = model(
        id=event_id,
        source=f"/sentinel/{service}",
        type=event_type,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=schema_id(event_type, version),
        correlationid=correlation_id or event_id,
        causationid=causation_id,
        data=data,
    )
    return envelope
