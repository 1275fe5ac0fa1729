"""The complaint events as the use cases address them (services/complaints/service.py): subject,
correlation and key are the complaint's id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.complaints.domain import DEFAULT_POLICY, Complaint, receive
from services.runtime.data_files import default_calendar
from services.runtime.outbox import Item, outgoing

NOW = datetime(2026, 5, 6, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in the city
CAL = default_calendar()


def received(phone: str = "13812345678", channel: str = "web") -> Complaint:
    """张三's complaint of short weight at stall A-01 of mkt_1, received at NOW by `channel`."""
    return receive(
        name="张三",
        phone=phone,
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        stall_no="A-01",
        category="short_weight",
        facts="少称二两",
        request="退差价",
        channel=channel,
        now=NOW,
        policy=DEFAULT_POLICY,
        calendar=CAL,
    )


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
