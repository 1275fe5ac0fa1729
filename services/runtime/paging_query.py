"""The query of a listing a ledger is paged through (services/runtime/paging.py), as a FastAPI
dependency: the window's two bounds under the listing's own names, `after`, and every bad value
of them named at once (422). One declaration for every such listing, so their parameters read
and fail alike."""

# No `from __future__ import annotations`: `read`'s annotations name the factory's arguments, which
# FastAPI could not resolve from strings (they are not the module's globals).
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from services.runtime.paging import Position, Window, page_asked


@dataclass(frozen=True, slots=True)
class PageAsked:
    window: Window
    after: Position | None


def page_query(start: str, end: str, what: str) -> Any:
    """`Depends` reading `start` (inclusive) and `end` (exclusive) as the instants `what` (e.g.
    "tasks completed") lie between, each with its UTC offset, and `after`, the `next` of the
    page before."""

    # Plain datetimes, not AwareDatetime: a missing offset is refused with paging's own reason.
    def read(
        start_at: Annotated[
            datetime | None, Query(alias=start, description=f"only {what} at or after this instant")
        ] = None,
        end_at: Annotated[
            datetime | None, Query(alias=end, description=f"only {what} before this instant")
        ] = None,
        after: Annotated[
            str | None, Query(max_length=256, description="the `next` of the page before")
        ] = None,
    ) -> PageAsked:
        window, begin = page_asked(start_at, end_at, after, start_field=start, end_field=end)
        return PageAsked(window, begin)

    return Depends(read)
