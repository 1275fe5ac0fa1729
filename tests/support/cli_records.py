"""Records for the CLI's tests: a valid risk event, broken ones, readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from contracts import telemetry
from contracts.envelope import make_event

RAISED_AT = datetime(2026, 5, 1, 8, 15, tzinfo=UTC)


def risk_raised(terminal_id: str = "trm_1", risk_id: str = "risk_1") -> telemetry.RiskRaised:
    return telemetry.RiskRaised(
        risk_id=risk_id,
        rule="cold_chain_excursion",
        category="food_safety",
        severity="major",
        state="open",
        terminal_id=terminal_id,
        market_id="mkt_1",
        merchant_id="mer_1",
        stall_no="A-12",
        district="zhifu",
        raised_at=RAISED_AT,
        evidence=telemetry.RiskEvidence(
            rule="cold_chain_excursion",
            thresholds={"limit_c": 8.0, "duration_s": 900},
            first_ts=datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
            last_ts=RAISED_AT,
            peak=14.5,
            duration_s=900.0,
            degree_minutes=61.0,
            readings_count=30,
            profile="chilled",
        ),
    )


def risk_event(terminal_id: str = "trm_1", risk_id: str = "risk_1") -> bytes:
    event = make_event(
        service="telemetry",
        event_type="telemetry.risk.raised",
        version=1,
        subject=risk_id,
        data=risk_raised(terminal_id, risk_id),
        time=RAISED_AT,
    )
    return event.to_json()


def broken_risk_event(terminal_id: str = "trm_1") -> bytes:
    """A risk event whose data lost its severity: a contract violation, still a CloudEvent."""
    value: dict[str, Any] = orjson.loads(risk_event(terminal_id, "risk_broken"))
    del value["data"]["severity"]
    return orjson.dumps(value)


def reading(**changes: Any) -> dict[str, Any]:
    return {
        "terminal_id": "trm_1",
        "seq": 42,
        "ts": "2026-05-01T08:00:00Z",
        "kind": "cold_chain",
        "temp_c": 4.5,
        "sig": "0" * 64,
    } | changes
