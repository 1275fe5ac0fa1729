"""Facts and the adjustments the ledger makes of them, for merchant mer_1 of market mkt_1 under
credit's base policy version (2026-01) alone: the ledger's mechanics, not which version is in force
when. Each fact is a new event (its id and offset counted up) unless given an `event_id`."""

from __future__ import annotations

from datetime import UTC, datetime

from services.credit.domain import Adjustment, Fact, PolicyBook, adjust
from services.credit.policy_files import default_book

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
BOOK = PolicyBook.of(default_book().get("2026-01"))

_ids = iter(range(10**9))


def fact(
    kind: str,
    at: datetime = T0,
    *,
    event_id: str | None = None,
    merchant_id: str = "mer_1",
    detail: str | None = None,
) -> Fact:
    return Fact(
        kind=kind,  # type: ignore[arg-type]
        merchant_id=merchant_id,
        market_id="mkt_1",
        district="zhifu",
        occurred_at=at,
        event_id=event_id or f"ev_{next(_ids)}",
        event_type="inspection.task.completed",
        topic="inspection.events.v1",
        partition=1,
        offset=next(_ids),
        correlation_id="risk_1",
        detail=detail,
    )


def entry(kind: str, at: datetime = T0, *, book: PolicyBook = BOOK, **kw: str) -> Adjustment:
    made = adjust(fact(kind, at, **kw), book)
    assert made is not None
    return made
