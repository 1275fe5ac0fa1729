"""A market closed for good (停业, the registry's `status: closed`) in the campaign: it takes no
new renovation project, exposure or milestone, and a project of it goes no further — no
amendment, stage, check or consultation (docs/rules.md, Registry 停业). A comment a citizen made
before may still be answered. It takes no report, self-inspection or new manager for
training; the reports it owed before it closed stay as they stood. What was disclosed open about
it lapses (`disclosures.lapse`).

`closed_on`: the day the registry says the market closed, None while it is open."""

from __future__ import annotations

from datetime import date

from contracts.registry import MARKET_CLOSED, MarketUpserted
from services.campaign.domain.text import Problems
from services.runtime.failures import Conflict

FIELD = "market_id"


def closed_on(market: MarketUpserted | None) -> date | None:
    """The day the market closed for good; None while it is open (or unknown)."""
    return market.closed_on if market is not None and market.status == MARKET_CLOSED else None


def closed_reason(market_id: str, closed_on: date) -> str:
    return f"market {market_id!r} closed on {closed_on.isoformat()}"


def takes_new_work(problems: Problems, market_id: str, closed_on: date | None) -> None:
    """Adds the refusal of new work about a closed market to a request's other problems."""
    if closed_on is not None:
        problems.add(FIELD, closed_reason(market_id, closed_on))


def still_open(market_id: str, closed_on: date | None, then: str) -> None:
    """What a closed market no longer takes: 409 naming `market_id`, saying `then`."""
    if closed_on is not None:
        raise Conflict(f"{closed_reason(market_id, closed_on)}; {then}", field=FIELD)


def project_goes_on(market_id: str, closed_on: date | None) -> None:
    """A project of a closed market changes no more."""
    still_open(market_id, closed_on, "its project goes no further")


def owes_duties(market_id: str, closed_on: date | None) -> None:
    """A closed market files no report or self-inspection and registers no manager."""
    still_open(market_id, closed_on, "it takes no report, self-inspection or manager any more")
