"""Credit HTTP API: the explainable score, the public view, market assessments,
the monthly honour and warning list (红黑榜, issue 17; docs/honours.md), objections to a
merchant's record (信用异议, docs/objections.md).

The `/public/...` routes are public and rate limited: open data on merchants' grades and
markets' grade shares (docs/open-data.md), nothing personal. The rest needs a token of the
merchant's or market's district (or the city); a market's assessment also admits that market's
own operator.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field

from contracts.honours import MONTH_PATTERN
from contracts.objections import STATEMENT_MAX_CHARS, Decision, Ground
from services.credit.domain import Period
from services.credit.domain.objections import ObjectionState
from services.credit.domain.public import grades_csv
from services.credit.service import Credit
from services.credit.store import GradeQuery
from services.runtime import serial
from services.runtime.app import state
from services.runtime.auth import Principal, require
from services.runtime.failures import InvalidInput
from services.runtime.inputs import storable_router
from services.runtime.paging import Position, next_token
from services.runtime.paging_query import PageAsked, page_query
from services.runtime.ratelimit import rate_limited

router = storable_router()
Reader = Annotated[Principal, Depends(require("clerk", "inspector", "handler", "leader"))]
Admin = Annotated[Principal, Depends(require("admin"))]
# A market's operator reads its own market's assessment too (the service refuses any other).
AssessmentReader = Annotated[
    Principal, Depends(require("clerk", "inspector", "handler", "leader", "operator"))
]


Svc = Annotated[Credit, Depends(state("credit"))]
DistrictQuery = Annotated[str | None, Query(max_length=32, description="district code")]


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


# -- the public side: open data (issue 16; docs/open-data.md) -----------------------------------
Public = [Depends(rate_limited("public"))]
GradeLetter = Literal["A", "B", "C", "D"]
MAX_PAGE = 100


class PublicMerchantGrade(BaseModel):
    id: str
    name: str
    market_id: str
    market_name: str | None = Field(description="null while credit has not seen the market")
    district: str = Field(description="district code")
    stall_no: str
    grade: GradeLetter | None = Field(description="null before credit has graded the merchant")
    graded_at: datetime | None = Field(description="when the current grade was given")


class PublicMerchantPage(BaseModel):
    items: list[PublicMerchantGrade]
    total: int = Field(description="how many merchants match, across all pages")
    offset: int
    limit: int


class OpenRectifications(BaseModel):
    count: int
    earliest_deadline: datetime | None


class PublicMerchant(PublicMerchantGrade):
    merchant_id: str = Field(description="the same as id (kept for older clients)")
    market: str | None = Field(description="the same as market_name (kept for older clients)")
    last_inspection: date | None = Field(description="the day of the latest inspection")
    last_inspection_outcome: Literal["pass", "minor", "major", "critical"] | None = Field(
        description="its outcome; null without one or for one recorded before outcomes were kept"
    )
    last_inspection_corrected: bool = Field(
        False,
        description="the latest inspection's finding was found wrong on the merchant's objection "
        "(信用异议, corrected): its outcome no longer stands against the merchant",
    )
    open_rectifications: OpenRectifications
    left_on: date | None = Field(
        None,
        description="the day it stopped trading at its stall (退出经营); null while it trades. "
        "A merchant who left is no longer listed, but its page stays.",
    )
    objections_open: int = Field(
        0,
        description="how many of its credit records the merchant disputes, not yet decided "
        "(信用异议): the grade may change once they are. A count only",
    )


class Shares(BaseModel):
    A: float
    B: float
    C: float
    D: float


class AssessedPeriod(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime


class Rank(BaseModel):
    position: int = Field(description="1 = best in its district")
    of: int = Field(description="how many markets of the district were ranked")
    period: AssessedPeriod


class MarketGrades(BaseModel):
    shares: Shares = Field(description="each grade's share of the market's merchants (0..1)")
    merchants: int
    rank: Rank | None = Field(description="null before the market's first assessment")


def _blank(text: str | None) -> str | None:
    return text.strip() or None if text else None


@router.get("/public/merchants", tags=["public"], dependencies=Public)
async def public_merchants(
    svc: Svc,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    district: Annotated[str | None, Query(max_length=32, description="district code")] = None,
    market_id: Annotated[str | None, Query(max_length=64)] = None,
    grade: Annotated[GradeLetter | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> PublicMerchantPage:
    """Search the merchants by name, district, market and grade; paginated (limit ≤ 100)."""
    query = GradeQuery(_blank(q), _blank(district), _blank(market_id), grade, offset, limit)
    found, total = await svc.merchant_grades(query)
    return PublicMerchantPage.model_validate(
        {"items": serial.dump_many(found), "total": total, "offset": offset, "limit": limit}
    )


@router.get(
    "/public/merchants.csv",
    tags=["public"],
    dependencies=Public,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with a BOM"}},
)
async def public_merchants_csv(
    svc: Svc,
    district: Annotated[str | None, Query(max_length=32)] = None,
    market_id: Annotated[str | None, Query(max_length=64)] = None,
    grade: Annotated[GradeLetter | None, Query()] = None,
) -> Response:
    """Every merchant's grade as CSV, columns id,name,market_id,market_name,district,stall_no,
    grade,graded_at (UTF-8 with a BOM, CRLF lines)."""
    query = GradeQuery(district=_blank(district), market_id=_blank(market_id), grade=grade)
    found, _ = await svc.merchant_grades(query)
    return Response(
        grades_csv(found).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="merchant-grades.csv"'},
    )


@router.get(
    "/public/merchants/{merchant_id}",
    tags=["public"],
    dependencies=Public,
    response_model=PublicMerchant,
)
async def public_merchant(merchant_id: str, svc: Svc) -> dict[str, Any]:
    """One merchant: market, stall, grade with its date, the last inspection (date and outcome),
    its open rectification orders (count, earliest deadline) and how many of its records it
    disputes, undecided — nothing personal."""
    return await svc.public(merchant_id)


@router.get(
    "/public/markets/{market_id}/grades",
    tags=["public"],
    dependencies=Public,
    response_model=MarketGrades,
    response_model_by_alias=True,
)
async def public_market_grades(market_id: str, svc: Svc) -> dict[str, Any]:
    """The shares of the market's merchants at each grade and its rank in its district, from
    its latest assessment."""
    return await svc.market_grades(market_id)


@router.get("/markets/{market_id}/assessment", tags=["assessment"])
async def market_assessment(
    market_id: str,
    svc: Svc,
    who: AssessmentReader,
    days: Annotated[int, Query(ge=1, le=366, description="the period: the last N days")] = 30,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """The market's assessment (考核) for the period, its rank in the district, and the
    district's roll-up; computed on demand. `parts`: what the score is made of, each weighed
    component with its value (0..1, null when left out) and weight. Staff of the market's
    district, or its own operator."""
    return await svc.market_assessment(who, market_id, _period(svc, days, start, end))


@router.get("/assessments", tags=["assessment"])
async def ranking(
    svc: Svc,
    who: Reader,
    days: Annotated[int, Query(ge=1, le=366, description="the period: the last N days")] = 30,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    district: DistrictQuery = None,
) -> dict[str, Any]:
    """考核排名: every market of the caller's district (the city's for city-wide readers asking
    for none) with its assessment for the period, best first, each with the `parts` its score
    is made of; and `districts`, the districts' roll-ups with their standing in the city. The
    merchants' grades are those at the period's end (`to`; those held now without it);
    computed on demand, one call for the whole ranking."""
    period = _period(svc, days, start, end)
    return await svc.ranking(who, period, _blank(district), current=end is None)


@router.post("/assessments", tags=["assessment"], status_code=202)
async def publish_assessments(
    svc: Svc,
    who: Admin,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Compute and publish every market's and district's assessment now (admin, named in the
    events as their actor)."""
    published = await svc.publish_assessments(svc.period(days), who)
    return {"published": published}


