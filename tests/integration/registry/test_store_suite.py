"""One suite for the registry's stores: the Postgres stores (a fresh schema of the real database,
each test inside a transaction it rolls back) and the in-memory fakes the use-case tests run on
must behave the same, or a use-case test on the fakes proves nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.people import Actor
from services.registry.app import MIGRATIONS
from services.registry.domain.model import District, Market, Merchant, TaskForce, Terminal
from services.registry.fakes import Tables, fake_stores
from services.registry.store import DirectoryQuery, Stores, postgres_stores
from services.runtime.db import connect, create_pool, ident
from services.runtime.failures import Conflict
from services.runtime.migrations import migrate

AT = datetime(2026, 5, 1, 8, tzinfo=UTC)
TODAY = date(2026, 5, 1)
CLERK = Actor(subject="clerk-1", name="赵登记员")
OTHER = Actor(subject="clerk-2", name="钱登记员")


@pytest.fixture(scope="module")
async def schema_pool(database_url: str) -> AsyncIterator[Any]:
    schema = f"registry_suite_{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, {"registry": MIGRATIONS})
    pool = await create_pool(database_url, schema, max_size=2)
    yield pool
    await pool.close()
    async with connect(database_url) as conn:
        await conn.execute(f"DROP SCHEMA {ident(schema)} CASCADE")


@pytest.fixture(params=["postgres", "fake"])
async def stores(request: pytest.FixtureRequest, schema_pool: Any) -> AsyncIterator[Stores]:
    if request.param == "fake":
        yield fake_stores(Tables())
        return
    async with schema_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield postgres_stores(conn)
        finally:
            await tx.rollback()


def market(
    id: str = "mkt_1", district: str = "zhifu", name: str = "幸福农贸市场", **more: object
) -> Market:
    fields: dict[str, object] = {
        "id": id,
        "name": name,
        "district": district,
        "kind": "farmers",
        "operator": "幸福市场管理公司",
        "address": "幸福路1号",
        "capacity": 800,
        "opens": "06:00",
        "closes": "19:00",
        "updated_at": AT,
        "registered_actor": CLERK,
        "updated_actor": CLERK,
    }
    return Market(**(fields | more))  # type: ignore[arg-type]


def merchant(
    id: str = "mer_1", market_id: str = "mkt_1", stall_no: str = "A-01", **more: object
) -> Merchant:
    fields: dict[str, object] = {
        "id": id,
        "name": f"商户{stall_no}",
        "market_id": market_id,
        "district": "zhifu",
        "stall_no": stall_no,
        "credit_code": "914403001922038216",
        "food_licence": "JY13706020012345",
        "licence_valid_until": date(2027, 1, 1),
        "categories": ("pork",),
        "updated_at": AT,
        "registered_actor": CLERK,
        "updated_actor": CLERK,
    }
    return Merchant(**(fields | more))  # type: ignore[arg-type]


def terminal(id: str = "trm_1", market_id: str = "mkt_1", **more: object) -> Terminal:
    fields: dict[str, object] = {
        "id": id,
        "kind": "cold_chain",
        "market_id": market_id,
        "district": "zhifu",
        "interval_s": 60,
        "merchant_id": None,
        "stall_no": "A-01",
        "profile": "chilled",
        "updated_at": AT,
        "registered_actor": CLERK,
        "updated_actor": CLERK,
    }
    return Terminal(**(fields | more))  # type: ignore[arg-type]


async def _districts(stores: Stores, *codes: str) -> None:
    for code in codes or ("zhifu",):
        assert await stores.districts.add(District(code, f"{code}区"))


# districts ---------------------------------------------------------------------------------
async def test_a_district_is_added_once_and_listed_by_code(stores: Stores) -> None:
    assert await stores.districts.add(District("zhifu", "芝罘区"))
    assert await stores.districts.add(District("laishan", "莱山区"))
    assert not await stores.districts.add(District("zhifu", "另一个"))
    assert await stores.districts.get("zhifu") == District("zhifu", "芝罘区")
    assert await stores.districts.get("nowhere") is None
    assert [d.code for d in await stores.districts.all()] == ["laishan", "zhifu"]


# markets -----------------------------------------------------------------------------------
async def test_a_market_is_saved_read_back_and_updated(stores: Stores) -> None:
    await _districts(stores)
    first = market()
    await stores.markets.save(first)
    assert await stores.markets.get("mkt_1") == first
    assert await stores.markets.get("mkt_1", for_update=True) == first
    assert await stores.markets.get("mkt_nobody") is None

    staffed = replace(
        first.with_task_force(TaskForce("王队长", ("李", "张")), AT + timedelta(hours=1), by=OTHER),
        renovation_status="planned",
        registered_actor=OTHER,  # the registrant never changes
    )
    await stores.markets.save(staffed)
    assert await stores.markets.get("mkt_1") == replace(staffed, registered_actor=CLERK)


async def test_markets_are_listed_by_district_and_name(stores: Stores) -> None:
    await _districts(stores, "zhifu", "laishan")
    await stores.markets.save(market("mkt_1", "zhifu", "b-market"))
    await stores.markets.save(market("mkt_2", "zhifu", "a-market"))
    await stores.markets.save(market("mkt_3", "laishan", "c-market"))
    assert [m.id for m in await stores.markets.all(None)] == ["mkt_3", "mkt_2", "mkt_1"]
    assert [m.id for m in await stores.markets.all("zhifu")] == ["mkt_2", "mkt_1"]
    assert await stores.markets.all("nowhere") == []


# By code point these read 东山, 中心, 北门, 安平, 西湖; people read them in pinyin order. ICU
# (PostgreSQL's "zh-x-icu") and pypinyin (the fakes', services/runtime/collation.py) agree on
# them: no two share a reading, and none is polyphonic.
PINYIN = ["安平市场", "北门市场", "东山市场", "西湖市场", "中心市场"]


async def test_markets_with_chinese_names_are_listed_in_pinyin_order(stores: Stores) -> None:
    await _districts(stores, "zhifu", "laishan")
    for i, name in enumerate(sorted(PINYIN), start=1):
        await stores.markets.save(market(f"mkt_{i}", "zhifu", name))
    await stores.markets.save(market("mkt_9", "laishan", "中心市场"))

    assert [m.name for m in await stores.markets.all("zhifu")] == PINYIN
    assert [(m.district, m.name) for m in await stores.markets.all(None)] == [
        ("laishan", "中心市场"),
        *(("zhifu", name) for name in PINYIN),
    ]
    found, total = await stores.markets.directory(DirectoryQuery(district="zhifu", limit=10))
    assert ([m.name for m, _ in found], total) == (PINYIN, 5)
    # A page is a page of that order.
    found, _ = await stores.markets.directory(DirectoryQuery(district="zhifu", offset=1, limit=2))
    assert [m.name for m, _ in found] == ["北门市场", "东山市场"]


async def _directory(stores: Stores, **filters: Any) -> tuple[list[str], int]:
    found, total = await stores.markets.directory(DirectoryQuery(**({"limit": 10} | filters)))
    return [m.id for m, _ in found], total


async def test_the_directory_filters_pages_counts_and_names_districts(stores: Stores) -> None:
    await _districts(stores, "zhifu", "laishan")
    await stores.markets.save(market("mkt_1", "zhifu", "happy farmers"))
    await stores.markets.save(market("mkt_2", "zhifu", "the Happy wholesale", kind="wholesale"))
    await stores.markets.save(market("mkt_3", "laishan", "sunny farmers"))
    await stores.markets.save(market("mkt_4", "laishan", "100%_market"))

    found, total = await stores.markets.directory(DirectoryQuery(limit=10))
    assert [(m.id, name) for m, name in found] == [
        ("mkt_4", "laishan区"),
        ("mkt_3", "laishan区"),
        ("mkt_1", "zhifu区"),
        ("mkt_2", "zhifu区"),
    ]
    assert total == 4
    assert await _directory(stores, q="HAPPY") == (["mkt_1", "mkt_2"], 2)
    # LIKE's wildcards are taken literally.
    assert await _directory(stores, q="%_") == (["mkt_4"], 1)
    assert await _directory(stores, district="zhifu", kind="farmers") == (["mkt_1"], 1)
    assert await _directory(stores, offset=1, limit=2) == (["mkt_3", "mkt_1"], 4)
    assert await _directory(stores, market_id="mkt_3") == (["mkt_3"], 1)


async def test_a_closed_market_reads_back_whole_and_is_found_by_its_id_only(
    stores: Stores,
) -> None:
    await _districts(stores, "zhifu")
    await stores.markets.save(market("mkt_1", "zhifu", "open market"))
    shut = market("mkt_2", "zhifu", "closed market").close(
        AT.date(), "整体搬迁", AT.date(), AT + timedelta(hours=1), by=OTHER
    )
    await stores.markets.save(shut)
    assert await stores.markets.get("mkt_2") == shut
    assert [m.id for m in await stores.markets.all("zhifu")] == ["mkt_2", "mkt_1"]
    assert await _directory(stores) == (["mkt_1"], 1)
    assert await _directory(stores, q="market") == (["mkt_1"], 1)
    assert await _directory(stores, market_id="mkt_2") == (["mkt_2"], 1)


async def test_the_directory_near_a_point_orders_located_markets_by_distance(
    stores: Stores,
) -> None:
    await _districts(stores, "zhifu", "laishan")
    # From (37.50, 121.44): 莱山 ~0.8 km, 幸福 ~5.7 km, 只楚 ~9.9 km; 北门 has no location.
    for id, district, name, at in (
        ("mkt_1", "zhifu", "幸福", (37.5384, 121.3977)),
        ("mkt_2", "zhifu", "只楚", (37.5562, 121.3531)),
        ("mkt_3", "laishan", "莱山", (37.4946, 121.4452)),
    ):
        await stores.markets.save(market(id, district, name, latitude=at[0], longitude=at[1]))
    await stores.markets.save(market("mkt_4", "laishan", "北门"))
    near = (37.50, 121.44)

    assert await _directory(stores, near=near) == (["mkt_3", "mkt_1", "mkt_2"], 3)
    assert await _directory(stores, near=near, district="zhifu") == (["mkt_1", "mkt_2"], 2)
    assert await _directory(stores, near=near, offset=1, limit=1) == (["mkt_1"], 3)
    # Two at one place: by name, then id, as the plain directory.
    await stores.markets.save(
        market("mkt_5", "laishan", "安平", latitude=37.4946, longitude=121.4452)
    )
    assert await _directory(stores, near=near, limit=2) == (["mkt_5", "mkt_3"], 4)
    read = await stores.markets.get("mkt_3")
    assert read is not None and read.location == (37.4946, 121.4452)


# merchants ---------------------------------------------------------------------------------
async def test_a_merchant_is_saved_read_back_and_updated(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    first = merchant()
    await stores.merchants.save(first)
    assert await stores.merchants.get("mer_1") == first
    assert await stores.merchants.get("mer_1", for_update=True) == first
    assert await stores.merchants.get("mer_nobody") is None
    assert await stores.merchants.at_stall("mkt_1", "A-01") == first
    assert await stores.merchants.at_stall("mkt_1", "A-02") is None

    renewed = first.renew_licence("JY13706020054321", date(2028, 1, 1), TODAY, AT, by=OTHER)
    # What a merchant keeps for life: its market, credit code and registrant.
    await stores.merchants.save(
        replace(renewed, credit_code="91350100M000100Y43", registered_actor=OTHER)
    )
    assert await stores.merchants.get("mer_1") == renewed
    # Its stall changes by a move (换摊位), which frees the old one.
    moved = renewed.moved("B-07", AT, by=OTHER)
    await stores.merchants.save(moved)
    assert await stores.merchants.get("mer_1") == moved
    assert await stores.merchants.at_stall("mkt_1", "A-01") is None
    assert await stores.merchants.at_stall("mkt_1", "B-07") == moved
    # Another at B-07 (two clerks at once, each having found it free) is the taken stall.
    with pytest.raises(Conflict) as taken:
        await stores.merchants.save(merchant("mer_2", stall_no="B-07"))
    assert [e["field"] for e in taken.value.errors] == ["stall_no"]
    assert await stores.merchants.get("mer_2") is None
    assert await stores.merchants.at_stall("mkt_1", "B-07") == moved


async def test_merchants_are_listed_by_market_and_stall_and_expiring_soonest_first(
    stores: Stores,
) -> None:
    await _districts(stores, "zhifu", "laishan")
    await stores.markets.save(market("mkt_1"))
    await stores.markets.save(market("mkt_2", "laishan"))
    await stores.merchants.save(
        merchant("mer_1", "mkt_1", "B-01", licence_valid_until=date(2026, 5, 20))
    )
    await stores.merchants.save(
        merchant("mer_2", "mkt_1", "A-01", licence_valid_until=date(2026, 6, 30))
    )
    await stores.merchants.save(
        merchant(
            "mer_3", "mkt_2", "A-01", district="laishan", licence_valid_until=date(2026, 5, 10)
        )
    )
    await stores.merchants.save(
        merchant("mer_4", "mkt_1", "C-01", licence_valid_until=date(2027, 1, 1))
    )

    assert [m.id for m in await stores.merchants.all(None, None)] == [
        "mer_2",
        "mer_1",
        "mer_4",
        "mer_3",
    ]
    assert [m.id for m in await stores.merchants.all("mkt_1", None)] == ["mer_2", "mer_1", "mer_4"]
    assert [m.id for m in await stores.merchants.all(None, "laishan")] == ["mer_3"]
    month = (TODAY, TODAY + timedelta(days=30))
    assert [m.id for m in await stores.merchants.all(None, None, month)] == ["mer_3", "mer_1"]
    # Both ends of the window count.
    edges = (date(2026, 5, 10), date(2026, 6, 30))
    assert [m.id for m in await stores.merchants.all(None, None, edges)] == [
        "mer_3",
        "mer_1",
        "mer_2",
    ]
    assert [m.id for m in await stores.merchants.all("mkt_1", "zhifu", month)] == ["mer_1"]


async def test_a_merchant_who_left_frees_its_stall_and_stays_on_record(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    soon = TODAY + timedelta(days=10)
    first = merchant("mer_1", stall_no="A-01", licence_valid_until=soon)
    await stores.merchants.save(first)
    gone = first.leave(date(2026, 4, 30), "租约到期", TODAY, AT, by=OTHER)
    await stores.merchants.save(gone)
    assert await stores.merchants.get("mer_1") == gone
    assert await stores.merchants.at_stall("mkt_1", "A-01") is None

    # The next merchant takes the stall (one merchant per stall among those trading there).
    newcomer = merchant("mer_2", stall_no="A-01", licence_valid_until=soon)
    await stores.merchants.save(newcomer)
    assert await stores.merchants.at_stall("mkt_1", "A-01") == newcomer
    assert [m.id for m in await stores.merchants.all("mkt_1", None)] == ["mer_1", "mer_2"]
    assert [m.id for m in await stores.merchants.active("mkt_1")] == ["mer_2"]
    month = (TODAY, TODAY + timedelta(days=30))
    assert [m.id for m in await stores.merchants.all("mkt_1", None, month)] == ["mer_2"]


async def test_the_registrations_of_a_credit_code_those_who_left_first(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    code, other = "91440300192203821X", "914403001922038216"
    await stores.merchants.save(merchant("mer_9", stall_no="A-09", credit_code=code))
    first = merchant("mer_5", stall_no="A-05", credit_code=code)
    await stores.merchants.save(first)
    await stores.merchants.save(first.leave(date(2026, 4, 30), "租约到期", TODAY, AT, by=OTHER))
    await stores.merchants.save(merchant("mer_1", stall_no="A-01", credit_code=other))
    found = await stores.merchants.with_credit_code(code)
    assert [(m.id, m.status) for m in found] == [("mer_5", "left"), ("mer_9", "active")]
    assert await stores.merchants.with_credit_code("91440300MA5DXXXXX0") == []


async def test_lapsed_licences_are_the_active_ones_before_the_day_by_id(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    lapsed = date(2026, 4, 30)
    await stores.merchants.save(merchant("mer_3", stall_no="A-03", licence_valid_until=lapsed))
    await stores.merchants.save(merchant("mer_1", stall_no="A-01", licence_valid_until=lapsed))
    await stores.merchants.save(merchant("mer_2", stall_no="A-02", licence_valid_until=TODAY))
    await stores.merchants.save(
        merchant("mer_4", stall_no="A-04", licence_valid_until=lapsed, status="suspended")
    )
    assert [m.id for m in await stores.merchants.lapsed(TODAY)] == ["mer_1", "mer_3"]
    assert [m.id for m in await stores.merchants.lapsed(TODAY, limit=1)] == ["mer_1"]
    await stores.merchants.save(
        merchant("mer_1", stall_no="A-01", licence_valid_until=lapsed).expire_licence(AT)
    )
    assert [m.id for m in await stores.merchants.lapsed(TODAY)] == ["mer_3"]


async def test_the_active_merchants_of_a_market_by_stall(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market("mkt_1"))
    await stores.markets.save(market("mkt_2"))
    await stores.merchants.save(merchant("mer_1", stall_no="B-01"))
    await stores.merchants.save(merchant("mer_2", stall_no="A-01"))
    await stores.merchants.save(merchant("mer_3", stall_no="A-02", status="suspended"))
    await stores.merchants.save(merchant("mer_4", "mkt_2", "A-01"))
    assert [m.id for m in await stores.merchants.active("mkt_1")] == ["mer_2", "mer_1"]
    assert await stores.merchants.active("mkt_nobody") == []


# Stall numbers in natural order: letters first compared, then the number by value (as plain
# strings "12" came before "3", and "A10" before "A2"); "B01" and "B1" by their text.
NATURAL = ["3", "12", "A2", "A10", "B01", "B1"]


async def test_merchants_are_listed_by_stall_in_natural_order(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market("mkt_1"))
    for i, stall in enumerate(sorted(NATURAL), start=1):
        await stores.merchants.save(merchant(f"mer_{i}", "mkt_1", stall))

    assert [m.stall_no for m in await stores.merchants.all("mkt_1", None)] == NATURAL
    assert [m.stall_no for m in await stores.merchants.all(None, "zhifu")] == NATURAL
    expiring = (TODAY, date(2027, 1, 1))  # every licence ends on the same day
    assert [m.stall_no for m in await stores.merchants.all(None, None, expiring)] == NATURAL
    assert [m.stall_no for m in await stores.merchants.active("mkt_1")] == NATURAL


# terminals ---------------------------------------------------------------------------------
async def test_a_terminal_is_saved_read_back_and_only_its_changeable_fields_update(
    stores: Stores,
) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    first = terminal()
    await stores.terminals.save(first)
    assert await stores.terminals.get("trm_1") == first
    assert await stores.terminals.get("trm_1", for_update=True) == first
    assert await stores.terminals.get("trm_nobody") is None

    rotated = replace(first.rotate_key(AT, by=OTHER), interval_s=30)
    await stores.terminals.save(replace(rotated, profile="frozen"))
    assert await stores.terminals.get("trm_1") == rotated
    # Its stall follows its merchant's move.
    moved = rotated.at_stall("B-07", AT, by=OTHER)
    await stores.terminals.save(moved)
    assert await stores.terminals.get("trm_1") == moved


async def test_terminals_are_listed_by_id_within_a_market_and_district(stores: Stores) -> None:
    await _districts(stores, "zhifu", "laishan")
    await stores.markets.save(market("mkt_1"))
    await stores.markets.save(market("mkt_2"))
    await stores.terminals.save(terminal("trm_2"))
    await stores.terminals.save(terminal("trm_1"))
    await stores.terminals.save(terminal("trm_3", "mkt_2"))
    assert [t.id for t in await stores.terminals.all("mkt_1", None)] == ["trm_1", "trm_2"]
    assert [t.id for t in await stores.terminals.all("mkt_1", "zhifu")] == ["trm_1", "trm_2"]
    assert await stores.terminals.all("mkt_1", "laishan") == []
    # Without a market, the district's terminals (the clerk's 终端 list), by market and id.
    every = await stores.terminals.all(None, "zhifu")
    assert [(t.market_id, t.id) for t in every] == [
        ("mkt_1", "trm_1"),
        ("mkt_1", "trm_2"),
        ("mkt_2", "trm_3"),
    ]
    assert await stores.terminals.all(None, "laishan") == []


# suspensions and renovations ---------------------------------------------------------------
async def test_a_suspension_is_recorded_once_and_lifted_once(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market())
    await stores.merchants.save(merchant())
    s = stores.suspensions
    assert await s.active("mer_1") == 0
    assert await s.add("rec_1", "mer_1", "tsk_1", AT)
    assert not await s.add("rec_1", "mer_1", "tsk_1", AT)
    assert await s.add("rec_2", "mer_1", "tsk_2", AT)
    assert await s.active("mer_1") == 2
    assert await s.lift("rec_1", AT)
    assert not await s.lift("rec_1", AT)
    assert not await s.lift("rec_unknown", AT)
    assert await s.active("mer_1") == 1


async def test_a_renovation_stage_is_kept_only_when_newer(stores: Stores) -> None:
    await _districts(stores)
    await stores.markets.save(market("mkt_1"))
    await stores.markets.save(market("mkt_2"))
    r = stores.renovations
    assert await r.stages("mkt_1") == []
    assert await r.save("prj_1", "mkt_1", "planned", 1)
    assert await r.save("prj_1", "mkt_1", "approved", 2)
    assert not await r.save("prj_1", "mkt_1", "planned", 2)
    assert not await r.save("prj_1", "mkt_1", "planned", 1)
    assert await r.save("prj_2", "mkt_1", "accepted", 1)
    assert await r.save("prj_3", "mkt_2", "planned", 1)
    assert sorted(await r.stages("mkt_1")) == ["accepted", "approved"]
