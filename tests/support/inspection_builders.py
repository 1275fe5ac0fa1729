"""Triggers, tasks and orders for the inspection rule tests, with a fixed clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import generate
from contracts.events import spec
from services.inspection.domain import (
    ComplaintTrigger,
    Completion,
    FindingReport,
    Outgoing,
    Policy,
    RenovationTrigger,
    RiskTrigger,
    Task,
    TaskForce,
    claim,
    decide,
)
from services.inspection.domain import complete as complete_rule
from services.inspection.events import item
from services.inspection.policy_files import default_catalogue
from tests.support.schema_subset import validate

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
POLICY = Policy()
TASK_FORCE = TaskForce("王队长", ("李", "张"))
INSPECTOR = "inspector-li"

_counter = iter(range(1_000_000))


def complete(task: Task, **given: Any) -> Completion:
    """The completion rule with the packaged finding catalogue, unless the test gives one."""
    given.setdefault("catalogue", default_catalogue())
    return complete_rule(task, **given)


def risk(
    severity: str = "major",
    transition: str = "raised",
    *,
    risk_id: str = "risk_1",
    event_id: str | None = None,
    merchant_id: str | None = "mer_1",
    rule: str = "cold_chain_excursion",
    at: datetime = T0,
    terminal_id: str = "trm_1",
) -> RiskTrigger:
    category = "market_order" if rule in ("crowding", "transaction_anomaly") else "food_safety"
    return RiskTrigger(
        risk_id=risk_id,
        event_id=event_id or f"ev_{next(_counter)}",
        rule=rule,
        category=category,
        severity=severity,
        transition=transition,  # type: ignore[arg-type]
        merchant_id=merchant_id,
        terminal_id=terminal_id,
        market_id="mkt_1",
        stall_no="A-12" if merchant_id else None,
        district="zhifu",
        at=at,
    )


def complaint(
    category: str = "food_safety",
    *,
    complaint_id: str = "cmp_1",
    event_id: str | None = None,
    merchant_id: str | None = "mer_1",
    at: datetime = T0,
) -> ComplaintTrigger:
    return ComplaintTrigger(
        complaint_id=complaint_id,
        event_id=event_id or f"ev_{next(_counter)}",
        category=category,
        merchant_id=merchant_id,
        market_id="mkt_1",
        stall_no="A-12" if merchant_id else None,
        district="zhifu",
        at=at,
    )


RECTIFY_BY = date(2026, 6, 4)
# The end of 4 June in Yantai (UTC+8): 16:00 UTC, as the campaign's disclosure gives it.
END_OF_RECTIFY_BY = datetime(2026, 6, 4, 16, 0, tzinfo=UTC)


def failed(
    *,
    check_id: str = "chk_1",
    event_id: str = "ev_chk_1",
    kind: str = "safety",
    market_id: str = "mkt_1",
    rectify_by: date = RECTIFY_BY,
    at: datetime = T0,
) -> RenovationTrigger:
    """A failed renovation check of project rnv_1 at `market_id`, to rectify by `rectify_by`."""
    return RenovationTrigger(
        check_id=check_id,
        project_id="rnv_1",
        event_id=event_id,
        correlation_id=f"corr_{event_id}",
        check_kind=kind,
        market_id=market_id,
        district="zhifu",
        rectify_by=rectify_by,
        at=at,
    )


def new_task(trigger: RiskTrigger | ComplaintTrigger | None = None, now: datetime = T0) -> Task:
    decision = decide(None, trigger or risk(), POLICY, now, task_force=TASK_FORCE)
    assert decision.task is not None
    return decision.task


def claimed_task(now: datetime = T0) -> Task:
    return claim(new_task(now=now), by=INSPECTOR, now=now).task


def completed(
    outcome: str = "major",
    codes: tuple[str, ...] = ("CCH-01",),
    now: datetime = T0,
    policy: Policy = POLICY,
) -> Completion:
    reports = [FindingReport(code, f"note on {code}") for code in codes]
    if outcome == "pass":
        reports = []
    return complete(
        claimed_task(now), by=INSPECTOR, outcome=outcome, findings=reports, now=now, policy=policy
    )


def wire(outgoing: Outgoing) -> dict[str, Any]:
    """The event as an integrator receives it."""
    parsed: dict[str, Any] = json.loads(item(outgoing)[1].to_json())
    return parsed


def schema_problems(outgoing: Outgoing) -> list[str]:
    return validate(wire(outgoing), generate.envelope_schema(spec(outgoing.type)))
