"""Credit's open data, pure: grade shares, the public rank and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from services.credit.domain.public import (
    CSV_COLUMNS,
    MerchantGrade,
    grade_shares,
    grades_csv,
    public_rank,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_shares_are_fractions_of_the_merchants_counted() -> None:
    assert grade_shares({"A": 2, "B": 1, "C": 1}) == {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0}
    assert grade_shares({"A": 1, "B": 2}) == {"A": 0.3333, "B": 0.6667, "C": 0.0, "D": 0.0}
    assert grade_shares({}) == {"A": 0.0, "B": 0.0, "C": 0.0, "D": 0.0}
    with pytest.raises(ValueError, match="unknown grades"):
        grade_shares({"E": 1})
    with pytest.raises(ValueError, match="negative"):
        grade_shares({"A": -1})


def test_the_rank_comes_from_a_ranked_market_assessment() -> None:
    assessment = {"rank": 2, "ranked": 5, "period_from": "2026-04-04", "period_to": "2026-05-04"}
    assert public_rank(assessment) == {
        "position": 2,
        "of": 5,
        "period": {"from": "2026-04-04", "to": "2026-05-04"},
    }
    assert public_rank(None) is None
    assert public_rank(assessment | {"rank": None}) is None


def test_the_csv_has_a_bom_a_stable_header_and_defused_formulas() -> None:
    rows = [
        MerchantGrade("mer_1", "老王鲜肉, 猪肉", "mkt_1", "幸福市场", "zhifu", "A-1", "A", T0),
        MerchantGrade("mer_2", "=HYPERLINK(1)", "mkt_1", None, "zhifu", "A-2", None, None),
    ]
    text = grades_csv(rows)
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text[1:])))
    assert tuple(parsed[0]) == CSV_COLUMNS
    assert parsed[1] == [
        "mer_1",
        "老王鲜肉, 猪肉",
        "mkt_1",
        "幸福市场",
        "zhifu",
        "A-1",
        "A",
        T0.isoformat(),
    ]
    assert parsed[2] == ["mer_2", "'=HYPERLINK(1)", "mkt_1", "", "zhifu", "A-2", "", ""]
    assert not grades_csv([], bom=False).startswith("\ufeff")
