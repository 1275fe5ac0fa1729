"""Credit HTTP API (DESIGN §6): the explainable score, the public view, market assessments.

`GET /public/merchants/{id}` is public (name, market, grade, last inspection — nothing more);
the rest needs a token of the merchant's or market's district (or the city).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.credit.commands import Credit
from services.credit.domain import Period
from services.runtime.auth import Principal, require
from services.runtime.errors import InvalidInput
from services.runtime.inputs import text_inputs
from services.runtime.ratelimit import rate_limited

# Text Postgres cannot hold (NUL, lone surrogates) is refused up front, naming the field.
router = APIRouter(dependencies=[Depends(text_inputs)])
Reader = Annotated[Principal, Depends(require("clerk", "inspector", "handler", "leader"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def credit(request: Request) -> Credit:
    service: Credit = request.app.state.credit
    return service


Svc = Annotated[Credit, Depends(credit)]


def _period(svc: Credit, days: int, start: datetime | None, end: datetime | None) -> Period:
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(name, "must carry a timezone, e.g. 2026-05-01T00:00:00+08:00")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("to", "must be after from")
    if start is not None:
        end = end or svc.now()
        if end <= start:
            raise InvalidInput("from", "must be in the past, or give `to` after it")
        return Period(start, end)
    try:
        return svc.period(days, end)
    except OverflowError:
        raise InvalidInput("to", f"is too early for a period of {days} days") from None


@router.get("/merchants/{merchant_id}/credit", tags=["credit"])
async def merchant_credit(merchant_id: str, svc: Svc, who: Reader) -> dict[str, Any]:
    """Score, grade, policy version and the ledger: each adjustment with its causing event and
    the risk or complaint at the root of its chain."""
    return await svc.explain(who, merchant_id)


@router.get(
    "/public/merchants/{merchant_id}",
    tags=["public"],
    dependencies=[Depends(rate_limited("public"))],
)
async def public_merchant(merchant_id: str, svc: Svc) -> dict[str, Any]:
    return await svc.public(merchant_id)


@router.get("/markets/{market_id}/assessment", tags=["assessment"])
async def market_assessment(
    market_id: str,
    svc: Svc,
    who: Reader,
    days: Annotated[int, Query(ge=1, le=366, description="the period: the last N days")] = 30,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """The market's assessment (考核) for the period, its rank in the district, and the
    district's roll-up; computed on demand."""
    return await svc.market_assessment(who, market_id, _period(svc, days, start, end))


@router.post("/assessments", tags=["assessment"], status_code=202)
async def publish_assessments(
    svc: Svc,
    _: Admin,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Compute and publish every market's and district's assessment now (admin)."""
    published = await svc.publish_assessments(svc.period(days))
    return {"published": published}
