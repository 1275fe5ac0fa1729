"""Thresholds carry docs/rules.md's defaults, are all configurable, and refuse typos."""

from __future__ import annotations

import pytest

from services.runtime import serial
from services.telemetry.domain import DEFAULT_THRESHOLDS, TerminalContext, Thresholds


def test_defaults_are_the_designed_numbers() -> None:
    cold = DEFAULT_THRESHOLDS.cold_chain
    assert dict(cold.limits_c) == {"chilled": 8.0, "frozen": -15.0}
    assert cold.raise_after_s == 15 * 60
    assert cold.instant_excess_c == 6.0
    assert (cold.major_degree_minutes, cold.critical_degree_minutes) == (60, 240)
    assert cold.critical_excess_c == 12.0
    assert (cold.clear_hysteresis_c, cold.clear_hold_s) == (1.0, 10 * 60)
    assert (cold.cumulative_window_s, cold.cumulative_limit_s) == (24 * 3600, 60 * 60)
    gap = DEFAULT_THRESHOLDS.gap
    assert (gap.default_interval_s, gap.silent_intervals, gap.major_after_s) == (60, 3, 3600)
    crowd = DEFAULT_THRESHOLDS.crowding
    assert (crowd.raise_ratio, crowd.raise_after_s, crowd.major_ratio) == (0.9, 300, 1.0)
    tx = DEFAULT_THRESHOLDS.transactions
    assert (tx.mad_multiplier, tx.min_weeks, tx.recent_window_s) == (5.0, 4, 7 * 86_400)
    assert (tx.minor_after_intervals, tx.refund_share) == (3, 0.30)


def test_overrides_apply_per_section_and_round_trip() -> None:
    custom = Thresholds.from_dict(
        {
            "cold_chain": {"limits_c": {"frozen": -18.0}, "clear_hold_s": 300},
            "gap": {"kinds": ["cold_chain", "payment"]},
            "crowding": {"raise_ratio": 0.85},
        }
    )
    assert dict(custom.cold_chain.limits_c) == {"chilled": 8.0, "frozen": -18.0}
    assert custom.cold_chain.clear_hold_s == 300
    assert custom.cold_chain.raise_after_s == 900
    assert custom.gap.kinds == ("cold_chain", "payment")
    assert custom.crowding.raise_ratio == 0.85
    assert custom.transactions == DEFAULT_THRESHOLDS.transactions
    assert Thresholds.from_dict(serial.dump(custom)) == custom


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cold": {}}, "unknown thresholds section 'cold'"),
        ({"gap": {"major_after": 1}}, "unknown thresholds in gap: major_after"),
    ],
)
def test_typos_in_thresholds_are_refused(
    overrides: dict[str, dict[str, int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Thresholds.from_dict(overrides)


def test_context_derives_limit_zone_and_interval() -> None:
    frozen = TerminalContext("cold_chain", profile="frozen", interval_s=30)
    assert frozen.limit_c == -15.0
    assert frozen.reporting_interval_s == 30
    assert str(frozen.zone) == "Asia/Shanghai"
    assert TerminalContext("footfall").reporting_interval_s == 60


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "smoke"}, "kind must be one of"),
        ({"kind": "cold_chain", "profile": "ambient"}, "unknown cold-chain profile"),
        ({"kind": "cold_chain", "opens": "6am"}, "opens must be HH:MM"),
        ({"kind": "cold_chain", "interval_s": 0}, "interval_s must be positive"),
    ],
)
def test_context_refuses_what_the_rules_cannot_use(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TerminalContext(**kwargs)  # type: ignore[arg-type]
