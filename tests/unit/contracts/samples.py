"""Valid data for the event types whose envelope tests need a concrete instance."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel

from contracts import registry

UPDATED = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

SAMPLES: dict[str, BaseModel] = {
    "registry.market.upserted": registry.MarketUpserted(
        version=1,
        updated_at=UPDATED,
        market_id="mkt_1",
        name="幸福农贸市场",
        district="zhifu",
        kind="farmers",
        operator="幸福市场管理公司",
        address="幸福路1号",
        capacity=800,
        opening_hours=registry.OpeningHours(open="06:00", close="19:00"),
        renovation_status="in_progress",
        task_force=registry.TaskForce(leader="王队长", members=["李", "张"]),
    ),
    "registry.merchant.upserted": registry.MerchantUpserted(
        version=3,
        updated_at=UPDATED,
        merchant_id="mer_1",
        name="老王鲜肉",
        market_id="mkt_1",
        district="zhifu",
        stall_no="A-12",
        credit_code="91370602MA3C1234X5",
        food_licence="JY13706020012345",
        licence_valid_until=date(2027, 12, 31),
        categories=["meat"],
        status="active",
    ),
    "registry.terminal.upserted": registry.TerminalUpserted(
        version=1,
        updated_at=UPDATED,
        terminal_id="trm_1",
        kind="cold_chain",
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        profile="chilled",
        interval_s=30,
        key_version=1,
        status="active",
    ),
}
