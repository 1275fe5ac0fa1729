"""The suggestions use cases (意见建议): receive one from a citizen, answer it, list them.

Each change is one transaction: the suggestion and its event (outbox) commit together. The rules
and who may see what are in `domain.suggestions`; this module loads, stores and publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts import suggestions as contract
from contracts import topics
from contracts.envelope import Envelope, make_event
from contracts.suggestions import SuggestionSubmission
from services.complaints.commands import actor
from services.complaints.domain import parse_tracking_code
from services.complaints.domain.suggestions import (
    Suggestion,
    answer_suggestion,
    receive_suggestion,
)
from services.complaints.store import PostgresSuggestionStore
from services.runtime.app import Service
from services.runtime.auth import Principal
from services.runtime.directory import RegistryDirectory
from services.runtime.errors import Forbidden, NotFound

log = logging.getLogger(__name__)
TOPIC = topics.COMPLAINTS_SUGGESTIONS.name
Item = tuple[str, Envelope[Any], str]


def event_data(s: Suggestion) -> dict[str, Any]:
    """The suggestion as its events carry it: the author masked."""
    return {
        "suggestion_id": s.suggestion_id,
        "version": s.version,
        "tracking_code": s.tracking_code,
        "about": s.about,
        "market_id": s.market_id,
        "district": s.district,
        "project_id": s.project_id,
        "text": s.text,
        "author": s.masked_author(),
        "publish_answer": s.publish_answer,
        "state": s.state,
        "received_at": s.received_at,
        "answer": s.answer,
        "answered_at": s.answered_at,
    }


def received_event(s: Suggestion, now: datetime) -> Item:
    data = contract.SuggestionReceived.model_validate(event_data(s))
    return _item("complaints.suggestion.received", data, s, now)


def answered_event(s: Suggestion, now: datetime) -> Item:
    data = contract.SuggestionAnswered.model_validate(event_data(s) | {"actor": s.answered_by})
    return _item("complaints.suggestion.answered", data, s, now)


def _item(event_type: str, data: Any, s: Suggestion, now: datetime) -> Item:
    event = make_event(
        service="complaints",
        event_type=event_type,
        version=1,
        subject=s.suggestion_id,
        data=data,
        correlation_id=s.suggestion_id,
        time=now,
    )
    return (TOPIC, event, s.suggestion_id)


class Suggestions:
    def __init__(
        self, service: Service, directory: RegistryDirectory, now: Callable[[], datetime]
    ) -> None:
        self.service, self.directory, self.now = service, directory, now

    async def submit(self, body: SuggestionSubmission) -> Suggestion:
        market = self.directory.markets.get(body.market_id) if body.market_id else None
        now = self.now()
        s = receive_suggestion(
            about=body.about,
            market_id=body.market_id,
            district=market.district if market else None,
            text=body.text,
            name=body.name,
            phone=body.phone,
            publish_answer=body.publish_answer,
            now=now,
            project_id=body.project_id,
        )
        async with self.service.pool.acquire() as conn, conn.transaction():
            await PostgresSuggestionStore(conn).insert(s)
            await self.service.enqueue_many(conn, [received_event(s, now)])
        log.info("suggestion received", extra={"suggestion_id": s.suggestion_id, "about": s.about})
        return s

    async def by_tracking_code(self, code: str) -> Suggestion:
        try:
            canonical = parse_tracking_code(code)
        except ValueError:
            canonical = None
        found = None
        if canonical is not None:
            async with self.service.pool.acquire() as conn:
                found = await PostgresSuggestionStore(conn).by_tracking_code(canonical)
        if found is None:
            raise NotFound("no suggestion has this tracking code")
        return found

    async def listed(self, who: Principal, *, state: str | None, limit: int) -> list[Suggestion]:
        city = who.role == "admin" or who.district == "*"
        async with self.service.pool.acquire() as conn:
            found = await PostgresSuggestionStore(conn).listed(
                district=None if city else who.district, state=state, limit=limit
            )
        return [s for s in found if s.may_read(who.role, who.district)]

    async def published(
        self, *, market_id: str | None, about: str | None, limit: int
    ) -> list[Suggestion]:
        async with self.service.pool.acquire() as conn:
            return await PostgresSuggestionStore(conn).published(
                market_id=market_id, about=about, limit=limit
            )

    async def answer(self, who: Principal, suggestion_id: str, text: str) -> Suggestion:
        async with self.service.pool.acquire() as conn, conn.transaction():
            store = PostgresSuggestionStore(conn)
            s = await store.get(suggestion_id, for_update=True)
            if s is None or not s.may_read(who.role, who.district):
                raise NotFound(f"no suggestion {suggestion_id!r}")
            if not s.may_answer(who.role, who.district):
                raise Forbidden(f"suggestion {suggestion_id} is not yours to answer")
            now = self.now()
            answered = answer_suggestion(s, answer=text, by=actor(who), now=now)
            await store.update(answered)
            await self.service.enqueue_many(conn, [answered_event(answered, now)])
        log.info("suggestion answered", extra={"suggestion_id": suggestion_id, "by": who.subject})
        return answered