# -- the honour and warning list (红黑榜, issue 17; docs/honours.md) ------------------------------
MonthQuery = Annotated[
    str | None,
    Query(max_length=7, description="the month listed, YYYY-MM; the latest drawn when absent"),
]


class DrawHonours(BaseModel):
    month: str = Field(pattern=MONTH_PATTERN, description="the month to draw, YYYY-MM")


@router.get("/honours", tags=["honours"])
async def honours(
    svc: Svc, who: Reader, month: MonthQuery = None, district: DistrictQuery = None
) -> dict[str, Any]:
    """A month's honour (红榜) and warning (黑榜) lists of markets and merchants, with the rules
    each entry met and the entries delisted since the list before; of the caller's district
    unless they may read the city's."""
    return await svc.staff_honours(who, _blank(month), _blank(district))


@router.get("/honours/preview", tags=["honours"])
async def preview_honours(svc: Svc, who: Reader, district: DistrictQuery = None) -> dict[str, Any]:
    """本月预览: the lists the month so far would give if it ended now (city time) — drawn by
    the same rules, stored and published nowhere; of the caller's district unless they may read
    the city's. Staff only: the list drawn after the month's end is the official one."""
    return await svc.preview_honours(who, _blank(district))


@router.post("/honours/draw", tags=["honours"])
async def draw_honours(
    body: DrawHonours, svc: Svc, who: Admin, response: Response
) -> dict[str, Any]:
    """Draw a month's list now (admin; the schedule draws it on the 1st, city time): 201 with
    the list when drawn, 200 with the stored list when the month was drawn before (nothing is
    published again)."""
    view, drawn = await svc.draw_honours(svc.month(body.month), who=who)
    response.status_code = 201 if drawn else 200
    return view | {"drawn": drawn}


