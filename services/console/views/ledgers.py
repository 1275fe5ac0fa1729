"""台账导出: the person's district's ledgers as Excel workbooks, for the office that files and
forwards them — a month's, quarter's or year's complaints (投诉台账), completed inspections
(检查台账), rectification orders (整改台账), objections to credit records (信用异议台账) or its
markets' assessment (考核台账), and the merchants as registered today (商户台账).

The console owns none of it: it pages through the complaints service's `GET /complaints` (by
receipt), inspection's `GET /inspections` (by completion) and `GET /rectifications/issued` (by
order) and credit's `GET /objections/filed` (by filing) with their `next` tokens, reads the
registry's merchants and credit's grades and its period's ranking (`GET /assessments`) and each
month's honour list, names the markets and merchants from the registry, and writes the sheet
(services/console/ledgers.py)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console import clock, labels, ledgers, web
from services.console.backend import ApiError, Backend
from services.console.district_names import EVERY_DISTRICT
from services.console.ledgers import PERIOD_FIELD, Period, PeriodRefused
from services.console.sessions import Session
from services.console.views.honours import not_drawn
from services.console.web import Services, may_see, render
from services.console.workbook import MEDIA_TYPE, Cell, Column, workbook
from services.runtime.collation import name_key

router = APIRouter()

# A month of a district is hundreds of rows, a year thousands; a file this long means a query
# gone wrong, and a sheet of it would be of no use to anyone: the page says to ask for less.
PAGE: Final = 1000
MAX_ROWS: Final = 20_000


@dataclass(frozen=True, slots=True)
class Asked:
    """What a ledger's rows are made for: the person, their period (None: as of today), and the
    services and district names to read them with."""

    services: Backend
    who: Session
    when: Period | None
    district_name: Callable[[str], str]


Rows = Callable[[Asked], Awaitable[list[list[Cell]]]]


@dataclass(frozen=True, slots=True)
class Ledger:
    key: str
    title: str  # 投诉台账
    what: str  # what the file holds, on the page
    readers: frozenset[str]
    columns: Sequence[Column]
    rows: Rows
    # A ledger of what happened is asked for by its period; the others are as they stand today.
    periodic: bool = True


class TooMany(Exception):
    """The period holds more rows than a sheet is made of."""


async def _all(services: Backend, service: str, path: str, token: str, **params: Any) -> list[Any]:
    """Every item of a listing, page after page, by its own `next`."""
    found: list[Any] = []
    after: str | None = None
    while True:
        page = await services.get(service, path, token, limit=PAGE, after=after, **params)
        found += page.get("items") or []
        if len(found) > MAX_ROWS:
            raise TooMany
        after = page.get("next")
        if not after:
            return found


async def _names(services: Backend, token: str) -> tuple[dict[str, str], dict[str, str]]:
    markets, merchants = await asyncio.gather(
        web.market_names(services, token), web.names_by_id(services, "/merchants", token)
    )
    return markets or {}, merchants or {}


def _month_of(
    service: str,
    path: str,
    fields: tuple[str, str],
    row: Callable[[Any, dict[str, str], dict[str, str]], list[Cell]],
) -> Rows:
    """A period's ledger: every item of `service`'s `path` whose instant lies in the period (the
    listing's query `fields` for its start and end), as `row` reads it with the names."""

    async def rows(asked: Asked) -> list[list[Cell]]:
        services, when = asked.services, asked.when
        assert when is not None, "a period's ledger is asked for by its period"
        token = asked.who.access_token
        window = dict(zip(fields, (when.start.isoformat(), when.end.isoformat()), strict=True))
        items, (markets, merchants) = await asyncio.gather(
            _all(services, service, path, token, **window), _names(services, token)
        )
        return [row(item, markets, merchants) for item in items]

    return rows


async def _grades(services: Backend, district: str) -> dict[str, str] | None:
    """Every merchant's grade in the district by id, from credit's open data (its CSV: one call
    for them all); None when credit does not answer, so that the sheet says so."""
    params = {} if district == EVERY_DISTRICT else {"district": district}
    try:
        answer = await services.raw("credit", "GET", "/public/merchants.csv", "", params=params)
    except ApiError:
        return None
    read = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
    return {row["id"]: row["grade"] for row in read if row.get("grade")}


async def _merchants(asked: Asked) -> list[list[Cell]]:
    services, token = asked.services, asked.who.access_token
    merchants, markets, grades = await asyncio.gather(
        services.items("registry", "/merchants", token),
        web.market_names(services, token),
        _grades(services, asked.who.principal.district),
    )
    names = markets or {}
    merchants.sort(key=lambda m: (name_key(names.get(m["market_id"], "")), str(m.get("stall_no"))))
    today = clock.today()
    return [ledgers.merchant_row(m, names, grades, today) for m in merchants]


async def _month_listed(services: Backend, token: str, month: str) -> ledgers.Listed | None:
    """The markets on a month's honour and warning list; None when it is not drawn yet."""
    try:
        body = await services.get("credit", "/honours", token, month=month)
    except ApiError as exc:
        if not_drawn(exc):
            return None
        raise
    return ledgers.market_honours(body)


async def _assessments(asked: Asked) -> list[list[Cell]]:
    services, when = asked.services, asked.when
    assert when is not None, "a period's ledger is asked for by its period"
    token = asked.who.access_token
    now = clock.now()
    # The period so far: to now, as its figures stand; a period ended: the whole of it.
    period = {"from": when.start.isoformat(), "to": min(when.end, now).isoformat()}
    district = asked.who.principal.listing_district()
    # A month not begun has no list to ask for; the month under way has none drawn yet.
    months = when.month_texts()
    begun = [m for m in months if m <= clock.today().strftime("%Y-%m")]
    ranking, *listed = await asyncio.gather(
        services.get("credit", "/assessments", token, district=district, **period),
        *(_month_listed(services, token, month) for month in begun),
    )
    drawn = dict(zip(begun, listed, strict=True))
    honours = [(month, drawn.get(month)) for month in months]
    return ledgers.assessment_rows(ranking, honours, asked.district_name)


LEDGERS: Final = {
    "complaints": Ledger(
        "complaints",
        "投诉台账",
        "所选期间收到的每件投诉：类别、投诉事项、受理和调解是否按期、办结结果、是否属实和满意度。"
        "不含投诉人的姓名和电话。",
        frozenset({"handler", "leader"}),
        ledgers.COMPLAINT_COLUMNS,
        _month_of(
            "complaints",
            "/complaints",
            ("received_from", "received_before"),
            # The clocks as the queue says them at the export.
            lambda case, markets, merchants: ledgers.complaint_row(
                case, markets, merchants, clock.now()
            ),
        ),
    ),
    "inspections": Ledger(
        "inspections",
        "检查台账",
        "所选期间完成的每次检查：检查类型、结果、检查发现、参与部门、检查员、是否按期和是否下达整改通知。",
        frozenset({"inspector", "leader"}),
        ledgers.INSPECTION_COLUMNS,
        _month_of(
            "inspection",
            "/inspections",
            ("completed_from", "completed_before"),
            ledgers.inspection_row,
        ),
    ),
    "rectifications": Ledger(
        "rectifications",
        "整改台账",
        "所选期间下达的每份整改通知：问题程度、检查发现、整改期限、是否责令暂停经营，"
        "以及之后的结果：复查通过（时间和复查人）、逾期、复查未通过次数或终止原因。",
        frozenset({"inspector", "leader"}),
        ledgers.RECTIFICATION_COLUMNS,
        _month_of(
            "inspection",
            "/rectifications/issued",
            ("ordered_from", "ordered_before"),
            ledgers.rectification_row,
        ),
    ),
    "objections": Ledger(
        "objections",
        "信用异议台账",
        "所选期间登记的每件信用异议：异议的记录及其分值、商户陈述、登记人、处理期限和是否按期，"
        "以及决定（更正或维持）、决定人和决定理由。",
        frozenset({"clerk", "leader"}),
        ledgers.OBJECTION_COLUMNS,
        _month_of(
            "credit", "/objections/filed", ("filed_from", "filed_before"), ledgers.objection_row
        ),
    ),
    "assessments": Ledger(
        "assessments",
        "考核台账",
        "所选月份、季度或年度每个市场的考核：本区排名、综合得分、商户信用等级分布和各项考核指标，"
        "上红黑榜的情况及理由（季度和年度为期间内各月上榜的次数），以及全区得分和在全市的名次。"
        "未结束的期间为截至目前的数据。",
        frozenset({"leader"}),
        ledgers.ASSESSMENT_COLUMNS,
        _assessments,
    ),
    "merchants": Ledger(
        "merchants",
        "商户台账",
        "截至今天登记的每个商户：市场和摊位、统一社会信用代码、食品经营许可证及有效期、"
        "经营类别、经营状态（含已退出的）和信用等级。",
        frozenset({"clerk", "leader"}),
        ledgers.MERCHANT_COLUMNS,
        _merchants,
        periodic=False,
    ),
}
READERS: Final = tuple(sorted(set().union(*(ledger.readers for ledger in LEDGERS.values()))))
REFUSAL: Final = "台账导出面向登记员、投诉处理员、检查员和领导。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]


def _page(
    request: Request,
    who: Session,
    *,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    mine = [ledger for ledger in LEDGERS.values() if who.principal.holds(*ledger.readers)]
    return render(
        request,
        "ledgers/index.html",
        who,
        status_code=status_code,
        ledgers=mine,
        errors=errors or {},
        values=values or {},
        periods=ledgers.offered(today),
        default_period=ledgers.last_month(today).text,
        this_month=today.strftime("%Y-%m"),
        today=today.isoformat(),
        today_date=today,
    )


@router.get("/staff/ledgers")
async def index(request: Request, who: Reader) -> Response:
    return _page(request, who)


def _download(name: str, ascii_name: str, body: bytes) -> Response:
    # RFC 6266: the Chinese name for browsers, an ASCII one for whatever reads no other.
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=MEDIA_TYPE, headers={"Content-Disposition": disposition})


def _route(ledger: Ledger) -> Callable[..., Any]:
    async def export(request: Request, who: Reader, services: Services) -> Response:
        if not who.principal.holds(*ledger.readers):
            return web.refused(request, who, REFUSAL)
        # `month`: what the form sent before it offered quarters and years (a kept link).
        value = request.query_params.get(PERIOD_FIELD) or request.query_params.get("month")
        values = {ledger.key: value or ""}
        when: Period | None = None
        if ledger.periodic:
            try:
                when = ledgers.period(value, clock.today())
            except PeriodRefused as refused:
                errors = {ledger.key: {PERIOD_FIELD: str(refused)}}
                return _page(request, who, errors=errors, values=values, status_code=422)
        try:
            names = request.app.state.district_names.name
            rows = await ledger.rows(Asked(services, who, when, names))
        except TooMany:
            too_many = f"该期间记录超过 {MAX_ROWS} 条，无法导出为一个文件，请选择较短的期间"
            errors = {ledger.key: {PERIOD_FIELD: too_many}}
            return _page(request, who, errors=errors, values=values, status_code=422)
        except ApiError as exc:
            errors = {ledger.key: {"form": labels.reason_zh(exc.message)}}
            status = web.unavailable_503(exc)
            return _page(request, who, errors=errors, values=values, status_code=status)
        district = request.app.state.district_names.name(who.principal.district)
        stamp = when.text if when is not None else clock.today().isoformat()
        body = workbook(f"{ledger.title} {stamp}", ledger.columns, rows)
        name = f"{ledger.title}-{district}-{stamp}.xlsx"
        return _download(name, f"{ledger.key}-{stamp}.xlsx", body)

    return export


for _ledger in LEDGERS.values():
    router.add_api_route(
        f"/staff/ledgers/{_ledger.key}.xlsx", _route(_ledger), methods=["GET"], name=_ledger.key
    )
