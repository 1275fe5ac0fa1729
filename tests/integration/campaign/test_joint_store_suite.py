"""One suite for the stores of joint meetings and enforcement, run against Postgres (a fresh
schema, migrated) and the in-memory fakes the use-case tests rely on: both must give the same
answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.people import Actor
from services.campaign.domain.enforcement import Case, Origin, close, decide, open_case
from services.campaign.domain.meetings import (
    DecisionInput,
    Meeting,
    flag_late,
    mark_done,
    record_meeting,
)
from services.campaign.joint.app import MIGRATIONS
from services.campaign.joint.config import DEPARTMENTS_FILE
from services.campaign.joint.fakes import fake_stores
from services.campaign.joint.policy_files import load_departments
from services.campaign.joint.store import CaseTaken, ItemRow, Stores, postgres_stores
from tests.support.store_suite import migrated

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
CATALOGUE = load_departments(DEPARTMENTS_FILE)
CLERK = Actor.of("clerk-1", "张文员")


@pytest.fixture
async def stores(database: str | None) -> AsyncIterator[Stores]:
    if database is None:
        yield fake_stores()
        return
    async with migrated(database, "joint", {"joint": MIGRATIONS}) as conn:
        yield postgres_stores(conn)


def meeting(
    district: str = "zhifu",
    held_on: date = date(2026, 5, 8),
    deadlines: tuple[date, ...] = (date(2026, 5, 20), date(2026, 5, 15)),
    departments: tuple[str, ...] = ("market_regulation", "health"),
) -> Meeting:
    return record_meeting(
        district=district,
        title="第一次联席会议",
        held_on=held_on,
        departments=["market_regulation", "health"],
        minutes="研究部署",
        decisions=[
            DecisionInput(f"事项{n}", departments[n % len(departments)], d)
            for n, d in enumerate(deadlines)
        ],
        catalogue=CATALOGUE,
        known_districts=None,
        now=T0,
        tz=TZ,
        actor=CLERK,
    )


def origin(origin_id: str = "task_1", at: datetime = T0, status: str = "critical") -> Origin:
    return Origin(
        kind="finding",
        origin_id=origin_id,
        district="zhifu",
        market_id="mkt_1",
        merchant_id="mer_1",
        status=status,
        event_id=f"evt-{origin_id}-{at.timestamp()}",
        correlation_id="risk-1",
        occurred_at=at,
        detail={"stall_no": "A-01"},
    )


def case(o: Origin, at: datetime = T0, district: str = "zhifu") -> Case:
    c = open_case(
        kind=o.kind,
        origin_id=o.origin_id,
        origin=replace(o, district=district),
        departments=["market_regulation", "health"],
        facts="冷链温度严重超标",
        active=None,
        catalogue=CATALOGUE,
        now=at,
        actor=CLERK,
    )
    return c


# -- meetings and action items -------------------------------------------------------------------


async def test_a_meeting_is_stored_with_its_items_in_order(stores: Stores) -> None:
    m = meeting()
    await stores.meetings.insert(m)
    assert await stores.meetings.get(m.meeting_id) == m
    assert await stores.meetings.get(m.meeting_id, for_update=True) == m
    assert await stores.meetings.get("mtg_nobody") is None


async def test_meetings_are_listed_latest_held_first_within_the_districts(
    stores: Stores,
) -> None:
    early, late = meeting(held_on=date(2026, 5, 1)), meeting(held_on=date(2026, 5, 9))
    city = meeting("city", held_on=date(2026, 5, 5))
    other = meeting("laishan")
    for m in (early, late, city, other):
        await stores.meetings.insert(m)
    ids = [m.meeting_id for m in await stores.meetings.listed(["zhifu", "city"], 10)]
    assert ids == [late.meeting_id, city.meeting_id, early.meeting_id]
    assert len(await stores.meetings.listed(None, 10)) == 4
    assert [m.meeting_id for m in await stores.meetings.listed(None, 1)] == [late.meeting_id]
    assert (await stores.meetings.listed(["zhifu"], 1))[0].items == late.items


async def test_an_item_done_is_updated_and_listed_by_state_and_department(
    stores: Stores,
) -> None:
    m = meeting()
    await stores.meetings.insert(m)
    first, second = sorted(m.items, key=lambda i: i.deadline)
    assert first.department == "health"
    changed, done = mark_done(m, first.item_id, note="已完成", now=T0, tz=TZ, actor=CLERK)
    await stores.meetings.update_item(done)
    assert await stores.meetings.get(m.meeting_id) == changed
    today = date(2026, 5, 18)
    items = stores.meetings.items

    def ids(rows: list[ItemRow]) -> list[str]:
        return [r.item.item_id for r in rows]

    everything = await items(None, state=None, today=today, department=None, limit=10)
    assert ids(everything) == [first.item_id, second.item_id]
    assert everything[0].district == "zhifu" and everything[0].title == m.title
    assert ids(await items(None, state="done", today=today, department=None, limit=10)) == [
        first.item_id
    ]
    assert ids(await items(["zhifu"], state="open", today=today, department=None, limit=10)) == [
        second.item_id
    ]
    assert await items(None, state="late", today=today, department=None, limit=10) == []
    late = await items(None, state="late", today=date(2026, 5, 21), department=None, limit=10)
    assert ids(late) == [second.item_id]
    assert await items(["laishan"], state=None, today=today, department=None, limit=10) == []
    by_department = await items(None, state=None, today=today, department="health", limit=10)
    assert ids(by_department) == [first.item_id]
    assert ids(await items(None, state=None, today=today, department=None, limit=1)) == [
        first.item_id
    ]


async def test_items_to_flag_are_the_open_unflagged_ones_past_their_deadline(
    stores: Stores,
) -> None:
    m = meeting(deadlines=(date(2026, 5, 20), date(2026, 5, 15), date(2026, 6, 30)))
    await stores.meetings.insert(m)
    by_deadline = sorted(m.items, key=lambda i: i.deadline)
    today = date(2026, 5, 21)
    due = await stores.meetings.items_to_flag(today, 10)
    assert [(i.item_id, d) for i, d in due] == [(i.item_id, "zhifu") for i in by_deadline[:2]]
    assert len(await stores.meetings.items_to_flag(today, 1)) == 1
    now = datetime(2026, 5, 21, 1, tzinfo=UTC)
    flagged = flag_late(by_deadline[0], now, TZ)
    assert flagged is not None
    await stores.meetings.update_item(flagged)
    due = await stores.meetings.items_to_flag(today, 10)
    assert [i.item_id for i, _ in due] == [by_deadline[1].item_id]


# -- origins -------------------------------------------------------------------------------------


async def test_an_origin_is_kept_and_replaced_only_by_a_later_event(stores: Stores) -> None:
    first = origin(status="major")
    await stores.origins.upsert(first)
    assert await stores.origins.get("finding", "task_1") == first
    later = origin(at=T0 + timedelta(hours=1))
    await stores.origins.upsert(later)
    await stores.origins.upsert(origin(at=T0 - timedelta(hours=1), status="pass"))
    assert await stores.origins.get("finding", "task_1", for_update=True) == later
    assert await stores.origins.get("complaint", "task_1") is None


# -- cases ---------------------------------------------------------------------------------------


async def test_a_case_is_stored_with_its_chain_and_updated(stores: Stores) -> None:
    c = case(origin())
    await stores.cases.insert(c, correlation_id="risk-1", event_id="evt-open")
    row = await stores.cases.get(c.case_id)
    assert row is not None and (row.case, row.correlation_id, row.last_event_id) == (
        c,
        "risk-1",
        "evt-open",
    )
    assert await stores.cases.active("finding", "task_1") == c
    d = decide(
        c,
        sanction="fine",
        fine_yuan="2000",
        reasoning="第一百二十四条",
        decided_on=None,
        now=T0 + timedelta(days=1),
        tz=TZ,
        actor=CLERK,
    )
    await stores.cases.update(d, event_id="evt-decided")
    row = await stores.cases.get(c.case_id, for_update=True)
    assert row is not None and (row.case, row.correlation_id, row.last_event_id) == (
        d,
        "risk-1",
        "evt-decided",
    )
    closed = close(d, note="已执行", now=T0 + timedelta(days=2), actor=CLERK)
    await stores.cases.update(closed, event_id="evt-closed")
    assert await stores.cases.active("finding", "task_1") is None
    assert await stores.cases.get("case_nobody") is None


async def test_an_origin_has_one_case_not_closed_at_a_time(stores: Stores) -> None:
    o = origin()
    await stores.cases.insert(case(o), correlation_id="risk-1", event_id="evt-1")
    with pytest.raises(CaseTaken):
        await stores.cases.insert(case(o), correlation_id="risk-1", event_id="evt-2")


async def test_cases_are_listed_latest_opened_first_with_filters(stores: Stores) -> None:
    a = case(origin("task_a"), at=T0)
    b = case(origin("task_b"), at=T0 + timedelta(hours=1))
    c = case(origin("task_c"), at=T0 + timedelta(hours=2), district="laishan")
    for x in (a, b, c):
        await stores.cases.insert(x, correlation_id="risk-1", event_id=f"evt-{x.case_id}")

    async def ids(**kw: object) -> list[str]:
        args: dict[str, object] = {"state": None, "market_id": None, "limit": 10} | kw
        districts = args.pop("districts", None)
        found = await stores.cases.listed(districts, **args)  # type: ignore[arg-type]
        return [x.case_id for x in found]

    assert await ids() == [c.case_id, b.case_id, a.case_id]
    assert await ids(districts=["zhifu"]) == [b.case_id, a.case_id]
    assert await ids(state="open", limit=1) == [c.case_id]
    assert await ids(state="closed") == []
    assert await ids(market_id="mkt_9") == []