@router.get("/public/honours", tags=["public"], dependencies=Public)
async def public_honours(
    svc: Svc, month: MonthQuery = None, district: DistrictQuery = None
) -> dict[str, Any]:
    """The month's honour and warning lists as open data: markets' and merchants' registered
    names, their market and district, and the rules they met — nothing personal."""
    checked = None if _blank(month) is None else str(svc.month(str(month)))
    return await svc.honours(checked, _blank(district), public=True)


# -- objections to a record (信用异议; docs/objections.md) ---------------------------------------
# A clerk of the district records what the merchant disputes, another clerk decides it (the
# district's records are the clerks'; a leader reads them and changes nothing).
Clerk = Annotated[Principal, Depends(require("clerk"))]


class FileObjection(BaseModel):
    event_id: str = Field(
        min_length=1, max_length=200, description="the disputed entry's causing event"
    )
    kind: str = Field(
        min_length=1, max_length=100, description="the disputed entry's kind (its ledger line)"
    )
    statement: str = Field(
        min_length=1,
        max_length=STATEMENT_MAX_CHARS,
        description="what the merchant says is wrong with the record; for a repair, how the "
        "merchant put it right",
    )
    ground: Ground = Field(
        default="error",
        description="error: the record is wrong (信用异议); repaired: it is right and the "
        "merchant put it right, asking that it stop counting early (信用修复)",
    )
    commitment: bool = Field(
        default=False,
        description="a repair: the merchant's written commitment (信用承诺) was received "
        "(required)",
    )


class DecideObjection(BaseModel):
    decision: Decision = Field(
        description="an error: corrected (the entry is reversed) or upheld (it stands); a "
        "repair: repaired (the entry is reversed) or upheld (不予修复)"
    )
    reasoning: str = Field(min_length=1, max_length=STATEMENT_MAX_CHARS)


