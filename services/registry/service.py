"""The registry's use cases: each one a unit of work that loads, decides with the domain, stores
and emits the entity's new snapshot, which reaches the outbox in the same transaction as the
change (docs/architecture.md, "The runtime's pieces").

HTTP routes (api.py, public.py), the Kafka handlers (handlers.py) and the CLI call these; they
never touch SQL or Kafka themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from contracts.people import Actor
from contracts.registry import MARKET_UPSERTED, MERCHANT_UPSERTED, TERMINAL_UPSERTED
from services.registry import events
from services.registry.domain.geo import given_location_problems
from services.registry.domain.identifiers import validate_credit_code, validate_food_licence
from services.registry.domain.model import (
    LEFT,
    District,
    Market,
    MarketDetails,
    Merchant,
    Problem,
    TaskForce,
    Terminal,
    ending_problems,
    leaving_problems,
    market_renovation_status,
    merchant_problems,
    merchants_trading,
    opening_hours_problems,
    stall_taken,
    terminal_placement_problems,
)
from services.registry.store import DirectoryQuery, Stores
from services.runtime import serial
from services.runtime.auth import Principal, actor, within
from services.runtime.clock import Clock
from services.runtime.failures import Conflict, Forbidden, InvalidInputs, NotFound
from services.runtime.ids import new_id
from services.runtime.messaging import Delivery
from services.runtime.outbox import outgoing
from services.runtime.terminal_keys import derive_key
from services.runtime.unit_of_work import UnitOfWork, UowFactory

log = logging.getLogger(__name__)
Work = UnitOfWork[Stores]
E = TypeVar("E", Market, Merchant, Terminal)


@dataclass(frozen=True)
class NewMarket:
    name: str
    district: str
    kind: str
    operator: str
    address: str
    capacity: int
    opens: str
    closes: str
    renovation_status: str = "not_planned"
    # Where it stands, when the clerk registers it at its gate (both or neither).
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class NewMerchant:
    name: str
    market_id: str
    stall_no: str
    credit_code: str
    food_licence: str
    licence_valid_until: date
    categories: tuple[str, ...]


@dataclass(frozen=True)
class NewTerminal:
    kind: str
    market_id: str
    interval_s: int
    merchant_id: str | None = None
    stall_no: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class MarketDraft:
    """A market's checked fields as a request has them (None: not given, not checked)."""

    district: str | None = None
    opens: str | None = None
    closes: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class MerchantDraft:
    """A merchant's checked fields as a request has them (None: not given, not checked)."""

    credit_code: str | None = None
    food_licence: str | None = None
    licence_valid_until: date | None = None
    market_id: str | None = None
    stall_no: str | None = None


@dataclass(frozen=True)
class TerminalDraft:
    """Where a terminal goes, as a request has it (None: not given, or `kind` not known)."""

    kind: str | None = None
    profile: str | None = None
    market_id: str | None = None
    merchant_id: str | None = None
    stall_no: str | None = None


@dataclass(frozen=True)
class Claim:
    """The inbox claim of the delivery a use case handles: it runs once per event."""

    consumer: str
    event_id: str
    delivery: Delivery


async def _first_time(work: Work, claim: Claim | None) -> bool:
    return claim is None or await work.claim(claim.consumer, claim.event_id, claim.delivery)


def _refuse(problems: list[Problem], forbidden: Forbidden | None = None) -> None:
    """Every problem of a request's fields in one 422; then, with none, another district's
    market or merchant (403), as before: a request is told what is wrong with it before whether
    the caller may act there."""
    InvalidInputs.raise_any(problems)
    if forbidden is not None:
        raise forbidden


def _forbidden(who: Principal, district: str) -> Forbidden | None:
    try:
        who.require_district(district)
    except Forbidden as exc:
        return exc
    return None


