"""Credit's warning list drives inspection's patrols (issue 17), through their topics only: a
merchant with two critical findings in the month, and one graded A with a rectification overdue,
are on the month's warning list; inspection patrols both at the D interval (90 days) with the
reason `warning_list`; the next month delists the second and its grade's interval is back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import topics
from services.credit.domain import Month
from services.inspection.domain import first_patrol_offset
from tests.integration.credit.conftest import (
    completed,
    overdue_rectification,
    plan_of,
    recorded,
    score_of,
    with_inspection,
)
from tests.support.city import Clock, InProcess, bearer, provision
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

CITY = ZoneInfo("Asia/Shanghai")
D = timedelta(days=1)


@pytest.fixture(scope="module")
async def loop(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[tuple[InProcess, Clock, httpx.AsyncClient, Any]]:
    clock = Clock()
    async with with_inspection(kafka, database_url, secrets_env, "hon", clock) as running:
        run, inspection, inspection_app = running
        yield run, clock, inspection, inspection_app


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_the_warning_list_patrols_at_90_days_until_the_merchant_leaves_it(
    loop: tuple[InProcess, Clock, httpx.AsyncClient, Any], kafka: str
) -> None:
    run, clock, inspection, inspection_app = loop
    month = Month.of(datetime.now(UTC), CITY).previous()
    at = month.start(CITY) + 5 * D
    warned = await provision(run.registry, stall_no=f"W-{uuid.uuid4().hex[:4]}")
    overdue = await provision(run.registry, stall_no=f"O-{uuid.uuid4().hex[:4]}")
    inspection_view = inspection_app.state.inspection.directory
    credit_view = run.app.state.credit.directory
    for place in (warned, overdue):
        await until(
            lambda p=place: (
                p.merchant_id in inspection_view.merchants
                and p.merchant_id in credit_view.merchants
                and p.market_id in credit_view.markets
            ),
            what="credit and inspection know the merchant",
        )
    scores = topics.CREDIT_SCORES.name
    async with TopicWatcher(kafka, scores) as watched:
        for event in (
            completed(warned, "critical", at=at),
            completed(warned, "critical", at=at + D),
            overdue_rectification(overdue, at=at),
        ):
            await run.producer.send_and_wait(
                topics.INSPECTION_EVENTS.name, event.to_json(), key=event.subject.encode()
            )
        await watched.wait_for(score_of(warned.merchant_id, score=40, grade="D"), timeout=30)
        await watched.wait_for(score_of(overdue.merchant_id, score=90, grade="A"), timeout=30)
    for place, kinds in (
        (warned, ["inspection.finding.critical"] * 2),
        (overdue, ["rectification.overdue"]),
    ):
        await until(lambda p=place, k=kinds: recorded(run.client, p, *k), what="the ledger")

    def plan(place: Any, **expected: Any) -> Any:
        async def check() -> dict[str, Any] | None:
            who = bearer("inspector", place.district)
            found = await plan_of(inspection, place.merchant_id, who)
            ok = found is not None and all(found.get(k) == v for k, v in expected.items())
            return found if ok else None

        return check

    # Graded A (90): patrolled every 365 days, by its grade.
    graded = await until(
        plan(overdue, grade="A", interval_reason="grade"), within=90, what="grade A plan"
    )
    anchor = _at(graded["anchor"])
    # Never inspected here (its findings came straight onto the topic): its first patrol falls at
    # its own point of the interval, spread like a seeded city's.
    at_a, at_d = (anchor + first_patrol_offset(overdue.merchant_id, n * D) for n in (365, 90))
    assert _at(graded["due_at"]) == at_a

    admin = bearer("admin", "*")
    r = await run.client.post("/honours/draw", json={"month": str(month)}, headers=admin)
    assert r.status_code == 201, r.text
    warning = {e["entity_id"] for e in r.json()["warning"]}
    assert {warned.merchant_id, overdue.merchant_id} <= warning

    listed = await until(
        plan(overdue, interval_reason="warning_list"), within=90, what="the warning list"
    )
    assert listed["warning_list"] == str(month) and listed["grade"] == "A"
    assert (listed["effective_grade"], listed["interval_days"]) == ("D", 90)
    assert _at(listed["anchor"]) == anchor and _at(listed["due_at"]) == at_d
    d_plan = await until(
        plan(warned, interval_reason="warning_list"), within=90, what="the D merchant's plan"
    )
    assert (d_plan["grade"], d_plan["interval_days"]) == ("D", 90)

    # The next month: the overdue order was last month's; off the list, 365 days again.
    following = month.shift(1)
    clock.offset = following.end(CITY) + timedelta(hours=1) - datetime.now(UTC)
    try:
        r = await run.client.post("/honours/draw", json={"month": str(following)}, headers=admin)
        assert r.status_code == 201, r.text
    finally:
        clock.offset = timedelta()
    assert (overdue.merchant_id, "warning") in {
        (e["entity_id"], e["list"]) for e in r.json()["delisted"]
    }
    back = await until(plan(overdue, interval_reason="grade"), within=90, what="delisted")
    assert back["warning_list"] is None and back["delisted"] == str(following)
    assert _at(back["due_at"]) == at_a
    # The following month's list reaches the warned merchant's plan on its own partition: waited
    # for, not read once, since the overdue merchant's delisting above says nothing of it.
    still = await until(
        plan(warned, interval_reason="warning_list", warning_list=str(following)),
        within=90,
        what="the D merchant listed again",
    )
    assert (still["grade"], still["interval_days"]) == ("D", 90)
