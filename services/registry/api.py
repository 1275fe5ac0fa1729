"""Registry HTTP API: thin routes that parse, authorise and call the use cases (`Registry`)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Query
from pydantic import Field, field_validator

from services.registry.domain.identifiers import validate_credit_code, validate_food_licence
from services.registry.domain.model import (
    LEAVING_REASON_MAX,
    District,
    Market,
    MarketDetails,
    Merchant,
    TaskForce,
    Terminal,
)
from services.registry.service import (
    MarketDraft,
    MerchantDraft,
    NewMarket,
    NewMerchant,
    NewTerminal,
    Registry,
    TerminalDraft,
)
from services.runtime import serial
from services.runtime.app import state
from services.runtime.auth import Principal, require
from services.runtime.body_problems import Sent, fitted
from services.runtime.errors import InvalidInput
from services.runtime.inputs import Strict, storable_router

router = storable_router()
Clerk = Annotated[Principal, Depends(require("clerk"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("clerk", "inspector", "handler", "leader"))]
# Department staff (部门人员) join their district's joint inspections, meetings and enforcement,
# and read its markets by name (public anyway: docs/open-data.md), scoped as a leader is; not
# its merchants or terminals (docs/identity.md).
MarketReader = Annotated[
    Principal, Depends(require("clerk", "inspector", "handler", "leader", "department"))
]


Reg = Annotated[Registry, Depends(state("registry"))]
D = TypeVar("D", MarketDraft, MerchantDraft, TerminalDraft)


def _draft(draft: type[D], fields: dict[str, Any]) -> D:
    """The draft a use case's check takes: each of its fields the request holds (those that fit
    the model, when the body broke it); one not held stays None. A terminal's profile left out
    is none, as the model's default: checked against the kind."""
    names = (f.name for f in dataclasses.fields(draft))
    return draft(**{name: fields[name] for name in names if name in fields})


def _domain_check(check: Any, value: str, field: str) -> str:
    # Domain checks raise InvalidInput; inside a pydantic validator a ValueError carries the
    # reason, and pydantic names the field.
    try:
        result: str = check(value, field)
    except InvalidInput as exc:
        raise ValueError(exc.reason) from None
    return result


class DistrictIn(Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$", examples=["zhifu"])
    name: str = Field(min_length=1, max_length=100, examples=["芝罘区"])


class OpeningHoursIn(Strict):
    open: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["06:00"])
    close: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["19:00"])


Name = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Capacity = Annotated[int, Field(gt=0, le=1_000_000)]


class MarketIn(Strict):
    name: Name
    district: str = Field(min_length=1)
    kind: Literal["farmers", "wholesale"]
    operator: Name
    address: Address
    capacity: Capacity
    opening_hours: OpeningHoursIn
    renovation_status: Literal["not_planned", "planned", "in_progress", "completed"] = "not_planned"
    latitude: float | None = Field(
        None,
        ge=-90,
        le=90,
        description="WGS-84 degrees north, with `longitude` or not at all (a clerk registering "
        "the market at its gate); later by `PUT /markets/{id}/location`",
    )
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS-84 degrees east")


class MarketDetailsIn(Strict):
    """`PUT /markets/{id}`: what may be corrected of a registered market, every field given but
    `kind`, which is left as it is when left out."""

    name: Name
    operator: Name
    address: Address
    capacity: Capacity
    opening_hours: OpeningHoursIn
    kind: Literal["farmers", "wholesale"] | None = Field(
        None, description="农贸 or 批发, when it was picked wrong at registration"
    )


class LocationIn(Strict):
    latitude: float = Field(ge=-90, le=90, description="WGS-84 degrees north", examples=[37.5])
    longitude: float = Field(ge=-180, le=180, description="WGS-84 degrees east", examples=[121.4])


class TaskForceIn(Strict):
    leader: str = Field(min_length=1, max_length=100)
    members: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(max_length=200)


Category = Annotated[str, Field(min_length=1, max_length=50)]


class MerchantIn(Strict):
    name: Name
    market_id: str = Field(min_length=1)
    stall_no: str = Field(min_length=1, max_length=32)
    credit_code: str = Field(description="统一社会信用代码, 18 characters, GB 32100-2015")
    food_licence: str = Field(description="食品经营许可证编号: JY + 14 digits")
    licence_valid_until: date
    categories: list[Category] = Field(default_factory=list, max_length=50)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, v: str) -> str:
        return _domain_check(validate_credit_code, v, "credit_code")

    @field_validator("food_licence")
    @classmethod
    def _licence(cls, v: str) -> str:
        return _domain_check(validate_food_licence, v, "food_licence")


