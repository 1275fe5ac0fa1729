"""The registry's public directory (issue 16): districts, markets and their active merchants,
for anyone, no token, rate limited.

Nothing personal: a market is shown with its address, opening hours and renovation status —
never its task force (people) — and a merchant with its name and stall only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.registry.api import Reg
from services.registry.domain.geo import Point, distance_m, location_problems
from services.registry.domain.model import Market
from services.registry.store import DirectoryQuery
from services.runtime import serial
from services.runtime.failures import InvalidInput
from services.runtime.inputs import text_inputs
from services.runtime.ratelimit import rate_limited

router = APIRouter(
    tags=["public"],
    dependencies=[Depends(text_inputs), Depends(rate_limited("public"))],
)
MAX_PAGE = 100


class PublicDistrict(BaseModel):
    code: str
    name: str


class PublicOpeningHours(BaseModel):
    open: str = Field(examples=["06:00"])
    close: str = Field(examples=["19:00"])


class PublicMarket(BaseModel):
    id: str
    name: str
    district: str = Field(description="district code")
    district_name: str | None
    kind: Literal["farmers", "wholesale"]
    address: str
    opening_hours: PublicOpeningHours
    renovation_status: Literal["not_planned", "planned", "in_progress", "completed"]
    latitude: float | None = Field(None, description="WGS-84 degrees; null until a clerk sets it")
    longitude: float | None = None
    distance_m: int | None = Field(
        None, description="with `near`: metres from that point along the Earth's surface"
    )
    status: Literal["open", "closed"] = Field(
        "open", description="closed (停业): for good; found by its id only, never listed"
    )
    closed_on: date | None = Field(None, description="status closed: the day it closed")


class PublicMarketPage(BaseModel):
    items: list[PublicMarket]
    total: int = Field(description="how many markets match, across all pages")


class PublicMerchantRef(BaseModel):
    id: str
    name: str
    stall_no: str


class PublicMerchantList(BaseModel):
    items: list[PublicMerchantRef]


def public_market(m: Market, district_name: str | None, near: Point | None = None) -> PublicMarket:
    # Only PublicMarket's own fields are taken from the market: never its task force.
    opening_hours = PublicOpeningHours(open=m.opens, close=m.closes)
    at = m.location
    far = None if near is None or at is None else round(distance_m(at, near))
    return serial.into(
        PublicMarket, m, district_name=district_name, opening_hours=opening_hours, distance_m=far
    )


@router.get("/public/districts")
async def public_districts(reg: Reg) -> list[PublicDistrict]:
    """Every district: its code (the `district` filter) and name."""
    return [serial.into(PublicDistrict, d) for d in await reg.districts()]


@router.get("/public/markets")
async def public_markets(
    reg: Reg,
    q: Annotated[str | None, Query(max_length=100, description="part of the market's name")] = None,
    district: Annotated[str | None, Query(max_length=32, description="district code")] = None,
    kind: Annotated[Literal["farmers", "wholesale"] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    near: Annotated[
        str | None,
        Query(
            max_length=64,
            description="`latitude,longitude` in WGS-84 degrees: only the markets with a "
            "location, the nearest first, each with its `distance_m`",
            examples=["37.53,121.39"],
        ),
    ] = None,
) -> PublicMarketPage:
    """Search the markets by name, district and kind; by district and name (or the nearest to
    `near` first), paginated. A closed market (停业) is not listed."""
    point = None if near is None else _point(near)
    query = DirectoryQuery(
        q=q.strip() or None if q else None,
        district=district,
        kind=kind,
        offset=offset,
        limit=limit,
        near=point,
    )
    found, total = await reg.directory(query)
    return PublicMarketPage(items=[public_market(m, name, point) for m, name in found], total=total)


def _point(near: str) -> Point:
    """`near` as (latitude, longitude), or a 422 naming it."""
    parts = near.split(",")
    try:
        point = (float(parts[0]), float(parts[1])) if len(parts) == 2 else None
    except ValueError:
        point = None
    if point is None or location_problems(*point):
        raise InvalidInput("near", "must be latitude,longitude in degrees, e.g. 37.53,121.39")
    return point


@router.get("/public/markets/{market_id}")
async def public_market_page(market_id: str, reg: Reg) -> PublicMarket:
    return public_market(*await reg.public_market(market_id))


@router.get("/public/markets/{market_id}/merchants")
async def public_market_merchants(market_id: str, reg: Reg) -> PublicMerchantList:
    """The market's active merchants (name and stall), by stall: what a complaint form lists."""
    merchants = await reg.trading_merchants(market_id)
    return PublicMerchantList(items=[serial.into(PublicMerchantRef, m) for m in merchants])