class WithdrawObjection(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=STATEMENT_MAX_CHARS,
        description="the merchant's withdrawal, or the error in recording it",
    )


@router.post("/merchants/{merchant_id}/objections", tags=["objections"], status_code=201)
async def file_objection(
    merchant_id: str, body: FileObjection, svc: Svc, who: Clerk
) -> dict[str, Any]:
    """Record the merchant's objection to one entry of its ledger (an entry that cost credit and
    still counts, disputed once on each ground): 404 naming `event_id` when there is no such
    entry, 409 when it cannot be disputed — for a repair (信用修复) also when it cost more than
    15 points, its wait has not passed, the merchant offended again since or has a
    rectification order open — and 422 for a blank statement or a repair without the merchant's
    commitment."""
    return await svc.file_objection(
        who,
        merchant_id,
        body.event_id,
        body.kind,
        body.statement,
        ground=body.ground,
        commitment=body.commitment,
    )


@router.get("/objections", tags=["objections"])
async def list_objections(
    svc: Svc,
    who: Reader,
    district: DistrictQuery = None,
    merchant_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[ObjectionState | None, Query()] = None,
    overdue: Annotated[
        bool, Query(description="only the open ones past their decision deadline (due_at)")
    ] = False,
    closed_within_days: Annotated[
        int | None,
        Query(
            ge=1,
            le=3660,
            description="leave out those decided or withdrawn longer ago than this many days "
            "(the open ones stay); the ledger (/objections/filed) has them all",
        ),
    ] = None,
) -> dict[str, Any]:
    """The objections of the caller's district (or the one asked for), oldest filed first; each
    with `due_at` (异议处理期限), `working_days_left`, `nearing`, `overdue` and `decided_late`."""
    items = await svc.objections(
        who,
        district=_blank(district),
        merchant_id=_blank(merchant_id),
        state=state,
        overdue=overdue,
        closed_within=None if closed_within_days is None else timedelta(days=closed_within_days),
    )
    return {"items": items}


Filed = Annotated[PageAsked, page_query("filed_from", "filed_before", "objections filed")]


@router.get("/objections/filed", tags=["objections"])
async def list_objections_filed(
    svc: Svc,
    who: Reader,
    page: Filed,
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The objection ledger (信用异议台账): the objections of the caller's district (or the one
    asked for) filed between `filed_from` (inclusive) and `filed_before` (exclusive), each with
    its UTC offset, newest first, then by id, each as `GET /objections` shows it, whatever became
    of it since. Paged as inspection's `GET /inspections` is: a full page's `next` is the `after`
    of the page that follows (null: the last). A refusal (422) names every bad value at once."""
    items = await svc.objections_filed(
        who, window=page.window, after=page.after, district=_blank(district), limit=limit
    )
    following = [Position(datetime.fromisoformat(o["filed_at"]), o["objection_id"]) for o in items]
    return {"items": items, "next": next_token(following, limit)}


@router.post("/objections/{objection_id}/decision", tags=["objections"])
async def decide_objection(
    objection_id: str, body: DecideObjection, svc: Svc, who: Clerk
) -> dict[str, Any]:
    """Decide an open objection (a clerk of the district who did not record it): `corrected`
    reverses the entry in the ledger (the score moves once credit reads the decision back from
    `credit.objections.v1`), `upheld` keeps it; 409 when already decided."""
    return await svc.decide_objection(who, objection_id, body.decision, body.reasoning)


@router.post("/objections/{objection_id}/withdrawal", tags=["objections"])
async def withdraw_objection(
    objection_id: str, body: WithdrawObjection, svc: Svc, who: Clerk
) -> dict[str, Any]:
    """Close an open objection without a decision (a clerk of the district, the one who recorded
    it too): the merchant withdrew it, or it was recorded in error. No score changes; the entry
    may be disputed again. 409 when it is closed already."""
    return await svc.withdraw_objection(who, objection_id, body.reason)
