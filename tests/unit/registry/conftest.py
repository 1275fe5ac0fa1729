"""The registry's use cases on fake stores and a fake unit of work, at a fixed time."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.people import Actor
from services.registry.domain.model import District, Market, Merchant, Terminal
from services.registry.fakes import FakeRegistryUnits
from services.registry.service import NewMarket, NewMerchant, Registry
from services.runtime.auth import Principal

# 10:00 in Yantai: the city's date is 1 May while UTC's is too; see TODAY_EDGE for the other case.
NOW = datetime(2026, 5, 1, 2, tzinfo=UTC)
TODAY = date(2026, 5, 1)
SECRET = b"k" * 32
ADMIN = Principal("admin-1", "admin", "*", name="管理员")
CLERK = Principal("clerk-1", "clerk", "zhifu", name="赵登记员")
ELSEWHERE = Principal("clerk-2", "clerk", "laishan", name="钱登记员")
REGISTRANT = Actor(subject="clerk-0", name="孙登记员")
# What a clerk sends to register a market and a merchant of it, valid on TODAY.
NEW_MARKET = NewMarket(
    name="新市场",
    district="zhifu",
    kind="wholesale",
    operator="运营公司",
    address="新路2号",
    capacity=100,
    opens="05:00",
    closes="18:00",
)
NEW_MERCHANT = NewMerchant(
    name="老王鲜肉",
    market_id="mkt_1",
    stall_no="B-01",
    credit_code="914403001922038216",
    food_licence="jy13706020012345",
    licence_valid_until=date(2027, 1, 1),
    categories=("pork",),
)


@pytest.fixture
def units() -> FakeRegistryUnits:
    units = FakeRegistryUnits()
    t = units.tables
    t.districts["zhifu"] = District("zhifu", "芝罘区")
    t.districts["laishan"] = District("laishan", "莱山区")
    t.markets["mkt_1"] = market()
    t.merchants["mer_1"] = merchant()
    return units


@pytest.fixture
def registry(units: FakeRegistryUnits) -> Registry:
    return Registry(
        units.factory(), now=lambda: NOW, timezone="Asia/Shanghai", master_secret=SECRET
    )


def market(id: str = "mkt_1", district: str = "zhifu", **more: Any) -> Market:
    fields: dict[str, Any] = {
        "id": id,
        "name": "幸福农贸市场",
        "district": district,
        "kind": "farmers",
        "operator": "幸福市场管理公司",
        "address": "幸福路1号",
        "capacity": 800,
        "opens": "06:00",
        "closes": "19:00",
        "updated_at": NOW,
        "registered_actor": REGISTRANT,
        "updated_actor": REGISTRANT,
    }
    return Market(**(fields | more))


def merchant(id: str = "mer_1", stall_no: str = "A-01", **more: Any) -> Merchant:
    fields: dict[str, Any] = {
        "id": id,
        "name": f"商户{stall_no}",
        "market_id": "mkt_1",
        "district": "zhifu",
        "stall_no": stall_no,
        "credit_code": "914403001922038216",
        "food_licence": "JY13706020012345",
        "licence_valid_until": date(2027, 1, 1),
        "updated_at": NOW,
        "registered_actor": REGISTRANT,
        "updated_actor": REGISTRANT,
    }
    return Merchant(**(fields | more))


def terminal(id: str = "trm_1", **more: Any) -> Terminal:
    fields: dict[str, Any] = {
        "id": id,
        "kind": "footfall",
        "market_id": "mkt_1",
        "district": "zhifu",
        "interval_s": 60,
        "updated_at": NOW,
        "registered_actor": REGISTRANT,
        "updated_actor": REGISTRANT,
    }
    return Terminal(**(fields | more))


async def refused(units: FakeRegistryUnits, call: Awaitable[Any], error: type[Exception]) -> Any:
    """`call` raises `error`, and the registry is as it was: no row changed, nothing published."""
    before, published = units.tables.copy(), list(units.published)
    with pytest.raises(error) as raised:
        await call
    assert units.tables == before
    assert units.published == published
    return raised.value


def snapshots(units: FakeRegistryUnits) -> list[tuple[str, str, int, Any]]:
    """What was published: (type, subject, the snapshot's version, the snapshot)."""
    return [(e.type, e.subject, e.data.version, e.data) for _, e, _ in units.published]
