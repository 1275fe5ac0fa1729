"""The public side of credit (issue 16), as pure functions: the grade shares of a market, its
rank from an assessment, and the merchant grades as CSV. No I/O.

    grade_shares({"A": 2, "B": 1, "C": 1})   # {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0}
    public_rank(published)                   # {"position": 1, "of": 3, "period": {...}} | None
    grades_csv(rows)                         # UTF-8 text with a BOM, CSV_COLUMNS first
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from contracts.inspection import GRADES

CSV_COLUMNS: Final = (
    "id",
    "name",
    "market_id",
    "market_name",
    "district",
    "stall_no",
    "grade",
    "graded_at",
)
# Spreadsheet applications read a UTF-8 CSV as UTF-8 (not the locale's code page) with it.
BOM: Final = "\ufeff"
SHARE_DIGITS: Final = 4


@dataclass(frozen=True, slots=True)
class MerchantGrade:
    """One merchant as open data: who, where, and the grade with the moment it was given."""

    id: str
    name: str
    market_id: str
    market_name: str | None
    district: str
    stall_no: str
    grade: str | None
    graded_at: datetime | None


def grade_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each grade's share of the merchants counted, rounded to 4 places; all 0.0 for none.
    A grade outside A-D is a ValueError (the counts came from somewhere wrong)."""
    unknown = sorted(set(counts) - set(GRADES))
    if unknown:
        raise ValueError(f"unknown grades: {unknown}")
    if any(n < 0 for n in counts.values()):
        raise ValueError("a count cannot be negative")
    total = sum(counts.values())
    return {g: round(counts.get(g, 0) / total, SHARE_DIGITS) if total else 0.0 for g in GRADES}


def public_rank(assessment: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The market's rank in its district from a market assessment as published
    (`credit.assessment.published`'s data), or None when there is none or it was not ranked."""
    if assessment is None or assessment.get("rank") is None or assessment.get("ranked") is None:
        return None
    return {
        "position": assessment["rank"],
        "of": assessment["ranked"],
        "period": {"from": assessment["period_from"], "to": assessment["period_to"]},
    }


def _cell(value: object) -> str:
    # An instant in the form the JSON answers give it (`T`, not str()'s space).
    text = value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is shown as text (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grades_csv(rows: Iterable[MerchantGrade], *, bom: bool = True) -> str:
    """The merchant grades as CSV: a header of `CSV_COLUMNS`, one line per merchant (CRLF)."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()
