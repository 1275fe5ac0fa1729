"""Reasons that now come several in one answer (the registry's, complaints', inspection's) read
in Chinese beside their fields, and a number's bound reads as that bound, not as a 1–5 rating."""

from __future__ import annotations

import pytest

from services.console.labels import reason_zh


@pytest.mark.parametrize(
    ("reason", "chinese"),
    [
        ("no market 'mkt_404'", "该市场未登记"),
        ("no market mkt_1 is registered", "该市场未登记"),
        ("no district with code 'nowhere'", "该区不存在"),
        ("merchant is in market mkt_2, not mkt_1", "该商户不在所选市场"),
        # A 容量 of 0, a course valid 0 months, a rating of 7: each told its own bound.
        ("Input should be greater than or equal to 1", "不能小于 1"),
        ("Input should be greater than or equal to 10", "不能小于 10"),
        ("Input should be less than or equal to 120", "不能大于 120"),
        ("must be from 1 to 5, got 7", "应为 1–5 分"),
        # Complaints and inspection.
        ("must be one of pass, minor, major, critical, got 'good'", "请选择检查结果"),
        ("must be one of market_regulation, health, environment", "请从所列部门中选择"),
        ("must not be in the future", "不能晚于当前时间"),
        ("must carry a timezone", "须带时区"),
        ("merchant 'mer_1' trades at 'A-01'", "该商户不在此摊位"),
        ("must be true or false", "请选择“是”或“否”"),
        ("is required when about is market", "请选择市场"),
        ("must be one of market, campaign", "请选择建议对象"),
        ("only for about=market; leave it out for the campaign", "关于全市工作的建议无需选择市场"),
    ],
)
def test_a_reason_reads_in_chinese(reason: str, chinese: str) -> None:
    assert reason_zh(reason) == chinese
