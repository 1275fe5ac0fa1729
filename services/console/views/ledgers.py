"""台账导出: a month of complaints (投诉台账) or of completed inspections (检查台账) of the
person's district as an Excel workbook, for the office that files and forwards them.

The console owns none of it: it pages through the complaints service's `GET /complaints` (by
receipt) and inspection's `GET /inspections` (by completion) with their `next` tokens, names the
markets and merchants from the registry, and writes the sheet (services/console/ledgers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console import clock, labels, ledgers, web
from services.console.backend import ApiError, Backend
from services.console.ledgers import MONTH_FIELD, Month, MonthRefused
from services.console.sessions import Session
from services.console.web import Services, may_see, render
from services.console.workbook import MEDIA_TYPE, Cell, Column, workbook

router = APIRouter()

# A month of a district is hundreds of rows; a file this long means a query gone wrong, and a
# sheet of it would be of no use to anyone: the page says to ask for less.
PAGE: Final = 1000
MAX_ROWS: Final = 20_000


@dataclass(frozen=True, slots=True)
class Ledger:
    key: str
    title: str  # 投诉台账
    what: str  # what the file holds, on the page
    readers: frozenset[str]
    service: str
    path: str
    window: tuple[str, str]  # the listing's query names of the month's start and end
    columns: Sequence[Column]


LEDGERS: Final = {
    "complaints": Ledger(
        "complaints",
        "投诉台账",
        "当月收到的每件投诉：类别、投诉事项、受理和调解是否按期、办结结果、是否属实和满意度。"
        "不含投诉人的姓名和电话。",
        frozenset({"handler", "leader"}),
        "complaints",
        "/complaints",
        ("received_from", "received_before"),
        ledgers.COMPLAINT_COLUMNS,
    ),
    "inspections": Ledger(
        "inspections",
        "检查台账",
        "当月完成的每次检查：检查类型、结果、检查发现、参与部门、检查员、是否按期和是否下达整改通知。",
        frozenset({"inspector", "leader"}),
        "inspection",
        "/inspections",
        ("completed_from", "completed_before"),
        ledgers.INSPECTION_COLUMNS,
    ),
}
READERS: Final = tuple(sorted(set().union(*(ledger.readers for ledger in LEDGERS.values()))))
REFUSAL: Final = "台账导出面向投诉处理员、检查员和领导。"
Reader = Annotated[Session, may_see(*READERS, message=REFUSAL)]


class TooMany(Exception):
    """The month holds more rows than a sheet is made of."""


def _last_month(today: date) -> str:
    year, month = divmod(today.year * 12 + today.month - 2, 12)
    return f"{year:04d}-{month + 1:02d}"


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
        default_month=_last_month(today),
        this_month=today.strftime("%Y-%m"),
    )


@router.get("/staff/ledgers")
async def index(request: Request, who: Reader) -> Response:
    return _page(request, who)


async def _all(services: Backend, ledger: Ledger, token: str, when: Month) -> list[Any]:
    """Every item of the month, page after page, by the listing's own `next`."""
    start, end = ledger.window
    params: dict[str, Any] = {start: when.start.isoformat(), end: when.end.isoformat()}
    found: list[Any] = []
    after: str | None = None
    while True:
        page = await services.get(
            ledger.service,
            ledger.path,
            token,
            limit=PAGE,
            **params,
            **({"after": after} if after else {}),
        )
        found += page.get("items") or []
        if len(found) > MAX_ROWS:
            raise TooMany
        after = page.get("next")
        if not after:
            return found


def _rows(
    ledger: Ledger, items: list[Any], markets: dict[str, str], merchants: dict[str, str]
) -> list[list[Cell]]:
    if ledger.key == "complaints":
        now = clock.now()
        return [ledgers.complaint_row(c, markets, merchants, now) for c in items]
    return [ledgers.inspection_row(t, markets, merchants) for t in items]


def _file_name(ledger: Ledger, district: str, when: Month) -> str:
    return f"{ledger.title}-{district}-{when.text}.xlsx"


def _download(name: str, ascii_name: str, body: bytes) -> Response:
    # RFC 6266: the Chinese name for browsers, an ASCII one for whatever reads no other.
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=MEDIA_TYPE, headers={"Content-Disposition": disposition})


def _route(ledger: Ledger) -> Callable[..., Any]:
    async def export(request: Request, who: Reader, services: Services) -> Response:
        if not who.principal.holds(*ledger.readers):
            return web.refused(request, who, REFUSAL)
        value = request.query_params.get(MONTH_FIELD)
        values = {ledger.key: value or ""}
        try:
            when = ledgers.month(value, clock.today())
        except MonthRefused as refused:
            errors = {ledger.key: {MONTH_FIELD: str(refused)}}
            return _page(request, who, errors=errors, values=values, status_code=422)
        token = who.access_token
        try:
            items, markets, merchants = await asyncio.gather(
                _all(services, ledger, token, when),
                web.market_names(services, token),
                web.names_by_id(services, "/merchants", token),
            )
        except TooMany:
            too_many = f"该月记录超过 {MAX_ROWS} 条，无法导出为一个文件"
            errors = {ledger.key: {MONTH_FIELD: too_many}}
            return _page(request, who, errors=errors, values=values, status_code=422)
        except ApiError as exc:
            errors = {ledger.key: {"form": labels.reason_zh(exc.message)}}
            return _page(
                request, who, errors=errors, values=values, status_code=web.unavailable_503(exc)
            )
        district = request.app.state.district_names.name(who.principal.district)
        body = workbook(
            f"{ledger.title} {when.text}",
            ledger.columns,
            _rows(ledger, items, markets or {}, merchants or {}),
        )
        return _download(_file_name(ledger, district, when), f"{ledger.key}-{when.text}.xlsx", body)

    return export


for _ledger in LEDGERS.values():
    router.add_api_route(
        f"/staff/ledgers/{_ledger.key}.xlsx", _route(_ledger), methods=["GET"], name=_ledger.key
    )
