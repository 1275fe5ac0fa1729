"""The registry's use cases: each one a transaction that changes state and writes its events.

HTTP routes and the CLI call these; they never touch SQL or Kafka themselves. Every change
enqueues the entity's new snapshot in the outbox in the same transaction (DESIGN §2).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import topics
from contracts.envelope import Envelope
from contracts.people import Actor
from services.registry import publishing
from services.registry.domain.identifiers import validate_credit_code, validate_food_licence
from services.registry.domain.model import (
    District,
    Market,
    Merchant,
    TaskForce,
    Terminal,
    check_terminal_placement,
    market_renovation_status,
    new_id,
    require_valid_licence,
    validate_opening_hours,
)
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from services.runtime.app import Service
from services.runtime.auth import Principal
from services.runtime.errors import Conflict, InvalidInput, NotFound
from services.runtime.terminal_keys import derive_key

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def today(settings: RegistrySettings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def actor(who: Principal) -> Actor:
    """The person behind a request, as the entity records them and its snapshot carries."""
    return Actor.of(who.subject, who.display_name)


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


class Registry:
    def __init__(self, service: Service, settings: RegistrySettings) -> None:
        self.service, self.settings = service, settings

    async def save(
        self,
        store: RegistryStore,
        entity: Market | Merchant | Terminal,
        by: Actor | None = None,
    ) -> None:
        """Write the entity and, in the same transaction, its new snapshot to the outbox; `by`
        is the person who made the change (None: the clock or another event made it)."""
        event: Envelope[Any]
        if isinstance(entity, Market):
            await store.save_market(entity)
            district = await store.district(entity.district)
            topic, event = (
                topics.REGISTRY_MARKETS,
                publishing.market_upserted(entity, by, district.name if district else None),
            )
        elif isinstance(entity, Merchant):
            await store.save_merchant(entity)
            topic, event = topics.REGISTRY_MERCHANTS, publishing.merchant_upserted(entity, by)
        else:
            await store.save_terminal(entity)
            topic, event = topics.REGISTRY_TERMINALS, publishing.terminal_upserted(entity, by)
        await self.service.enqueue(store.conn, topic.name, event)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[RegistryStore]:
        """A pooled connection in one transaction; released whatever interrupts it."""
        async with self.service.pool.acquire() as conn, conn.transaction():
            yield RegistryStore(conn)

    # districts ---------------------------------------------------------------------------
    async def add_district(self, district: District) -> District:
        async with self.transaction() as store:
            if not await store.add_district(district):
                raise Conflict(f"district {district.code!r} exists")
        return district

    async def districts(self) -> list[District]:
        async with self.transaction() as store:
            return await store.districts()

    # markets -----------------------------------------------------------------------------
    async def add_market(self, who: Principal, cmd: NewMarket) -> Market:
        who.require_district(cmd.district)
        validate_opening_hours(cmd.opens, cmd.closes)
        async with self.transaction() as store:
            if await store.district(cmd.district) is None:
                raise InvalidInput("district", f"no district with code {cmd.district!r}")
            by = actor(who)
            market = Market(
                id=new_id("mkt"),
                version=1,
                updated_at=now(),
                registered_actor=by,
                updated_actor=by,
                **vars(cmd),
            )
            await self.save(store, market, by)
        return market

    async def market(self, who: Principal, market_id: str) -> Market:
        async with self.transaction() as store:
            market = await store.market(market_id)
        if market is None:
            raise NotFound(f"no market {market_id!r}")
        who.require_district(market.district)
        return market

    async def markets(self, who: Principal, district: str | None) -> list[Market]:
        if district is not None:
            who.require_district(district)
        elif not who.may_act_in("*"):
            district = who.district
        async with self.transaction() as store:
            return await store.markets(district)

    async def set_task_force(self, who: Principal, market_id: str, tf: TaskForce) -> Market:
        async with self.transaction() as store:
            market = await store.market(market_id, for_update=True)
            if market is None:
                raise NotFound(f"no market {market_id!r}")
            who.require_district(market.district)
            by = actor(who)
            market = market.with_task_force(tf, now(), by=by)
            await self.save(store, market, by)
        return market

    # merchants ---------------------------------------------------------------------------
    async def _place_merchant(
        self, store: RegistryStore, who: Principal, market_id: str, stall_no: str | None
    ) -> Market:
        """The market a new merchant joins: it exists (422 `market_id`), it is in the caller's
        district (403), and the stall is free (409 `stall_no`), checked when given."""
        market = await store.market(market_id)
        if market is None:
            raise InvalidInput("market_id", f"no market {market_id!r}")
        who.require_district(market.district)
        if stall_no is not None and await store.merchant_at_stall(market.id, stall_no) is not None:
            reason = f"stall {stall_no!r} of market {market.id} has a merchant"
            raise Conflict(reason, [{"field": "stall_no", "reason": reason}])
        return market

    async def add_merchant(self, who: Principal, cmd: NewMerchant) -> Merchant:
        credit_code = validate_credit_code(cmd.credit_code)
        food_licence = validate_food_licence(cmd.food_licence)
        require_valid_licence(cmd.licence_valid_until, today(self.settings))
        async with self.transaction() as store:
            market = await self._place_merchant(store, who, cmd.market_id, cmd.stall_no)
            by = actor(who)
            merchant = Merchant(
                id=new_id("mer"),
                name=cmd.name,
                market_id=market.id,
                district=market.district,
                stall_no=cmd.stall_no,
                credit_code=credit_code,
                food_licence=food_licence,
                licence_valid_until=cmd.licence_valid_until,
                categories=cmd.categories,
                updated_at=now(),
                registered_actor=by,
                updated_actor=by,
            )
            await self.save(store, merchant, by)
        return merchant

    async def check_merchant(
        self,
        who: Principal,
        *,
        credit_code: str | None = None,
        food_licence: str | None = None,
        licence_valid_until: date | None = None,
        market_id: str | None = None,
        stall_no: str | None = None,
    ) -> None:
        """`add_merchant`'s checks, in its order, on the fields given; stores and publishes
        nothing. Raises the error `add_merchant` would for the first field that fails."""
        if credit_code is not None:
            validate_credit_code(credit_code)
        if food_licence is not None:
            validate_food_licence(food_licence)
        if licence_valid_until is not None:
            require_valid_licence(licence_valid_until, today(self.settings))
        if market_id is not None:
            async with self.transaction() as store:
                await self._place_merchant(store, who, market_id, stall_no)

    async def merchant(self, who: Principal, merchant_id: str) -> Merchant:
        async with self.transaction() as store:
            merchant = await store.merchant(merchant_id)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id!r}")
        who.require_district(merchant.district)
        return merchant

    async def merchants(
        self, who: Principal, market_id: str | None, expiring_within_days: int | None = None
    ) -> list[Merchant]:
        """The merchants of the caller's district (or market); with `expiring_within_days`,
        only those whose food licence runs out between today and that many days on, soonest
        first."""
        district = None if who.may_act_in("*") else who.district
        expiring = None
        if expiring_within_days is not None:
            day = today(self.settings)
            expiring = (day, day + timedelta(days=expiring_within_days))
        async with self.transaction() as store:
            return await store.merchants(market_id, district, expiring)

    async def renew_licence(
        self, who: Principal, merchant_id: str, food_licence: str, valid_until: date
    ) -> Merchant:
        number = validate_food_licence(food_licence)
        async with self.transaction() as store:
            merchant = await store.merchant(merchant_id, for_update=True)
            if merchant is None:
                raise NotFound(f"no merchant {merchant_id!r}")
            who.require_district(merchant.district)
            by = actor(who)
            merchant = merchant.renew_licence(
                number, valid_until, today(self.settings), now(), by=by
            )
            await self.save(store, merchant, by)
        return merchant

    async def expire_licences(self, on: date | None = None) -> list[Merchant]:
        """Mark every active merchant whose licence ran out before `on` (default today)."""
        day = on or today(self.settings)
        expired: list[Merchant] = []
        while True:
            async with self.transaction() as store:
                batch = await store.lapsed_licences(day)
                for merchant in batch:
                    changed = merchant.expire_licence(now())
                    await self.save(store, changed)
                    expired.append(changed)
            if not batch:
                return expired

    # suspensions (inspection's rectification orders) ---------------------------------------
    async def suspend(
        self, store: RegistryStore, *, merchant_id: str, rectification_id: str, task_id: str
    ) -> Merchant | None:
        """A rectification order suspended the merchant's trading: status `suspended`.

        Returns the changed merchant, or None when nothing changed (unknown merchant, an order
        already applied, or a merchant already suspended by another order)."""
        merchant = await store.merchant(merchant_id, for_update=True)
        if merchant is None:
            log.warning("suspension for an unknown merchant", extra={"merchant_id": merchant_id})
            return None
        if not await store.add_suspension(rectification_id, merchant_id, task_id, now()):
            return None
        if merchant.status == "suspended":
            return None
        changed = merchant.suspend(now())
        await self.save(store, changed)
        return changed

    async def lift_suspension(
        self, store: RegistryStore, *, merchant_id: str, rectification_id: str
    ) -> Merchant | None:
        """A re-inspection passed and lifted the order's suspension. The merchant trades again
        once no other order keeps it suspended (`licence_expired` if the licence ran out)."""
        merchant = await store.merchant(merchant_id, for_update=True)
        if merchant is None:
            return None
        await store.lift_suspension(rectification_id, now())
        if merchant.status != "suspended" or await store.active_suspensions(merchant_id):
            return None
        changed = merchant.lift_suspension(today(self.settings), now())
        await self.save(store, changed)
        return changed

    # renovation projects (the campaign's) -------------------------------------------------
    async def follow_renovation(
        self, store: RegistryStore, *, project_id: str, market_id: str, stage: str, version: int
    ) -> Market | None:
        """A renovation project of the market reached `stage` (the campaign's
        `registry.renovation.upserted`, version `version`): the market's `renovation_status`
        follows its projects' stages. Returns the market when its status changed (a new
        snapshot), None otherwise (an older version of the project, an unknown market, or the
        same status)."""
        market = await store.market(market_id, for_update=True)
        if market is None:
            log.warning("renovation of an unknown market", extra={"market_id": market_id})
            return None
        if not await store.save_renovation(project_id, market_id, stage, version):
            return None
        status = market_renovation_status(await store.renovation_stages(market_id))
        if status == market.renovation_status:
            return None
        changed = market.with_renovation_status(status, now())
        await self.save(store, changed)
        return changed

    # terminals ---------------------------------------------------------------------------
    async def add_terminal(self, who: Principal, cmd: NewTerminal) -> tuple[Terminal, bytes]:
        async with self.transaction() as store:
            market = await store.market(cmd.market_id)
            if market is None:
                raise InvalidInput("market_id", f"no market {cmd.market_id!r}")
            who.require_district(market.district)
            merchant = None
            if cmd.merchant_id is not None:
                merchant = await store.merchant(cmd.merchant_id)
                if merchant is None:
                    raise InvalidInput("merchant_id", f"no merchant {cmd.merchant_id!r}")
            check_terminal_placement(cmd.kind, cmd.profile, market, merchant, cmd.stall_no)
            by = actor(who)
            terminal = Terminal(
                id=new_id("trm"),
                kind=cmd.kind,
                market_id=market.id,
                district=market.district,
                interval_s=cmd.interval_s,
                merchant_id=cmd.merchant_id,
                stall_no=cmd.stall_no or (merchant.stall_no if merchant else None),
                profile=cmd.profile,
                updated_at=now(),
                registered_actor=by,
                updated_actor=by,
            )
            await self.save(store, terminal, by)
        return terminal, self.key_of(terminal)

    async def terminals(self, who: Principal, market_id: str) -> list[Terminal]:
        """A market's terminals, as far as the caller's district reaches (never a key)."""
        district = None if who.may_act_in("*") else who.district
        async with self.transaction() as store:
            return await store.terminals(market_id, district)

    async def terminal(self, who: Principal, terminal_id: str) -> Terminal:
        async with self.transaction() as store:
            terminal = await store.terminal(terminal_id)
        if terminal is None:
            raise NotFound(f"no terminal {terminal_id!r}")
        who.require_district(terminal.district)
        return terminal

    async def rotate_key(self, who: Principal, terminal_id: str) -> tuple[Terminal, bytes]:
        return await self._change_terminal(who, terminal_id, rotate=True)

    async def retire_terminal(self, who: Principal, terminal_id: str) -> Terminal:
        terminal, _ = await self._change_terminal(who, terminal_id, rotate=False)
        return terminal

    async def _change_terminal(
        self, who: Principal, terminal_id: str, *, rotate: bool
    ) -> tuple[Terminal, bytes]:
        async with self.transaction() as store:
            terminal = await store.terminal(terminal_id, for_update=True)
            if terminal is None:
                raise NotFound(f"no terminal {terminal_id!r}")
            who.require_district(terminal.district)
            by = actor(who)
            terminal = (
                terminal.rotate_key(now(), by=by) if rotate else terminal.retire(now(), by=by)
            )
            await self.save(store, terminal, by)
        return terminal, self.key_of(terminal)

    def key_of(self, terminal: Terminal) -> bytes:
        secret = self.settings.terminal_master_secret.get_secret_value().encode()
        return derive_key(secret, terminal.id, terminal.key_version)
