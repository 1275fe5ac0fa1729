"""The warning list on `credit.honours.v1` → patrol plans (issue 17): a listed merchant is
patrolled at the D interval whatever its grade, exactly once however often the listing is
delivered, until a delisting restores its grade's interval. Real Kafka and Postgres."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.inspection.domain import first_patrol_offset
from tests.integration.inspection.conftest import Place, Stack
from tests.integration.inspection.upstream import honour_event, score_event
from tests.support.poll import until

HONOURS = "credit.honours.v1"
SCORES = "credit.scores.v1"
D = timedelta(days=1)


async def _plan(
    stack: Stack, place: Place, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async def found() -> dict[str, Any]:
        r = await stack.inspection.get(
            f"/patrol-plans/{place.merchant_id}", headers=stack.token("inspector", place.district)
        )
        plan: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return plan if plan and check(plan) else {}

    return await until(found, what=f"the patrol plan of {place.merchant_id}")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _stale_count(stack: Stack) -> float:
    metrics = (await stack.inspection.get("/metrics")).text
    for line in metrics.splitlines():
        if line.startswith('sentinel_inspection_patrol_plan_changes_total{change="stale"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_listed_merchant_is_patrolled_at_90_days_until_delisted(stack: Stack) -> None:
    place = await stack.place()
    await stack.send(score_event(place, grade="A", version=1, score=95), place.merchant_id, SCORES)
    graded = await _plan(stack, place, lambda p: p["grade"] == "A")
    anchor = _at(graded["anchor"])
    # Never inspected: the first patrol falls at the merchant's own point of the interval.
    at_a, at_d = (anchor + first_patrol_offset(place.merchant_id, n * D) for n in (365, 90))
    assert _at(graded["due_at"]) == at_a
    assert (graded["interval_reason"], graded["interval_days"]) == ("grade", 365)

    # Neither the honour list nor a market's entry changes a merchant's patrols.
    for other in (
        honour_event(place, "2026-11", kind="honour"),
        honour_event(place, "2026-11", entity="market"),
    ):
        await stack.send(other, other.subject, HONOURS)
    listing = honour_event(place, "2026-11")
    partition = await stack.send(listing, place.merchant_id, HONOURS)
    warned = await _plan(stack, place, lambda p: p["interval_reason"] == "warning_list")
    assert warned["warning_list"] == "2026-11" and warned["grade"] == "A"
    assert (warned["effective_grade"], warned["interval_days"]) == ("D", 90)
    assert _at(warned["anchor"]) == anchor
    assert _at(warned["due_at"]) == at_d

    # A better grade does not lift the warning; the listing redelivered changes nothing.
    await stack.send(listing, place.merchant_id, HONOURS, partition=partition)
    await stack.send(
        score_event(place, grade="A", version=2, score=100),
        place.merchant_id,
        SCORES,
    )
    regraded = await _plan(stack, place, lambda p: p["grade_version"] == 2)
    assert regraded["interval_reason"] == "warning_list"
    assert _at(regraded["due_at"]) == at_d

    # Delisted the month after: the grade's interval is back.
    delisting = honour_event(place, "2026-12", listed=False)
    await stack.send(delisting, place.merchant_id, HONOURS, partition=partition)
    back = await _plan(stack, place, lambda p: p["interval_reason"] == "grade")
    assert back["warning_list"] is None and back["delisted"] == "2026-12"
    assert _at(back["due_at"]) == at_a

    # An old listing read late (a new delivery of November's list) leaves it delisted.
    stale = await _stale_count(stack)
    late = honour_event(place, "2026-11")
    await stack.send(late, place.merchant_id, HONOURS, partition=partition)
    await until(
        lambda: _more_stale(stack, stale), what="inspection read the old listing and ignored it"
    )
    plan = await _plan(stack, place, lambda p: True)
    assert plan["interval_reason"] == "grade" and plan["warning_list"] is None

    # Listed again in a later month: 90 days again.
    again = honour_event(place, "2027-01")
    await stack.send(again, place.merchant_id, HONOURS, partition=partition)
    relisted = await _plan(stack, place, lambda p: p["warning_list"] == "2027-01")
    assert _at(relisted["due_at"]) == at_d
    metrics = (await stack.inspection.get("/metrics")).text
    assert 'sentinel_inspection_patrol_plan_changes_total{change="warned"}' in metrics
    assert 'sentinel_inspection_patrol_plan_changes_total{change="delisted"}' in metrics


async def _more_stale(stack: Stack, before: float) -> bool:
    return await _stale_count(stack) > before
