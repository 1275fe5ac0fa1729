"""The Kafka side of the campaign: one `EventRouter` per consumed topic, each route turning an
event into a use-case call (service.py), which handles it once (inbox). Types a router has no
route for are another consumer's business and are passed over (services/runtime/router.py).

From `inspection.events.v1`:

- `inspection.rectification.overdue`: the order is disclosed to the public
  (`registry.disclosures.v1`), or its disclosure reopened with the deadline that passed;
- `inspection.rectification.verified` that passed: the order's disclosure, if any, is resolved;
- `inspection.rectification.lapsed` (its merchant left its stall): the disclosure, if any,
  lapses — over, never rectified.

From `complaints.suggestions.v1` (a consumer group of its own):

- `complaints.suggestion.received` naming a renovation project (`project_id`) whose public
  consultation was open on the day it was received: a comment on that project
  (`registry.renovation.upserted`, change `comment_received`).

(Suspensions are the registry's business; a handler's answer to a suggestion is the complaints
service's, the plan's answer to a comment the campaign's.)
"""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.inspection import (
    RECTIFICATION_LAPSED,
    RECTIFICATION_OVERDUE,
    RECTIFICATION_VERIFIED,
    RectificationLapsed,
    RectificationOverdue,
    RectificationVerified,
)
from contracts.suggestions import SUGGESTION_RECEIVED, SuggestionReceived
from services.campaign.service import Campaigns
from services.runtime.messaging import Delivery
from services.runtime.router import EventRouter


def inspection_router(campaigns: Campaigns) -> EventRouter:
    async def overdue(event: Envelope[RectificationOverdue], delivery: Delivery) -> None:
        await campaigns.disclose_overdue(event, delivery)

    async def verified(event: Envelope[RectificationVerified], delivery: Delivery) -> None:
        await campaigns.rectification_verified(event, delivery)

    async def lapsed(event: Envelope[RectificationLapsed], delivery: Delivery) -> None:
        await campaigns.rectification_lapsed(event, delivery)

    return EventRouter(
        {
            RECTIFICATION_OVERDUE: overdue,
            RECTIFICATION_VERIFIED: verified,
            RECTIFICATION_LAPSED: lapsed,
        }
    )


def suggestions_router(campaigns: Campaigns) -> EventRouter:
    """Citizens' suggestions on plans open for comment become the plans' comments."""

    async def received(event: Envelope[SuggestionReceived], delivery: Delivery) -> None:
        await campaigns.take_comment(event, delivery)

    return EventRouter({SUGGESTION_RECEIVED: received})
