"""A delivery through inspection's real routers (services/inspection/handlers.py), returning what
the route handed on instead of calling a use case: None when the router passed it over."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from contracts.credit import ScoreChanged
from contracts.envelope import Envelope
from services.inspection.domain import ComplaintTrigger, RenovationTrigger
from services.inspection.handlers import Handlers, complaint_trigger, renovation_trigger
from services.runtime.messaging import Delivery


class _Captured(Handlers):
    def __init__(self) -> None:
        super().__init__(cast(Any, None))
        self.got: list[Any] = []

    async def on_complaint(self, event: Envelope[Any], delivery: Delivery) -> None:
        self.got.append(complaint_trigger(event))

    async def on_check_failed(self, event: Envelope[Any], delivery: Delivery) -> None:
        self.got.append(renovation_trigger(event))

    async def on_score(self, event: Envelope[Any], delivery: Delivery) -> None:
        self.got.append(event.data)


def _route(delivery: Delivery) -> Any:
    handlers = _Captured()
    asyncio.run(handlers.routers()[delivery.topic](delivery))
    return handlers.got[0] if handlers.got else None


def complaint_trigger_of(delivery: Delivery) -> ComplaintTrigger | None:
    return cast(ComplaintTrigger | None, _route(delivery))


def renovation_trigger_of(delivery: Delivery) -> RenovationTrigger | None:
    return cast(RenovationTrigger | None, _route(delivery))


def score_change_of(delivery: Delivery) -> ScoreChanged | None:
    return cast(ScoreChanged | None, _route(delivery))
