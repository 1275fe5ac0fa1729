"""Every decision the rules take maps onto a valid event of the published contract."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from contracts import generate
from contracts.envelope import make_event
from contracts.events import spec
from services.telemetry.domain import (
    CROWDING,
    CUMULATIVE,
    EXCURSION,
    GAP,
    TRANSACTIONS,
    Decision,
    TerminalContext,
    risk_event_data,
)
from services.telemetry.domain.clock import rfc3339
from tests.support.schema_subset import validate
from tests.support.telemetry_directory import TERMINAL
from tests.unit.telemetry.series import MINUTE, Feed, cold, shanghai

# A terminal of no merchant's (trm_1 of mkt_1, in zhifu).
PLACE = replace(TERMINAL, merchant_id=None, stall_no=None)


def lifecycle_of_every_rule() -> list[Decision]:
    chilled = cold()
    chilled.hold(5, temp_c=4.0)
    chilled.hold(130, temp_c=10.0)  # raise, escalate twice, and the cumulative risk
    chilled.hold(12, temp_c=5.0)  # clear
    chilled.silence(chilled.t + 5 * MINUTE)
    chilled.silence(chilled.t + 70 * MINUTE)
    chilled.temp(4.0)  # gap raised, escalated, cleared

    gate = Feed(TerminalContext("footfall", capacity=100))
    gate.hold(5, entries=1, exits=0, occupancy=95)
    gate.hold(1, entries=1, exits=0, occupancy=101)
    gate.hold(6, entries=0, exits=9, occupancy=50)

    till = Feed(TerminalContext("payment", interval_s=60))
    till.hold(3, tx_count=10, tx_amount=100.0, refunds=6)
    till.hold(3, tx_count=10, tx_amount=100.0, refunds=0)
    return chilled.decisions + gate.decisions + till.decisions


DECISIONS = lifecycle_of_every_rule()


def test_the_scenario_covers_every_rule_and_action() -> None:
    seen = {(d.rule, d.action) for d in DECISIONS}
    for rule in (EXCURSION, GAP, CROWDING, TRANSACTIONS):
        assert {(rule, "raise"), (rule, "escalate"), (rule, "clear")} <= seen, rule
    assert (CUMULATIVE, "raise") in seen


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: f"{d.rule}-{d.action}-{d.severity}")
def test_each_decision_becomes_a_valid_published_event(decision: Decision) -> None:
    data = risk_event_data(decision, PLACE)
    event_type = decision.event_type
    assert event_type is not None
    event = make_event(
        service="telemetry",
        event_type=event_type,
        version=spec(event_type).version,
        subject=decision.risk_id,
        correlation_id=decision.risk_id,
        data=data,
    )
    wire = json.loads(event.to_json())
    assert validate(wire, generate.envelope_schema(spec(event_type))) == []
    assert wire["data"]["category"] == decision.category
    assert wire["data"]["evidence"]["rule"] == decision.rule
    if decision.action == "clear":
        assert wire["data"]["state"] == "cleared"


def test_update_decisions_publish_nothing() -> None:
    update = Decision(
        "update", "r", "crowding", "minor", None, 0.0, 0.0, None, DECISIONS[0].evidence
    )
    with pytest.raises(ValueError, match="publishes no event"):
        risk_event_data(update, PLACE)


def test_evidence_times_are_rfc3339_utc() -> None:
    evidence = DECISIONS[0].evidence.to_dict()
    assert evidence["first_ts"].endswith("Z")
    assert evidence["first_ts"] == "2026-05-04T02:06:00Z"  # 10:06 in Shanghai
    assert DECISIONS[0].evidence.first_ts == shanghai(4, 10, 6)
    assert rfc3339(shanghai(4, 10, 6) + 0.25) == "2026-05-04T02:06:00.250Z"
