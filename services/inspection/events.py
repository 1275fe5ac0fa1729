"""The rules' `Outgoing` values as outbox items, built by the runtime's one event builder
(`services.runtime.outbox.outgoing`: version and topic from the catalog)."""

from __future__ import annotations

from services.inspection.domain.events import SERVICE, Outgoing
from services.runtime.outbox import Item, outgoing


def item(event: Outgoing) -> Item:
    # The rules derive each id from the change (domain/model.py, event_id) so that a retried
    # transaction writes the very same events and an effect can name its cause.
    return outgoing(
        SERVICE,
        event.type,
        event.subject,
        event.data,
        key=event.key,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        time=event.time,
        event_id=event.id,
    )
