"""A food licence's validity, one rule and one wording for every page that shows it (the
clerk's 证照即将到期, a market's merchants, a merchant's credit page): its days left counted from
the city's day, 已过期 N 天 / 今天到期 / 剩余 N 天, flagged within WARNING_DAYS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from services.console import clock

# Licences ending within this many days are flagged (证照即将到期, asked of the registry too).
WARNING_DAYS = 30


class Validity(TypedDict):
    until: date | None  # None: no licence on record
    expired: bool
    expiring: bool  # ends within WARNING_DAYS, or has ended
    left: str  # 已过期 N 天 / 今天到期 / 剩余 N 天 ("" without a licence)
    status: str  # `left` while expiring, 有效 beyond it, — without a licence
    css: str  # overdue / nearing / ok / muted


def licence(merchant: Mapping[str, Any], today: date | None = None) -> Validity:
    """The validity of the merchant's licence (its `licence_valid_until`) on the city's `today`."""
    text = merchant.get("licence_valid_until")
    if not text:
        return Validity(
            until=None,
            expired=False,
            expiring=False,
            left="",
            status="—",
            css="muted",
        )
    until = date.fromisoformat(str(text))
    days = (until - (today or clock.today())).days
    expiring = days <= WARNING_DAYS
    if days < 0:
        left, css = f"已过期 {-days} 天", "overdue"
    else:
        left = "今天到期" if days == 0 else f"剩余 {days} 天"
        css = "nearing" if expiring else "ok"
    return Validity(
        until=until,
        expired=days < 0,
        expiring=expiring,
        left=left,
        status=left if expiring else "有效",
        css=css,
    )
