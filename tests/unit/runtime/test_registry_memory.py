"""The registry view's memory: what every use case reads of markets and merchants. Only a newer
snapshot replaces the one held, and a merchant's stall answers for the merchant now there."""

from __future__ import annotations

from services.runtime.directory import RegistryMemory
from tests.support.registry import market, merchant


def test_only_a_newer_snapshot_replaces_the_one_held() -> None:
    view = RegistryMemory(market("mkt_1", name="旧名", version=2))
    view.keep(market("mkt_1", name="更旧", version=1), market("mkt_1", name="同版", version=2))
    assert view.markets["mkt_1"].name == "旧名"
    view.keep(market("mkt_1", name="新名", version=3))
    assert view.markets["mkt_1"].name == "新名"


def test_districts_and_their_names_come_from_the_markets() -> None:
    view = RegistryMemory(
        market("mkt_2", "laishan"), market("mkt_1", "zhifu"), market("mkt_3", "zhifu")
    )
    assert view.districts() == {"zhifu", "laishan"}
    assert view.district_names == {"zhifu": "芝罘区", "laishan": "莱山区"}
    assert [m.market_id for m in view.markets_in()] == ["mkt_2", "mkt_1", "mkt_3"]
    assert [m.market_id for m in view.markets_in("zhifu")] == ["mkt_1", "mkt_3"]


def test_a_stall_answers_for_the_merchant_now_on_it() -> None:
    view = RegistryMemory(merchant("mer_1", "mkt_1", "A-01", version=1))
    assert view.merchant_at("mkt_1", "A-01") == view.merchants["mer_1"]
    view.keep(merchant("mer_1", "mkt_1", "B-07", version=2))
    assert view.merchant_at("mkt_1", "A-01") is None
    assert view.merchant_at("mkt_1", "B-07") == view.merchants["mer_1"]
    # A redelivered older snapshot moves nobody back.
    view.keep(merchant("mer_1", "mkt_1", "A-01", version=1))
    assert view.merchant_at("mkt_1", "A-01") is None
    view.keep(merchant("mer_2", "mkt_1", "A-01", version=1))
    assert view.merchant_at("mkt_1", "A-01") == view.merchants["mer_2"]


def test_a_merchant_who_left_frees_its_stall_whichever_snapshot_comes_first() -> None:
    """退出经营: the snapshots of the one who left and of the next merchant at the stall travel
    under different keys, so either may come first; the stall answers for the newcomer."""
    gone = merchant("mer_1", "mkt_1", "A-01", version=2, status="left")
    newcomer = merchant("mer_2", "mkt_1", "A-01", version=1)
    for order in ((gone, newcomer), (newcomer, gone)):
        view = RegistryMemory(merchant("mer_1", "mkt_1", "A-01", version=1))
        view.keep(*order)
        assert view.merchant_at("mkt_1", "A-01") == view.merchants["mer_2"]
        assert view.merchants["mer_1"].status == "left"
    alone = RegistryMemory(merchant("mer_1", "mkt_1", "A-01", version=1), gone)
    assert alone.merchant_at("mkt_1", "A-01") is None
