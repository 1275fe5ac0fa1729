"""The terminal and the market that the telemetry use-case tests put in telemetry's directory (a
chilled cold-chain terminal at stall A-1 of an all-day market in zhifu), and the time they start
at."""

from __future__ import annotations

from datetime import UTC, datetime

from services.telemetry.projections import MarketInfo, TerminalInfo

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # Monday 10:00 in the city
TERMINAL = TerminalInfo(
    id="trm_1",
    kind="cold_chain",
    market_id="mkt_1",
    district="zhifu",
    merchant_id="mer_1",
    stall_no="A-1",
    profile="chilled",
    interval_s=60,
    key_version=1,
    status="active",
    version=1,
)
MARKET = MarketInfo("mkt_1", "zhifu", "测试市场", 800, "00:00", "23:59", 1)
