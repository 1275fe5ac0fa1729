"""The monthly honour and warning list (红黑榜) on real Kafka and Postgres: drawn from the ledger
and the assessment by the policy's rules, stored, published on `credit.honours.v1` once, shown
to staff by district and to the public without anything personal, delisted the month after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import topics
from services.credit.__main__ import _draw
from services.credit.domain import Month
from tests.integration.credit.conftest import (
    Stack,
    completed,
    credit_stack,
    overdue_rectification,
    recorded,
    registered,
    score_of,
)
from tests.support.city import Place
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until

CITY = ZoneInfo("Asia/Shanghai")
HONOURS = topics.CREDIT_HONOURS.name
SCORES = topics.CREDIT_SCORES.name
INSPECTION = topics.INSPECTION_EVENTS.name


@dataclass
class Drawn:
    month: Month
    warned: Place  # two critical findings in the month: grade D
    overdue: Place  # a rectification overdue in the month: grade A
    honoured: Place  # inspected, passed: grade A, no finding
    body: dict[str, Any]
    published: list[Record]

    @property
    def ids(self) -> set[str]:
        return {p.merchant_id for p in (self.warned, self.overdue, self.honoured)}


def _of(body: dict[str, Any], kind: str, entity_id: str) -> dict[str, Any] | None:
    return next((e for e in body[kind] if e["entity_id"] == entity_id), None)


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    async for s in credit_stack(kafka, database_url, secrets_env, from_beginning=False):
        yield s


@pytest.fixture(scope="module")
async def drawn(stack: Stack, kafka: str) -> Drawn:
    """Three merchants with last month's record, and last month's list drawn by an admin."""
    month = Month.of(datetime.now(UTC), CITY).previous()
    at = month.start(CITY) + timedelta(days=5)
    warned, overdue, honoured = [await registered(stack, kafka) for _ in range(3)]
    async with TopicWatcher(kafka, SCORES) as scores:
        for event in (
            completed(warned, "critical", at=at),
            completed(warned, "critical", at=at + timedelta(days=1)),
            completed(honoured, "pass", at=at),
        ):
            await stack.send(INSPECTION, event, event.subject)
        late = overdue_rectification(overdue, at=at)
        await stack.send(INSPECTION, late, late.subject)
        await scores.wait_for(score_of(warned.merchant_id, score=40, grade="D"))
        await scores.wait_for(score_of(overdue.merchant_id, score=90, grade="A"))
    for place, kinds in (
        (warned, ["inspection.finding.critical"] * 2),
        (overdue, ["rectification.overdue"]),
        (honoured, ["inspection.pass"]),
    ):
        await until(lambda p=place, k=kinds: recorded(stack.credit, p, *k), what="the ledger")
    directory = stack.app.state.credit.directory
    await until(
        lambda: all(
            p.merchant_id in directory.merchants and p.market_id in directory.markets
            for p in (warned, overdue, honoured)
        ),
        what="credit knows the merchants and their markets",
    )
    ids = {p.merchant_id for p in (warned, overdue, honoured)}
    async with TopicWatcher(kafka, HONOURS) as honours:
        r = await stack.credit.post(
            "/honours/draw", json={"month": str(month)}, headers=stack.token("admin", "*")
        )
        assert r.status_code == 201, r.text
        body = r.json()
        await honours.wait_for(lambda rec: rec.json()["subject"] in ids, count=3)
        await honours.drain(settle_s=1.0)
    did = body["drawing_id"]
    mine = [rec for rec in honours.records if rec.json()["data"]["drawing_id"] == did]
    return Drawn(month, warned, overdue, honoured, body, mine)


async def test_two_critical_findings_or_an_overdue_order_warn_a_clean_record_honours(
    drawn: Drawn, stack: Stack
) -> None:
    body, month = drawn.body, drawn.month
    assert body["drawn"] is True and body["month"] == str(month)
    book = stack.app.state.credit.book
    assert body["policy_version"] == book.in_force(month.end(CITY)).version
    assert body["period"] == {
        "from": month.start(CITY).isoformat(),
        "to": month.end(CITY).isoformat(),
    }
    six = f"{month.shift(-5)}..{month}"
    warned = _of(body, "warning", drawn.warned.merchant_id)
    assert warned is not None and warned["entity"] == "merchant"
    assert warned["reasons"] == ["grade: D", f"critical_findings: 2 in {six}"]
    assert (warned["name"], warned["market_name"]) == ("商户", "检查市场")
    overdue = _of(body, "warning", drawn.overdue.merchant_id)
    assert overdue is not None
    assert overdue["reasons"] == [f"overdue_rectifications: 1 in {month}"]
    honoured = _of(body, "honour", drawn.honoured.merchant_id)
    assert honoured is not None
    assert honoured["reasons"] == [
        "grade: A",
        f"no_findings: none in {six}",
        f"inspections: 1 in {six}",
    ]
    # Markets: the honoured merchant's market passed everything; the warned one's did not.
    market = _of(body, "honour", drawn.honoured.market_id)
    assert market is not None and market["reasons"][1] == "rank: 1 of 1 in the district"
    low = _of(body, "warning", drawn.warned.market_id)
    assert low is not None and low["reasons"][0].startswith("score: ")
    assert body["delisted"] == [] and body["drawn_by"]["subject"]


async def test_each_entry_is_published_once_in_the_drawings_chain(drawn: Drawn) -> None:
    ours = [r for r in drawn.published if r.json()["subject"] in drawn.ids]
    assert sorted(r.key for r in ours) == sorted(i.encode() for i in drawn.ids)
    for record in ours:
        event = record.json()
        assert event["type"] == "credit.honour.listed"
        assert event["source"] == "/sentinel/credit"
        assert event["correlationid"] == drawn.body["drawing_id"]
        assert event["dataschema"].endswith("/credit.honour.listed/v1.json")
        data = event["data"]
        assert data["month"] == str(drawn.month) and data["entity"] == "merchant"
        expected = "honour" if event["subject"] == drawn.honoured.merchant_id else "warning"
        assert data["list"] == expected and data["reasons"]
    # Every entry of the list, markets too, and nothing else of this drawing.
    listed = {(e["entity_id"], e["list"]) for e in drawn.body["honour"] + drawn.body["warning"]}
    assert {(r.json()["subject"], r.json()["data"]["list"]) for r in drawn.published} == listed
    assert len(drawn.published) == len(listed)


async def test_drawing_a_month_again_publishes_nothing_new(
    drawn: Drawn, stack: Stack, kafka: str
) -> None:
    admin = stack.token("admin", "*")
    async with TopicWatcher(kafka, HONOURS) as honours:
        again = await stack.credit.post(
            "/honours/draw", json={"month": str(drawn.month)}, headers=admin
        )
        assert again.status_code == 200, again.text
        # The command line draws through the same rules: drawn already, nothing published.
        cli = await _draw(stack.settings, str(drawn.month))
        await honours.drain(settle_s=2.0)
    assert again.json()["drawn"] is False and cli["drawn"] is False
    assert again.json()["drawing_id"] == cli["drawing_id"] == drawn.body["drawing_id"]
    assert again.json()["warning"] == drawn.body["warning"]
    assert [r for r in honours.records if r.json()["subject"] in drawn.ids] == []


async def test_staff_see_their_district_and_the_public_nothing_personal(
    drawn: Drawn, stack: Stack
) -> None:
    place = drawn.warned
    month = str(drawn.month)
    mine = await stack.credit.get(
        f"/honours?month={month}", headers=stack.token("inspector", place.district)
    )
    assert mine.status_code == 200, mine.text
    entries = mine.json()["honour"] + mine.json()["warning"]
    assert {e["district"] for e in entries} == {place.district}
    assert {e["entity_id"] for e in entries} == {place.merchant_id, place.market_id}
    latest = await stack.credit.get("/honours", headers=stack.token("leader", place.district))
    assert latest.status_code == 200 and latest.json()["month"] >= month
    elsewhere = await stack.credit.get(
        f"/honours?district={place.district}", headers=stack.token("inspector", "another")
    )
    assert elsewhere.status_code == 403
    assert (await stack.credit.get("/honours")).status_code == 401

    public = await stack.credit.get(f"/public/honours?month={month}&district={place.district}")
    assert public.status_code == 200, public.text
    body = public.json()
    assert "drawn_by" not in body and "delisted" not in body
    [merchant] = [e for e in body["warning"] if e["entity"] == "merchant"]
    assert (merchant["name"], merchant["market_name"]) == ("商户", "检查市场")
    assert set(merchant) == {
        "list",
        "entity",
        "entity_id",
        "name",
        "market_id",
        "market_name",
        "district",
        "reasons",
    }
    assert (await stack.credit.get("/public/honours?month=2020-01")).status_code == 404
    bad = await stack.credit.get("/public/honours?month=2026-13")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "month"


async def test_the_next_month_delists_what_left_the_list(
    drawn: Drawn, stack: Stack, kafka: str
) -> None:
    month = drawn.month.shift(1)
    admin = stack.token("admin", "*")
    early = await stack.credit.post("/honours/draw", json={"month": str(month)}, headers=admin)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "month"
    stack.clock.offset = month.end(CITY) + timedelta(hours=1) - datetime.now(UTC)
    try:
        async with TopicWatcher(kafka, HONOURS) as honours:
            r = await stack.credit.post("/honours/draw", json={"month": str(month)}, headers=admin)
            assert r.status_code == 201, r.text
            [gone] = await honours.wait_for(
                lambda rec: (
                    rec.json()["type"] == "credit.honour.delisted"
                    and rec.json()["subject"] == drawn.overdue.merchant_id
                )
            )
            await honours.drain(settle_s=1.0)
        body = r.json()
        # The overdue order was last month's: off the warning list. The critical findings are
        # within six months and the grade is D: still warned. The clean record stays honoured.
        assert _of(body, "warning", drawn.overdue.merchant_id) is None
        assert _of(body, "warning", drawn.warned.merchant_id) is not None
        assert _of(body, "honour", drawn.honoured.merchant_id) is not None
        delisted = {(e["entity_id"], e["list"]) for e in body["delisted"]}
        assert (drawn.overdue.merchant_id, "warning") in delisted
        data = gone.json()["data"]
        assert (data["month"], data["list"]) == (str(month), "warning")
        assert gone.json()["correlationid"] == body["drawing_id"]
        ours = {r.json()["subject"]: r.json()["type"] for r in honours.records}
        assert ours[drawn.warned.merchant_id] == "credit.honour.listed"  # listed again

        # The lists follow each other: an earlier month is not drawn after a later one.
        before = drawn.month.previous()
        r = await stack.credit.post("/honours/draw", json={"month": str(before)}, headers=admin)
        assert r.status_code == 409, r.text
        r = await stack.credit.post("/honours/draw", json={"month": "2026-1"}, headers=admin)
        assert r.status_code == 422
        denied = await stack.credit.post(
            "/honours/draw", json={"month": str(month)}, headers=stack.token("clerk", "*")
        )
        assert denied.status_code == 403
    finally:
        stack.clock.offset = timedelta()
    metrics = (await stack.credit.get("/metrics")).text
    assert (
        'sentinel_credit_honour_entries_total{change="delisted",entity="merchant",list="warning"}'
        in metrics
    )


async def test_this_months_preview_lists_a_merchant_heading_for_the_warning_list(
    stack: Stack, kafka: str
) -> None:
    """本月预览: two critical findings so far this month; the district's staff read the merchant
    on the warning list before the month ends, and nothing is drawn or published."""
    now = datetime.now(UTC)
    month = Month.of(now, CITY)
    warned = await registered(stack, kafka)
    at = max(month.start(CITY), now - timedelta(hours=2))
    for event in (completed(warned, "critical", at=at), completed(warned, "critical", at=at)):
        await stack.send(INSPECTION, event, event.subject)
    kinds = ["inspection.finding.critical"] * 2
    await until(lambda: recorded(stack.credit, warned, *kinds), what="the ledger")
    directory = stack.app.state.credit.directory
    await until(lambda: warned.merchant_id in directory.merchants, what="credit knows it")
    leader = stack.token("leader", warned.district)
    async with TopicWatcher(kafka, HONOURS) as honours:
        r = await stack.credit.get("/honours/preview", headers=leader)
        assert r.status_code == 200, r.text
        published = await honours.drain(settle_s=1.0)
    body = r.json()
    assert (body["month"], body["district"]) == (str(month), warned.district)
    entry = _of(body, "warning", warned.merchant_id)
    assert entry is not None, body
    assert any(reason.startswith("critical_findings: 2 in") for reason in entry["reasons"])
    assert published == []
    elsewhere = stack.token("leader", "another")
    r = await stack.credit.get(f"/honours/preview?district={warned.district}", headers=elsewhere)
    assert r.status_code == 403
    assert (await stack.credit.get("/honours/preview")).status_code == 401
