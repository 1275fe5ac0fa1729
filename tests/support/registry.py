"""Registry snapshots for use-case tests: the sample market and merchant of the contracts'
tests, moved to another place. They fill a `RegistryMemory`, the view the services read."""

from __future__ import annotations

from typing import Any, cast

from contracts.registry import MarketUpserted, MerchantUpserted
from tests.support.event_samples import SAMPLES

DISTRICT_NAMES = {"zhifu": "芝罘区", "laishan": "莱山区"}


def market(market_id: str = "mkt_1", district: str = "zhifu", **changes: Any) -> MarketUpserted:
    sample = cast(MarketUpserted, SAMPLES["registry.market.upserted"])
    fields = {
        **sample.model_dump(),
        "market_id": market_id,
        "name": f"市场{market_id}",
        "district": district,
        "district_name": DISTRICT_NAMES.get(district),
        **changes,
    }
    return MarketUpserted.model_validate(fields)


def merchant(
    merchant_id: str = "mer_1",
    market_id: str = "mkt_1",
    stall_no: str = "A-12",
    district: str = "zhifu",
    **changes: Any,
) -> MerchantUpserted:
    sample = cast(MerchantUpserted, SAMPLES["registry.merchant.upserted"])
    fields = {
        **sample.model_dump(),
        "merchant_id": merchant_id,
        "market_id": market_id,
        "stall_no": stall_no,
        "district": district,
        **changes,
    }
    return MerchantUpserted.model_validate(fields)
