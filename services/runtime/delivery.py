"""One Kafka record as a handler sees it (`Delivery`), how its event is parsed, and the two
failures a handler may signal: the message is poison, or its partition must stall.

Consumers are lenient about what they do not know (forward compatibility): a `.v1` topic only ever
gains optional fields, so `Delivery.envelope` accepts and ignores fields the consumer's contracts do
not declare, at any depth, while every declared field is still checked. Producers stay strict
(`make_event` validates against the models, which forbid unknown fields).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from contracts.envelope import Envelope

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class PoisonMessage(Exception):
    """The message can never be handled as it is; retrying would only block its partition."""


class PartitionStalled(Exception):
    """A handler kept failing on these deliveries (the first unhandled one of each partition)
    although nothing proved them wrong: their partitions must stop there, uncommitted."""

    def __init__(self, deliveries: Sequence[Delivery], cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.deliveries, self.cause = tuple(deliveries), cause


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as a handler sees it, with the coordinates the inbox and DLQ need."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0

    def event_type(self) -> str:
        """The CloudEvent's `type`, read before choosing a model to parse the whole event with."""
        try:
            head = orjson.loads(self.value)
        except orjson.JSONDecodeError as exc:
            raise PoisonMessage(f"not JSON: {exc}") from exc
        kind = head.get("type") if isinstance(head, dict) else None
        if not isinstance(kind, str):
            raise PoisonMessage("type: missing")
        return kind

    def envelope(self, data_model: type[M], envelope: Any = Envelope) -> Envelope[M]:
        """Parse the CloudEvent and its data, or raise PoisonMessage naming what is wrong.

        Fields the consumer's contracts do not declare are ignored (see `parse_lenient`)."""
        parsed: Envelope[M] = parse_lenient(envelope[data_model], self.value)
        return parsed


def parse_lenient(model: type[M], value: bytes | str) -> M:
    """Validate `value` (JSON) as `model`, ignoring fields the model does not declare at any
    depth (nested models, list items, union variants, the envelope's own attributes) — the
    forward compatibility a consumer on older contracts needs — while every declared field is
    checked as strictly as ever. Raise PoisonMessage naming the real errors otherwise.

    The strict parse runs first, so a message that fits its contract costs one parse and models
    that keep unknown fields (`extra="allow"`) keep them; only when it fails is the message parsed
    again with unknown fields ignored (pydantic's per-call `extra` override)."""
    try:
        return model.model_validate_json(value)
    except ValidationError as strict:
        try:
            parsed = model.model_validate_json(value, extra="ignore")
        except ValidationError as exc:
            raise PoisonMessage(_describe(exc)) from exc
        log.debug(
            "ignored fields unknown to this consumer's contracts",
            extra={"fields": _paths(strict, "extra_forbidden")},
        )
        return parsed


def _paths(exc: ValidationError, kind: str) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors() if e["type"] == kind]


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
    )


Handler = Callable[[Delivery], Awaitable[None]]
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]
