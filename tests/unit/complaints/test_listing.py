"""`GET /complaints` as a ledger (台账) is exported from it: the cases of a window, page by page
after each page's `next`, on the in-memory stores (the route's function called as it is, its
page read as its dependency reads it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.complaints.api import list_complaints
from services.runtime.auth import Principal
from services.runtime.failures import InvalidInputs
from services.runtime.paging import page_asked
from services.runtime.paging_query import PageAsked
from tests.unit.complaints.conftest import T0, World, submission

HANDLER = Principal(subject="h-zhou", role="handler", district="zhifu", name="周处理员")
CITY = timezone(timedelta(hours=8))
START, END = T0, T0 + timedelta(hours=4)


async def filed_at(world: World, *hours: float) -> list[str]:
    ids = []
    for h in hours:
        world.clock.at = T0 + timedelta(hours=h)
        ids.append((await world.complaints.submit(submission(), via="http")).complaint_id)
    return ids


async def listed(world: World, **query: Any) -> dict[str, Any]:
    """The route's answer to `query`, its page read as the route's dependency reads it."""
    asked: dict[str, Any] = {"limit": 2, "received_from": START, "received_before": END} | query
    window, after = page_asked(
        asked.pop("received_from"),
        asked.pop("received_before"),
        asked.pop("after", None),
        start_field="received_from",
        end_field="received_before",
    )
    return await list_complaints(world.complaints, HANDLER, PageAsked(window, after), **asked)


async def test_paging_through_a_window_gives_each_of_its_cases_once(world: World) -> None:
    # Two at one instant, where the first page ends; one before the window, one at its end.
    _, start, tie_a, tie_b, inside, late, _ = await filed_at(world, -1, 0, 2, 2, 1, 3, 4)
    pages: list[list[str]] = []
    after = None
    while True:
        page = await listed(world, after=after)
        pages.append([c["id"] for c in page["items"]])
        after = page["next"]
        if after is None:
            break
    tied = sorted([tie_a, tie_b], reverse=True)
    assert pages == [[late, tied[0]], [tied[1], inside], [start]]


async def test_the_window_may_be_given_in_the_citys_offset(world: World) -> None:
    await filed_at(world, 0, 1)
    page = await listed(
        world, received_from=START.astimezone(CITY), received_before=END.astimezone(CITY), limit=5
    )
    assert len(page["items"]) == 2 and page["next"] is None


async def test_a_nearing_worklist_is_not_paged(world: World) -> None:
    first, *_ = await filed_at(world, 0, 1, 2)
    case = await world.complaints.case(HANDLER, first)
    world.clock.at = case.acceptance_deadline - timedelta(hours=1)
    page = await listed(world, nearing=True, received_from=None, received_before=None)
    assert len(page["items"]) == 2 and page["next"] is None  # a full page, yet no `next`


async def test_every_bad_value_of_the_window_and_the_position_is_named_at_once(
    world: World,
) -> None:
    with pytest.raises(InvalidInputs) as refused:
        await listed(
            world,
            received_from=datetime(2026, 5, 6),
            received_before=datetime(2026, 5, 1),
            after="not a position",
        )
    assert [f for f, _ in refused.value.problems] == ["received_from", "received_before", "after"]
    with pytest.raises(InvalidInputs) as refused:
        await listed(world, received_before=START)
    assert refused.value.problems == [("received_before", "must come after received_from")]
