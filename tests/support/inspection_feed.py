"""Inspection's events as the services that read inspection.events.v1 are fed them in tests:
a critical cold-chain finding, a rectification order about a merchant, its envelope and its
publication as inspection's relay publishes it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.envelope import CONTENT_TYPE, Envelope, make_event
from contracts.inspection import Finding

AT = datetime(2026, 5, 1, 8, tzinfo=UTC)
CRITICAL_FINDING = Finding(
    code="CCH-01",
    group="cold_chain",
    severity="critical",
    title_zh="冷链温度严重超标",
    title_en="cold chain far out of range",
    note="冷柜12°C",
)


def order(
    merchant: dict[str, Any] | None, market_id: str, district: str, **more: Any
) -> dict[str, Any]:
    """An open critical order that suspends the merchant (or of the market, with no merchant)."""
    return {
        "rectification_id": f"rec_{uuid.uuid4().hex[:10]}",
        "version": 1,
        "task_id": f"tsk_{uuid.uuid4().hex[:10]}",
        "market_id": market_id,
        "district": district,
        "merchant_id": merchant["id"] if merchant else None,
        "stall_no": merchant["stall_no"] if merchant else None,
        "severity": "critical",
        "findings": [CRITICAL_FINDING],
        "state": "open",
        "ordered_at": AT,
        "deadline": None,
        "suspension": True,
        "failed_verifications": 0,
        "reinspection_task_id": None,
        "overdue_at": None,
    } | more


def inspection_event(event_type: str, data: Any, correlation: str | None = None) -> Envelope[Any]:
    return make_event(
        service="inspection",
        event_type=event_type,
        version=1,
        subject=data.rectification_id if hasattr(data, "rectification_id") else data.task_id,
        data=data,
        correlation_id=correlation,
    )


async def publish(producer: AIOKafkaProducer, key: str, event: Envelope[Any]) -> None:
    await producer.send_and_wait(
        topics.INSPECTION_EVENTS.name,
        event.to_json(),
        key=key.encode(),
        headers=[("content-type", CONTENT_TYPE.encode()), ("ce_type", event.type.encode())],
    )
