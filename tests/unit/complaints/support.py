"""The complaint events as the use cases address them (services/complaints/service.py): subject,
correlation and key are the complaint's id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.complaints.domain import Complaint
from services.runtime.outbox import Item, outgoing

NOW = datetime(2026, 5, 6, 1, 30, tzinfo=UTC)


def announce(event_type: str, case: Complaint, data: Any, causation_id: str | None = None) -> Item:
    return outgoing(
        "complaints",
        event_type,
        case.complaint_id,
        data,
        correlation_id=case.complaint_id,
        causation_id=causation_id,
        time=NOW,
    )
