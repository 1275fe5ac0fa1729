"""What the campaign's use-case tests share."""

from __future__ import annotations

from contracts.inspection import Finding

# A critical cold-chain finding, as inspection's events carry it.
CRITICAL_FINDING = Finding(
    code="CCH-01",
    group="cold_chain",
    severity="critical",
    title_zh="冷链温度严重超标",
    title_en="cold chain far out of range",
    note="冷柜12°C",
)
