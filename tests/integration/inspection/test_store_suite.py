"""One suite for inspection's stores, run against Postgres (a fresh schema, each test in a
transaction rolled back) and against the in-memory fakes the use-case tests stand on: a fake that
passes it behaves as the real store does, as far as a single unit of work can tell."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.people import Actor
from services.inspection.domain import PatrolPlan, RectificationOrder, Task, TaskForce
from services.inspection.domain.photos import Photo
from services.inspection.fakes import fake_stores
from services.inspection.store import LedgerQuery, MarketInfo, MerchantInfo, Placement, Stores
from services.runtime.db import create_pool
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate
from services.runtime.paging import Position, Window
from tests.support.inspection_builders import POLICY, T0, D, H, completed, new_task, risk

MIGRATIONS = Path(__file__).parents[3] / "services" / "inspection" / "migrations"


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"inspection_suite_{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, {"runtime": RUNTIME_MIGRATIONS, "inspection": MIGRATIONS})
    found = await create_pool(database_url, schema, max_size=2)
    yield found
    await found.close()


@pytest.fixture(params=["postgres", "fake"])
async def stores(request: pytest.FixtureRequest, pool: asyncpg.Pool) -> AsyncIterator[Stores]:
    if request.param == "fake":
        yield fake_stores()
        return
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield Stores.postgres(conn)
        finally:
            await tx.rollback()


def task(n: int, **changes: object) -> Task:
    """A distinct open task (its own merchant, so its own dedupe key)."""
    base = new_task(risk(merchant_id=f"mer_{n}", risk_id=f"risk_{n}"))
    return replace(base, task_id=f"tsk_{n}", **changes)  # type: ignore[arg-type]


def order(n: int, task_id: str, **changes: object) -> RectificationOrder:
    done = completed("major", codes=("CCH-01",))
    assert done.order is not None
    return replace(done.order, rectification_id=f"rec_{n}", task_id=task_id, **changes)  # type: ignore[arg-type]


def merchant(n: int, status: str = "active", version: int = 1) -> MerchantInfo:
    return MerchantInfo(f"mer_{n}", "mkt_1", "zhifu", f"A-{n}", status, version)


def plan(n: int, due_at: datetime, **changes: object) -> PatrolPlan:
    return replace(PatrolPlan.start(f"mer_{n}", "B", None, T0, POLICY), due_at=due_at, **changes)  # type: ignore[arg-type]


# -- tasks ---------------------------------------------------------------------------------------


async def test_a_saved_task_is_read_back_whole(stores: Stores) -> None:
    t = task(1)
    await stores.tasks.save(t)
    assert await stores.tasks.get("tsk_1") == t
    assert await stores.tasks.get("tsk_1", for_update=True) == t
    assert await stores.tasks.get("tsk_nope") is None


async def test_a_task_is_replaced_only_by_a_newer_version(stores: Stores) -> None:
    t = task(1)
    await stores.tasks.save(t)
    newer = replace(t, state="claimed", assignee="li", claimed_at=T0 + H, version=2)
    await stores.tasks.save(newer)
    assert await stores.tasks.get("tsk_1") == newer
    await stores.tasks.save(replace(t, version=2, note="same version"))
    await stores.tasks.save(t)
    assert await stores.tasks.get("tsk_1") == newer


async def test_the_open_task_of_a_key_is_found_until_it_is_completed(stores: Stores) -> None:
    t = task(1)
    await stores.tasks.save(t)
    assert await stores.tasks.open_task(t.dedupe_key) == t
    assert await stores.tasks.open_task(("mer_other", "risk")) is None
    claimed = replace(t, state="claimed", assignee="li", version=2)
    await stores.tasks.save(claimed)
    assert await stores.tasks.open_task(t.dedupe_key) == claimed
    await stores.tasks.save(replace(claimed, state="completed", completed_at=T0 + D, version=3))
    assert await stores.tasks.open_task(t.dedupe_key) is None


async def test_tasks_are_listed_by_due_time_then_id_and_filtered(stores: Stores) -> None:
    await stores.tasks.save(task(1, due_at=T0 + 2 * H))
    await stores.tasks.save(task(2, due_at=T0 + H, market_id="mkt_2"))
    await stores.tasks.save(task(3, due_at=T0 + H, district="laishan"))
    await stores.tasks.save(task(4, due_at=T0 + 3 * H, state="claimed", assignee="li"))

    async def ids(**given: object) -> list[str]:
        listed = await stores.tasks.listing(
            state=given.get("state"),  # type: ignore[arg-type]
            market_id=given.get("market_id"),  # type: ignore[arg-type]
            district=given.get("district"),  # type: ignore[arg-type]
            limit=given.get("limit", 100),  # type: ignore[arg-type]
        )
        return [t.task_id for t in listed]

    assert await ids() == ["tsk_2", "tsk_3", "tsk_1", "tsk_4"]
    assert await ids(limit=2) == ["tsk_2", "tsk_3"]
    assert await ids(state="claimed") == ["tsk_4"]
    assert await ids(market_id="mkt_2") == ["tsk_2"]
    assert await ids(district="laishan") == ["tsk_3"]
    assert await ids(state="open", district="zhifu") == ["tsk_2", "tsk_1"]


async def test_past_due_is_the_unfinished_unmarked_tasks_due_before_now(stores: Stores) -> None:
    await stores.tasks.save(task(1, due_at=T0 + 2 * H))
    await stores.tasks.save(task(2, due_at=T0 + H, state="claimed", assignee="li"))
    await stores.tasks.save(task(3, due_at=T0 + H, overdue_at=T0 + H))
    await stores.tasks.save(task(4, due_at=T0, state="completed", completed_at=T0))
    await stores.tasks.save(task(5, due_at=T0 + 5 * H))
    now = T0 + 3 * H
    assert [t.task_id for t in await stores.tasks.past_due(now, 10)] == ["tsk_2", "tsk_1"]
    assert [t.task_id for t in await stores.tasks.past_due(now, 1)] == ["tsk_2"]
    assert await stores.tasks.past_due(T0 + H, 10) == []


async def test_the_last_inspection_is_the_latest_completion_of_the_merchant(stores: Stores) -> None:
    assert await stores.tasks.last_inspections(["mer_1"]) == {}
    await stores.tasks.save(task(1, merchant_id="mer_1"))
    assert await stores.tasks.last_inspections(["mer_1"]) == {}
    for n, at in ((2, T0 + D), (3, T0 + 3 * D)):
        done = task(n, merchant_id="mer_1", state="completed", completed_at=at)
        await stores.tasks.save(done)
    await stores.tasks.save(task(4, state="completed", completed_at=T0 + 9 * D))
    assert await stores.tasks.last_inspections(["mer_1"]) == {"mer_1": T0 + 3 * D}
    # Several at once: only the merchants asked for, and only those ever inspected.
    assert await stores.tasks.last_inspections(["mer_4", "mer_1", "mer_7"]) == {
        "mer_1": T0 + 3 * D,
        "mer_4": T0 + 9 * D,
    }
    assert await stores.tasks.last_inspections([]) == {}


async def test_a_merchant_s_tasks_still_to_do_are_found_by_merchant(stores: Stores) -> None:
    assert await stores.tasks.open_of_merchants(["mer_1"]) == []
    mine = [
        task(1, merchant_id="mer_1"),
        task(2, merchant_id="mer_1", reason_kind="complaint", state="claimed", assignee="li"),
        task(3, merchant_id="mer_1", reason_kind="patrol", state="completed", completed_at=T0),
        task(4, merchant_id="mer_1", reason_kind="patrol", state="withdrawn", withdrawn_at=T0),
    ]
    for t in [*mine, task(5)]:
        await stores.tasks.save(t)
    found = await stores.tasks.open_of_merchants(["mer_1"])
    assert found == mine[:2]
    both = await stores.tasks.open_of_merchants(["mer_5", "mer_1"])
    assert [t.task_id for t in both] == ["tsk_1", "tsk_2", "tsk_5"]
    assert await stores.tasks.open_of_merchants([]) == []


# -- the inspection ledger (检查台账) ----------------------------------------------------------


ANY_TIME = Window()


def done(n: int, at: datetime, **changes: object) -> Task:
    """Task `n`, completed at `at` (its second version, as a completion saves it)."""
    return task(n, state="completed", completed_at=at, version=2, **changes)


async def ledger(
    stores: Stores,
    window: Window = ANY_TIME,
    after: Position | None = None,
    *,
    market_id: str | None = None,
    district: str | None = None,
    limit: int = 100,
) -> list[Task]:
    return await stores.tasks.completed(LedgerQuery(window, after, market_id, district, limit))


def ids(tasks: list[Task]) -> list[str]:
    return [t.task_id for t in tasks]


async def test_the_ledger_is_the_tasks_completed_in_the_window_newest_first(
    stores: Stores,
) -> None:
    start, end = T0, T0 + D
    for n, at in ((1, start), (2, start + H), (3, end), (4, start - H), (5, start + 2 * H)):
        # Stored open first: a completion replaces the row, and the ledger must see that.
        await stores.tasks.save(task(n))
        await stores.tasks.save(done(n, at))
    await stores.tasks.save(task(6))
    await stores.tasks.save(task(7, state="claimed", assignee="li", claimed_at=start + H))
    await stores.tasks.save(task(8, state="withdrawn", withdrawn_at=start + H))

    # The start is in the window, the end is not (the next month's first instant).
    assert ids(await ledger(stores, Window(start, end))) == ["tsk_5", "tsk_2", "tsk_1"]
    assert ids(await ledger(stores, Window(start, end), limit=2)) == ["tsk_5", "tsk_2"]
    assert ids(await ledger(stores)) == ["tsk_3", "tsk_5", "tsk_2", "tsk_1", "tsk_4"]
    assert ids(await ledger(stores, Window(start=start + H))) == ["tsk_3", "tsk_5", "tsk_2"]
    assert ids(await ledger(stores, Window(end=start + H))) == ["tsk_1", "tsk_4"]
    assert await ledger(stores, Window(end, end + D)) == [await stores.tasks.get("tsk_3")]


async def test_tasks_completed_at_one_instant_are_each_listed_once_across_page_edges(
    stores: Stores,
) -> None:
    at = T0 + H
    # Ids compared as code points: "tsk_B" before "tsk_a" ascending, whatever the locale.
    same = [replace(done(n, at), task_id=i) for n, i in ((1, "tsk_1"), (2, "tsk_B"), (3, "tsk_a"))]
    for t in [*same, done(4, at + H), done(5, at - H)]:
        await stores.tasks.save(t)
    everything = ["tsk_4", "tsk_a", "tsk_B", "tsk_1", "tsk_5"]
    assert ids(await ledger(stores)) == everything

    for limit in (1, 2, 3):
        listed: list[str] = []
        after: Position | None = None
        while True:
            page = await ledger(stores, Window(T0, T0 + D), after, limit=limit)
            listed += ids(page)
            if len(page) < limit:
                break
            last = page[-1]
            assert last.completed_at is not None
            after = Position(last.completed_at, last.task_id)
        assert listed == everything, limit

    # A page starts strictly after its position: at the same instant, only the smaller ids.
    assert ids(await ledger(stores, after=Position(at, "tsk_B"))) == ["tsk_1", "tsk_5"]
    assert ids(await ledger(stores, after=Position(at, "tsk_0"))) == ["tsk_5"]
    assert ids(await ledger(stores, after=Position(at + H, "tsk_4"))) == everything[1:]


async def test_the_ledger_is_filtered_by_district_and_market(stores: Stores) -> None:
    await stores.tasks.save(done(1, T0 + H))
    await stores.tasks.save(done(2, T0 + 2 * H, market_id="mkt_2"))
    await stores.tasks.save(done(3, T0 + 3 * H, district="laishan", market_id="mkt_3"))
    await stores.tasks.save(task(4, market_id="mkt_2"))

    assert ids(await ledger(stores, district="zhifu")) == ["tsk_2", "tsk_1"]
    assert ids(await ledger(stores, district="laishan")) == ["tsk_3"]
    assert ids(await ledger(stores, market_id="mkt_2")) == ["tsk_2"]
    assert ids(await ledger(stores, market_id="mkt_2", district="zhifu")) == ["tsk_2"]
    assert await ledger(stores, market_id="mkt_3", district="zhifu") == []
    assert await ledger(stores, district="nowhere") == []


# -- photos --------------------------------------------------------------------------------------


def photo(n: int, task_id: str, at: datetime) -> Photo:
    return Photo(
        photo_id=f"pho_{n}",
        task_id=task_id,
        district="zhifu",
        content_type="image/png",
        size=3,
        sha256="ab" * 32,
        uploaded_by=Actor.of("inspector-li", "李"),
        uploaded_at=at,
    )


async def test_photos_are_kept_with_their_bytes_and_listed_by_upload_time(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    await stores.tasks.save(task(2))
    later, first, other = photo(1, "tsk_1", T0 + H), photo(2, "tsk_1", T0), photo(3, "tsk_2", T0)
    for p, data in ((later, b"one"), (first, b"two"), (other, b"three")):
        await stores.photos.add(p, data)
    assert await stores.photos.of_task("tsk_1") == [first, later]
    assert await stores.photos.of_task("tsk_none") == []
    assert await stores.photos.get("tsk_1", "pho_1") == (later, b"one")
    # A photo is found only under its own task.
    assert await stores.photos.get("tsk_2", "pho_1") is None


async def test_an_orders_photos_are_kept_apart_from_its_tasks(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    await stores.orders.save(order(1, "tsk_1"))
    await stores.orders.save(order(2, "tsk_1"))
    own = photo(1, "tsk_1", T0)
    later = replace(photo(2, "tsk_1", T0 + 2 * H), rectification_id="rec_1")
    first = replace(photo(3, "tsk_1", T0 + H), rectification_id="rec_1")
    theirs = replace(photo(4, "tsk_1", T0 + H), rectification_id="rec_2")
    for p, data in ((own, b"own"), (later, b"later"), (first, b"first"), (theirs, b"theirs")):
        await stores.photos.add(p, data)
    # The order's, by upload time; the task's own photos are the inspection's only.
    assert await stores.photos.of_order("rec_1") == [first, later]
    assert await stores.photos.of_order("rec_none") == []
    assert await stores.photos.of_task("tsk_1") == [own]
    assert await stores.photos.of_order_get("rec_1", "pho_2") == (later, b"later")
    # A photo is found only under its own order, and an order's is no photo of the task.
    assert await stores.photos.of_order_get("rec_2", "pho_2") is None
    assert await stores.photos.of_order_get("rec_1", "pho_1") is None
    assert await stores.photos.get("tsk_1", "pho_2") is None


# -- rectification orders ------------------------------------------------------------------------


async def test_an_order_is_read_back_and_replaced_only_by_a_newer_version(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    o = order(1, "tsk_1")
    await stores.orders.save(o)
    assert await stores.orders.get("rec_1") == o
    assert await stores.orders.get("rec_1", for_update=True) == o
    assert await stores.orders.get("rec_nope") is None
    newer = replace(o, failed_verifications=1, version=o.version + 1)
    await stores.orders.save(newer)
    await stores.orders.save(o)
    assert await stores.orders.get("rec_1") == newer


async def test_an_orders_latest_check_is_read_back_with_its_evidence(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    o = order(1, "tsk_1")
    await stores.orders.save(o)
    checked = replace(
        o,
        failed_verifications=1,
        verification_note="冷柜门仍未修好",
        verification_photos=("pho_2", "pho_1"),
        last_verification_at=T0 + D,
        version=o.version + 1,
    )
    await stores.orders.save(checked)
    assert await stores.orders.get("rec_1") == checked
    assert await stores.orders.listing(state="open", district=None, limit=9) == [checked]


async def test_orders_are_listed_by_the_time_ordered_and_filtered(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    await stores.orders.save(order(1, "tsk_1", ordered_at=T0 + H))
    await stores.orders.save(order(2, "tsk_1", ordered_at=T0, district="laishan"))
    await stores.orders.save(order(3, "tsk_1", ordered_at=T0 + 2 * H, state="verified"))

    async def ids(state: str | None = None, district: str | None = None, limit: int = 9) -> list:
        listed = await stores.orders.listing(state=state, district=district, limit=limit)
        return [o.rectification_id for o in listed]

    assert await ids() == ["rec_2", "rec_1", "rec_3"]
    assert await ids(limit=1) == ["rec_2"]
    assert await ids(state="open") == ["rec_2", "rec_1"]
    assert await ids(district="zhifu") == ["rec_1", "rec_3"]


async def test_the_rectification_ledger_is_the_orders_made_in_the_window_newest_first(
    stores: Stores,
) -> None:
    await stores.tasks.save(task(1))
    start, end = T0, T0 + D
    made = {1: start, 2: start + H, 3: end, 4: start - H, 5: start + H}
    for n, at in made.items():
        await stores.orders.save(
            order(n, "tsk_1", ordered_at=at, state="verified" if n == 2 else "open")
        )
    await stores.orders.save(
        order(6, "tsk_1", ordered_at=start + H, district="laishan", market_id="mkt_3")
    )

    async def issued(
        window: Window = ANY_TIME, after: Position | None = None, **kw: Any
    ) -> list[str]:
        query = LedgerQuery(
            window, after, kw.get("market_id"), kw.get("district"), kw.get("limit", 9)
        )
        return [o.rectification_id for o in await stores.orders.issued(query)]

    # The start is in the window, the end is not; whatever became of an order, it is listed.
    day = Window(start, end)
    assert await issued(day, district="zhifu") == ["rec_5", "rec_2", "rec_1"]
    assert await issued(day, district="laishan") == ["rec_6"]
    assert await issued(day, market_id="mkt_3") == ["rec_6"]
    assert await issued() == ["rec_3", "rec_6", "rec_5", "rec_2", "rec_1", "rec_4"]
    # Made at one instant: by id, descending; a page starts strictly after its position.
    pages: list[str] = []
    after: Position | None = None
    while page := await stores.orders.issued(LedgerQuery(day, after, None, None, 2)):
        pages += [o.rectification_id for o in page]
        after = Position(page[-1].ordered_at, page[-1].rectification_id)
    assert pages == ["rec_6", "rec_5", "rec_2", "rec_1"]
    assert await issued(day, Position(start + H, "rec_5")) == ["rec_2", "rec_1"]


async def test_past_deadline_is_the_open_unmarked_orders_by_deadline(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    await stores.orders.save(order(1, "tsk_1", deadline=T0 + 2 * D))
    await stores.orders.save(order(2, "tsk_1", deadline=T0 + D))
    await stores.orders.save(order(3, "tsk_1", deadline=T0 + D, overdue_at=T0 + D))
    await stores.orders.save(order(4, "tsk_1", deadline=T0, state="verified"))
    await stores.orders.save(order(5, "tsk_1", deadline=None, suspension=True))
    await stores.orders.save(order(6, "tsk_1", deadline=T0 + 9 * D))
    now = T0 + 3 * D
    found = await stores.orders.past_deadline(now, 10)
    assert [o.rectification_id for o in found] == ["rec_2", "rec_1"]
    assert [o.rectification_id for o in await stores.orders.past_deadline(now, 1)] == ["rec_2"]


async def test_a_merchant_s_open_orders_are_found_by_merchant(stores: Stores) -> None:
    await stores.tasks.save(task(1))
    assert await stores.orders.open_of_merchants(["mer_1"]) == []
    saved = [
        order(1, "tsk_1", merchant_id="mer_1"),
        order(2, "tsk_1", merchant_id="mer_1", deadline=None, suspension=True),
        order(3, "tsk_1", merchant_id="mer_1", state="verified"),
        order(4, "tsk_1", merchant_id="mer_1", state="lapsed", lapsed_at=T0),
        order(5, "tsk_1", merchant_id="mer_5"),
    ]
    for o in saved:
        await stores.orders.save(o)
    assert await stores.orders.open_of_merchants(["mer_1"]) == saved[:2]
    both = await stores.orders.open_of_merchants(["mer_5", "mer_1"])
    assert [o.rectification_id for o in both] == ["rec_1", "rec_2", "rec_5"]
    assert await stores.orders.open_of_merchants([]) == []


async def test_a_market_s_open_work_is_found_by_market(stores: Stores) -> None:
    assert await stores.tasks.open_of_market("mkt_1") == []
    assert await stores.orders.open_of_market("mkt_1") == []
    tasks = [
        task(1, merchant_id=None),
        task(2, merchant_id="mer_2"),
        task(3, merchant_id=None, reason_kind="renovation", state="completed", completed_at=T0),
        task(4, market_id="mkt_9"),
    ]
    for t in tasks:
        await stores.tasks.save(t)
    orders = [
        order(1, "tsk_3", merchant_id=None),
        order(2, "tsk_3", merchant_id=None, state="verified"),
        order(3, "tsk_3", merchant_id=None, market_id="mkt_9"),
    ]
    for o in orders:
        await stores.orders.save(o)
    assert await stores.tasks.open_of_market("mkt_1") == tasks[:2]
    assert await stores.orders.open_of_market("mkt_1") == orders[:1]


# -- patrol plans --------------------------------------------------------------------------------


async def test_a_plan_is_inserted_once_and_then_saved(stores: Stores) -> None:
    p = plan(1, T0 + D)
    assert await stores.plans.insert([p]) == ["mer_1"]
    assert await stores.plans.insert([replace(p, grade="D")]) == []
    assert await stores.plans.get("mer_1") == p
    assert await stores.plans.get("mer_1", for_update=True) == p
    moved = replace(p, due_at=T0 + 2 * D, task_id="tsk_9")
    await stores.plans.save(moved)
    assert await stores.plans.get("mer_1") == moved
    # Saving the plan of a merchant without one stores nothing.
    await stores.plans.save(plan(2, T0))
    assert await stores.plans.get("mer_2") is None


async def test_due_plans_are_of_known_patrollable_merchants_without_a_pending_task(
    stores: Stores,
) -> None:
    for n, status in ((1, "active"), (2, "suspended"), (3, "licence_expired"), (4, "active")):
        await stores.registry.put_merchants([merchant(n, status)])
    await stores.registry.put_merchants([merchant(5), merchant(7, "left")])
    await stores.plans.insert([plan(1, T0 + 2 * H)])
    await stores.plans.insert([plan(2, T0 + H)])
    await stores.plans.insert([plan(3, T0)])  # licence expired: waits
    await stores.plans.insert([plan(4, T0, task_id="tsk_1")])  # a patrol task pending
    await stores.plans.insert([plan(5, T0 + 9 * D)])  # not yet due
    await stores.plans.insert([plan(6, T0)])  # a merchant the registry view does not know
    await stores.plans.insert([plan(7, T0)])  # left its stall (退出经营): never again
    due = await stores.plans.due(T0 + 3 * H, 10)
    assert [(p.merchant_id, place) for p, place in due] == [
        ("mer_2", Placement("mkt_1", "zhifu", "A-2", "suspended")),
        ("mer_1", Placement("mkt_1", "zhifu", "A-1", "active")),
    ]
    assert [p.merchant_id for p, _ in await stores.plans.due(T0 + 3 * H, 1)] == ["mer_2"]
    assert [p.merchant_id for p, _ in await stores.plans.due(T0 + 2 * H, 10)] == [
        "mer_2",
        "mer_1",
    ]


async def test_plans_are_inserted_as_a_batch_but_for_merchants_that_have_one(
    stores: Stores,
) -> None:
    held = plan(2, T0 + D, grade="A")
    await stores.plans.insert([held])
    batch = [plan(1, T0 + 2 * D), plan(2, T0 + 3 * D), plan(3, T0 + 4 * D)]
    assert sorted(await stores.plans.insert(batch)) == ["mer_1", "mer_3"]
    assert [await stores.plans.get(f"mer_{n}") for n in (1, 2, 3)] == [batch[0], held, batch[2]]
    assert await stores.plans.insert(batch) == []
    assert await stores.plans.insert([]) == []


async def test_merchants_without_a_plan_are_listed_by_id(stores: Stores) -> None:
    for n in (3, 1, 2):
        await stores.registry.put_merchants([merchant(n)])
    await stores.plans.insert([plan(2, T0)])
    await stores.plans.insert([plan(7, T0)])
    assert await stores.plans.merchants_without_plan(10) == ["mer_1", "mer_3"]
    assert await stores.plans.merchants_without_plan(1) == ["mer_1"]


# -- the registry view ---------------------------------------------------------------------------


async def test_a_market_snapshot_is_kept_unless_one_as_new_is_held(stores: Stores) -> None:
    first = MarketInfo("mkt_1", "zhifu", "东关市场", TaskForce("王队长", ("李", "张")), 2)
    await stores.registry.put_market(first)
    await stores.registry.put_market(replace(first, name="older", version=1))
    await stores.registry.put_market(replace(first, name="same", version=2))
    assert await stores.registry.markets() == [first]
    newer = replace(first, task_force=None, version=3)
    await stores.registry.put_market(newer)
    assert await stores.registry.markets() == [newer]
    closed = replace(newer, status="closed", version=4)  # 停业
    await stores.registry.put_market(closed)
    assert await stores.registry.markets() == [closed]


async def test_a_merchant_snapshot_says_whether_the_merchant_is_new(stores: Stores) -> None:
    assert await stores.registry.put_merchants([merchant(1)]) == [merchant(1)]
    assert await stores.registry.put_merchants([merchant(1, "suspended", version=2)]) == []
    assert await stores.registry.put_merchants([merchant(1, "active", version=1)]) == []
    assert await stores.registry.merchants() == [merchant(1, "suspended", version=2)]


async def test_a_batch_of_merchant_snapshots_keeps_the_newer_and_names_the_new(
    stores: Stores,
) -> None:
    await stores.registry.put_merchants([merchant(1, version=2), merchant(2, version=2)])
    batch = [
        merchant(3),  # new
        merchant(1, "suspended", version=3),  # newer
        merchant(2, "suspended", version=1),  # older: kept as it was
        merchant(4, "licence_expired", version=5),  # new
    ]
    assert await stores.registry.put_merchants(batch) == [batch[0], batch[3]]
    held = sorted(await stores.registry.merchants(), key=lambda m: m.id)
    assert held == [batch[1], merchant(2, version=2), batch[0], batch[3]]
    assert await stores.registry.put_merchants(batch) == []
    assert await stores.registry.put_merchants([]) == []