class Registry:
    """`timezone`: licence validity is a calendar date in the city's own time zone;
    `master_secret`: what terminals' signing keys derive from."""

    def __init__(
        self, uow: UowFactory[Stores], *, now: Clock, timezone: str, master_secret: bytes
    ) -> None:
        self.uow, self.now = uow, now
        self.zone, self.master_secret = ZoneInfo(timezone), master_secret

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def _registered(self, entity: type[E], prefix: str, cmd: Any, by: Actor, **given: Any) -> E:
        """A new market, merchant or terminal: the command's fields by name, or as `given`; a
        fresh id, version 1, registered and last changed by `by` now."""
        return serial.into(
            entity,
            cmd,
            id=new_id(prefix),
            updated_at=self.now(),
            registered_actor=by,
            updated_actor=by,
            **given,
        )

    async def save(
        self,
        work: Work,
        entity: Market | Merchant | Terminal,
        by: Actor | None = None,
        *,
        chain: str | None = None,
    ) -> None:
        """Write the entity and emit its new snapshot; `by` is the person who made the change
        (None: the clock or another event made it), `chain` the story it joins (a suspension:
        its rectification order's) instead of starting one."""
        stores = work.stores
        data: Any
        if isinstance(entity, Market):
            await stores.markets.save(entity)
            district = await stores.districts.get(entity.district)
            name = district.name if district else None
            event_type, data = MARKET_UPSERTED, events.market_upserted(entity, by, name)
        elif isinstance(entity, Merchant):
            await stores.merchants.save(entity)
            event_type, data = MERCHANT_UPSERTED, events.merchant_upserted(entity, by)
        else:
            await stores.terminals.save(entity)
            event_type, data = TERMINAL_UPSERTED, events.terminal_upserted(entity, by)
        work.emit(outgoing(events.SERVICE, event_type, entity.id, data, correlation_id=chain))

    # districts ---------------------------------------------------------------------------
    async def add_district(self, district: District) -> District:
        async with self.uow() as work:
            if not await work.stores.districts.add(district):
                raise Conflict(f"district {district.code!r} exists")
        return district

    async def districts(self) -> list[District]:
        async with self.uow() as work:
            return await work.stores.districts.all()

    # markets -----------------------------------------------------------------------------
    async def add_market(self, who: Principal, cmd: NewMarket) -> Market:
        async with self.uow() as work:
            await self._market_checked(work, who, serial.into(MarketDraft, cmd))
            by = actor(who)
            market = self._registered(Market, "mkt", cmd, by)
            await self.save(work, market, by)
        return market

    async def check_market(self, who: Principal, draft: MarketDraft) -> None:
        """`add_market`'s checks on the fields given; stores and publishes nothing."""
        async with self.uow() as work:
            await self._market_checked(work, who, draft)

    async def _market_checked(self, work: Work, who: Principal, draft: MarketDraft) -> None:
        """A market may be registered in the caller's district (403 first, before anything is
        read), with hours that close after they open, a district that exists and, if it is
        located, both degrees in range: every problem in one 422."""
        district, opens, closes = draft.district, draft.opens, draft.closes
        if district is not None:
            who.require_district(district)
        problems = [] if opens is None or closes is None else opening_hours_problems(opens, closes)
        problems += given_location_problems(draft.latitude, draft.longitude)
        if district is not None and await work.stores.districts.get(district) is None:
            problems.append(("district", f"no district with code {district!r}"))
        _refuse(problems)

    async def market(self, who: Principal, market_id: str) -> Market:
        async with self.uow() as work:
            return within(who, await work.stores.markets.get(market_id), "market", market_id)

    async def markets(self, who: Principal, district: str | None) -> list[Market]:
        district = who.listing_district(district)
        async with self.uow() as work:
            return await work.stores.markets.all(district)

    async def set_task_force(self, who: Principal, market_id: str, tf: TaskForce) -> Market:
        return await self._change(
            who,
            "market",
            market_id,
            _markets,
            lambda m, by: m.with_task_force(tf, self.now(), by=by),
        )

    async def correct_market(
        self, who: Principal, market_id: str, details: MarketDetails
    ) -> Market:
        """更正市场信息: the market's name, operator, address, capacity and hours as the clerk
        corrects them (a new snapshot only when something changed: telemetry judges crowding
        and silence by the capacity and hours it holds)."""
        return await self._change(
            who,
            "market",
            market_id,
            _markets,
            lambda m, by: m.with_details(details, self.now(), by=by),
        )

    async def _change(
        self,
        who: Principal,
        kind: str,
        entity_id: str,
        get: Callable[[Stores], Callable[..., Awaitable[E | None]]],
        change: Callable[[E, Actor], E],
    ) -> E:
        """A registered market, merchant or terminal changed by a person: read locked, within
        the caller's district, changed, and saved and announced when the change made a new
        version."""
        async with self.uow() as work:
            found = await get(work.stores)(entity_id, for_update=True)
            held = within(who, found, kind, entity_id)
            by = actor(who)
            changed = change(held, by)
            if changed is not held:
                await self.save(work, changed, by)
        return changed

    async def set_location(
        self, who: Principal, market_id: str, latitude: float, longitude: float
    ) -> Market:
        """Where the market stands (a clerk at its gate, from the phone's location)."""
        return await self._change(
            who,
            "market",
            market_id,
            _markets,
            lambda m, by: m.with_location(latitude, longitude, self.now(), by=by),
        )

    async def close_market(
        self, who: Principal, market_id: str, reason: str, closed_on: date | None = None
    ) -> tuple[Market, list[Terminal]]:
        """停业: the market closed for good (on `closed_on`, default today), once no merchant
        trades there (409 otherwise: each merchant's leaving is recorded first). Its terminals
        still active (footfall counters, payment terminals of the market) are retired in the
        same transaction. Returns the market and the terminals retired."""
        async with self.uow() as work:
            stores = work.stores
            found = await stores.markets.get(market_id, for_update=True)
            held = within(who, found, "market", market_id)
            by, now, today = actor(who), self.now(), self.today()
            market = held.close(closed_on or today, reason, today, now, by=by)
            trading = [m for m in await stores.merchants.all(market_id, None) if m.status != LEFT]
            if trading:
                raise merchants_trading(market_id, len(trading))
            await self.save(work, market, by)
            placed = await self._active_terminals(work, market_id)
            retired = await self._retire(work, placed, now, by)
        return market, retired

    async def check_closing(self, closed_on: date | None, reason: str | None) -> None:
        """`close_market`'s checks of what the request gives; reads and changes nothing."""
        _refuse(ending_problems("closed_on", closed_on, reason, self.today()))

    async def _joined(
        self, work: Work, who: Principal, market_id: str | None, problems: list[Problem]
    ) -> tuple[Market | None, Forbidden | None]:
        """The market a new merchant or terminal joins (None when not given): when it does not
        exist, a problem of `market_id`; when it is another district's, the 403 to raise once
        the request's fields are right."""
        if market_id is None:
            return None, None
        market = await work.stores.markets.get(market_id)
        if market is None:
            problems.append(("market_id", f"no market {market_id!r}"))
            return None, None
        return market, _forbidden(who, market.district)

    # merchants ---------------------------------------------------------------------------
    async def _merchant_checked(
        self, work: Work, who: Principal, draft: MerchantDraft
    ) -> Market | None:
        """A merchant's fields (those given) as registering checks them: every problem of its
        identifiers, its licence and its market in one 422; then another district's market
        (403); then a stall that has a merchant already (409 `stall_no`, checked when the market
        is given). The taken stall stays an answer of its own: it is the registry's state, not
        the request's form, and the clerk's form checks it as the stall is typed."""
        problems = merchant_problems(
            self.today(),
            credit_code=draft.credit_code,
            food_licence=draft.food_licence,
            licence_valid_until=draft.licence_valid_until,
        )
        market, forbidden = await self._joined(work, who, draft.market_id, problems)
        _refuse(problems, forbidden)
        if market is not None:
            market.still_open("market_id")
        stall_no = draft.stall_no
        if (
            market is not None
            and stall_no is not None
            and await work.stores.merchants.at_stall(market.id, stall_no)
        ):
            raise stall_taken(market.id, stall_no)
        return market

    async def add_merchant(self, who: Principal, cmd: NewMerchant) -> Merchant:
        async with self.uow() as work:
            market = await self._merchant_checked(work, who, serial.into(MerchantDraft, cmd))
            assert market is not None  # a market_id was given: it exists, or the check refused
            by = actor(who)
            merchant = self._registered(
                Merchant,
                "mer",
                cmd,
                by,
                market_id=market.id,
                district=market.district,
                credit_code=validate_credit_code(cmd.credit_code),
                food_licence=validate_food_licence(cmd.food_licence),
            )
            await self.save(work, merchant, by)
        return merchant

    async def check_merchant(self, who: Principal, draft: MerchantDraft) -> None:
        """`add_merchant`'s checks on the fields given; stores and publishes nothing. Raises
        what `add_merchant` would: every problem of the fields at once."""
        async with self.uow() as work:
            await self._merchant_checked(work, who, draft)

    async def registrations_of(self, credit_code: str) -> list[tuple[Merchant, Market | None]]:
        """Every registration of the 统一社会信用代码 in the city, with its market: the places
        credit counts as one business. Only where and since when (a stall is public on the
        portal), for a clerk about to register the code again."""
        async with self.uow() as work:
            stores = work.stores
            found = await stores.merchants.with_credit_code(validate_credit_code(credit_code))
            markets = {i: await stores.markets.get(i) for i in {m.market_id for m in found}}
            return [(m, markets[m.market_id]) for m in found]

    async def merchant(self, who: Principal, merchant_id: str) -> Merchant:
        async with self.uow() as work:
            return within(
                who, await work.stores.merchants.get(merchant_id), "merchant", merchant_id
            )

    async def merchants(
        self, who: Principal, market_id: str | None, expiring_within_days: int | None = None
    ) -> list[Merchant]:
        """The merchants of the caller's district (or market); with `expiring_within_days`,
        only those whose food licence runs out between today and that many days on, soonest
        first."""
        district = who.listing_district()
        expiring = None
        if expiring_within_days is not None:
            day = self.today()
            expiring = (day, day + timedelta(days=expiring_within_days))
        async with self.uow() as work:
            return await work.stores.merchants.all(market_id, district, expiring)

    async def renew_licence(
        self, who: Principal, merchant_id: str, food_licence: str, valid_until: date
    ) -> Merchant:
        problems = merchant_problems(
            self.today(), food_licence=food_licence, licence_valid_until=valid_until
        )
        _refuse(problems)
        number = validate_food_licence(food_licence)
        return await self._change(
            who,
            "merchant",
            merchant_id,
            _merchants,
            lambda m, by: m.renew_licence(number, valid_until, self.today(), self.now(), by=by),
        )

    async def leave(
        self, who: Principal, merchant_id: str, reason: str, left_on: date | None = None
    ) -> tuple[Merchant, list[Terminal]]:
        """退出经营: the merchant stopped trading at its stall (on `left_on`, default today).
        The stall is free for the next merchant, and the terminals placed with the merchant
        are retired with it, in the same transaction: readings signed by them are refused from
        then on. Returns the merchant and the terminals retired."""
        async with self.uow() as work:
            found = await work.stores.merchants.get(merchant_id, for_update=True)
            merchant = within(who, found, "merchant", merchant_id)
            by, now = actor(who), self.now()
            merchant = merchant.leave(left_on or self.today(), reason, self.today(), now, by=by)
            await self.save(work, merchant, by)
            retired = await self._retire(work, await self._placed_with(work, merchant), now, by)
        return merchant, retired

    async def correct_merchant(
        self, who: Principal, merchant_id: str, name: str, categories: tuple[str, ...]
    ) -> Merchant:
        """更正商户信息: the merchant's name and categories (a new snapshot only when they
        changed)."""
        return await self._change(
            who,
            "merchant",
            merchant_id,
            _merchants,
            lambda m, by: m.corrected(name, categories, self.now(), by=by),
        )

    async def move(
        self, who: Principal, merchant_id: str, stall_no: str
    ) -> tuple[Merchant, list[Terminal]]:
        """换摊位: the merchant to another stall of its market (409 naming `stall_no` when a
        merchant trades there), its record kept; its active terminals at the old stall go
        with it, in the same transaction. Returns the merchant and the terminals moved."""
        async with self.uow() as work:
            stores = work.stores
            found = await stores.merchants.get(merchant_id, for_update=True)
            held = within(who, found, "merchant", merchant_id)
            by, now = actor(who), self.now()
            merchant = held.moved(stall_no, now, by=by)
            if await stores.merchants.at_stall(merchant.market_id, merchant.stall_no):
                raise stall_taken(merchant.market_id, merchant.stall_no)
            await self.save(work, merchant, by)
            moved = []
            for placed in await self._placed_with(work, held):
                if placed.stall_no == held.stall_no:
                    terminal = placed.at_stall(merchant.stall_no, now, by=by)
                    await self.save(work, terminal, by)
                    moved.append(terminal)
        return merchant, moved

    async def _retire(
        self, work: Work, terminals: list[Terminal], now: datetime, by: Actor
    ) -> list[Terminal]:
        """Retire each of `terminals` (held locked) at `now`, with the change that retires them;
        saved and announced. Returns them retired."""
        retired = [placed.retire(now, by=by) for placed in terminals]
        for terminal in retired:
            await self.save(work, terminal, by)
        return retired

    async def _placed_with(self, work: Work, merchant: Merchant) -> list[Terminal]:
        """The merchant's active terminals, each locked."""
        return await self._active_terminals(work, merchant.market_id, merchant.id)

    async def _active_terminals(
        self, work: Work, market_id: str, merchant_id: str | None = None
    ) -> list[Terminal]:
        """The market's active terminals (those placed with `merchant_id` only, if given), each
        locked."""
        terminals = work.stores.terminals
        found = []
        for placed in await terminals.all(market_id, None):
            if merchant_id is not None and placed.merchant_id != merchant_id:
                continue
            held = await terminals.get(placed.id, for_update=True)
            if held is not None and held.status == "active":
                found.append(held)
        return found

    async def check_leaving(self, left_on: date | None, reason: str | None) -> None:
        """`leave`'s checks of what the request gives; reads and changes nothing."""
        _refuse(leaving_problems(left_on, reason, self.today()))

    async def expire_licences(self, on: date | None = None) -> list[Merchant]:
        """Mark every active merchant whose licence ran out before `on` (default today)."""
        day = on or self.today()
        expired: list[Merchant] = []
        while True:
            async with self.uow() as work:
                batch = await work.stores.merchants.lapsed(day)
                for merchant in batch:
                    changed = merchant.expire_licence(self.now())
                    await self.save(work, changed)
                    expired.append(changed)
            if not batch:
                return expired

    # suspensions (inspection's rectification orders) ---------------------------------------
    async def suspend(
        self,
        *,
        merchant_id: str,
        rectification_id: str,
        task_id: str,
        claim: Claim | None = None,
        chain: str | None = None,
    ) -> Merchant | None:
        """A rectification order suspended the merchant's trading: status `suspended`, the
        snapshot in the order's `chain` (credit undoes the suspension's entry with a finding
        found wrong in it).

        Returns the changed merchant, or None when nothing changed (an event handled before,
        an unknown merchant, an order already applied, or a merchant already suspended by
        another order)."""
        async with self.uow() as work:
            if not await _first_time(work, claim):
                return None
            merchant = await work.stores.merchants.get(merchant_id, for_update=True)
            if merchant is None:
                log.warning(
                    "suspension for an unknown merchant", extra={"merchant_id": merchant_id}
                )
                return None
            suspensions = work.stores.suspensions
            if not await suspensions.add(rectification_id, merchant_id, task_id, self.now()):
                return None
            if merchant.status in ("suspended", LEFT):
                # Already suspended by another order; or gone, when the order was made for
                # what it did before it left: nothing to stop.
                return None
            changed = merchant.suspend(self.now())
            await self.save(work, changed, chain=chain)
        return changed

    async def lift_suspension(
        self,
        *,
        merchant_id: str,
        rectification_id: str,
        claim: Claim | None = None,
        chain: str | None = None,
    ) -> Merchant | None:
        """A re-inspection passed and lifted the order's suspension, or the order lapsed. The
        merchant trades again once no other order keeps it suspended (`licence_expired` if the
        licence ran out); the snapshot in the order's `chain`."""
        async with self.uow() as work:
            if not await _first_time(work, claim):
                return None
            merchant = await work.stores.merchants.get(merchant_id, for_update=True)
            if merchant is None:
                return None
            await work.stores.suspensions.lift(rectification_id, self.now())
            if merchant.status != "suspended" or await work.stores.suspensions.active(merchant_id):
                return None
            changed = merchant.lift_suspension(self.today(), self.now())
            await self.save(work, changed, chain=chain)
        return changed

    # renovation projects (the campaign's) -------------------------------------------------
    async def follow_renovation(
        self,
        *,
        project_id: str,
        market_id: str,
        stage: str,
        version: int,
        claim: Claim | None = None,
    ) -> Market | None:
        """A renovation project of the market reached `stage` (the campaign's
        `registry.renovation.upserted`, version `version`): the market's `renovation_status`
        follows its projects' stages. Returns the market when its status changed (a new
        snapshot), None otherwise (an event handled before, an older version of the project,
        an unknown market, or the same status)."""
        async with self.uow() as work:
            if not await _first_time(work, claim):
                return None
            market = await work.stores.markets.get(market_id, for_update=True)
            if market is None:
                log.warning("renovation of an unknown market", extra={"market_id": market_id})
                return None
            renovations = work.stores.renovations
            if not await renovations.save(project_id, market_id, stage, version):
                return None
            status = market_renovation_status(await renovations.stages(market_id))
            if status == market.renovation_status:
                return None
            changed = market.with_renovation_status(status, self.now())
            await self.save(work, changed)
        return changed

    # terminals ---------------------------------------------------------------------------
    async def add_terminal(self, who: Principal, cmd: NewTerminal) -> tuple[Terminal, bytes]:
        async with self.uow() as work:
            market, merchant = await self._terminal_checked(
                work, who, serial.into(TerminalDraft, cmd)
            )
            assert market is not None  # a market_id was given: it exists, or the check refused
            by = actor(who)
            terminal = self._registered(
                Terminal,
                "trm",
                cmd,
                by,
                market_id=market.id,
                district=market.district,
                stall_no=cmd.stall_no or (merchant.stall_no if merchant else None),
            )
            await self.save(work, terminal, by)
        return terminal, self.key_of(terminal)

    async def check_terminal(self, who: Principal, draft: TerminalDraft) -> None:
        """`add_terminal`'s checks on what is known (`kind` None: not known, its profile not
        checked); stores and publishes nothing."""
        async with self.uow() as work:
            await self._terminal_checked(work, who, draft)

    async def _terminal_checked(
        self, work: Work, who: Principal, draft: TerminalDraft
    ) -> tuple[Market | None, Merchant | None]:
        """Where a new terminal goes: not another district's market (403 first, before any of
        its merchants is read); its market and merchant exist and the placement rules hold,
        every problem in one 422."""
        problems: list[Problem] = []
        market, forbidden = await self._joined(work, who, draft.market_id, problems)
        if forbidden is not None:
            raise forbidden
        merchant = None
        if draft.merchant_id is not None:
            merchant = await work.stores.merchants.get(draft.merchant_id)
            if merchant is None:
                problems.append(("merchant_id", f"no merchant {draft.merchant_id!r}"))
        problems += terminal_placement_problems(
            draft.kind, draft.profile, market, merchant, draft.stall_no
        )
        _refuse(problems)
        if market is not None:
            market.still_open("market_id")
        return market, merchant

    async def terminals(self, who: Principal, market_id: str | None) -> list[Terminal]:
        """A market's terminals (every market's when `market_id` is None: the clerk's 终端
        list), as far as the caller's district reaches (never a key)."""
        district = who.listing_district()
        async with self.uow() as work:
            return await work.stores.terminals.all(market_id, district)

    async def terminal(self, who: Principal, terminal_id: str) -> Terminal:
        async with self.uow() as work:
            return within(
                who, await work.stores.terminals.get(terminal_id), "terminal", terminal_id
            )

    async def rotate_key(self, who: Principal, terminal_id: str) -> tuple[Terminal, bytes]:
        return await self._change_terminal(who, terminal_id, rotate=True)

    async def retire_terminal(self, who: Principal, terminal_id: str) -> Terminal:
        terminal, _ = await self._change_terminal(who, terminal_id, rotate=False)
        return terminal

    async def _change_terminal(
        self, who: Principal, terminal_id: str, *, rotate: bool
    ) -> tuple[Terminal, bytes]:
        async with self.uow() as work:
            found = await work.stores.terminals.get(terminal_id, for_update=True)
            terminal = within(who, found, "terminal", terminal_id)
            by, now = actor(who), self.now()
            terminal = terminal.rotate_key(now, by=by) if rotate else terminal.retire(now, by=by)
            await self.save(work, terminal, by)
        return terminal, self.key_of(terminal)

    def key_of(self, terminal: Terminal) -> bytes:
        return derive_key(self.master_secret, terminal.id, terminal.key_version)

    # the public directory -------------------------------------------------------------------
    async def directory(self, query: DirectoryQuery) -> tuple[list[tuple[Market, str | None]], int]:
        """Markets by name (part of it), district and kind, with their district's name; and
        how many match in all."""
        async with self.uow() as work:
            return await work.stores.markets.directory(query)

    async def public_market(self, market_id: str) -> tuple[Market, str | None]:
        async with self.uow() as work:
            found, _ = await work.stores.markets.directory(
                DirectoryQuery(limit=1, market_id=market_id)
            )
        if not found:
            raise NotFound(f"no market {market_id!r}")
        return found[0]

    async def trading_merchants(self, market_id: str) -> list[Merchant]:
        """The market's active merchants, by stall."""
        async with self.uow() as work:
            if await work.stores.markets.get(market_id) is None:
                raise NotFound(f"no market {market_id!r}")
            return await work.stores.merchants.active(market_id)


def _markets(stores: Stores) -> Callable[..., Awaitable[Market | None]]:
    return stores.markets.get


def _merchants(stores: Stores) -> Callable[..., Awaitable[Merchant | None]]:
    return stores.merchants.get
