"""What the campaign takes from other services' topics, each event exactly once (inbox):

From `inspection.events.v1` (`InspectionFeed`):

- `inspection.rectification.overdue`: the order is disclosed to the public
  (`registry.disclosures.v1`), or its disclosure reopened with the deadline that passed;
- `inspection.rectification.verified` that passed: the order's disclosure, if any, is resolved.

From `complaints.suggestions.v1` (`SuggestionFeed`, a consumer group of its own):

- `complaints.suggestion.received` naming a renovation project (`project_id`) whose public
  consultation was open on the day it was received: a comment on that project
  (`registry.renovation.upserted`, change `comment_received`).

Other event types change nothing. (Suspensions are the registry's business; a handler's answer
to a suggestion is the complaints service's, the plan's answer to a comment the campaign's.)
"""

from __future__ import annotations

from typing import Any

import orjson

from contracts.inspection import RectificationOverdue, RectificationVerified
from contracts.suggestions import SuggestionReceived
from services.campaign.commands import Campaigns
from services.runtime import inbox
from services.runtime.messaging import Delivery, PoisonMessage

CONSUMER = "campaign-inspection"
SUGGESTIONS_CONSUMER = "campaign-suggestions"
SUGGESTION_RECEIVED = "complaints.suggestion.received"
VERIFIED = "inspection.rectification.verified"
OVERDUE = "inspection.rectification.overdue"
MODELS: dict[str, Any] = {VERIFIED: RectificationVerified, OVERDUE: RectificationOverdue}


def event_type(delivery: Delivery) -> str:
    """The CloudEvents `type`, read before choosing the model to parse the event with."""
    try:
        head = orjson.loads(delivery.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    found = head.get("type") if isinstance(head, dict) else None
    if not isinstance(found, str):
        raise PoisonMessage("type: missing")
    return found


class InspectionFeed:
    def __init__(self, campaigns: Campaigns) -> None:
        self.campaigns = campaigns

    async def on_event(self, delivery: Delivery) -> None:
        kind = event_type(delivery)
        model = MODELS.get(kind)
        if model is None:
            return  # orders, tasks and the rest: not the campaign's business
        event = delivery.envelope(model)
        if kind == VERIFIED and not event.data.passed:
            return  # a failed re-inspection resolves nothing
        async with self.campaigns.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                CONSUMER,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            if kind == OVERDUE:
                await self.campaigns.disclose_overdue(conn, event)
            else:
                await self.campaigns.rectification_verified(conn, event)


class SuggestionFeed:
    """Citizens' suggestions on plans open for comment become the plans' comments."""

    def __init__(self, campaigns: Campaigns) -> None:
        self.campaigns = campaigns

    async def on_event(self, delivery: Delivery) -> None:
        if event_type(delivery) != SUGGESTION_RECEIVED:
            return  # answers are the complaints service's business
        event = delivery.envelope(SuggestionReceived)
        if not event.data.project_id:
            return  # about a market or the campaign, not a plan
        async with self.campaigns.service.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(
                conn,
                SUGGESTIONS_CONSUMER,
                event.id,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            ):
                return
            await self.campaigns.take_comment(conn, event)