class MerchantCorrectionIn(Strict):
    """`PUT /merchants/{id}`: a merchant's name and categories as corrected."""

    name: Name
    categories: list[Category] = Field(default_factory=list, max_length=50)


class MerchantDraftIn(Strict):
    """`POST /merchants/validate`: the fields of `POST /merchants`, each optional, each checked
    exactly as there when present (a form checks the fields typed so far)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    market_id: str | None = Field(default=None, min_length=1)
    stall_no: str | None = Field(default=None, min_length=1, max_length=32)
    credit_code: str | None = Field(
        default=None, description="统一社会信用代码, 18 characters, GB 32100-2015"
    )
    food_licence: str | None = Field(default=None, description="食品经营许可证编号: JY + 14 digits")
    licence_valid_until: date | None = None
    categories: list[Category] | None = Field(default=None, max_length=50)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, v: str | None) -> str | None:
        return None if v is None else MerchantIn._credit_code(v)

    @field_validator("food_licence")
    @classmethod
    def _licence(cls, v: str | None) -> str | None:
        return None if v is None else MerchantIn._licence(v)


class LicenceIn(Strict):
    food_licence: str
    licence_valid_until: date

    @field_validator("food_licence")
    @classmethod
    def _licence(cls, v: str) -> str:
        return _domain_check(validate_food_licence, v, "food_licence")


class LeaveIn(Strict):
    reason: str = Field(
        min_length=1, max_length=LEAVING_REASON_MAX, examples=["租约到期，不再续租"]
    )
    left_on: date | None = Field(
        None, description="the day it stopped trading at its stall (default today); not later"
    )


class CloseIn(Strict):
    reason: str = Field(
        min_length=1, max_length=LEAVING_REASON_MAX, examples=["整体搬迁至新址，原址停业"]
    )
    closed_on: date | None = Field(
        None, description="the day the market closed (default today); not later"
    )


class MoveIn(Strict):
    stall_no: str = Field(min_length=1, max_length=32, examples=["B-07"])


class TerminalIn(Strict):
    kind: Literal["cold_chain", "footfall", "payment"]
    market_id: str = Field(min_length=1)
    merchant_id: str | None = None
    stall_no: str | None = Field(default=None, min_length=1, max_length=32)
    profile: Literal["chilled", "frozen"] | None = None
    interval_s: int = Field(default=60, ge=1, le=3600)


def market_out(m: Market) -> dict[str, Any]:
    out: dict[str, Any] = serial.dump(m)
    out["opening_hours"] = {"open": out.pop("opens"), "close": out.pop("closes")}
    return out


def merchant_out(m: Merchant) -> dict[str, Any]:
    out: dict[str, Any] = serial.dump(m)
    return out


def terminal_out(t: Terminal, key: bytes | None = None) -> dict[str, Any]:
    out: dict[str, Any] = serial.dump(t)
    if key is not None:
        out["key"] = key.hex()
    return out


def district_out(d: District) -> dict[str, Any]:
    """A district is named by its code: its `id`, like every created object's."""
    return {"id": d.code, **serial.dump(d)}


@router.post("/districts", status_code=201, tags=["districts"])
async def add_district(body: DistrictIn, reg: Reg, _: Admin) -> dict[str, Any]:
    return district_out(await reg.add_district(District(body.code, body.name)))


@router.get("/districts", tags=["districts"])
async def list_districts(reg: Reg, _: Reader) -> list[dict[str, Any]]:
    return [district_out(d) for d in await reg.districts()]


def _market_draft(fields: dict[str, Any]) -> MarketDraft:
    # The body's opening hours are the draft's opens and closes.
    hours = fields.get("opening_hours")
    times = {} if hours is None else {"opens": hours.open, "closes": hours.close}
    return _draft(MarketDraft, fields | times)


