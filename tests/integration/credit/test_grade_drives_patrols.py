"""Credit and inspection through their topics: a critical inspection of a food-safety risk drops
the merchant to grade C; the suspension it orders drops it to D; inspection re-plans the
merchant's routine patrol under each grade it reads and ends at D's 90 days from the inspection.

registry, credit and inspection run in-process on the real stack; they meet only on Kafka:
telemetry.risks.v1 → inspection task → completion on inspection.events.v1 → credit's ledger →
credit.scores.v1 → inspection's patrol plan; and the suspension: inspection.events.v1 → the
registry's merchant status → registry.merchants.v1 → credit → credit.scores.v1 → the plan.

The registry applies the suspension on its own time, so whether inspection ever shows grade C is a
race; the end state is not: every score change is a version, and the plan keeps the newest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import topics
from tests.integration.credit.conftest import plan_of, score_of, with_inspection
from tests.integration.inspection.conftest import risk_event
from tests.support.city import InProcess, bearer, provision
from tests.support.kafka import TopicWatcher
from tests.support.poll import until


@pytest.fixture(scope="module")
async def loop(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[tuple[InProcess, httpx.AsyncClient, Any]]:
    async with with_inspection(kafka, database_url, secrets_env, "loop") as running:
        yield running


async def test_a_critical_inspection_grades_c_then_d_and_the_patrol_follows_to_90_days(
    loop: tuple[InProcess, httpx.AsyncClient, Any], kafka: str
) -> None:
    run, inspection, inspection_app = loop
    place = await provision(run.registry, leader="钱队长")
    inspector = bearer("inspector", place.district)
    directory = inspection_app.state.inspection.directory
    await until(
        lambda: place.merchant_id in directory.merchants and place.market_id in directory.markets,
        what="inspection knows the merchant",
    )
    plan = await until(
        lambda: plan_of(inspection, place.merchant_id, inspector), what="a patrol plan"
    )
    # B until credit's first score (100, A) arrives; which one depends on who was quicker.
    assert plan["effective_grade"] in ("A", "B")

    risk = risk_event(place, raised_at=datetime.now(UTC) - timedelta(minutes=20))
    await run.producer.send_and_wait(
        topics.TELEMETRY_RISKS.name, risk.to_json(), key=place.terminal_id.encode()
    )

    async def risk_task() -> str | None:
        r = await inspection.get("/tasks?state=open", headers=inspector)
        mine = [t for t in r.json()["items"] if t["merchant_id"] == place.merchant_id]
        return mine[0]["id"] if mine else None

    task_id = await until(risk_task, what="the risk became a task")
    assert (await inspection.post(f"/tasks/{task_id}/claim", headers=inspector)).status_code == 200
    async with TopicWatcher(kafka, topics.CREDIT_SCORES.name) as scores:
        done = await inspection.post(
            f"/tasks/{task_id}/complete",
            json={
                "outcome": "critical",
                "findings": [{"code": "CCH-01", "note": "冷柜门整夜未关"}],
                "departments": ["market_regulation", "health"],
            },
            headers=inspector,
        )
        assert done.status_code == 200, done.text
        completed_at = datetime.fromisoformat(done.json()["completed_at"])
        # −30 for the critical finding, −10 for the food-safety risk it confirmed: 60, grade C;
        # −10 for the suspension the critical finding ordered: 50, grade D.
        [graded] = await scores.wait_for(score_of(place.merchant_id, score=60), timeout=30)
        [suspended] = await scores.wait_for(
            score_of(place.merchant_id, score=50, grade="D"), timeout=120
        )
        # The suspension comes on registry.merchants.v1 and the task's facts on
        # inspection.events.v1: nothing orders the two topics, so the suspension may land
        # between the finding and the confirmed risk. Whichever came last, it was one of them.
        kinds = {
            (r.json()["data"].get("adjustment") or {}).get("kind")
            for r in scores.records
            if score_of(place.merchant_id)(r)
        }
    assert graded.json()["data"]["grade"] == "C"
    assert graded.json()["correlationid"] == risk.data.risk_id
    final = suspended.json()["data"]
    assert "merchant.suspended" in kinds
    assert final["adjustment"]["kind"] in ("merchant.suspended", "food_safety_risk.confirmed")

    async def replanned() -> dict[str, Any] | None:
        plan = await plan_of(inspection, place.merchant_id, inspector)
        if not plan or plan["grade_version"] != final["version"]:
            return None
        # The grade comes on credit.scores.v1 and the merchant's status on
        # registry.merchants.v1 (inspection's view of it): two topics, nothing orders them, so
        # the plan may show the new grade a moment before the view has the suspension.
        return plan if plan["merchant_status"] == "suspended" else None

    # Inspection reads the score from credit.scores.v1 in its own group: on a busy machine
    # that group's first fetch can take a while after the score lands.
    plan = await until(
        replanned, within=180, what="inspection re-planned the patrol for grade D, suspended"
    )
    assert plan["grade"] == "D"
    assert plan["merchant_status"] == "suspended"
    anchor = datetime.fromisoformat(plan["anchor"])
    assert anchor == completed_at  # the critical inspection itself is the last inspection
    assert datetime.fromisoformat(plan["due_at"]) == anchor + timedelta(days=90)