@router.post("/markets", status_code=201, tags=["markets"])
async def add_market(sent: Sent[MarketIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    body = await fitted(sent, lambda fields: reg.check_market(who, _market_draft(fields)))
    hours = body.opening_hours
    cmd = serial.into(NewMarket, body, opens=hours.open, closes=hours.close)
    return market_out(await reg.add_market(who, cmd))


@router.get("/markets", tags=["markets"])
async def list_markets(
    reg: Reg, who: MarketReader, district: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    return {"items": [market_out(m) for m in await reg.markets(who, district)]}


@router.get("/markets/{market_id}", tags=["markets"])
async def get_market(market_id: str, reg: Reg, who: MarketReader) -> dict[str, Any]:
    return market_out(await reg.market(who, market_id))


@router.put("/markets/{market_id}", tags=["markets"])
async def correct_market(
    market_id: str, sent: Sent[MarketDetailsIn], reg: Reg, who: Clerk
) -> dict[str, Any]:
    """更正市场信息: name, operator, address, capacity and opening hours, every one given, and
    the kind if it was picked wrong (the district stays; the location is `PUT …/location`). The
    same details again change nothing (no new version); every problem of the body in one 422."""
    body = await fitted(sent, lambda fields: reg.check_market(who, _market_draft(fields)))
    hours = body.opening_hours
    details = serial.into(MarketDetails, body, opens=hours.open, closes=hours.close)
    return market_out(await reg.correct_market(who, market_id, details))


@router.put("/markets/{market_id}/task-force", tags=["markets"])
async def set_task_force(market_id: str, body: TaskForceIn, reg: Reg, who: Clerk) -> dict[str, Any]:
    tf = TaskForce(body.leader, tuple(body.members))
    return market_out(await reg.set_task_force(who, market_id, tf))


@router.put("/markets/{market_id}/location", tags=["markets"])
async def set_location(market_id: str, body: LocationIn, reg: Reg, who: Clerk) -> dict[str, Any]:
    """Where the market stands, as a phone at its gate reports it: citizens find the markets
    nearest them (`GET /public/markets?near=`)."""
    return market_out(await reg.set_location(who, market_id, body.latitude, body.longitude))


@router.post("/markets/{market_id}/close", tags=["markets"])
async def close_market(market_id: str, sent: Sent[CloseIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    """停业: the market closed for good, once no merchant trades there (409 otherwise: record
    each merchant's leaving first). Its status becomes `closed` (final); its terminals still
    active are retired (`retired_terminals`); its record stays. A closed market is no longer
    listed in the public directory, and takes no merchant, terminal or change (409)."""
    body = await fitted(
        sent, lambda fields: reg.check_closing(fields.get("closed_on"), fields.get("reason"))
    )
    market, retired = await reg.close_market(who, market_id, body.reason, body.closed_on)
    return market_out(market) | {"retired_terminals": [t.id for t in retired]}


@router.post("/merchants", status_code=201, tags=["merchants"])
async def add_merchant(sent: Sent[MerchantIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    body = await fitted(sent, lambda fields: reg.check_merchant(who, _draft(MerchantDraft, fields)))
    cmd = serial.into(NewMerchant, body, categories=tuple(body.categories))
    return merchant_out(await reg.add_merchant(who, cmd))


@router.post("/merchants/validate", tags=["merchants"])
async def validate_merchant(sent: Sent[MerchantDraftIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    """Check a merchant as `POST /merchants` would, storing and publishing nothing: 200
    `{"ok": true}`, or the very error `POST /merchants` would answer (422 naming the field; 403
    for a market of another district; 409 naming `stall_no` for a taken stall). Fields left out
    are not checked, so a form can check each field as it is typed.

    With a `credit_code` registered before, `same_credit_code` lists where that 统一社会信用代码
    is registered already in the city — market, stall, status and the day it left — since
    credit counts every registration of one code as one business (信用主体): the clerk learns
    that the record carries over before registering it."""
    body = await fitted(sent, lambda fields: reg.check_merchant(who, _draft(MerchantDraft, fields)))
    await reg.check_merchant(who, _draft(MerchantDraft, body.model_dump(exclude_none=True)))
    found = [] if body.credit_code is None else await reg.registrations_of(body.credit_code)
    if not found:
        return {"ok": True}
    return {
        "ok": True,
        "same_credit_code": [
            {
                "merchant_id": m.id,
                "market_id": m.market_id,
                "market_name": market.name if market else None,
                "district": m.district,
                "stall_no": m.stall_no,
                "status": m.status,
                "left_on": m.left_on.isoformat() if m.left_on else None,
            }
            for m, market in found
        ],
    }


@router.get("/merchants", tags=["merchants"])
async def list_merchants(
    reg: Reg,
    who: Reader,
    market_id: Annotated[str | None, Query()] = None,
    expiring_within_days: Annotated[
        int | None,
        Query(
            ge=0,
            le=366,
            description="only merchants whose food licence runs out within this many days "
            "(today included), soonest first",
        ),
    ] = None,
) -> dict[str, Any]:
    merchants = await reg.merchants(who, market_id, expiring_within_days)
    return {"items": [merchant_out(m) for m in merchants]}


@router.get("/merchants/{merchant_id}", tags=["merchants"])
async def get_merchant(merchant_id: str, reg: Reg, who: Reader) -> dict[str, Any]:
    return merchant_out(await reg.merchant(who, merchant_id))


@router.put("/merchants/{merchant_id}", tags=["merchants"])
async def correct_merchant(
    merchant_id: str, body: MerchantCorrectionIn, reg: Reg, who: Clerk
) -> dict[str, Any]:
    """更正商户信息: the name and categories (its codes, market and stall stay: another of those
    is another registration). 409 for a merchant who has left."""
    merchant = await reg.correct_merchant(who, merchant_id, body.name, tuple(body.categories))
    return merchant_out(merchant)


@router.put("/merchants/{merchant_id}/licence", tags=["merchants"])
async def renew_licence(
    merchant_id: str, sent: Sent[LicenceIn], reg: Reg, who: Clerk
) -> dict[str, Any]:
    body = await fitted(sent, lambda fields: reg.check_merchant(who, _draft(MerchantDraft, fields)))
    merchant: Merchant = await reg.renew_licence(
        who, merchant_id, body.food_licence, body.licence_valid_until
    )
    return merchant_out(merchant)


@router.post("/merchants/{merchant_id}/move", tags=["merchants"])
async def move(merchant_id: str, body: MoveIn, reg: Reg, who: Clerk) -> dict[str, Any]:
    """换摊位: the merchant to another stall of its market, its record (and grade) kept; its
    terminals at the old stall go with it (`moved_terminals`). 409 naming `stall_no` when a
    merchant trades there, 409 for a merchant who has left."""
    merchant, moved = await reg.move(who, merchant_id, body.stall_no)
    return merchant_out(merchant) | {"moved_terminals": [t.id for t in moved]}


@router.post("/merchants/{merchant_id}/leave", tags=["merchants"])
async def leave(merchant_id: str, sent: Sent[LeaveIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    """退出经营: the merchant stopped trading at its stall. Its status becomes `left` (final),
    the stall is free for the next merchant, and the terminals placed with it are retired
    (`retired_terminals`); its record stays. 409 for a merchant who has left already."""
    body = await fitted(
        sent, lambda fields: reg.check_leaving(fields.get("left_on"), fields.get("reason"))
    )
    merchant, retired = await reg.leave(who, merchant_id, body.reason, body.left_on)
    return merchant_out(merchant) | {"retired_terminals": [t.id for t in retired]}


@router.post("/terminals", status_code=201, tags=["terminals"])
async def add_terminal(sent: Sent[TerminalIn], reg: Reg, who: Clerk) -> dict[str, Any]:
    """Provision a terminal. The response carries its signing `key` (hex) — the only time."""
    body = await fitted(sent, lambda fields: reg.check_terminal(who, _draft(TerminalDraft, fields)))
    terminal, key = await reg.add_terminal(who, NewTerminal(**body.model_dump()))
    return terminal_out(terminal, key)


@router.get("/terminals", tags=["terminals"])
async def list_terminals(
    reg: Reg, who: Reader, market_id: Annotated[str | None, Query(min_length=1)] = None
) -> dict[str, Any]:
    """A market's terminals in the caller's district (without `market_id`, the district's, by
    market and id: the clerk's 终端 list); a signing key is never listed."""
    return {"items": [terminal_out(t) for t in await reg.terminals(who, market_id)]}


@router.get("/terminals/{terminal_id}", tags=["terminals"])
async def get_terminal(terminal_id: str, reg: Reg, who: Reader) -> dict[str, Any]:
    return terminal_out(await reg.terminal(who, terminal_id))


@router.post("/terminals/{terminal_id}/rotate-key", tags=["terminals"])
async def rotate_key(terminal_id: str, reg: Reg, who: Clerk) -> dict[str, Any]:
    """Bump the key version; the new key is returned once, the old one stops verifying."""
    terminal, key = await reg.rotate_key(who, terminal_id)
    return terminal_out(terminal, key)


@router.post("/terminals/{terminal_id}/retire", tags=["terminals"])
async def retire_terminal(terminal_id: str, reg: Reg, who: Clerk) -> dict[str, Any]:
    return terminal_out(await reg.retire_terminal(who, terminal_id))


@router.post("/jobs/expire-licences", tags=["jobs"])
async def expire_licences(reg: Reg, _: Admin) -> dict[str, Any]:
    expired = await reg.expire_licences()
    return {"expired": [m.id for m in expired]}
